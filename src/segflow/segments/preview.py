"""Previewing a rule: check it, compile it, run it on the warehouse, show who is in.

    >>> result = ws.preview({"attr": "city", "eq": "Beijing"})    # doctest: +SKIP
    >>> result.count, result.members.num_rows                      # doctest: +SKIP
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from segflow.errors import QueryError
from segflow.rules.check import CheckContext, check_rule
from segflow.rules.errors import Problem
from segflow.rules.parse import load_rule_text, parse_rule
from segflow.schema.types import AttributeType

if TYPE_CHECKING:
    import pyarrow as pa

    from segflow.context import ProjectContext
    from segflow.rules.ast import Condition

__all__ = ["Preview", "rule_context", "checked_rule", "preview", "read_rule_file", "SAMPLE_COLUMNS"]

#: Attributes shown next to sample members when the profile has them.
SAMPLE_COLUMNS = ("name", "city", "member_level", "email")

_DUCKDB_TYPES = {
    "VARCHAR": AttributeType.STRING,
    "BIGINT": AttributeType.INTEGER,
    "INTEGER": AttributeType.INTEGER,
    "DOUBLE": AttributeType.NUMBER,
    "FLOAT": AttributeType.NUMBER,
    "BOOLEAN": AttributeType.BOOLEAN,
    "DATE": AttributeType.DATE,
    "TIMESTAMP WITH TIME ZONE": AttributeType.TIMESTAMP,
    "TIMESTAMP": AttributeType.TIMESTAMP,
    "JSON": AttributeType.JSON,
    "VARCHAR[]": AttributeType.LIST,
}


@dataclass
class Preview:
    count: int
    #: Members (profile_id and the sample columns), at most ``limit`` rows unless all were asked.
    members: pa.Table
    seconds: float
    sql: str
    as_of: datetime
    warnings: list[Problem] = field(default_factory=list)


def read_rule_file(path: str | Path) -> Any:
    """Rule data from a YAML/JSON file (a segment file may wrap it as ``rule:``)."""
    from segflow.errors import LoadError

    p = Path(path)
    if not p.is_file():
        raise LoadError(f"{p}: no such rule file", code="no_file", path=str(p))
    return load_rule_text(p.read_text(encoding="utf-8"), source=str(p))


def _column_types(ws: ProjectContext, table: str) -> dict[str, AttributeType]:
    out = {}
    for name, type_ in ws.warehouse.columns(table).items():
        if name.startswith("_"):
            continue
        t = _DUCKDB_TYPES.get(type_.upper()) or (AttributeType.DECIMAL if type_.upper().startswith("DECIMAL") else None)
        if t is not None:
            out[name] = t
    return out


def rule_context(ws: ProjectContext, *, segment_name: str | None = None, events_seen: bool = True) -> CheckContext:
    """What rules in *ws* may refer to: registry attributes, tags, traits, segments, events.

    *events_seen* False skips reading the event names (a scan of ``events``) that only
    serve the "event never seen" warnings; refreshes do not show warnings.
    """
    registry = ws.registry
    con = ws.warehouse

    def types(kind: str) -> dict[str, AttributeType]:
        return {name: a.type for name, a in registry.attributes(kind).items()}

    traits = {k: v for k, v in _column_types(ws, "traits").items() if k != "profile_id"}
    tags = {r[0] for r in con.execute("SELECT DISTINCT tag FROM tag_assignments").fetchall()}
    segments: dict[str, Any] = {r[0]: None for r in con.execute("SELECT DISTINCT segment FROM segment_members").fetchall()}
    for path in sorted((ws.root / "segments").glob("*.y*ml")):
        try:
            segments[path.stem] = read_rule_file(path)
        except Exception:  # a broken segment file is reported when that segment is checked
            segments.setdefault(path.stem, None)
    events = {r[0] for r in con.execute("SELECT DISTINCT event FROM events").fetchall()} if events_seen else None
    return CheckContext(
        profile_attributes=types("profiles"),
        account_attributes=types("accounts"),
        order_columns=types("orders"),
        item_columns=types("order_items"),
        tags=tags,
        traits=traits,
        segments=segments,
        events_seen=events,
        segment_name=segment_name,
        parse=parse_rule,
    )


def checked_rule(ws: ProjectContext, rule: Any, *, source: str | None = None) -> tuple[Condition, list[Problem]]:
    """Parse and check *rule* (data, or a path to a rule file) against *ws*."""
    if isinstance(rule, (str, Path)) and Path(rule).suffix in (".yaml", ".yml", ".json"):
        source = source or str(rule)
        rule = read_rule_file(rule)
    tree = parse_rule(rule, source=source)
    return check_rule(tree, rule_context(ws), source=source)


def preview(ws: ProjectContext, rule: Any, *, as_of: datetime | None = None, limit: int | None = 20) -> Preview:
    """Count and list the members of *rule* as of *as_of* (default: now, UTC)."""
    from segflow.rules.compile import compile_sql

    tree, warnings = checked_rule(ws, rule)
    when = (as_of or datetime.now(UTC)).astimezone(UTC)
    sql = compile_sql(tree, as_of=when, timezone=ws.config.timezone, dialect="duckdb")
    con = ws.warehouse
    started = time.perf_counter()
    con.execute(f"CREATE OR REPLACE TEMP TABLE _preview AS {sql}")
    count = int(con.execute("SELECT count(*) FROM _preview").fetchall()[0][0])
    seconds = time.perf_counter() - started
    present = [c for c in SAMPLE_COLUMNS if c in ws.warehouse.columns("profiles")]
    cols = ", ".join(["m.profile_id"] + [f'p."{c}"' for c in present])
    query = f"SELECT {cols} FROM _preview m JOIN profiles p USING (profile_id) ORDER BY m.profile_id"
    if limit is not None:
        query += f" LIMIT {int(limit)}"
    try:
        members = con.query(query)
    finally:
        con.execute("DROP TABLE IF EXISTS _preview")
    return Preview(count=count, members=members, seconds=seconds, sql=sql, as_of=when, warnings=warnings)


def explain_profile(ws: ProjectContext, rule: Any, profile_id: str, *, as_of: datetime | None = None) -> Any:
    """The rule's tree for one profile, each node with its truth value and the values behind it."""
    from segflow.rules.explain import explain
    from segflow.rules.profile_data import fetch_profile_data

    tree, _ = checked_rule(ws, rule)
    when = (as_of or datetime.now(UTC)).astimezone(UTC)
    exists = ws.warehouse.execute("SELECT count(*) FROM profiles WHERE profile_id = ?", [profile_id]).fetchall()[0][0]
    if not exists:
        raise QueryError(f"no profile {profile_id!r}", code="unknown_profile", path=profile_id)
    data = fetch_profile_data(ws.warehouse, profile_id)
    return explain(tree, data, as_of=when, timezone=ws.config.timezone)
