"""Loading several files of one kind: the service behind ``segflow load`` and ``Workspace.load``.

    >>> summaries = load_files(ctx, "events", ["jan.csv", "feb.csv"], rejects="rejects/")  # doctest: +SKIP

Each file loads atomically on its own (:func:`~segflow.ingest.loader.load_file`);
*rejects* names the rejects file for one file, or a folder for several (each file's
rejects then go to ``<folder>/<kind>-<file stem>.rejects.csv``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from segflow.ingest.loader import LoadSummary, Progress, load_file

if TYPE_CHECKING:
    from segflow.context import ProjectContext

__all__ = ["FileProgress", "LoadReport", "load_files", "rejects_target"]

#: ``progress(file, stage, fraction)``: *fraction* None while a stage's size is unknown.
FileProgress = Callable[[Path, str, "float | None"], None]

_TOTALS = ("rows", "accepted", "inserted", "updated", "rejected", "duplicates", "suppressed")


@dataclass(frozen=True)
class LoadReport:
    """Every file's summary and their totals (what ``segflow load --format json`` prints)."""

    kind: str
    files: list[LoadSummary] = field(default_factory=list)

    def total(self, name: str) -> int:
        return sum(getattr(s, name) for s in self.files)

    @property
    def new_attributes(self) -> dict[str, str]:
        """The attributes these files added, with their inferred types, in order."""
        return {name: type_ for s in self.files for name, type_ in s.new_attributes.items()}

    def to_dict(self) -> dict[str, Any]:
        rejects: Any = self.files[0].rejects_file if len(self.files) == 1 else [s.rejects_file for s in self.files]
        return {"kind": self.kind, **{k: self.total(k) for k in _TOTALS}, "rejects_file": rejects,
                "new_attributes": self.new_attributes, "files": [s.to_dict() for s in self.files]}


def rejects_target(kind: str, path: Path, rejects: str | Path | None, several: bool) -> Path | None:
    """The rejects file of *path*: *rejects* itself for one file, a file in the folder *rejects* for several."""
    if rejects is None or not several:
        return None if rejects is None else Path(rejects)
    return Path(rejects) / f"{kind}-{path.name.split('.')[0]}.rejects.csv"


def load_files(
    ctx: ProjectContext,
    kind: str,
    files: Iterable[str | Path],
    *,
    file_format: str | None = None,
    rejects: str | Path | None = None,
    progress: FileProgress | None = None,
    new_attributes: bool = False,
) -> LoadReport:
    """Load each of *files* into *kind*, each atomically; a file that fails raises (those before it stay loaded).

    A new column whose name is close to a known attribute (a probable typo) fails its
    file unless *new_attributes* (see :func:`~segflow.ingest.loader.load_file`)."""
    paths = [Path(f) for f in files]
    report = LoadReport(kind=kind)
    for path in paths:
        step: Progress | None = None
        if progress is not None:
            def step(stage: str, fraction: float | None, _path: Path = path) -> None:
                progress(_path, stage, fraction)
        report.files.append(load_file(ctx, kind, path, file_format=file_format,
                                      rejects_path=rejects_target(kind, path, rejects, len(paths) > 1),
                                      progress=step, new_attributes=new_attributes))
    return report
