"""Editing one definition file of the project folder, as the HTTP API does: read, write, delete.

    >>> f = read_definition(ctx, "segment", "vip")                       # doctest: +SKIP
    >>> put_definition(ctx, "segment", "vip", new_text, if_match=f.etag)  # doctest: +SKIP

A definition lives in the file the CLI reads (``segments/NAME.yaml``, ``tags/group/name.yaml``,
``traits/``, ``models/``, ``journeys/``; an existing file keeps its name and suffix). Its ETag
is a hash of the file's bytes. A change is:

1. checked against its preconditions: replacing or deleting an existing file needs
   ``If-Match`` with its current ETag (``precondition_required`` without one,
   ``stale_version`` when it changed since), creating takes ``If-None-Match: *`` or nothing
   (``exists`` when the file is there already);
2. validated with the whole folder as it would be after the change, by the checks of
   ``segflow plan`` (:func:`~segflow.definitions.project.local_definitions` and
   :func:`~segflow.definitions.project.check_definitions`) run on a scratch copy of the
   definition folders: a bad definition is refused with the same one-line errors and paths,
   and nothing is written;
3. written atomically (a temporary file, then a rename) into the project folder;
4. applied with :func:`segflow.definitions.plan.apply` — the **whole project's** apply, as
   ``segflow apply`` does it (apply knows no narrower unit), so other pending changes of the
   folder are applied with it. Should that apply refuse the folder (another file changed
   meanwhile), the file is put back as it was.

Changes of one project are serialised (a lock per project folder), so the ETag check and
the write cannot interleave with another change made through this module.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from segflow.errors import ConflictError, DefinitionError, SegflowError

if TYPE_CHECKING:
    from segflow.context import ProjectContext

__all__ = ["FOLDERS", "DefinitionFile", "DefinitionListing", "EditResult", "check_definition_name", "content_of", "decode_body",
           "delete_definition", "etag_of", "list_definitions", "put_definition", "read_definition"]

#: Definition kind → its folder in the project.
FOLDERS: dict[str, str] = {"segment": "segments", "tag": "tags", "trait": "traits", "model": "models",
                           "journey": "journeys"}
_SUFFIXES: dict[str, tuple[str, ...]] = {"segment": (".yaml", ".yml", ".json")}
_TRAIT_NAME: dict[str, Any] = {"first": "letter", "marks": "_", "lower": True, "max_len": 63}

_locks: dict[str, threading.RLock] = {}
_locks_guard = threading.Lock()


def _lock(ctx: ProjectContext) -> threading.RLock:
    key = str(Path(ctx.root).resolve())
    with _locks_guard:
        return _locks.setdefault(key, threading.RLock())


def etag_of(content: bytes) -> str:
    """The (strong, quoted) ETag of a file's bytes."""
    return '"' + hashlib.sha256(content).hexdigest()[:32] + '"'


def check_definition_name(kind: str, name: Any) -> str:
    """The NFC form of *name* when it can name a *kind* definition (and so a file), else
    DefinitionError ``bad_name`` / ``unknown_kind``."""
    if kind not in FOLDERS:
        raise DefinitionError(f"no definition kind {kind!r} (kinds: {', '.join(FOLDERS)})", code="unknown_kind",
                              path="kind")
    if kind == "segment":
        from segflow.segments.definition import check_segment_name

        return check_segment_name(name)
    if kind == "tag":
        from segflow.tags.definition import check_tag_name

        return check_tag_name(name, path=str(name))
    if kind == "journey":
        from segflow.journeys.definition import check_journey_name

        return check_journey_name(name)
    from segflow.names import nfc, problem

    if kind == "trait":
        if problem(name, **_TRAIT_NAME) is not None or name == "profile_id":
            raise DefinitionError(f"{name!r} is not a trait name (lower-case letters, digits and _, starting with "
                                  "a letter, at most 63 characters)", code="bad_name", path=str(name))
        return nfc(name)
    from segflow.models.registry import models

    known = models()
    if name not in known:
        raise DefinitionError(f"no model {name!r}: a model file is named after one of {', '.join(sorted(known))}",
                              code="bad_name", path=str(name))
    return str(name)


