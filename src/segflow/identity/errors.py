"""Errors of identity resolution (a branch of :class:`~segflow.errors.SegflowError`)."""

from __future__ import annotations

from segflow.errors import SegflowError

__all__ = ["IdentityError"]


class IdentityError(SegflowError):
    """An unknown profile or identifier, a merge that cannot be undone, a bad option."""

    code = "identity"
