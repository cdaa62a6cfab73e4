"""The one error hierarchy of segflow.

Every error a user can fix carries a short machine-readable ``code``, a one-sentence
message naming the thing at fault (a file and row, a column, a segment, a tag, a place
in a definition such as ``all[2].event.within``) and, where it applies, that place as
``path``. Messages never name a command-line flag: the same error reaches users of
the CLI, the Python API and (later) the HTTP API, and each face adds its own hints
(``segflow.cli.errors`` for the command line)::

    SegflowError
    ├── ProjectError            no project here, bad segflow.yaml
    ├── SchemaError             unknown or conflicting attribute types
    ├── LoadError               a file that cannot be loaded at all
    ├── QueryError              a refused or failing query, an unknown column, a read-only project,
    │                           a bad argument of a call (an export format, a tag source, value or expiry)
    ├── StateError              the state store (migrations, connection)
    ├── GenerateError           bad generator parameters
    ├── IdentityError           an unknown profile or identifier, a merge that cannot be undone
    ├── RuleError               a rule that cannot run (``problems``: every error, each with its path)
    ├── ModelError              a customer model that cannot be fitted (bad or too little data, no convergence)
    ├── ClockError              a pinned time later than the wall clock where work would really be done as of it
    ├── ChannelError            a message channel configured so that it cannot be opened (segflow.yaml)
    ├── TemplateError           a message template that cannot be rendered (a refused attribute, a failing filter)
    ├── AccessError             a missing, unknown, revoked or expired API key, a scope it lacks,
    │                           a request over the key's rate limit
    ├── TrackingError           a tracking call that cannot be taken (bad JSON, over the size limits,
    │                           a missing userId / anonymousId)
    ├── ConflictError           a change made against a version that is no longer current (ETags),
    │                           or something that already exists
    ├── BusyError               the warehouse is held by another process (lent to a command)
    └── DefinitionError         a segment, tag or trait definition that cannot be used (a bad file,
        │                       an unusable rule, SQL or function), or one that does not exist
        └── DefinitionsError    several definitions with problems (``problems``: each one)

The CLI prints ``Error: <message>`` and exits 1 for any of them (``--debug`` shows
the traceback); :meth:`SegflowError.to_dict` is the ``{code, message, path}`` body an
API returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "SegflowError",
    "ProjectError",
    "SchemaError",
    "LoadError",
    "QueryError",
    "StateError",
    "GenerateError",
    "IdentityError",
    "Problem",
    "RuleError",
    "DefinitionError",
    "DefinitionsError",
    "ModelError",
    "ClockError",
    "ChannelError",
    "TemplateError",
    "AccessError",
    "TrackingError",
    "ConflictError",
    "BusyError",
]


class SegflowError(Exception):
    """Base of every error segflow raises on purpose."""

    code: str = "error"
    #: Lines a face may print below the message: for a file that does not parse, the
    #: source line and a caret under the spot (the message itself stays one line).
    context: tuple[str, ...] = ()

    def __init__(self, message: str, *, code: str | None = None, path: str | None = None,
                 context: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.path = path
        if context:
            self.context = tuple(context)

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, Any]:
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


class IdentityError(SegflowError):
    """An unknown profile or identifier, a merge that cannot be undone, a bad option."""

    code = "identity"


class ModelError(SegflowError):
    """A customer model (lifetime value, ...) that cannot be fitted or applied: bad or too
    little input data, or an optimiser that did not converge."""

    code = "model"


class ClockError(SegflowError):
    """A pinned time later than the wall clock where work would really be done as of it: the
    worker completing real schedules (and moving their next run) as of a time that has not come."""

    code = "future_clock"


class ChannelError(SegflowError):
    """A channel of ``segflow.yaml`` that cannot be opened: an unknown provider, SMTP settings
    missing, a password variable that is not set. Per-message problems are never raised: a
    channel returns them as a :class:`~segflow.channels.Delivery`."""

    code = "channel_config"


class TemplateError(SegflowError):
    """A message template that cannot be rendered for a profile: an attribute the sandbox
    refuses (``''.__class__``), a filter that fails. Syntax errors are found when loading."""

    code = "template_error"


class AccessError(SegflowError):
    """A request without a valid key (``unauthorized``), with a key that may not do this
    (``forbidden``: the scope it lacks is named), or over its rate limit (``rate_limited``)."""

    code = "unauthorized"

    def __init__(self, message: str, *, code: str | None = None, path: str | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message, code=code, path=path)
        self.retry_after = retry_after


class TrackingError(SegflowError):
    """A tracking call that cannot be taken: ``invalid_json``, ``message_too_large``,
    ``batch_too_large``, ``invalid_call`` (the field at fault as ``path``)."""

    code = "invalid_call"


class ConflictError(SegflowError):
    """A change against a stale version (``stale_version``: the ETag no longer matches) or a
    thing that already exists (``exists``)."""

    code = "conflict"


class BusyError(SegflowError):
    """The warehouse is held by another process (``warehouse_busy``); try again shortly."""

    code = "warehouse_busy"

    def __init__(self, message: str, *, code: str | None = None, path: str | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message, code=code, path=path)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem of a rule: its code, its path in the rule and a one-line message."""

    code: str
    path: str
    message: str
    #: "error" stops the rule from running; "warning" (an event never seen) does not.
    severity: str = "error"

    def __str__(self) -> str:
        return f"{self.path or '(rule)'}: {self.message}"

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "path": self.path, "message": self.message, "severity": self.severity}


class RuleError(SegflowError):
    """A rule that cannot run; ``problems`` lists every error found, not only the first."""

    code = "invalid_rule"

    def __init__(self, problems: list[Problem], *, source: str | None = None) -> None:
        self.problems = [p for p in problems if p.severity == "error"]
        self.warnings = [p for p in problems if p.severity != "error"]
        self.source = source
        where = f"{source}: " if source else ""
        first = self.problems[0]
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(f"{where}{first}{more}", code=first.code, path=first.path)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems) if len(self.problems) > 1 else self.message

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "problems": [p.to_dict() for p in self.problems]}


class DefinitionError(SegflowError):
    """A definition (segment, tag, trait, tag template) that cannot be used or does not exist;
    names the file and the path in it, or the unknown name."""

    code = "invalid_definition"


class DefinitionsError(DefinitionError):
    """Several definitions with problems: ``problems`` lists each as ``file: rule.path: message``."""

    def __init__(self, problems: list[str], *, code: str = "invalid_definition", path: str | None = None) -> None:
        self.problems = problems
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(problems[0] + more, code=code, path=path)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "problems": list(self.problems)}
