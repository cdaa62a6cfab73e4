"""The one error hierarchy of segflow.

Every error a user can fix carries a short machine-readable ``code``, a one-sentence
message naming the thing at fault and, where it applies, a ``path`` (a file and row,
a column, or a place in a definition such as ``all[2].event.within``)::

    SegflowError
    ├── ProjectError            no project here, bad segflow.yaml
    ├── SchemaError             unknown or conflicting attribute types
    ├── LoadError               a file that cannot be loaded at all
    ├── QueryError              a refused or failing ad-hoc query
    ├── StateError              the state store (migrations, connection)
    └── GenerateError           bad generator parameters

The CLI prints ``Error: <message>`` and exits 1 for any of them (``--debug`` shows
the traceback).
"""

from __future__ import annotations

__all__ = [
    "SegflowError",
    "ProjectError",
    "SchemaError",
    "LoadError",
    "QueryError",
    "StateError",
    "GenerateError",
]


class SegflowError(Exception):
    """Base of every error segflow raises on purpose."""

    code: str = "error"

    def __init__(self, message: str, *, code: str | None = None, path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.path = path

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "path": self.path}


class ProjectError(SegflowError):
    code = "project"


class SchemaError(SegflowError):
    code = "schema"


class LoadError(SegflowError):
    code = "load"


class QueryError(SegflowError):
    code = "query"


class StateError(SegflowError):
    code = "state"


class GenerateError(SegflowError):
    code = "generate"
