"""The pandas baseline: what an analyst would write instead of ``segflow load``.

``pd.read_csv`` (C engine, every column as text so ids keep their leading zeros),
then cleaning comparable in spirit to segflow's:

* trim every text cell, empty cell = missing;
* e-mails lower-cased; phones stripped of spaces, dots, dashes and brackets;
* timestamps with ``pd.to_datetime(..., errors="coerce", utc=True)``, dates the same way,
  money with ``pd.to_numeric(..., errors="coerce")``, order status lower-cased;
* drop rows with a missing id or an unparseable required timestamp/amount, and (events)
  rows whose ``properties`` is not a JSON object (checked with ``json.loads`` per cell);
* drop duplicates on the kind's key (events: first wins; profiles, orders: last wins);

then ``DataFrame.to_sql`` into a SQLite file through a SQLAlchemy engine, the usual
analyst's warehouse-in-a-file. It does *not* keep rejected rows or their line numbers,
does not merge with existing rows and does not derive missing event ids.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["KindSpec", "SPECS", "PandasResult", "clean", "load_with_pandas"]


@dataclass(frozen=True)
class KindSpec:
    """What the analyst knows about a file: its key and which columns need which parsing."""

    key: tuple[str, ...]
    required: tuple[str, ...] = ()
    timestamps: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    lower: tuple[str, ...] = ()
    json_objects: tuple[str, ...] = ()
    keep: str = "last"


SPECS: dict[str, KindSpec] = {
    "events": KindSpec(
        key=("event_id",),
        required=("event", "ts"),
        timestamps=("ts",),
        json_objects=("properties",),
        keep="first",
    ),
    "profiles": KindSpec(
        key=("profile_id",),
        required=("profile_id",),
        timestamps=("created_at",),
        dates=("birthday",),
        emails=("email",),
        phones=("phone",),
    ),
    "orders": KindSpec(
        key=("order_id",),
        required=("order_id", "profile_id", "ts", "amount"),
        timestamps=("ts",),
        numbers=("amount",),
        lower=("status",),
    ),
}


@dataclass
class PandasResult:
    rows_read: int
    rows_written: int
    read_seconds: float
    clean_seconds: float
    write_seconds: float
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return self.read_seconds + self.clean_seconds + self.write_seconds


def _is_json_object(text: Any) -> bool:
    if not isinstance(text, str):  # missing: fine, the column is optional
        return True
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def clean(df: Any, spec: KindSpec) -> Any:
    """Return the cleaned copy of *df* (all columns text) following *spec*."""
    import pandas as pd

    df = df.apply(lambda s: s.str.strip())
    df = df.mask(df.eq(""))
    for col in spec.emails:
        if col in df:
            df[col] = df[col].str.lower()
    for col in spec.phones:
        if col in df:
            df[col] = df[col].str.replace(r"[\s.\-/()]", "", regex=True)
    for col in spec.lower:
        if col in df:
            df[col] = df[col].str.lower()
    for col in spec.timestamps + spec.dates:
        if col in df:
            df[col] = pd.to_datetime(df[col], errors="coerce", utc=True)
    for col in spec.dates:
        if col in df:
            df[col] = df[col].dt.date
    for col in spec.numbers:
        if col in df:
            df[col] = pd.to_numeric(df[col], errors="coerce")
    must = [c for c in spec.required if c in df]
    bad = df[must].isna().any(axis=1) if must else pd.Series(False, index=df.index)
    for col in spec.json_objects:
        if col in df:
            bad |= ~df[col].map(_is_json_object).astype(bool)
    df = df[~bad]
    key = [k for k in spec.key if k in df]
    if key:
        # A row without its key cannot be deduplicated (events without event_id): keep it.
        keyless = df[key].isna().any(axis=1)
        df = df[keyless | ~df.duplicated(subset=key, keep=spec.keep)]  # type: ignore[arg-type]
    return df


def load_with_pandas(
    kind: str,
    path: Path,
    database: Path,
    *,
    max_rows: int | None = None,
    chunksize: int = 10_000,
    method: str | None = None,
) -> PandasResult:
    """Read, clean and write *path* (at most *max_rows* rows) into table *kind* of a SQLite file."""
    import time

    import pandas as pd
    import sqlalchemy as sa

    spec = SPECS.get(kind, KindSpec(key=()))
    t0 = time.perf_counter()
    df = pd.read_csv(path, dtype=str, nrows=max_rows)
    t1 = time.perf_counter()
    cleaned = clean(df, spec)
    t2 = time.perf_counter()
    engine = sa.create_engine(f"sqlite:///{database}")
    try:
        cleaned.to_sql(kind, engine, if_exists="replace", index=False, chunksize=chunksize, method=method)
    finally:
        engine.dispose()
    t3 = time.perf_counter()
    return PandasResult(
        rows_read=len(df),
        rows_written=len(cleaned),
        read_seconds=t1 - t0,
        clean_seconds=t2 - t1,
        write_seconds=t3 - t2,
        details={"chunksize": chunksize, "method": method or "executemany"},
    )
