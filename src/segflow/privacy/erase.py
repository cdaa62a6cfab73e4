"""Erasing one person (GDPR Art. 17, PIPL Art. 47): every row and file line that names them.

Steps, in this order (:func:`erase_person`):

1. find the person (any source id, the canonical id, or an identifier) and their
   footprint (:mod:`segflow.privacy.footprint`);
2. scrub the files segflow wrote that can hold them: the file channel's JSON lines
   (``.segflow/outbox/*.jsonl`` and configured file channels) and the rejects files under
   the project's ``load.rejects_dir`` — first, so a failure later leaves the person findable
   and a second erasure finishes the work;
3. in one state transaction: the person's journey runs and their steps, outbox rows,
   inbox rows (tracking calls) that name an id or identifier value, identity pins; and
   inside it, in one warehouse transaction, every row of every warehouse table that holds
   an id (see :func:`~segflow.privacy.footprint.person_filter`); then the erasure record
   (counts only), one ``erased_identifiers`` row per id and value (keyed hashes: the
   suppression, :mod:`segflow.privacy.suppression`) and the audit entry ``profile.erase``
   (target: the erasure id). The warehouse commits first; a state failure before that
   rolls both back.

Rows of other people are never touched: shared anonymous ids and identifier values are
not part of the footprint. A second erasure of the same person says ``no profile``.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from segflow.identity.profile import find_person
from segflow.privacy.footprint import Footprint, footprint, person_filter, stage, unstage
from segflow.privacy.suppression import record_identifiers
from segflow.secret import identifier_hash, project_secret
from segflow.warehouse.base import quote_ident as q

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from segflow.context import ProjectContext

__all__ = ["ErasureReport", "erase_person", "identifier_hashes"]


@dataclass
class ErasureReport:
    erasure_id: int
    person: str
    #: table (warehouse or state store) → rows removed
    tables: dict[str, int] = field(default_factory=dict)
    #: erased identifiers recorded (ids and identifier values, as keyed hashes)
    identifiers: int = 0
    #: files rewritten without the person's lines
    files: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"erasure_id": self.erasure_id, "person": self.person, "tables": dict(self.tables),
                "identifiers": self.identifiers, "files": list(self.files)}


def identifier_hashes(ctx: ProjectContext, fp: Footprint) -> list[tuple[str, str]]:
    """(type, keyed hash) of every id and identifier value of *fp*."""
    secret = project_secret(ctx.root)
    pairs = {("profile_id", i) for i in fp.ids} | {("anonymous_id", a) for a in fp.anonymous}
    pairs |= {("order_id", o) for o in fp.orders} | set(fp.values)
    return sorted({(t, identifier_hash(secret, t, v)) for t, v in pairs})


def erase_person(ctx: ProjectContext, ident: str | None = None, *, by: tuple[str, str] | None = None,
                 actor: str = "cli") -> ErasureReport:
    """Erase the person *ident* (or found by identifier *by* = (type, value)); see the module docstring.

        >>> erase_person(ws, "shop_000123").tables  # doctest: +SKIP
        {'events': 41, 'identities': 3, 'orders': 2, 'order_items': 5, 'profiles': 1, ...}
    """
    person = find_person(ctx, ident, by=by)
    wh = ctx.warehouse
    fp = footprint(ctx, person)
    report = ErasureReport(erasure_id=0, person=person)
    report.files = _scrub_files(ctx, fp)
    hashes = identifier_hashes(ctx, fp)
    with ctx.state.begin() as conn:
        state_counts = _erase_state(conn, fp)
        with wh.transaction():
            stage(wh, fp)
            try:
                for table in wh.tables():
                    where = person_filter(wh, fp, table)
                    if where is not None:
                        n = wh.count(f"DELETE FROM {q(table)} WHERE {where}")
                        if n:
                            report.tables[table] = n
            finally:
                unstage(wh)
            report.tables.update({k: v for k, v in state_counts.items() if v})
            report.erasure_id, report.identifiers = _record(conn, report, hashes, actor)
    return report


def _record(conn: Connection, report: ErasureReport, hashes: list[tuple[str, str]], actor: str) -> tuple[int, int]:
    from segflow import clock
    from segflow.privacy.audit import record_audit
    from segflow.state.tables import erasures

    summary = dict(sorted(report.tables.items()))
    key = conn.execute(erasures.insert().values(erased_at=clock.now(), actor=actor,
                                                summary=json.dumps(summary))).inserted_primary_key
    assert key is not None
    erasure_id = int(key[0])
    count = record_identifiers(conn, erasure_id, hashes)
    record_audit(conn, actor=actor, action="profile.erase", target=str(erasure_id),
                 detail={"tables": summary, "identifiers": count, "files": len(report.files)})
    return erasure_id, count


# -- the state store ------------------------------------------------------------------------
def _erase_state(conn: Connection, fp: Footprint) -> dict[str, int]:
    import sqlalchemy as sa

    from segflow.state.tables import identity_pins, inbox, journey_runs, journey_steps, outbox

    ids = sorted(fp.all_ids)
    runs = [r[0] for r in conn.execute(sa.select(journey_runs.c.id).where(journey_runs.c.profile_id.in_(ids)))]
    counts = {
        "journey_steps": conn.execute(journey_steps.delete().where(journey_steps.c.run_id.in_(runs))).rowcount,
        "outbox": conn.execute(outbox.delete().where(
            sa.or_(outbox.c.profile_id.in_(ids), outbox.c.run_id.in_(runs)))).rowcount,
        "journey_runs": conn.execute(journey_runs.delete().where(journey_runs.c.id.in_(runs))).rowcount,
        "identity_pins": conn.execute(identity_pins.delete().where(
            sa.or_(identity_pins.c.source_id.in_(ids), identity_pins.c.canonical_before.in_(ids)))).rowcount,
    }
    texts = fp.texts()
    probes = sorted({p for t in texts for p in (t, json.dumps(t)[1:-1]) if p})
    found: list[int] = []
    for start in range(0, len(probes), 200):
        chunk = probes[start:start + 200]
        like = sa.or_(*(inbox.c.body.contains(p, autoescape=True) for p in chunk))
        for row_id, body in conn.execute(sa.select(inbox.c.id, inbox.c.body).where(like)):
            if _names(body, texts):
                found.append(int(row_id))
    counts["inbox"] = conn.execute(inbox.delete().where(inbox.c.id.in_(sorted(set(found))))).rowcount if found else 0
    return counts


def _leaves(value: Any) -> Iterable[str]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    elif value is not None:
        yield str(value)


def _names(body: str, texts: set[str]) -> bool:
    """Whether the JSON *body* has a value that is one of *texts* (e-mails compared lower-cased,
    phones by their digits' tail): a substring hit alone (``p1`` in ``p10``) is not enough."""
    try:
        leaves = list(_leaves(json.loads(body)))
    except ValueError:
        return any(t in body for t in texts)
    lowered = {t.lower() for t in texts}
    digits = {re.sub(r"\D", "", t)[-8:] for t in texts if t.startswith("+")}
    for leaf in leaves:
        s = leaf.strip()
        if s in texts or s.lower() in lowered:
            return True
        d = re.sub(r"\D", "", s)
        if len(d) >= 8 and d[-8:] in digits and not re.search(r"[A-Za-z]", s):
            return True
    return False


# -- files ----------------------------------------------------------------------------------
def _outbox_files(ctx: ProjectContext) -> list[Path]:
    from segflow.channels.providers import OUTBOX_DIR

    found = set((ctx.root / OUTBOX_DIR).glob("*.jsonl"))
    for settings in (ctx.config.channels or {}).values():
        if settings.path:
            path = Path(settings.path).expanduser()
            found.add(path if path.is_absolute() else ctx.root / path)
    return sorted(p for p in found if p.is_file())


def _scrub_files(ctx: ProjectContext, fp: Footprint) -> list[str]:
    texts = _normalised_texts(ctx, fp)
    changed = []
    for path in _outbox_files(ctx):
        if _scrub_jsonl(path, fp, texts):
            changed.append(str(path))
    rejects = ctx.root / ctx.config.load.rejects_dir
    if rejects.is_dir():
        for path in sorted(rejects.rglob("*.csv")):
            if _scrub_csv(ctx, path, texts):
                changed.append(str(path))
    return changed


def _normalised_texts(ctx: ProjectContext, fp: Footprint) -> set[str]:
    return fp.texts() | {v.lower() for _, v in fp.values}


def _rewrite(path: Path, text: str) -> None:
    # In place (same inode): a file channel holding the file open with O_APPEND keeps writing to it.
    with open(path, "r+", encoding="utf-8", newline="") as fh:
        fh.write(text)
        fh.truncate()


def _scrub_jsonl(path: Path, fp: Footprint, texts: set[str]) -> bool:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            kept.append(line)
            continue
        meta = record.get("meta") if isinstance(record, dict) else None
        profile = meta.get("profile_id") if isinstance(meta, dict) else None
        if profile in fp.all_ids or (isinstance(record, dict) and record.get("profile_id") in fp.all_ids) \
                or _names(line, texts):
            continue
        kept.append(line)
    if len(kept) == len(lines):
        return False
    _rewrite(path, "".join(kept))
    return True


_TOKEN = re.compile(r"[,;\t\"\s{}\[\]]+")


def _scrub_csv(ctx: ProjectContext, path: Path, texts: set[str]) -> bool:
    """Drop the rejected rows naming the person (by an id or identifier cell, or a token of the
    raw line); the header stays."""
    text = path.read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return False
    header, body = rows[0], rows[1:]
    cells = [(r, [c.strip() for c in r]) for r in body]
    # identifier cells are raw text in a rejects file: normalise them as ingest would
    typed = [(i, h) for i, h in enumerate(header) if h in ("email", "phone")]
    normal: dict[tuple[str, str], str | None] = {}
    if typed:
        from segflow.privacy.suppression import normalise_identifiers

        wanted = sorted({(h, r[i]) for r in body for i, h in typed if i < len(r) and r[i].strip()})
        normal = dict(zip(wanted, (v for _, v in normalise_identifiers(ctx, wanted))))
    kept = [header]
    for row, stripped in cells:
        hit = any(c in texts or c.lower() in texts for c in stripped if c)
        hit = hit or any(normal.get((h, row[i])) in texts for i, h in typed if i < len(row))
        if not hit and header and header[-1] == "_raw_line" and row:
            hit = any(tok in texts or tok.lower() in texts for tok in _TOKEN.split(row[-1]) if tok)
        if not hit:
            kept.append(row)
    if len(kept) == len(rows):
        return False
    out = io.StringIO()
    csv.writer(out).writerows(kept)
    _rewrite(path, out.getvalue())
    return True

