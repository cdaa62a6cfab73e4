"""Rule errors: every problem has a code, a one-line message and the path in the rule."""

from __future__ import annotations

from dataclasses import dataclass

from segflow.errors import SegflowError

__all__ = ["Problem", "RuleError"]


@dataclass(frozen=True, slots=True)
class Problem:
    code: str
    path: str
    message: str
    #: "error" stops the rule from running; "warning" (an event never seen) does not.
    severity: str = "error"

    def __str__(self) -> str:
        return f"{self.path or '(rule)'}: {self.message}"


class RuleError(SegflowError):
    """A rule that cannot run; ``problems`` lists every error found, not only the first."""

    code = "invalid_rule"

    def __init__(self, problems: list[Problem], *, source: str | None = None) -> None:
        self.problems = [p for p in problems if p.severity == "error"]
        self.warnings = [p for p in problems if p.severity != "error"]
        where = f"{source}: " if source else ""
        first = self.problems[0]
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(f"{where}{first}{more}", code=first.code, path=first.path)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems) if len(self.problems) > 1 else self.message
