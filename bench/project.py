"""A loaded segflow project of the synthetic shop, made once and reused by the suites
that query a warehouse (rules, segments, identity).

``bench/data/project-<profiles>-<seed>[-d<days>]/`` is a normal project folder: ``segflow.init``
then ``ws.load`` of every kind file of ``bench/data/shop-<profiles>-<seed>/``. It holds a
``loaded.json`` (the load summaries) once complete; a folder without it is redone.

    python bench/run.py project --profiles 1000000      # make it (or find it)
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.load import LoadOptions, ensure_shop, size_tag

__all__ = ["KINDS", "project_dir", "ensure_project", "scratch_copy"]

#: Load order: profiles and accounts first, as a user would.
KINDS = ("accounts", "profiles", "identities", "events", "orders", "order_items", "memberships", "subscriptions")
#: The same settings as the load suite's projects (the shop's phones are Chinese).
SETTINGS = {"timezone": "Asia/Shanghai", "default_phone_country": "CN"}


def project_dir(data: Path, profiles: int, seed: int, days: int = 365) -> Path:
    return data / f"project-{size_tag(profiles, seed, days)}"


def ensure_project(opts: LoadOptions, progress: Callable[[str, float | None], None] | None = None
                   ) -> tuple[Path, dict[str, Any]]:
    """The loaded project for *opts* (profiles, seed, data): made on first use.

    Returns the folder and the shop's manifest. *progress(stage, fraction)* reports each
    kind's load.
    """
    import segflow

    shop, manifest = ensure_shop(opts)
    root = project_dir(opts.data, opts.profiles, opts.seed, opts.days)
    marker = root / "loaded.json"
    if marker.exists():
        return root, manifest
    if root.exists():
        shutil.rmtree(root)
    ws = segflow.init(root, **SETTINGS)
    summaries = []
    started = time.perf_counter()
    with ws:
        for kind in KINDS:
            info = manifest["files"][kind]

            def report(stage: str, fraction: float | None, kind: str = kind) -> None:
                if progress is not None:
                    progress(f"load {kind}: {stage}", fraction)

            [summary] = ws.load(kind, [shop / info["file"]], progress=report)
            summaries.append(summary.to_dict())
    marker.write_text(json.dumps({"seconds": round(time.perf_counter() - started, 1), "loads": summaries},
                                 indent=1), encoding="utf-8")
    return root, manifest


def scratch_copy(src: Path, dst: Path) -> Path:
    """A throw-away copy of the loaded project *src* at *dst* (replaced if present), for
    suites that change the data: the config files, empty definition folders, and both
    stores (the schema registry of inferred types lives in the state store)."""
    if dst.exists():
        shutil.rmtree(dst)
    dst.mkdir(parents=True)
    for name in ("segflow.yaml", "schema.yaml"):
        shutil.copyfile(src / name, dst / name)
    for folder in ("segments", "tags", "traits", "journeys"):
        (dst / folder).mkdir()
    (dst / ".segflow").mkdir()
    for name in ("warehouse.duckdb", "state.db"):
        shutil.copyfile(src / ".segflow" / name, dst / ".segflow" / name)
    # Write the copy out now: otherwise the first fsync of the timed run (a commit) pays
    # for flushing gigabytes of the copy's dirty pages (measured: 1 s of a 1.3 s commit).
    os.sync()
    return dst
