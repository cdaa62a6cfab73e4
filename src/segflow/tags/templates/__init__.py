"""Industry tag templates shipped with segflow: e-commerce, SaaS, B2B, retail.

A template is a folder of this package: ``template.yaml`` (title, description),
``tags/<group>/<tag>.yaml`` and, when its rules need them, ``traits/<trait>.yaml``.
Installing copies those files into the project's ``tags/`` and ``traits/`` folders, where
they are ordinary definitions the user may edit::

    >>> [t.name for t in list_templates()]
    ['b2b', 'ecommerce', 'retail', 'saas']
    >>> install_templates(ws, "ecommerce")          # doctest: +SKIP
    InstallResult(template='ecommerce', written=[...], unchanged=[], conflicts=[], problems=[])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING

from segflow.errors import DefinitionError

if TYPE_CHECKING:
    from segflow.context import ProjectContext

__all__ = ["InstallResult", "Template", "install_templates", "list_templates", "template_files"]


@dataclass(frozen=True)
class Template:
    name: str
    title: str
    description: str
    #: Tag name → (label, description), in name order.
    tags: dict[str, tuple[str, str]]
    traits: list[str]


@dataclass
class InstallResult:
    template: str
    #: Project-relative paths written (new, or replaced with ``force``).
    written: list[str] = field(default_factory=list)
    #: Files already in the project with the same content.
    unchanged: list[str] = field(default_factory=list)
    #: Files in the project that differ from the template's (kept unless ``force``).
    conflicts: list[str] = field(default_factory=list)
    #: Problems checking the installed tags against this workspace (e.g. an attribute
    #: the data does not have yet); refreshing those tags fails until they are fixed.
    problems: list[str] = field(default_factory=list)


def _root() -> Traversable:
    return resources.files(__name__)


def _walk(node: Traversable, prefix: str = "") -> list[tuple[str, Traversable]]:
    found = []
    for child in sorted(node.iterdir(), key=lambda c: c.name):
        rel = f"{prefix}{child.name}"
        if child.is_dir():
            found += _walk(child, rel + "/")
        elif child.name.endswith((".yaml", ".yml")):
            found.append((rel, child))
    return found


def _template_dir(name: str) -> Traversable:
    root = _root()
    names = sorted(c.name for c in root.iterdir() if c.is_dir() and (c / "template.yaml").is_file())
    if name not in names:
        raise DefinitionError(f"no tag template {name!r} (templates: {', '.join(names)})", code="unknown_template",
                              path=name)
    return root / name


def template_files(name: str) -> dict[str, str]:
    """Project-relative path (``tags/rfm/tier.yaml``, ``traits/x.yaml``) → text, of template *name*."""
    folder = _template_dir(name)
    return {rel: f.read_text(encoding="utf-8") for rel, f in _walk(folder)
            if rel.startswith(("tags/", "traits/"))}


def list_templates() -> list[Template]:
    """Every shipped template with its tags (label and description) and traits."""
    import yaml

    out = []
    root = _root()
    for child in sorted(root.iterdir(), key=lambda c: c.name):
        if not (child.is_dir() and (child / "template.yaml").is_file()):
            continue
        meta = yaml.safe_load((child / "template.yaml").read_text(encoding="utf-8")) or {}
        tags: dict[str, tuple[str, str]] = {}
        traits: list[str] = []
        for rel, text in template_files(child.name).items():
            if rel.startswith("tags/"):
                data = yaml.safe_load(text) or {}
                tag = data.get("name") or rel.removeprefix("tags/").rsplit(".", 1)[0]
                tags[tag] = (str(data.get("label") or ""), " ".join(str(data.get("description") or "").split()))
            else:
                traits.append(rel.removeprefix("traits/").rsplit(".", 1)[0])
        out.append(Template(name=child.name, title=str(meta.get("title") or child.name),
                            description=" ".join(str(meta.get("description") or "").split()),
                            tags=dict(sorted(tags.items())), traits=traits))
    return out


def install_templates(ws: ProjectContext, name: str, *, force: bool = False) -> InstallResult:
    """Copy template *name*'s tag (and trait) definitions into the project of *ws*.

    A file already there with other content is a conflict and is kept (``force``
    replaces it). After writing, the project's tag definitions are loaded (a broken
    file anywhere raises :class:`DefinitionError`) and the template's rules are checked
    against the workspace; problems (an attribute not loaded yet, ...) are returned, not
    raised, since loading more data may fix them.
    """
    files = template_files(name)
    result = InstallResult(template=name)
    root = Path(ws.root)
    for rel, text in files.items():
        target = root / rel
        if target.exists():
            current = target.read_text(encoding="utf-8")
            if current == text:
                result.unchanged.append(rel)
                continue
            if not force:
                result.conflicts.append(rel)
                continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        result.written.append(rel)
    result.problems = _check_installed(ws, [rel for rel in files if rel.startswith("tags/")])
    return result


def _check_installed(ws: ProjectContext, rels: list[str]) -> list[str]:
    from segflow.tags.definition import load_tag_definitions
    from segflow.tags.refresh import check_tag_definitions

    tags = load_tag_definitions(ws.root)
    mine = [name for name, t in tags.items() if t.file in rels]
    trait_names = _trait_names(ws)
    problems = []
    for name in mine:
        missing = sorted(tags[name].traits_used - trait_names)
        if missing:
            problems.append(f"{tags[name].file}: uses trait(s) {', '.join(missing)} not defined in traits/ nor written by a model")
    try:
        check_tag_definitions(ws, tags, mine, assume_traits=True)
    except DefinitionError as exc:
        problems += str(exc.message).splitlines()
    return problems


def _trait_names(ws: ProjectContext) -> set[str]:
    """The traits a tag may read: those defined in ``traits/`` and those models write."""
    from segflow.models.registry import output_types

    folder = Path(ws.root) / "traits"
    defined = {p.stem for p in folder.glob("*.y*ml")} if folder.is_dir() else set()
    return defined | set(output_types())