# -- reading ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class DefinitionFile:
    """One definition file as it is in the folder."""

    kind: str
    name: str
    #: Relative to the project folder (``segments/vip.yaml``).
    file: str
    etag: str
    text: str
    #: The file's data (YAML parsed); None when it does not parse (``error`` says why).
    definition: Any
    #: The applied version (None: never applied, or removed).
    applied_version: int | None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "file": self.file, "etag": self.etag, "text": self.text,
                "definition": self.definition, "applied_version": self.applied_version, "error": self.error}


@dataclass(frozen=True)
class DefinitionListing:
    kind: str
    name: str
    #: The file defining it (None: applied, but its file is gone — apply removes it).
    file: str | None
    etag: str | None
    applied_version: int | None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "file": self.file, "etag": self.etag,
                "applied_version": self.applied_version}


def _files(root: Path, kind: str) -> list[Path]:
    folder = root / FOLDERS[kind]
    if not folder.is_dir():
        return []
    suffixes = _SUFFIXES.get(kind, (".yaml", ".yml"))
    found = folder.rglob("*") if kind == "tag" else folder.glob("*")
    return sorted(p for p in found if p.suffix in suffixes and p.is_file())


def _stem_name(root: Path, kind: str, path: Path) -> str:
    from segflow.names import nfc

    rel = path.relative_to(root / FOLDERS[kind]).with_suffix("")
    return nfc("/".join(rel.parts))


def _defined_files(ctx: ProjectContext, kind: str) -> dict[str, str]:
    """``{name: file}`` of the folder's *kind* definitions (a file that does not load: by its name)."""
    from segflow.definitions.project import local_definitions

    read: list[SegflowError] = []
    defs = local_definitions(ctx, errors=read).all()
    out = {name: d.file for (k, name), d in defs.items() if k == kind and d.file}
    claimed = set(out.values())
    root = Path(ctx.root)
    for path in _files(root, kind):
        rel = path.relative_to(root).as_posix()
        if rel not in claimed:
            out.setdefault(_stem_name(root, kind, path), rel)
    return out


def _applied(ctx: ProjectContext, kind: str) -> dict[str, int]:
    from segflow.definitions.versions import current_versions

    return {name: v.version for (_, name), v in current_versions(ctx.state, kind).items() if v.active}


def _locate(ctx: ProjectContext, kind: str, name: str) -> str | None:
    """The file defining (kind, name), relative to the project, or None."""
    root = Path(ctx.root)
    for suffix in _SUFFIXES.get(kind, (".yaml", ".yml")):
        rel = f"{FOLDERS[kind]}/{name}{suffix}"
        if (root / rel).is_file():
            return rel
    return _defined_files(ctx, kind).get(name)


def list_definitions(ctx: ProjectContext, kind: str) -> list[DefinitionListing]:
    """Every *kind* definition of the folder, and every applied one whose file is gone, by name."""
    if kind not in FOLDERS:
        raise DefinitionError(f"no definition kind {kind!r} (kinds: {', '.join(FOLDERS)})", code="unknown_kind",
                              path="kind")
    files = _defined_files(ctx, kind)
    applied = _applied(ctx, kind)
    root = Path(ctx.root)
    out = []
    for name in sorted(set(files) | set(applied)):
        rel = files.get(name)
        etag = etag_of((root / rel).read_bytes()) if rel else None
        out.append(DefinitionListing(kind, name, rel, etag, applied.get(name)))
    return out


def _parsed(content: bytes) -> tuple[Any, str | None]:
    from segflow.yamlfile import YamlSyntax, parse_yaml

    try:
        return parse_yaml(content), None
    except YamlSyntax as bad:
        return None, str(bad)


def read_definition(ctx: ProjectContext, kind: str, name: str) -> DefinitionFile:
    """The file of (kind, name): its text, data and ETag; DefinitionError ``unknown_definition``."""
    name = check_definition_name(kind, name)
    rel = _locate(ctx, kind, name)
    if rel is None:
        raise DefinitionError(f"no {kind} {name!r} in the project folder ({FOLDERS[kind]}/)",
                              code="unknown_definition", path=f"{kind}/{name}")
    content = (Path(ctx.root) / rel).read_bytes()
    data, error = _parsed(content)
    return DefinitionFile(kind, name, rel, etag_of(content), content.decode("utf-8", "replace"), data,
                          _applied(ctx, kind).get(name), error)


