"""``segflow load``: one file into one kind's table, atomically.

Steps, all inside one warehouse transaction (so after a crash or Ctrl-C either the
whole file is in or none of it):

1. open the file with DuckDB's reader and check it can be read at all (encoding,
   required columns) — a file that cannot be read fails before anything is written;
   so does one with a new column whose name is close to a known attribute (``emial``
   next to ``email``: :func:`refuse_typos`), unless new attributes are allowed;
2. infer the types of columns never seen before (the schema registry keeps them);
3. stage every row as typed, normalised values plus a reason when it is bad;
4. merge the good rows by the kind's policy (see :mod:`segflow.ingest.merge`);
5. write the rejects file (temp name, renamed after the commit).
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from segflow.errors import LoadError
from segflow.ingest.cleaning import RAW_CELLS, REJECTS_COLUMNS, Target, infer_types, staging_sql
from segflow.ingest.merge import merge_staged
from segflow.ingest.readers import detect_format, open_source, sql_string
from segflow.ingest.rejects import (
    Reject,
    count_newlines,
    csv_record_lines,
    lines_at_offsets,
    write_rejects,
)
from segflow.ingest.suppress import apply_lifts, suppress_staged
from segflow.schema.kinds import Kind, Merge, kind_named
from segflow.schema.registry import check_attribute_name
from segflow.schema.spelling import close_name
from segflow.schema.types import AttributeType, value_sql

if TYPE_CHECKING:
    from segflow.context import ProjectContext
    from segflow.warehouse.base import Warehouse

__all__ = ["LoadSummary", "load_file", "Progress", "refuse_typos"]

#: ``progress(stage, fraction)``: stage is "read", "merge" or "rejects"; fraction 0..1 or None.
Progress = Callable[[str, float | None], None]


@dataclass
class LoadSummary:
    kind: str
    file: str
    format: str
    rows: int = 0
    accepted: int = 0
    inserted: int = 0
    updated: int = 0
    rejected: int = 0
    duplicates: int = 0
    #: Rows of erased people dropped (not written to the rejects file): segflow.ingest.suppress.
    suppressed: int = 0
    rejects_file: str | None = None
    seconds: float = 0.0
    load_id: int | None = None
    new_attributes: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _fingerprint(path: Path) -> str:
    """Hash of the size and the first and last MiB: cheap even for multi-GB files."""
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with open(path, "rb") as fh:
        digest.update(fh.read(1 << 20))
        if size > 2 << 20:
            fh.seek(-(1 << 20), os.SEEK_END)
            digest.update(fh.read(1 << 20))
    return digest.hexdigest()


class _ProgressPoller:
    """Reports the engine's own query progress from a side thread while a statement runs
    (only the start and the end where the adapter cannot tell: ``SUPPORTS_PROGRESS``)."""

    def __init__(self, wh: Warehouse, stage: str, progress: Progress | None) -> None:
        self.wh, self.stage, self.progress = wh, stage, progress
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> _ProgressPoller:
        if self.progress is not None:
            self.progress(self.stage, 0.0)
        if self.progress is not None and self.wh.SUPPORTS_PROGRESS:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            try:
                pct = self.wh.query_progress()
            except Exception:  # the connection is busy finishing; try again next tick
                continue
            if pct is not None and pct >= 0 and self.progress is not None:
                self.progress(self.stage, min(pct, 100.0) / 100.0)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.progress is not None and exc[0] is None:
            self.progress(self.stage, 1.0)


def _check_header(path: Path, kind: Kind, columns: list[str], known: Iterable[str]) -> list[str]:
    """Refuse a file without the kind's required columns; return the usable columns."""
    usable = [c for c in columns if c not in REJECTS_COLUMNS]
    present = set(usable)
    for col in kind.required:
        spec = kind.column(col)
        if col not in present and (spec is None or spec.default is None):
            raise LoadError(
                f"{path}: required column {col!r} is missing (columns: {', '.join(usable) or 'none'})",
                code="missing_column",
                path=f"{path}:{col}",
            )
    if kind.one_of and not present.intersection(kind.one_of):
        raise LoadError(
            f"{path}: needs a column {' or '.join(map(repr, kind.one_of))}",
            code="missing_column",
            path=f"{path}:{kind.one_of[0]}",
        )
    for col in usable:
        if kind.column(col) is None:
            check_attribute_name(kind.name, col, where=str(path))
    seen: dict[str, str] = {c.name.lower(): c.name for c in kind.columns}
    seen.update({name.lower(): name for name in known})
    in_file: dict[str, str] = {}
    for col in usable:
        other = in_file.get(col.lower()) or (seen.get(col.lower()) if seen.get(col.lower()) != col else None)
        if other is not None and other != col:
            raise LoadError(
                f"{path}: column {col!r} differs from {other!r} only in case; rename one of them",
                code="case_collision",
                path=f"{path}:{col}",
            )
        in_file[col.lower()] = col
    return usable


