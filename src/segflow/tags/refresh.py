"""Refreshing computed tags: each tag's members as of T, written as a set difference in SQL.

    >>> results = refresh_tags(ws, as_of=datetime(2026, 3, 1, tzinfo=timezone.utc))  # doctest: +SKIP
    >>> [(r.name, r.members, r.added, r.removed) for r in results]                   # doctest: +SKIP
    [('lifecycle/churn_risk', 812, 812, 0), ...]

How a refresh runs:

1. every definition in ``tags/`` is loaded (:func:`~segflow.tags.definition.load_tag_definitions`);
   computed traits the rules use are refreshed as of the same T
   (:func:`segflow.traits.refresh_traits` with their names), and each model whose
   traits they read is run as of T unless its traits already are as of T with the
   project's current settings (:func:`segflow.models.registry.fresh_model_traits`), so
   a tag never reads a trait computed for another time; a tag that reads a model that
   fails is not refreshed (its error says why), nor is a tag that reads it;
2. every rule is checked against the workspace (attributes, tags, traits, segments) and
   every Python function resolved; any problem raises :class:`~segflow.errors.DefinitionError`
   naming the file and the path in the definition, and nothing is written;
3. tags run in dependency order (a tag whose rule uses another defined tag after it),
   each in its own warehouse transaction: its members (the compiled rule, the checked
   SQL, or the function's output, restricted to known profiles) go to a temporary
   table, then assignments of the tag's own source that no longer hold are deleted,
   changed values updated, new members inserted, and assignments of any source that
   have expired by T are purged. Manual, model and journey assignments are kept.
   A tag whose query or function fails is rolled back (its previous assignments stay)
   and the error is recorded; the other tags still run.

Every run of a tag appends a row to the warehouse table ``tag_refreshes`` (``name,
source, fingerprint, as_of, refreshed_at, seconds, members, added, removed, changed,
expired, unknown, error``): the latest row per tag is its state, the rows over time
its size history.

This module also registers the ``tag`` kind with the definitions graph and runner
(:func:`tag_nodes`, :func:`applied_tag_versions`, one tag's refresh) and the ``tag`` job
kind with the scheduler.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from segflow import clock
from segflow.clock import as_utc, at_or_now, utc
from segflow.definitions.graph import GraphNode, rule_reads
from segflow.definitions.kinds import DefinitionKind, register_kind
from segflow.definitions.runner import RefreshJob, RefreshOutcome, RefreshResult
from segflow.errors import DefinitionError, QueryError, SegflowError
from segflow.rules.errors import RuleError
from segflow.scheduler.jobs import register_job_kind
from segflow.tags.definition import TagDefinition, load_tag_definitions, refresh_order
from segflow.warehouse import tables

if TYPE_CHECKING:
    from segflow.context import ProjectContext
    from segflow.rules.ast import Condition
    from segflow.rules.check import CheckContext
    from segflow.warehouse.base import Warehouse

__all__ = ["HISTORY_TABLE", "TagProgress", "TagRefresh", "applied_tag_versions", "applied_tags",
           "check_tag_definitions", "is_computed_tag", "refresh_tags", "tag_history", "tag_nodes"]

#: The warehouse table recording every refresh of every tag (declared in :mod:`segflow.warehouse.tables`).
HISTORY_TABLE = tables.TAG_REFRESHES
_NEW = "_segflow_tag_new"
_DIFF = "_segflow_tag_diff"
_RAW = "_segflow_tag_raw"

#: ``progress(tag, done, total)``: called before each tag.
TagProgress = Callable[[str, int, int], None]


@dataclass
class TagRefresh:
    """What one tag's refresh did. ``members`` counts the profiles tagged by the tag's
    own source after the refresh; ``changed`` the members whose value changed;
    ``expired`` the assignments (any source) purged because they had expired by T;
    ``unknown`` the ids custom logic returned that are not profiles (ignored)."""

    name: str
    source: str
    as_of: datetime
    members: int = 0
    added: int = 0
    removed: int = 0
    changed: int = 0
    expired: int = 0
    unknown: int = 0
    seconds: float = 0.0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def check_tag_definitions(
    ctx: ProjectContext, tags: dict[str, TagDefinition], names: list[str] | None = None, *, assume_traits: bool = False,
    context: CheckContext | None = None, warnings: list[str] | None = None,
) -> dict[str, list[Condition]]:
    """Check the rules of *names* (default: every rule tag) against *ctx*; the checked trees
    per tag, one per case. Raises :class:`DefinitionError` listing every problem as
    ``file: path: message``. With *assume_traits*, traits defined in ``traits/`` and the
    traits models write count as known even before their first refresh. *warnings*, when
    given, gets each rule's warnings (``file: path: message``). *context* is the call's rule
    context (see
    :func:`segflow.rules.project.rule_context`), built here when not given."""
    from dataclasses import replace

    from segflow.rules.check import check_rule
    from segflow.rules.parse import parse_rule
    from segflow.rules.project import rule_context

    given = context if context is not None else rule_context(ctx)
    rules = replace(given, tags=set(given.tags) | set(tags), traits=dict(given.traits))
    if assume_traits:
        from segflow.traits import load_trait_definitions, trait_columns

        orders, items = trait_columns(ctx)
        # a trait file that does not parse is reported by whoever reads traits/ (plan does),
        # not here: it must not hide the problems of the tag rules
        for t in load_trait_definitions(ctx.root, order_columns=orders, item_columns=items, errors=[]):
            rules.traits.setdefault(t.name, t.type)
        from segflow.models.registry import output_types

        for trait, type_ in output_types().items():  # a model's traits, before it first ran
            rules.traits.setdefault(trait, type_)
    checked: dict[str, list[Condition]] = {}
    lines: list[str] = []
    first: tuple[str, str] | None = None  # code and path of the first problem
    for name in names if names is not None else list(tags):
        tag = tags[name]
        if tag.source != "rule":
            continue
        trees = []
        for i, case in enumerate(tag.cases):
            base = "rule" if "rule" in tag.data else f"cases[{i}].rule"
            try:
                tree, found = check_rule(parse_rule(case.rule), rules)
            except RuleError as exc:
                for p in exc.problems:
                    path = f"{base}.{p.path}" if p.path else base
                    lines.append(f"{tag.file}: {path}: {p.message}")
                    first = first or (p.code, f"{tag.file}: {path}")
                continue
            trees.append(tree)
            if warnings is not None:
                warnings.extend(f"{tag.file}: {base}.{w.path}: {w.message}" if w.path else f"{tag.file}: {base}: "
                                f"{w.message}" for w in found)
        checked[name] = trees
    if lines:
        assert first is not None
        raise DefinitionError("\n".join(lines), code=first[0], path=first[1])
    return checked


def _fresh_traits(ctx: ProjectContext, tags: list[TagDefinition], when: datetime) -> dict[str, str]:
    """Refresh the computed traits *tags* use as of *when*, unless they already are; run, as of
    *when*, each model whose traits they read, unless its traits already are
    (:func:`segflow.models.registry.fresh_model_traits`). Returns, for each tag that reads a
    model that failed, the error (the tag is not refreshed: it would read stale values)."""
    used = sorted({t for tag in tags for t in tag.traits_used})
    if not used:
        return {}
    from segflow.models.registry import model_of_trait, run_model, stale_models
    from segflow.traits import last_refresh, load_trait_definitions, refresh_traits, trait_columns

    orders, items = trait_columns(ctx)
    defined = {t.name: t for t in load_trait_definitions(ctx.root, order_columns=orders, item_columns=items)}
    wanted = [name for name in used if name in defined]
    if wanted:  # an unknown trait is reported by the rule check
        stored = (last_refresh(ctx) or {"traits": {}})["traits"]
        stale = [n for n in wanted if n not in stored or stored[n]["as_of"] != when
                 or stored[n]["fingerprint"] != defined[n].fingerprint()]
        if stale:
            refresh_traits(ctx, as_of=when, names=stale)
    owners = {t: m for t in used if t not in defined and (m := model_of_trait(t)) is not None}
    failed: dict[str, str] = {}
    for model in stale_models(ctx, sorted(set(owners.values())), when):
        try:
            run_model(ctx, model, as_of=when)
        except SegflowError as exc:
            failed[model] = f"not refreshed: model {model} failed: {exc.message}"
    return {tag.name: failed[owners[t]] for tag in tags for t in sorted(tag.traits_used)
            if t in owners and owners[t] in failed}


def _case_query(trees: list[Condition], tag: TagDefinition, when: datetime, zone: str, dialect: str) -> str:
    """One SELECT ``profile_id, value`` for a rule tag: the first matching case gives the value."""
    import sqlglot
    from sqlglot import exp

    from segflow.rules.compile import compile_rule

    parts = []
    for i, (tree, case) in enumerate(zip(trees, tag.cases)):
        members = compile_rule(tree, as_of=when, timezone=zone, dialect=dialect).subquery(
            exp.to_identifier(f"c{i}", quoted=True))
        value = (exp.Literal.string(case.value) if case.value is not None
                 else exp.cast(exp.Null(), exp.DataType.build("VARCHAR")))
        parts.append(sqlglot.select(
            exp.alias_(exp.column("profile_id", table=f"c{i}", quoted=True), "profile_id", quoted=True),
            exp.alias_(value, "value", quoted=True),
            exp.alias_(exp.Literal.number(i), "priority", quoted=True),
        ).from_(members))
    if len(parts) == 1:
        return sqlglot.select("profile_id", "value").from_(parts[0].subquery("u")).sql(dialect=dialect)
    union: exp.Query = parts[0]
    for part in parts[1:]:
        union = exp.union(union, part, distinct=False)
    ranked = sqlglot.select(
        exp.column("profile_id", quoted=True), exp.column("value", quoted=True),
        exp.alias_(exp.Window(this=exp.RowNumber(), partition_by=[exp.column("profile_id", quoted=True)],
                              order=exp.Order(expressions=[exp.Ordered(this=exp.column("priority", quoted=True))])),
                   "rank", quoted=True),
    ).from_(union.subquery("u"))
    first = sqlglot.select(exp.column("profile_id", quoted=True), exp.column("value", quoted=True)).from_(
        ranked.subquery("r")).where(exp.EQ(this=exp.column("rank", quoted=True), expression=exp.Literal.number(1)))
    return first.sql(dialect=dialect)


def refresh_tags(
    ctx: ProjectContext,
    names: list[str] | None = None,
    *,
    as_of: datetime | None = None,
    with_used: bool = False,
    progress: TagProgress | None = None,
) -> list[TagRefresh]:
    """Compute the tags *names* (default: every tag defined in ``tags/``) as of *as_of*
    (default now, UTC) into ``tag_assignments``; one :class:`TagRefresh` per tag, in the
    order they ran (a tag after the named tags its rules use). With *with_used*, the
    defined tags that the named ones use are refreshed first, as of the same time.
    Manual tags only have their expired assignments purged. See the module doc for the
    steps; a failing tag has ``error`` set and kept its assignments.
    """
    when = at_or_now(as_of, ctx.clock)
    tags = load_tag_definitions(ctx.root)
    for name in names or ():
        if name not in tags:
            known = ", ".join(sorted(tags)) or "none"
            raise DefinitionError(f"no tag {name!r} in tags/ (tags: {known})", code="unknown_tag", path=name)
    if ctx.read_only:
        raise QueryError("cannot refresh tags: the workspace is open read-only", code="read_only")
    selected = refresh_order(tags, list(names) if names else sorted(tags), include_used=with_used)
    functions = {}
    if any(tags[n].source == "python" for n in selected):
        from segflow.tags.custom import resolve_function

        for n in selected:
            if tags[n].source == "python":
                try:
                    functions[n] = resolve_function(tags[n].python or "", ctx.root)
                except DefinitionError as exc:
                    raise DefinitionError(f"{tags[n].file}: python: {exc.message.removeprefix('python: ')}",
                                          code=exc.code, path=f"{tags[n].file}: python") from None
    blocked = _fresh_traits(ctx, [tags[n] for n in selected], when)
    for n in selected:  # in dependency order: a tag reading a blocked tag is blocked too
        up = next((u for u in sorted(tags[n].tags_used) if u in blocked), None)
        if n not in blocked and up is not None:
            blocked[n] = f"not refreshed: it reads tag {up!r}, which was not refreshed"
    checked = check_tag_definitions(ctx, tags, [n for n in selected if n not in blocked])
    wh = ctx.warehouse
    tables.ensure(wh, HISTORY_TABLE)
    now = utc(ctx.clock.now())
    cutoff = min(when, now)
    expiring = {r[0] for r in wh.rows("SELECT DISTINCT tag FROM tag_assignments WHERE expires_at <= ?", [cutoff])}
    results = []
    for i, name in enumerate(selected):
        if progress:
            progress(name, i, len(selected))
        tag = tags[name]
        result = TagRefresh(name=name, source=tag.source, as_of=when)
        started = time.perf_counter()
        if name in blocked:
            result.error = blocked[name]
            _record(wh, tag, result)
            results.append(result)
            continue
        try:
            query = _members_query(ctx, tag, checked.get(name, []), functions.get(name), when)
            _apply(wh, tag, query, when, result, now=now, may_expire=name in expiring)
        except Exception as exc:  # recorded for this tag; the others still run
            if "interrupted" in str(exc).lower()[:200]:  # DuckDB's form of Ctrl-C stops everything
                raise
            result.error = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        finally:
            if tag.source == "python":
                wh.unregister(_RAW)
        result.seconds = time.perf_counter() - started
        _record(wh, tag, result)
        results.append(result)
    return results


def _members_query(ctx: ProjectContext, tag: TagDefinition, trees: list[Condition], fn: Any, when: datetime) -> str | None:
    """The SELECT ``profile_id, value`` of a computed tag, or None for a manual tag."""
    zone = ctx.config.timezone
    if tag.source == "rule":
        return _case_query(trees, tag, when, zone, ctx.warehouse.DIALECT)
    if tag.source == "sql":
        from segflow.tags.custom import render_tag_sql

        sql, _valued = render_tag_sql(tag.sql or "", as_of=when, timezone_name=zone)
        return sql
    if tag.source == "python":
        from segflow.tags.custom import run_tag_function

        table = run_tag_function(fn, ctx, when, name=tag.name)  # type: ignore[arg-type]
        ctx.warehouse.register(_RAW, table)
        return f"SELECT profile_id, value FROM {_RAW}"
    return None


def _apply(wh: Warehouse, tag: TagDefinition, query: str | None, when: datetime,
           result: TagRefresh, *, now: datetime, may_expire: bool = True) -> None:
    """Write one tag's new members as a set difference, in one transaction.

    The tag's current assignments (of its own source) are outer-joined once with the new
    members into ``_segflow_tag_diff`` (added / removed / changed / kept); then only the
    rows that change are deleted and (re)inserted: a day's refresh touches the day's
    difference, not the whole membership. *may_expire* False skips the purge of expired
    assignments when the caller knows the tag has none. Assignments expire as of
    ``min(when, now)``.
    """
    key = [tag.name, tag.source]
    with wh.transaction():
        if may_expire:
            expired = wh.execute("DELETE FROM tag_assignments WHERE tag = ? AND expires_at <= ?",
                                  [tag.name, min(when, now)]).fetchall()
            result.expired = int(expired[0][0]) if expired else 0
        if query is not None:
            # One row per profile: a rule gives that already; custom logic may give several
            # values (the smallest is kept) and ids that are not profiles (counted, dropped).
            if tag.source == "rule":
                wh.execute(f"CREATE OR REPLACE TEMP TABLE {_NEW} AS SELECT profile_id, value FROM ({query}) AS q")
            else:
                wh.execute(
                    f"CREATE OR REPLACE TEMP TABLE {_NEW} AS SELECT profile_id, min(value) AS value "
                    f"FROM ({query}) AS q WHERE profile_id IS NOT NULL GROUP BY profile_id"
                )
                result.unknown = int(wh.execute(
                    f"SELECT count(*) FROM {_NEW} WHERE profile_id NOT IN (SELECT profile_id FROM profiles)"
                ).fetchall()[0][0])
                if result.unknown:
                    wh.execute(f"DELETE FROM {_NEW} WHERE profile_id NOT IN (SELECT profile_id FROM profiles)")
            wh.execute(
                f"CREATE OR REPLACE TEMP TABLE {_DIFF} AS SELECT coalesce(n.profile_id, o.profile_id) AS profile_id, "
                "n.value AS value, CASE WHEN o.profile_id IS NULL THEN 'added' WHEN n.profile_id IS NULL THEN 'removed' "
                "WHEN o.value IS DISTINCT FROM n.value THEN 'changed' "
                "WHEN o.assigned_at > ? THEN 'restamped' ELSE 'kept' END AS change "
                "FROM (SELECT profile_id, value, assigned_at FROM tag_assignments WHERE tag = ? AND source = ?) AS o "
                f"FULL OUTER JOIN {_NEW} AS n ON n.profile_id = o.profile_id",
                [when, *key],
            )
            counts = dict(wh.execute(f"SELECT change, count(*) FROM {_DIFF} GROUP BY change").fetchall())
            result.added, result.removed = int(counts.get("added", 0)), int(counts.get("removed", 0))
            result.changed = int(counts.get("changed", 0))
            result.members = sum(int(n) for c, n in counts.items() if c != "removed")
            # Removed and changed rows go; a refresh as of an earlier time (a backfill)
            # restamps kept members so they are visible from then.
            if result.removed or result.changed or counts.get("restamped"):
                wh.execute(
                    "DELETE FROM tag_assignments WHERE tag = ? AND source = ? AND profile_id IN "
                    f"(SELECT profile_id FROM {_DIFF} WHERE change IN ('removed', 'changed', 'restamped'))", key)
            if result.added or result.changed or counts.get("restamped"):
                wh.execute(
                    "INSERT INTO tag_assignments (profile_id, tag, value, source, assigned_at, expires_at) "
                    f"SELECT profile_id, ?, value, ?, ?, NULL FROM {_DIFF} "
                    "WHERE change IN ('added', 'changed', 'restamped')", [tag.name, tag.source, when])
            wh.execute(f"DROP TABLE IF EXISTS {_NEW}")
            wh.execute(f"DROP TABLE IF EXISTS {_DIFF}")
        else:
            result.members = int(wh.execute(
                "SELECT count(DISTINCT profile_id) FROM tag_assignments WHERE tag = ? AND source = ?",
                key).fetchall()[0][0])


def _record(wh: Warehouse, tag: TagDefinition, r: TagRefresh) -> None:
    wh.execute(
        f"INSERT INTO {HISTORY_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [r.name, r.source, tag.fingerprint(), r.as_of, clock.now(), r.seconds, r.members, r.added,
         r.removed, r.changed, r.expired, r.unknown, r.error],
    )


def tag_history(ctx: ProjectContext, name: str | None = None, *, limit: int | None = None) -> list[dict[str, Any]]:
    """Refreshes recorded in ``tag_refreshes`` (newest first), for one tag or all."""
    wh = ctx.warehouse
    if not wh.table_exists(HISTORY_TABLE):
        return []
    where, params = ("WHERE name = ?", [name]) if name is not None else ("", [])
    query = f"SELECT * FROM {HISTORY_TABLE} {where} ORDER BY refreshed_at DESC"
    if limit is not None:
        query += f" LIMIT {int(limit)}"
    cursor = wh.execute(query, params)
    cols = [d[0] for d in cursor.description]
    rows = [dict(zip(cols, row)) for row in cursor.fetchall()]
    for row in rows:
        for key in ("as_of", "refreshed_at"):
            row[key] = as_utc(row[key])
    return rows


# -- the tag kind of the definitions graph, runner and scheduler ------------------------------

def is_computed_tag(tag: TagDefinition) -> bool:
    """Whether a tag is computed by a refresh (rule, cases, SQL, Python), not assigned by hand."""
    return bool(tag.computed)


def applied_tags(ctx: ProjectContext) -> dict[str, TagDefinition]:
    """The tag definitions in ``tags/`` (a refresh reads the folder; ``segflow apply`` versions it)."""
    return dict(load_tag_definitions(ctx.root))


def applied_tag_versions(ctx: ProjectContext) -> dict[str, tuple[int | None, TagDefinition]]:
    """``{name: (applied version or None, definition)}`` of the tags in ``tags/``."""
    from segflow.definitions.versions import current_versions

    versions = current_versions(ctx.state, "tag")
    return {name: (versions[("tag", name)].version if ("tag", name) in versions else None, tag)
            for name, tag in applied_tags(ctx).items()}


def tag_nodes(tags: Mapping[str, TagDefinition]) -> list[GraphNode]:
    """The graph nodes of *tags*: each reads the segments, tags and traits its rules use (and its
    ``depends_on``); only computed tags are edges (nothing refreshes a tag assigned by hand)."""
    out = []
    for name, tag in tags.items():
        reads = rule_reads(tag.rule)
        for case in tag.cases:  # valued tags: one rule per case
            reads |= rule_reads(case.rule)
        reads |= {("segment", s) for s in tag.depends_on} | {("tag", t) for t in tag.tags_used}
        reads |= {("trait", t) for t in tag.traits_used}
        reads.discard(("tag", name))
        computed = is_computed_tag(tag)
        out.append(GraphNode("tag", name, frozenset(reads), refreshable=computed, tracked=computed,
                             file=tag.file or f"tags/{name}", rule=tag.rule))
    return out


def _refresh_tag(job: RefreshJob) -> RefreshOutcome:
    [result] = refresh_tags(job.ctx, [job.name], as_of=job.as_of)
    if result.error:
        return RefreshOutcome(error=str(result.error))
    return RefreshOutcome(members=result.members, entered=result.added, exited=result.removed)


def _tag_job(ctx: ProjectContext, name: str, *, as_of: datetime, trigger: str,
             worker: str | None) -> list[RefreshResult]:
    from segflow.segments.refresh import refresh

    return refresh(ctx, [], tag_names=[name], as_of=as_of, trigger=trigger, worker=worker)


register_kind(DefinitionKind("tag", nodes=tag_nodes, load=applied_tag_versions, refresh=_refresh_tag))
register_job_kind("tag", _tag_job, description="refresh one computed tag")
