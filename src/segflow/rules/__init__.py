"""The segment rule language: parse → check → compile to SQL / evaluate one profile / explain."""

from segflow.rules.errors import Problem, RuleError

__all__ = ["Problem", "RuleError"]