# -- preconditions ---------------------------------------------------------------------------

def _tags(header: str | None) -> list[str] | None:
    if header is None:
        return None
    out = []
    for part in header.split(","):
        tag = part.strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        if tag:
            out.append(tag)
    return out


def _check_preconditions(kind: str, name: str, current: bytes | None, if_match: str | None,
                         if_none_match: str | None) -> None:
    target = f"{kind}/{name}"
    matches, none_match = _tags(if_match), _tags(if_none_match)
    etag = etag_of(current) if current is not None else None
    if none_match is not None and current is not None and ("*" in none_match or etag in none_match):
        raise ConflictError(f"{target} exists already (ETag {etag}): replace it with If-Match", code="exists",
                            path=target)
    if current is None:
        if matches:
            raise ConflictError(f"{target} no longer exists: its ETag is stale", code="stale_version", path=target)
        return
    if not matches or matches == ["*"]:
        raise ConflictError(f"{target} exists: changing it needs If-Match with its current ETag {etag}",
                            code="precondition_required", path=target)
    if etag not in matches:
        raise ConflictError(f"{target} changed since that ETag was read (its ETag is now {etag})",
                            code="stale_version", path=target)


# -- validating on a scratch copy ------------------------------------------------------------

class _Scratch:
    """The project seen through another folder: every attribute the project's, ``root`` the scratch's."""

    def __init__(self, ctx: ProjectContext, root: Path) -> None:
        self._ctx = ctx
        self.root = root

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ctx, name)


