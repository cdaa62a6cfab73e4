"""Dirty rows, injected at known small rates and counted exactly.

Three disjoint sets of rows per table (a duplicated row is never bad, a bad row is
never duplicated, and rows with a mixed-case e-mail are neither):

* **bad dates**: the date/timestamp column holds an invalid value (``1990-02-30``,
  ``not-a-date``, ``2024-13-45T99:00:00Z``, ``yesterday``...). A loader must reject them.
* **missing ids**: the key columns are empty (events: both ``profile_id`` and
  ``anonymous_id``; orders: ``order_id``; profiles: ``profile_id``). Rejected.
* **duplicates**: an exact copy of an earlier row is inserted again further down the
  same file. A loader counts each extra copy as a duplicate.

Mixed-case e-mails with surrounding spaces are made in :mod:`.profiles`; they are
valid rows and only counted here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "BAD_DATES",
    "BAD_TIMESTAMPS",
    "DirtyCounts",
    "Plan",
    "inject",
    "mixed_case_emails",
    "plan",
]

BAD_DATES = ("1990-02-30", "not-a-date", "2023-13-01", "1985-04-31", "31/31/1985")
BAD_TIMESTAMPS = (
    "2024-13-45T99:00:00Z",
    "yesterday",
    "2025-02-30T10:00:00Z",
    "not-a-date",
    "2024-06-31 25:61:00",
)


@dataclass
class DirtyCounts:
    """Exact numbers of dirty rows written to one file."""

    bad_dates: int = 0
    missing_ids: int = 0
    duplicates: int = 0
    mixed_case_emails: int = 0
    extra: dict[str, int] = field(default_factory=dict)

    def add(self, other: DirtyCounts) -> None:
        self.bad_dates += other.bad_dates
        self.missing_ids += other.missing_ids
        self.duplicates += other.duplicates
        self.mixed_case_emails += other.mixed_case_emails

    def as_dict(self) -> dict[str, int]:
        return {
            "bad_dates": self.bad_dates,
            "missing_ids": self.missing_ids,
            "duplicates": self.duplicates,
            "mixed_case_emails": self.mixed_case_emails,
        }


def mixed_case_emails(
    values: pa.Array | pa.ChunkedArray, mask: pa.Array | None = None
) -> np.ndarray:
    """Rows whose e-mail differs from its trimmed, lower-cased form."""
    norm = pc.utf8_lower(pc.utf8_trim_whitespace(values))
    diff = pc.fill_null(pc.not_equal(values, norm), False)
    if mask is not None:
        diff = pc.and_(diff, mask)
    return np.asarray(diff.to_numpy(zero_copy_only=False), dtype=bool)


def _count(rng: np.random.Generator, n: int, rate: float, minimum: int) -> int:
    """Stochastically rounded ``n * rate``, at least ``minimum``."""
    return max(minimum, int(n * rate + rng.random()))


@dataclass
class Plan:
    """Which rows become dirty, and the final row order with the duplicate copies."""

    bad: np.ndarray
    missing: np.ndarray
    dup: np.ndarray
    order: np.ndarray  # row indices of the output (duplicated rows appear twice)

    def counts(self) -> DirtyCounts:
        return DirtyCounts(
            bad_dates=len(self.bad), missing_ids=len(self.missing), duplicates=len(self.dup)
        )


def plan(
    rng: np.random.Generator,
    n: int,
    rates: tuple[float, float, float],
    at_least_one: bool,
    clean: np.ndarray | None = None,
    missing_ok: np.ndarray | None = None,
) -> Plan:
    """Choose disjoint bad-date, missing-id and duplicate rows among ``n`` rows.

    ``rates`` are the fractions of bad dates, missing ids and duplicates; with
    ``at_least_one`` every kind appears at least once (if there are rows for it).
    ``clean`` marks rows that may be made dirty (default: all); ``missing_ok`` further
    restricts which rows may lose their ids.
    """
    ok = np.ones(n, bool) if clean is None else clean.copy()
    mi = 1 if at_least_one else 0
    chosen: list[np.ndarray] = []
    for kind, rate in enumerate(rates):
        k = _count(rng, n, rate, mi)
        elig = ok & missing_ok if (kind == 1 and missing_ok is not None) else ok
        cand = np.flatnonzero(elig)
        pick = (
            np.sort(rng.choice(cand, size=min(k, len(cand)), replace=False)) if len(cand) else cand
        )
        ok[pick] = False
        chosen.append(pick.astype(np.int64))
    bad, missing, dup = chosen
    # each copy goes right after a random later row (up to ~1000 rows further down)
    after = np.minimum(dup + rng.integers(1, 1000, len(dup)), max(n - 1, 0))
    keys = np.concatenate([2 * np.arange(n), 2 * after + 1])
    order = np.concatenate([np.arange(n), dup])[np.argsort(keys, kind="stable")]
    return Plan(bad=bad, missing=missing, dup=dup, order=order)


def inject(
    rng: np.random.Generator,
    tbl: pa.Table,
    *,
    date_col: str,
    bad_values: tuple[str, ...],
    id_cols: tuple[str, ...],
    rates: tuple[float, float, float],
    at_least_one: bool,
    clean: np.ndarray | None = None,
    missing_ok: np.ndarray | None = None,
) -> tuple[pa.Table, DirtyCounts]:
    """Return ``tbl`` with bad-date, missing-id and duplicate rows (see :func:`plan`)."""
    n = tbl.num_rows
    p = plan(rng, n, rates, at_least_one, clean, missing_ok)
    if len(p.bad):
        mask = np.zeros(n, bool)
        mask[p.bad] = True
        values = pa.array(
            np.array(bad_values, dtype=object)[rng.integers(0, len(bad_values), len(p.bad))],
            pa.string(),
        )
        col = tbl.column(date_col).combine_chunks()
        tbl = tbl.set_column(
            tbl.schema.get_field_index(date_col),
            date_col,
            pc.replace_with_mask(col, pa.array(mask), values),
        )
    if len(p.missing):
        mask = np.zeros(n, bool)
        mask[p.missing] = True
        for c in id_cols:
            col = tbl.column(c).combine_chunks()
            tbl = tbl.set_column(
                tbl.schema.get_field_index(c),
                c,
                pc.if_else(pa.array(mask), pa.scalar(None, col.type), col),
            )
    if len(p.dup):
        tbl = tbl.take(pa.array(p.order))
    return tbl, p.counts()