def refuse_typos(path: Path | str, kind: Kind, new: Iterable[str], known: Iterable[str]) -> None:
    """Raise :class:`LoadError` (code ``possible_typo``) naming every column of *new* whose
    name is close to one of *known* or to a well-known attribute of *kind*
    (:func:`~segflow.schema.spelling.close_name`), with the name it probably means.

    A new column would become a permanent attribute: a misspelt header is refused
    before anything is written, rather than leaving a junk column behind."""
    known = list(known)
    slips = [(col, hint) for col in new if (hint := close_name(col, known, kind=kind.name)) is not None]
    if not slips:
        return
    fix = "declare {it} in schema.yaml or allow new attributes to add {it}"
    if len(slips) == 1:
        col, hint = slips[0]
        message = (f'{path}: column "{col}" is not a known attribute of {kind.name}; did you mean "{hint}"? '
                   f"({fix.format(it='it')})")
    else:
        listed = ", ".join(f'"{col}" (did you mean "{hint}"?)' for col, hint in slips)
        message = f"{path}: columns {listed} are not known attributes of {kind.name}; {fix.format(it='them')}"
    raise LoadError(message, code="possible_typo", path=f"{path}:{slips[0][0]}")


def load_file(
    ws: ProjectContext,
    kind_name: str,
    file: str | Path,
    *,
    file_format: str | None = None,
    rejects_path: str | Path | None = None,
    progress: Progress | None = None,
    new_attributes: bool = False,
) -> LoadSummary:
    """Load *file* into the table of *kind_name*; see the module docstring.

    A column no attribute of the kind has yet becomes a new (inferred) attribute, unless
    its name is close to a known one (a probable typo: :func:`refuse_typos` raises); with
    *new_attributes*, every new column is taken as it is. The new ones are listed in
    ``LoadSummary.new_attributes``."""
    started = time.perf_counter()
    try:
        kind = kind_named(kind_name)
    except KeyError as exc:
        raise LoadError(str(exc.args[0]), code="unknown_kind") from None
    path = Path(file).expanduser().resolve()
    fmt = detect_format(path, file_format)
    wh = ws.warehouse
    if not wh.SUPPORTS_FILE_LOAD:
        raise LoadError(f"{path}: this warehouse ({wh.DIALECT}) cannot read files itself", code="no_file_load",
                        path=str(path))
    tag = uuid.uuid4().hex[:12]
    summary = LoadSummary(kind=kind.name, file=str(path), format=fmt)

    source = open_source(wh, path, fmt, tag)
    registry = ws.registry
    known = registry.attributes(kind.name)
    columns = _check_header(path, kind, source.columns, known)
    new_cols = [c for c in columns if c not in known]
    if new_cols and not new_attributes:
        refuse_typos(path, kind, new_cols, known)
    inferred: dict[str, AttributeType] = infer_types(wh, source, new_cols) if new_cols else {}
    targets = [Target(c.name, c.type, c.name if c.name in columns else None, c) for c in kind.columns]
    targets += [Target(c, known[c].type, c) for c in columns if c in known and kind.column(c) is None]
    targets += [Target(c, inferred[c], c) for c in new_cols]
    fill_rules = {str(k): v for k, v in ws.config.load.fill.get(kind.name, {}).items()}
    named = {t.name for t in targets}
    for col in fill_rules:
        if col not in named and col in known:  # a filled attribute the file lacks
            targets.append(Target(col, known[col].type, None))
    # Coalesce kinds fill at merge time (a missing cell must keep a stored value);
    # the others replace whole rows, so their fill rules apply while staging.
    merge_fill: dict[str, str] = {}
    if kind.merge is Merge.COALESCE:
        types = {t.name: t.type for t in targets}
        merge_fill = {c: value_sql(types[c], sql_string(str(v))) for c, v in fill_rules.items() if c in types}
        fill_rules = {}

    load_id = ws.state.start_load(kind=kind.name, path=str(path), fingerprint=_fingerprint(path), size=path.stat().st_size)
    summary.load_id = load_id
    staged = f"_staged_{tag}"
    rejects_out: Path | None = None
    try:
        sql = staging_sql(source, kind, targets, fill=fill_rules, phone_country=ws.config.default_phone_country)
        # Staged outside the transaction: a temp table created in autocommit numbers its
        # rows 0..n-1 in file order, which is how rejects find their line numbers.
        with _ProgressPoller(wh, "read", progress):
            wh.execute(f"CREATE TEMP TABLE {staged} AS {sql}")
    except BaseException as exc:
        ws.state.finish_load(load_id, status="failed", error=str(exc)[:2000])
        _drop_temp(wh, source, tag, staged)
        raise
    # The rejects' line numbers need the file's newline count (seconds for a big file):
    # count while DuckDB merges, which releases the GIL.
    newlines: Future[tuple[int, bool]] | None = None
    counter: ThreadPoolExecutor | None = None
    if fmt == "csv" and (source.rejects_table or wh.count(f"SELECT count(_reason) FROM {staged}")):
        counter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="segflow-newlines")
        newlines = counter.submit(count_newlines, path)
    try:
        with wh.transaction():
            for col, type_ in inferred.items():
                wh.add_column(kind.name, col, type_)
            parser_rejects = _parser_rejects(wh, source, path)
            if fmt == "jsonl":  # blank lines are not records
                wh.execute(f"DELETE FROM {staged} WHERE _reason = 'blank'")
            suppressed = suppress_staged(ws, kind, staged, [t.name for t in targets], source=str(path))
            with _ProgressPoller(wh, "merge", progress):
                counts = merge_staged(wh, kind, [t.name for t in targets], staged, load_id, fill=merge_fill)
            staged_rows = wh.count(f"SELECT count(*) FROM {staged}") + suppressed.count
            ours = [
                (rowid, reason, *cells) for rowid, reason, cells in wh.execute(
                    f"SELECT rowid, _reason, {RAW_CELLS} FROM {staged} WHERE _reason IS NOT NULL ORDER BY rowid"
                ).fetchall()
            ]
            summary.rows = staged_rows + len(parser_rejects)
            summary.rejected = len(ours) + len(parser_rejects)
            summary.suppressed = suppressed.count
            summary.inserted, summary.updated, summary.duplicates = counts.inserted, counts.updated, counts.duplicates
            summary.accepted = counts.inserted + counts.updated
            if summary.rejected:
                if progress:
                    progress("rejects", None)
                counted = newlines.result() if newlines is not None else None
                rejects = _rejects(path, fmt, source.columns, ours, parser_rejects, staged_rows, counted)
                rejects_out = _rejects_path(ws, kind, path, rejects_path)
                write_rejects(rejects_out.with_name(rejects_out.name + f".{tag}"), source.columns, rejects, skip=REJECTS_COLUMNS)
                summary.rejects_file = str(rejects_out)
    except BaseException as exc:
        ws.state.finish_load(load_id, status="failed", error=str(exc)[:2000])
        if rejects_out is not None:
            Path(str(rejects_out) + f".{tag}").unlink(missing_ok=True)
        raise
    finally:
        _drop_temp(wh, source, tag, staged)
        if counter is not None:
            counter.shutdown(wait=True, cancel_futures=True)
    if rejects_out is not None:
        os.replace(str(rejects_out) + f".{tag}", rejects_out)
    apply_lifts(ws, suppressed)
    for col, type_ in inferred.items():
        registry.record_inferred(kind.name, col, type_)
        summary.new_attributes[col] = type_.value
    summary.seconds = round(time.perf_counter() - started, 3)
    ws.state.finish_load(
        load_id,
        status="ok",
        rows=summary.rows,
        accepted=summary.accepted,
        inserted=summary.inserted,
        updated=summary.updated,
        rejected=summary.rejected,
        duplicates=summary.duplicates,
        rejects_file=summary.rejects_file,
    )
    return summary


