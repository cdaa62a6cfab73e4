"""Reading a project file as YAML (JSON is YAML): the one place a syntax error gets its
line, column and a caret under the spot.

    >>> data = load_yaml_file(root / "segments" / "vip.yaml", shown="segments/vip.yaml",
    ...                       error=DefinitionError, code="bad_yaml")      # doctest: +SKIP

A file that does not parse raises the caller's error class (``DefinitionError``,
``SchemaError``, ``ModelError``, ...) with a one-line message::

    segments/vip.yaml: not valid YAML (line 1, column 33): expected ',' or ']', but got '<stream end>'

and, as the error's ``context``, two lines a face may print below it: the source line
and a caret under the column. Callers that collect problems instead of raising (tags,
traits, rules) catch :class:`YamlSyntax` from :func:`parse_yaml` / :func:`read_yaml`
and turn it into their own error; it never leaves segflow.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, TypeVar

from segflow.errors import SegflowError

__all__ = ["YamlSyntax", "load_yaml_file", "parse_yaml", "read_yaml", "yaml_syntax"]

E = TypeVar("E", bound=SegflowError)

#: The line breaks YAML counts lines by (so line numbers are the parser's).
_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
#: The widest source line shown in full under an error; longer ones are cut around the column.
_WIDTH = 100


class YamlSyntax(Exception):
    """A file that is not YAML (or not UTF-8 text): where (1-based line and column), what,
    and the source line with a caret under the spot (``context``). Internal: every caller
    turns it into its own error class."""

    def __init__(self, line: int, column: int, context: tuple[str, ...] = (), *, problem: str,
                 what: str = "YAML") -> None:
        self.line, self.column, self.problem, self.context, self.what = line, column, problem, context, what
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"not valid {self.what} (line {self.line}, column {self.column}): {self.problem}"


def _place(text: str, line: int, column: int) -> tuple[int, int, tuple[str, ...]]:
    """*line* and *column* (0-based) as 1-based numbers, with the source line and a caret
    under the column. At the end of the file (an unclosed bracket: the parser stops on the
    blank line after the text), the place is just past the last character of the text."""
    lines = _LINE_BREAK.split(text)
    if not any(rest.strip() for rest in lines[line:]):
        before = [i for i in range(min(line, len(lines))) if lines[i].strip()]
        if not before:
            return line + 1, column + 1, ()
        line = before[-1]
        column = len(lines[line].rstrip())
    source = "".join(c if c.isprintable() or c == "\t" else "?" for c in lines[line])
    column = min(column, len(source))
    place = (line + 1, column + 1)
    if len(source) > _WIDTH:
        start = max(0, min(column - _WIDTH // 2, len(source) - _WIDTH))
        lead = "…" if start else ""
        source = lead + source[start:start + _WIDTH] + ("…" if start + _WIDTH < len(source) else "")
        column = column - start + len(lead)
    pad = "".join(c if c == "\t" else " " for c in source[:column])
    return (*place, (source, pad + "^"))


def yaml_syntax(exc: BaseException, text: str | bytes) -> YamlSyntax:
    """*exc* (a ``yaml.YAMLError``, a ``json.JSONDecodeError`` or a ``UnicodeDecodeError``
    raised reading *text*) as a :class:`YamlSyntax` with its line, column and caret."""
    import json

    import yaml

    if isinstance(exc, UnicodeDecodeError):
        raw = text if isinstance(text, bytes) else text.encode("utf-8", "surrogateescape")
        head = raw[:exc.start]
        line_start = head.rfind(b"\n") + 1
        column = len(raw[line_start:exc.start].decode("utf-8", "replace"))
        return YamlSyntax(*_place(raw.decode("utf-8", "replace"), head.count(b"\n"), column),
                          problem=f"byte 0x{raw[exc.start]:02x} ({exc.reason})", what="UTF-8 text")
    source = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    if isinstance(exc, json.JSONDecodeError):
        return YamlSyntax(*_place(source, exc.lineno - 1, exc.colno - 1), problem=exc.msg, what="JSON")
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or type(exc).__name__
        if mark is None:
            return YamlSyntax(1, 1, problem=problem)
        return YamlSyntax(*_place(source, mark.line, mark.column), problem=problem)
    if isinstance(exc, yaml.reader.ReaderError):
        before = source[:exc.position]
        line, column = before.count("\n"), exc.position - (before.rfind("\n") + 1)
        character = exc.character if isinstance(exc.character, str) else chr(exc.character)
        return YamlSyntax(*_place(source, line, column), problem=f"character #x{ord(character):04x}: {exc.reason}")
    problem = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return YamlSyntax(1, 1, problem=problem)


def parse_yaml(text: str | bytes) -> Any:
    """YAML (or JSON) *text* as data; :class:`YamlSyntax` when it does not parse."""
    import yaml

    try:
        return yaml.safe_load(text.decode("utf-8") if isinstance(text, bytes) else text)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise yaml_syntax(exc, text) from None


def read_yaml(file: Path) -> Any:
    """The data in *file*; :class:`YamlSyntax` when it is not UTF-8 or not YAML
    (``OSError``, a missing file among them, passes through)."""
    return parse_yaml(Path(file).read_bytes())


def load_yaml_file(file: Path, *, shown: str | None = None, error: type[E], code: str,
                   path: str | None = None, text: str | None = None) -> Any:
    """The data in *file* (or in *text*, read from it); else *error* with *code*, the
    message ``<shown>: not valid YAML (line L, column C): <problem>``, *path* (default: the
    file as shown) and the source line and a caret as its ``context``."""
    shown = shown if shown is not None else str(file)
    try:
        return parse_yaml(text) if text is not None else read_yaml(file)
    except YamlSyntax as bad:
        raise error(f"{shown}: {bad}", code=code, path=path if path is not None else shown,
                    context=bad.context) from None
