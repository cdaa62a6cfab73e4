"""Synthetic shop generator: realistic, reproducible customer data with known dirt.

``generate_shop(out_dir, profiles=N, seed=S, days=D)`` writes one file per data kind
(``profiles``, ``accounts``, ``identities``, ``events``, ``orders``, ``order_items``,
``memberships``, ``subscriptions``) in the canonical shapes of the data spec, plus
``truth_persons.csv`` (which source profiles are one real person) and
``manifest.json`` (row counts and the exact numbers of dirty rows a correct loader
must reject or collapse). Same arguments, same bytes. See ``docs/generate.md``.
"""

from __future__ import annotations

import math
import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from ..errors import GenerateError
from . import vocab
from .pipeline import KINDS, PERSONS_PER_CHUNK, Progress, run
from .util import DAY
from .writer import FORMATS, write_manifest

__all__ = ["KINDS", "PERSONS_PER_CHUNK", "Progress", "generate_shop"]


def _end_ts(end: datetime | date | None) -> int:
    """End of the period as epoch seconds (UTC, whole seconds)."""
    if end is None:
        today = datetime.now(UTC).date()
        return int(datetime(today.year, today.month, today.day, tzinfo=UTC).timestamp())
    if isinstance(end, datetime):
        aware = end if end.tzinfo is not None else end.replace(tzinfo=UTC)
        return math.floor(aware.timestamp())
    if isinstance(end, date):
        return int(datetime(end.year, end.month, end.day, tzinfo=UTC).timestamp())
    raise GenerateError(f"end must be a date or datetime, not {type(end).__name__}")


def _check(profiles: Any, seed: Any, days: Any, fmt: Any) -> None:
    for name, v in (("profiles", profiles), ("days", days), ("seed", seed)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise GenerateError(f"{name} must be an integer, got {v!r}", path=name)
    if profiles < 1:
        raise GenerateError(f"profiles must be at least 1, got {profiles}", path="profiles")
    if days < 1:
        raise GenerateError(f"days must be at least 1, got {days}", path="days")
    if seed < 0:
        raise GenerateError(f"seed must not be negative, got {seed}", path="seed")
    if fmt not in FORMATS:
        raise GenerateError(
            f"unknown format {fmt!r}; use one of: {', '.join(FORMATS)}", path="format"
        )


def generate_shop(
    out_dir: str | Path,
    *,
    profiles: int = 20_000,
    seed: int = 0,
    days: int = 365,
    end: datetime | date | None = None,
    fmt: str = "csv",
    progress: Progress | None = None,
) -> dict:
    """Write a realistic synthetic shop into out_dir and return the manifest (also written as out_dir/manifest.json).

    ``profiles`` source profiles (rows of the profiles file, before duplicate rows)
    belonging to fewer real persons; ``days`` of activity ending at ``end`` (UTC,
    default today 00:00 UTC); ``fmt`` is ``"csv"`` or ``"parquet"``. ``progress`` is
    called as ``progress(stage, fraction)``: the stages ``people``, ``profiles``
    (profiles, accounts, identities, memberships, subscriptions) and ``events``
    (events, orders, order items) in this order, each going from 0.0 to 1.0.
    Raises :class:`segflow.errors.GenerateError` for bad parameters.
    """
    _check(profiles, seed, days, fmt)
    profiles, seed, days = int(profiles), int(seed), int(days)
    end_ts = _end_ts(end)
    start = end_ts - days * DAY
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GenerateError(f"cannot create output directory {out}: {exc}", path=str(out)) from exc
    report: Progress = progress or (lambda stage, frac: None)
    report("people", 0.0)
    vocab.check_json_safe()
    con = duckdb.connect(":memory:")
    con.execute(f"SET threads = {max(1, min(4, os.cpu_count() or 1))}")
    con.execute("SET enable_progress_bar = false")
    try:
        manifest = run(out, profiles, seed, days, start, end_ts, fmt, con, report)
    finally:
        con.close()
    write_manifest(out / "manifest.json", manifest)
    return manifest