def _drop_temp(wh: Warehouse, source: Any, tag: str, staged: str) -> None:
    scans = f"_rej_scan_{source.rejects_table}" if source.format == "jsonl" else f"_rej_scan_{tag}"
    for table in (staged, source.rejects_table, scans):
        if table:
            wh.execute(f"DROP TABLE IF EXISTS {table}")


def _parser_rejects(wh: Warehouse, source: Any, path: Path) -> list[tuple[int, str, str]]:
    """Rows DuckDB's reader refused: (record number, reason, raw text). Encoding errors fail the file."""
    if not source.rejects_table:
        return []
    rows = wh.execute(
        f"SELECT line, error_type::VARCHAR, error_message, csv_line, line_byte_position "
        f"FROM {source.rejects_table} ORDER BY line"
    ).fetchall()
    for line, error_type, message, *_ in rows:
        if "ENCODING" in str(error_type).upper() or "unicode" in str(message).lower():
            raise LoadError(
                f"{path}: not UTF-8 text (line {line}); convert it, e.g. iconv -f GBK -t UTF-8",
                code="bad_encoding",
                path=f"{path}:{line}",
            )
    # DuckDB reports one error per surplus cell of a row (a row with 3 cells too many gives
    # 3): one reject per row, with the first message, or the row would count 3 times.
    first: dict[int, tuple[Any, ...]] = {}
    for row in rows:
        first.setdefault(int(row[4]), row)
    rows = [first[offset] for offset in sorted(first)]
    # DuckDB's own line count skips line breaks inside quotes; the byte offset is exact.
    lines = lines_at_offsets(path, [int(offset) for *_, offset in rows])
    return [
        (line, f"unreadable row: {str(msg).splitlines()[0]}", str(raw or "").lstrip("\r\n"))
        for line, (_, _, msg, raw, _) in zip(lines, rows)
    ]


