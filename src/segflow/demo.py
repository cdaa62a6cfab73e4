"""``segflow demo``: a project with a realistic synthetic shop, loaded, resolved, segmented.

The service behind the command (the CLI only renders what it returns)::

    >>> report = run_demo(Path("shop"), profiles=20_000)      # doctest: +SKIP
    >>> report.resolved.persons, [r.name for r in report.refreshed]   # doctest: +SKIP

Steps, each reported through *progress* (``progress(stage, fraction)``): make the
project, generate the shop (:func:`segflow.generate.generate_shop`), load every kind in
:data:`DEMO_KINDS` order, resolve identities, then write the example segments, install
the e-commerce tag templates, apply and refresh (:mod:`segflow.segments.demo`), then run
every model (RFM, lifetime value, activity and loyalty, lifecycle stages, clusters) and
draw their charts into ``charts/``, then install the guide's journey templates, apply
them and simulate one over the last month of the history.
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

__all__ = ["DEMO_KINDS", "DEMO_MARKER", "DemoReport", "default_demo_root", "folder_size", "run_demo"]

#: The file a demo project carries, so a later plain ``segflow demo`` may replace it (and nothing else).
DEMO_MARKER = ".segflow-demo"


def default_demo_root() -> Path:
    """The one folder a plain ``segflow demo`` uses and reuses: ``<system temp>/segflow-demo``."""
    import tempfile

    return Path(tempfile.gettempdir()) / "segflow-demo"


def folder_size(root: Path) -> int:
    """Bytes of every file under *root*."""
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())

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
    #: The models run on the shop, by name: the result ("rfm": an RfmResult, ...), or the
    #: ModelError text when the model failed; a line about each result; the charts drawn.
    models: dict[str, Any] = field(default_factory=dict)
    summaries: dict[str, str] = field(default_factory=dict)
    charts: list[Path] = field(default_factory=list)
    seconds: float = 0.0
    #: Whether an earlier demo project in *root* was removed first.
    replaced: bool = False
    #: Bytes the project takes on disk when done.
    size_bytes: int = 0
    #: The guide's journey templates installed and applied, and one of them simulated over the
    #: last :data:`JOURNEY_DAYS` days of the shop's history (a SimulationReport), or why it was not.
    journeys: list[str] = field(default_factory=list)
    simulation: Any = None


def run_demo(root: Path, *, profiles: int = 20_000, seed: int = 0, days: int = 365,
             progress: DemoProgress | None = None, replace: bool = False) -> DemoReport:
    """Make the demo project in *root* (created; an existing project is refused) and return what landed where.

    With *replace*, an earlier demo project in *root* (one carrying :data:`DEMO_MARKER`) is
    removed first; any other non-empty folder there is refused and left as it is."""
    import shutil

    import segflow
    from segflow.errors import ProjectError
    from segflow.generate import generate_shop
    from segflow.identity.resolve import resolve_identities
    from segflow.ingest.files import load_files
    from segflow.segments.demo import run_demo_segments

    def tell(stage: str, fraction: float) -> None:
        if progress is not None:
            progress(stage, fraction)

    started = time.perf_counter()
    replaced = False
    if replace and root.exists():
        if (root / DEMO_MARKER).is_file():
            shutil.rmtree(root)
            replaced = True
        elif any(root.iterdir()):
            raise ProjectError(f"{root} is not empty and is not a segflow demo project: move it away, or give the "
                               "demo another folder", code="not_a_demo", path=str(root))
    ws = segflow.init(root, timezone="Asia/Shanghai", default_phone_country="CN")
    (ws.root / DEMO_MARKER).write_text("made by segflow demo: a later plain `segflow demo` replaces this folder\n",
                                       encoding="utf-8")
    data = root / "data"
    manifest = generate_shop(data, profiles=profiles, seed=seed, days=days, fmt="csv",
                             progress=lambda stage, fraction: tell(f"generate: {stage}", fraction))
    report = DemoReport(root=ws.root, manifest=manifest, replaced=replaced)
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
        tell("journeys", 0.0)
        _run_journey(ws, report, lambda fraction: tell("journeys", fraction))
        tell("journeys", 1.0)
    report.seconds = time.perf_counter() - started
    report.size_bytes = folder_size(ws.root)
    return report


#: The journey the demo simulates, and over how many of the shop's last days.
DEMO_JOURNEY = "new_user_first_order"
JOURNEY_DAYS = 30


def _run_journey(ws: Any, report: DemoReport, progress: Callable[[float], None]) -> None:
    """Install the guide's journey templates, apply them, and simulate :data:`DEMO_JOURNEY` over
    the last :data:`JOURNEY_DAYS` days (no message is sent: a simulation has no effects)."""
    from datetime import timedelta

    from segflow.clock import at_or_now
    from segflow.definitions.plan import apply
    from segflow.errors import SegflowError
    from segflow.journeys.examples import install_examples
    from segflow.journeys.simulate import simulate

    install_examples(ws.root)
    now = at_or_now(None, ws.clock)
    try:
        applied = apply(ws, as_of=now)
        report.journeys = sorted(c.name for c in applied.plan.pending if c.kind == "journey")
        end = ws.warehouse.scalar("SELECT max(ts) FROM events") or now
        report.simulation = simulate(ws, DEMO_JOURNEY, start=end - timedelta(days=JOURNEY_DAYS), end=end,
                                     out=ws.root / "simulations" / f"{DEMO_JOURNEY}.jsonl", progress=progress)
    except SegflowError as exc:
        report.simulation = exc.message


#: Days of lifecycle stages the demo's chart shows (read-only: the history keeps one day).
LIFECYCLE_DAYS = 28


def _run_models(ws: Any, report: DemoReport) -> None:
    """Every model as of now (:func:`segflow.models.registry.models`, in their order), with its
    chart in ``charts/``; a model that fails (a fit that cannot be trusted) is reported, the
    others still run. The lifecycle chart shows the last :data:`LIFECYCLE_DAYS` days."""
    from datetime import timedelta

    from segflow.charts import save_chart
    from segflow.clock import at_or_now
    from segflow.errors import ModelError
    from segflow.models.charts import CHARTS
    from segflow.models.lifecycle import lifecycle_range
    from segflow.models.registry import models, run_model

    charts = ws.root / "charts"
    charts.mkdir(exist_ok=True)
    now = at_or_now(None, ws.clock)
    for name, kind in models().items():
        try:
            result = run_model(ws, name, as_of=now)
        except ModelError as e:
            report.models[name] = e.message
            continue
        report.models[name] = result
        report.summaries[name] = kind.describe(result)
        picture = result
        if name == "lifecycle":
            picture = lifecycle_range(ws, now - timedelta(days=LIFECYCLE_DAYS - 1), now)
        if name in CHARTS:
            report.charts.append(save_chart(CHARTS[name](picture), charts / f"{name}.png"))
