"""Errors of identity resolution: :class:`~segflow.errors.IdentityError`, in the one error tree."""

from __future__ import annotations

from segflow.errors import IdentityError

__all__ = ["IdentityError"]
