"""``segflow demo``: a project with a realistic synthetic shop, loaded, resolved, segmented.

The service behind the command (the CLI only renders what it returns)::

    >>> report = run_demo(Path("shop"), profiles=20_000)      # doctest: +SKIP
    >>> report.resolved.persons, [r.name for r in report.refreshed]   # doctest: +SKIP

Steps, each reported through *progress* (``progress(stage, fraction)``): make the
project, generate the shop (:func:`segflow.generate.generate_shop`), load every kind in
:data:`DEMO_KINDS` order, resolve identities, then write the example segments, install
the e-commerce tag templates, apply and refresh (:mod:`segflow.segments.demo`), then run
the RFM and lifetime-value models and draw their charts into ``charts/``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from segflow.identity.resolve import ResolveSummary
    from segflow.ingest.loader import LoadSummary

__all__ = ["DEMO_KINDS", "DemoReport", "run_demo"]

#: Loading order: companies before people, orders before their items.
DEMO_KINDS = ("accounts", "profiles", "identities", "events", "orders", "order_items", "memberships", "subscriptions")

#: ``progress(stage, fraction)``: stages ``generate: <part>``, ``load <kind>``, ``resolve``, ``segments``,
#: ``models``.
DemoProgress = Callable[[str, float], None]


@dataclass
class DemoReport:
    root: Path
    manifest: dict[str, Any]
    loads: list[LoadSummary] = field(default_factory=list)
    #: Rows per table after loading (before identity resolution merges profiles).
    counts: dict[str, int] = field(default_factory=dict)
    resolved: ResolveSummary | None = None
    rejects_dir: Path | None = None
    segments_written: list[str] = field(default_factory=list)
    tag_files: int = 0
    applied: int = 0
    refreshed: list[Any] = field(default_factory=list)
    #: The models run on the shop: "rfm" (an RfmResult), "clv" (a ClvResult, or the
    #: ModelError text when the fit failed), and the chart files drawn.
    models: dict[str, Any] = field(default_factory=dict)
    charts: list[Path] = field(default_factory=list)
    seconds: float = 0.0


def run_demo(root: Path, *, profiles: int = 20_000, seed: int = 0, days: int = 365,
             progress: DemoProgress | None = None) -> DemoReport:
    """Make the demo project in *root* (created; an existing project is refused) and return what landed where."""
    import segflow
    from segflow.generate import generate_shop
    from segflow.identity.resolve import resolve_identities
    from segflow.ingest.files import load_files
    from segflow.segments.demo import run_demo_segments

    def tell(stage: str, fraction: float) -> None:
        if progress is not None:
            progress(stage, fraction)

    started = time.perf_counter()
    ws = segflow.init(root, timezone="Asia/Shanghai", default_phone_country="CN")
    data = root / "data"
    manifest = generate_shop(data, profiles=profiles, seed=seed, days=days, fmt="csv",
                             progress=lambda stage, fraction: tell(f"generate: {stage}", fraction))
    report = DemoReport(root=ws.root, manifest=manifest)
    with ws:
        for i, kind in enumerate(DEMO_KINDS):
            tell(f"load {kind}", i / len(DEMO_KINDS))
            report.loads += load_files(ws, kind, [data / manifest["files"][kind]["file"]]).files
        tell("load", 1.0)
        report.counts = ws.table_counts()
        tell("resolve", 0.0)
        report.resolved = resolve_identities(ws)
        report.rejects_dir = ws.root / ws.config.load.rejects_dir
        tell("segments", 0.0)
        written, installed, applied = run_demo_segments(ws)
        report.segments_written = written
        report.tag_files = len(installed.written)
        report.applied = len(applied.plan.pending)
        report.refreshed = list(applied.refreshed or [])
        tell("models", 0.0)
        _run_models(ws, report)
        tell("models", 1.0)
    report.seconds = time.perf_counter() - started
    return report


def _run_models(ws: Any, report: DemoReport) -> None:
    """RFM and CLV as of now, with their charts in ``charts/``; a CLV fit that fails is reported."""
    from segflow.charts import save_chart
    from segflow.errors import ModelError
    from segflow.models.charts import clv_chart, rfm_chart
    from segflow.models.clv import run_clv
    from segflow.models.rfm import run_rfm

    charts = ws.root / "charts"
    charts.mkdir(exist_ok=True)
    rfm = run_rfm(ws)
    report.models["rfm"] = rfm
    report.charts.append(save_chart(rfm_chart(rfm), charts / "rfm.png"))
    try:
        clv = run_clv(ws)
    except ModelError as e:
        report.models["clv"] = str(e)
        return
    report.models["clv"] = clv
    report.charts.append(save_chart(clv_chart(clv), charts / "clv.png"))