def _rejects(
    path: Path, fmt: str, columns: list[str], ours: list[tuple[Any, ...]], parser: list[tuple[int, str, str]], accepted: int,
    newlines: tuple[int, bool] | None = None,
) -> list[Reject]:
    n = len(columns)
    ordinals = [int(r[0]) for r in ours]
    if fmt == "csv":
        lines = csv_record_lines(path, ordinals, [p[0] for p in parser], accepted, newlines)
    else:
        # JSON Lines and Parquet: the staged row ordinal is the line (row) - 1; JSON Lines
        # keeps blank lines as rows until after staging, so the count stays exact.
        lines = [k + 1 for k in ordinals]
    out = [Reject(line, r[1], tuple(r[2 : 2 + n]), r[2 + n] if fmt == "jsonl" else None) for line, r in zip(lines, ours)]
    out += [Reject(line, reason, (), raw) for line, reason, raw in parser]
    return out


def _rejects_path(ws: ProjectContext, kind: Kind, path: Path, chosen: str | Path | None) -> Path:
    if chosen is not None:
        return Path(chosen).expanduser().resolve()
    stamp = time.strftime("%Y%m%dT%H%M%S")
    return ws.root / ws.config.load.rejects_dir / f"{kind.name}-{path.stem}-{stamp}.rejects.csv"
