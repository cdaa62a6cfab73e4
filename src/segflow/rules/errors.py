"""Rule errors: every problem has a code, a one-line message and the path in the rule.

The classes live in the one error tree, :mod:`segflow.errors`; this module keeps the
names the rules package has always used.
"""

from __future__ import annotations

from segflow.errors import Problem, RuleError

__all__ = ["Problem", "RuleError"]
