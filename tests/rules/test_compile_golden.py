"""Golden files of the rule compiler, also run on DuckDB and PostgreSQL.

Each ``tests/fixtures/rules/NAME.yaml`` holds a rule, optionally ``as_of`` (default
2026-03-01T12:00:00Z) and ``timezone`` (default UTC), and the exact ``members`` it has
over the fixture warehouse (``data/dataset.yaml``). ``NAME.duckdb.sql`` and
``NAME.postgres.sql`` are the expected SQL; rewrite them after a deliberate change with

    SEGFLOW_UPDATE_GOLDEN=1 pytest tests/rules/test_compile_golden.py

and review the diff.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pgdata
import pytest
import yaml

from segflow.rules.ast import All, Not
from segflow.rules.compile import compile_sql

FIXTURES = Path(__file__).parent.parent / "fixtures" / "rules"
DIALECTS = ("duckdb", "postgres")
DEFAULT_AS_OF = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
UPDATE = os.environ.get("SEGFLOW_UPDATE_GOLDEN", "") not in ("", "0")


@dataclass(frozen=True)
class Case:
    name: str
    tree: Any
    as_of: datetime
    timezone: str
    members: frozenset[str]

    def sql(self, dialect: str, tree: Any = None) -> str:
        return compile_sql(tree or self.tree, as_of=self.as_of, timezone=self.timezone, dialect=dialect, pretty=True)


def load_case(path: Path) -> Case:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    unknown = set(data) - {"rule", "members", "as_of", "timezone"}
    assert not unknown, f"{path.name}: unknown keys {unknown}"
    return Case(
        name=path.stem,
        tree=pgdata.checked(data["rule"]),
        as_of=data.get("as_of", DEFAULT_AS_OF),
        timezone=data.get("timezone", "UTC"),
        members=frozenset(data["members"]),
    )


CASE_FILES = sorted(FIXTURES.glob("*.yaml"))
CASES = [load_case(p) for p in CASE_FILES]


def members_duckdb(con: Any, sql: str) -> set[str]:
    rows = con.execute(sql).fetchall()
    assert len(rows) == len({r[0] for r in rows}), "a profile was returned twice"
    return {r[0] for r in rows}


@pytest.fixture(scope="module")
def duck():
    wh = pgdata.duckdb_warehouse()
    yield wh.con
    wh.close()


def test_every_case_has_its_golden_files() -> None:
    expected = {f"{p.stem}.{d}.sql" for p in CASE_FILES for d in DIALECTS}
    present = {p.name for p in FIXTURES.glob("*.sql")}
    assert not present - expected, "golden SQL without a rule"
    if not UPDATE:
        assert not expected - present, "rule without golden SQL (run with SEGFLOW_UPDATE_GOLDEN=1)"


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_sql(case: Case, dialect: str) -> None:
    path = FIXTURES / f"{case.name}.{dialect}.sql"
    sql = case.sql(dialect) + "\n"
    if UPDATE:
        path.write_text(sql, encoding="utf-8")
    assert sql == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_members_duckdb(duck: Any, case: Case) -> None:
    assert members_duckdb(duck, case.sql("duckdb")) == case.members


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_negation_is_the_complement(duck: Any, case: Case) -> None:
    """Strict two-valued logic: ``not: rule`` is everyone else who exists at T."""
    universe = members_duckdb(duck, case.sql("duckdb", All(items=())))
    negated = members_duckdb(duck, case.sql("duckdb", Not(item=case.tree)))
    assert negated == universe - case.members


@pytest.mark.postgres
def test_members_postgres(pg_url: str) -> None:
    """Every golden rule has exactly the same members on PostgreSQL."""
    pgdata.load_postgres(pg_url)
    got = {}
    for case in CASES:
        rows = pgdata.query_postgres(pg_url, case.sql("postgres"))
        assert len(rows) == len({r[0] for r in rows}), f"{case.name}: a profile was returned twice"
        got[case.name] = sorted(r[0] for r in rows)
    assert got == {case.name: sorted(case.members) for case in CASES}

