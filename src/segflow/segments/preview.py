"""Previewing a rule: check it once, compile it, run it on the warehouse, show who is in.

    >>> result = preview(ctx, {"attr": "city", "eq": "Beijing"})    # doctest: +SKIP
    >>> result.count, result.members.num_rows                        # doctest: +SKIP

Each function takes rule data, a path to a rule file, or a
:class:`~segflow.rules.project.CheckedRule` (a caller that already checked the rule, e.g.
to show its warnings first, passes it on so it is not checked again).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from segflow.clock import at_or_now
from segflow.errors import Problem, QueryError
from segflow.rules.project import CheckedRule, check_in, compile_in, read_rule_file, rule_context

if TYPE_CHECKING:
    import pyarrow as pa

    from segflow.context import ProjectContext
    from segflow.rules.explain import ExplainNode

__all__ = ["MemberIds", "Preview", "ProfileExplanation", "RuleSql", "SAMPLE_COLUMNS", "checked", "explain_one",
           "explain_profile", "member_ids", "preview", "read_rule_file", "rule_context", "rule_sql"]

#: Attributes shown next to sample members when the profile has them.
SAMPLE_COLUMNS = ("name", "city", "member_level", "email")


@dataclass
class Preview:
    count: int
    #: Members (profile_id and the sample columns), at most ``limit`` rows unless all were asked.
    members: pa.Table
    seconds: float
    sql: str
    as_of: datetime
    warnings: list[Problem] = field(default_factory=list)


@dataclass
class RuleSql:
    """A rule compiled for one engine, as of a time."""

    sql: str
    dialect: str
    as_of: datetime
    warnings: list[Problem] = field(default_factory=list)


def checked(ctx: ProjectContext, rule: Any) -> CheckedRule:
    """*rule* checked against *ctx* (unchanged when it already is a :class:`CheckedRule`)."""
    return rule if isinstance(rule, CheckedRule) else check_in(ctx, rule)


def _when(ctx: ProjectContext, as_of: datetime | None) -> datetime:
    return at_or_now(as_of, ctx.clock)


def rule_sql(ctx: ProjectContext, rule: Any, *, dialect: str | None = None, as_of: datetime | None = None) -> RuleSql:
    """The query selecting *rule*'s members, for *dialect* (default: the project's engine)."""
    rule = checked(ctx, rule)
    when = _when(ctx, as_of)
    dialect = dialect or ctx.warehouse.DIALECT
    return RuleSql(sql=compile_in(ctx, rule.tree, as_of=when, dialect=dialect), dialect=dialect, as_of=when,
                   warnings=rule.warnings)


def preview(ctx: ProjectContext, rule: Any, *, as_of: datetime | None = None, limit: int | None = 20,
            columns: tuple[str, ...] | None = None) -> Preview:
    """Count and list the members of *rule* as of *as_of* (default: the project clock's now).

    ``members`` holds ``profile_id`` and the *columns* of profiles (default
    :data:`SAMPLE_COLUMNS`, those the profile has), ordered by id, at most *limit* rows
    (None: all). :func:`member_ids` lists every id and nothing else, faster.
    """
    rule = checked(ctx, rule)
    when = _when(ctx, as_of)
    sql = compile_in(ctx, rule.tree, as_of=when)
    wh = ctx.warehouse
    started = time.perf_counter()
    wh.temp_table("_preview", sql)
    try:
        count = wh.count("SELECT count(*) FROM _preview")
        seconds = time.perf_counter() - started
        have = set(wh.column_names("profiles"))
        present = [c for c in (SAMPLE_COLUMNS if columns is None else columns) if c in have and c != "profile_id"]
        cols = ", ".join(["m.profile_id"] + [f'p."{c}"' for c in present])
        members = wh.query(f"SELECT {cols} FROM _preview m JOIN profiles p USING (profile_id) "
                           "ORDER BY m.profile_id" + ("" if limit is None else f" LIMIT {int(limit)}"))
    finally:
        wh.drop_tables("_preview")
    return Preview(count=count, members=members, seconds=seconds, sql=sql, as_of=when, warnings=rule.warnings)


@dataclass
class MemberIds:
    """Every member id of a rule, sorted, straight from its query (no profile columns)."""

    ids: list[str]
    seconds: float
    sql: str
    as_of: datetime
    warnings: list[Problem] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.ids)


def member_ids(ctx: ProjectContext, rule: Any, *, as_of: datetime | None = None) -> MemberIds:
    """The ids of *rule*'s members as of *as_of*, sorted (read as plain rows: no Arrow)."""
    rule = checked(ctx, rule)
    when = _when(ctx, as_of)
    sql = compile_in(ctx, rule.tree, as_of=when)
    started = time.perf_counter()
    ids = [r[0] for r in ctx.warehouse.rows(f"SELECT DISTINCT profile_id FROM ({sql}) AS r ORDER BY profile_id")]
    return MemberIds(ids=ids, seconds=time.perf_counter() - started, sql=sql, as_of=when, warnings=rule.warnings)


@dataclass
class ProfileExplanation:
    """Why one person is (not) a member: *tree* is the explained rule for the person
    *profile_id*; *resolved_from* is the id given when it was a merged record's, and
    *note* says so ("shop_000123 was merged into app_000045")."""

    profile_id: str
    tree: ExplainNode
    resolved_from: str | None = None
    note: str | None = None

    @property
    def value(self) -> bool:
        return self.tree.value

    def to_dict(self) -> dict[str, Any]:
        """The tree's dict, with the person and, for a merged record's id, where it came from."""
        return {**self.tree.to_dict(), "profile_id": self.profile_id, "resolved_from": self.resolved_from,
                "note": self.note}


def explain_one(ctx: ProjectContext, rule: Any, profile_id: str, *, as_of: datetime | None = None) -> ProfileExplanation:
    """The rule's tree for the person *profile_id* stands for (any source id: a merged
    record's id is explained for its person), each node with its truth value and the values
    behind it. Raises :class:`QueryError` (``unknown_profile``) for an id no profile answers to."""
    from segflow.identity.persons import lookup
    from segflow.rules.explain import explain
    from segflow.rules.profile_data import fetch_profile_data

    rule = checked(ctx, rule)
    when = _when(ctx, as_of)
    person = lookup(ctx.warehouse, profile_id)
    if person is None:
        raise QueryError(f"no profile {profile_id!r}", code="unknown_profile", path=profile_id)
    data = fetch_profile_data(ctx.warehouse, person.id)
    tree = explain(rule.tree, data, as_of=when, timezone=ctx.config.timezone)
    return ProfileExplanation(profile_id=person.id, tree=tree, resolved_from=person.resolved_from, note=person.note)


def explain_profile(ctx: ProjectContext, rule: Any, profile_id: str, *, as_of: datetime | None = None) -> ExplainNode:
    """The tree of :func:`explain_one` (the person's; any source id)."""
    return explain_one(ctx, rule, profile_id, as_of=as_of).tree