def _validate(ctx: ProjectContext, kind: str, name: str, rel: str, content: bytes | None) -> None:
    """Run plan's checks on the folder as it would be with *rel* holding *content* (None: removed)."""
    from segflow.definitions.project import check_definitions, local_definitions

    root = Path(ctx.root)
    folder = FOLDERS[kind]
    with tempfile.TemporaryDirectory(prefix="segflow-edit-") as tmp:
        scratch = Path(tmp) / root.name
        scratch.mkdir()
        for entry in root.iterdir():
            if entry.name == ".segflow":
                continue
            if entry.name == folder and entry.is_dir():
                shutil.copytree(entry, scratch / folder, symlinks=True)
            else:
                (scratch / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
        target = scratch / rel
        if content is None:
            target.unlink(missing_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        view: Any = _Scratch(ctx, scratch)
        try:
            read: list[SegflowError] = []
            defs = local_definitions(view, errors=read)
            check_definitions(view, defs, errors=read)
        except SegflowError as exc:
            _unscratch(exc, str(scratch), str(root))
            raise
        found = defs.all().get((kind, name))
        if content is not None and (found is None or found.file != rel):
            defined = [f"{k} {n}" for (k, n), d in defs.all().items() if d.file == rel]
            raise DefinitionError(f"{rel}: defines {', '.join(defined) or 'nothing'}, not {kind} {name!r}: "
                                  "its name: must agree with the address", code="name_mismatch", path=f"{rel}: name")
        if content is None and found is not None:
            raise DefinitionError(f"{kind} {name!r} is also defined in {found.file}", code="still_defined",
                                  path=found.file)


def _unscratch(exc: SegflowError, scratch: str, root: str) -> None:
    """Messages name the project folder, never the scratch copy."""
    exc.message = exc.message.replace(scratch, root)
    exc.args = (exc.message,)
    problems = getattr(exc, "problems", None)
    if isinstance(problems, list) and all(isinstance(p, str) for p in problems):
        exc.problems = [p.replace(scratch, root) for p in problems]  # type: ignore[attr-defined]


# -- writing and applying --------------------------------------------------------------------

@dataclass
class EditResult:
    kind: str
    name: str
    file: str
    #: "created", "replaced", "unchanged" or "deleted".
    action: str
    #: The new file's ETag (None once deleted).
    etag: str | None
    #: The version apply recorded for it (a tombstone's for a delete; the current one when unchanged).
    version: int | None
    #: Every change the apply made (this one and any other the folder held), as ``plan`` lists them.
    applied: list[dict[str, Any]] = field(default_factory=list)
    refreshed: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "file": self.file, "action": self.action, "etag": self.etag,
                "version": self.version, "applied": list(self.applied), "refreshed": list(self.refreshed),
                "warnings": list(self.warnings)}


def _write_atomic(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        with tmp.open("wb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _restore(path: Path, before: bytes | None) -> None:
    if before is None:
        path.unlink(missing_ok=True)
    else:
        _write_atomic(path, before)


def _apply(ctx: ProjectContext, path: Path, before: bytes | None) -> Any:
    from segflow.definitions.plan import apply

    try:
        return apply(ctx)
    except DefinitionError:  # refused at its checks: nothing was recorded; the folder goes back
        _restore(path, before)
        raise


def _audit(ctx: ProjectContext, action: str, result: EditResult, actor: str | None, key_id: int | None) -> None:
    if actor is None:
        return
    from segflow.access.audit import record

    record(ctx.state, actor=actor, action=action, target=f"{result.kind}/{result.name}",
           detail={"kind": result.kind, "name": result.name, "file": result.file, "action": result.action,
                   "version": result.version},
           key_id=key_id, at=result.at or ctx.clock.now())


def decode_body(raw: bytes, content_type: str | None) -> Any:
    """A request body: JSON data when *content_type* is JSON, else the bytes (YAML text, kept as written)."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind == "application/json" or kind.endswith("+json"):
        import json

        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise DefinitionError(f"the body is not JSON: {exc}", code="invalid_json", path="body") from None
    return raw


def content_of(body: Any) -> bytes:
    """A definition given as YAML/JSON text (bytes or str: kept as written) or as data (written as YAML)."""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    import yaml

    return yaml.safe_dump(body, sort_keys=False, allow_unicode=True).encode("utf-8")


def put_definition(ctx: ProjectContext, kind: str, name: str, body: Any, *, if_match: str | None = None,
                   if_none_match: str | None = None, actor: str | None = None,
                   key_id: int | None = None) -> EditResult:
    """Create or replace the file of (kind, name) with *body* and apply (see the module doc);
    with *actor*, record ``definition.apply`` in the audit log."""
    name = check_definition_name(kind, name)
    content = content_of(body)
    with _lock(ctx):
        rel = _locate(ctx, kind, name) or f"{FOLDERS[kind]}/{name}.yaml"
        path = Path(ctx.root) / rel
        before = path.read_bytes() if path.is_file() else None
        _check_preconditions(kind, name, before, if_match, if_none_match)
        _validate(ctx, kind, name, rel, content)
        _write_atomic(path, content)
        done = _apply(ctx, path, before)
    version = done.versions.get((kind, name)) or _applied(ctx, kind).get(name)
    action = "created" if before is None else ("unchanged" if before == content else "replaced")
    result = EditResult(kind, name, rel, action, etag_of(content), version,
                        [c.to_dict() for c in done.plan.pending], [r.to_dict() for r in done.refreshed],
                        list(done.plan.warnings), done.plan.as_of)
    _audit(ctx, "definition.apply", result, actor, key_id)
    return result


def delete_definition(ctx: ProjectContext, kind: str, name: str, *, if_match: str | None = None,
                      actor: str | None = None, key_id: int | None = None) -> EditResult:
    """Remove the file of (kind, name) (If-Match required) and apply; with *actor*, record
    ``definition.delete``."""
    name = check_definition_name(kind, name)
    with _lock(ctx):
        rel = _locate(ctx, kind, name)
        if rel is None:
            raise DefinitionError(f"no {kind} {name!r} in the project folder ({FOLDERS[kind]}/)",
                                  code="unknown_definition", path=f"{kind}/{name}")
        path = Path(ctx.root) / rel
        before = path.read_bytes()
        if not _tags(if_match):
            raise ConflictError(f"{kind}/{name}: deleting it needs If-Match with its current ETag "
                                f"{etag_of(before)}", code="precondition_required", path=f"{kind}/{name}")
        _check_preconditions(kind, name, before, if_match, None)
        _validate(ctx, kind, name, rel, None)
        path.unlink()
        done = _apply(ctx, path, before)
    result = EditResult(kind, name, rel, "deleted", None, done.versions.get((kind, name)),
                        [c.to_dict() for c in done.plan.pending], [r.to_dict() for r in done.refreshed],
                        list(done.plan.warnings), done.plan.as_of)
    _audit(ctx, "definition.delete", result, actor, key_id)
    return result

