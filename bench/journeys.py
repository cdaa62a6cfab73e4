"""The journeys suite: step transitions per second through the engine, and messages per second.

    python bench/run.py journeys --profiles 1000000 --entering 200000

1. **Transitions.** A project of ``--profiles`` profiles whose static segment ``vip`` gets
   ``--entering`` members at T (``segment_history`` rows), and a 3-step journey entered
   from it: ``send → wait 1d → send → exit``. On each state store (SQLite, then PostgreSQL
   when ``$SEGFLOW_BENCH_PG`` answers):

   * **entries** — the engine's entry scan at T: every member a new run;
   * **steps, day 1** — at T: every run's first send (an outbox row) and its arrival at the wait;
   * **steps, day 2** — at T + 1 day: the wait passed, the second send, the exit
     (3 transitions per run);
   * **Mautic-style** (``bench/baselines/mautic_campaign.py``) — day 2 on a copy of the same
     project, one run at a time, a transaction per run, for ``--baseline-sample`` runs
     (its rate is what is compared).

   A transition is one row of ``journey_steps`` (a node passed). Delivery is left out (the
   outbox rows are what is measured; part 2 times delivery).
2. **Messages.** ``--messages`` runs at an e-mail send, delivered by the engine to a local
   SMTP sink (aiosmtpd, in this process), against the sink's own limit: the same number of
   messages sent with ``smtplib`` over one connection in a loop.

Figures go to ``bench/results/journeys-<profiles>-<seed>.json`` and the ``journeys``
section of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import (
    REPO,
    machine_info,
    machine_line,
    markdown_table,
    save_results,
    source_digest,
)

__all__ = ["JourneysOptions", "run_journeys_suite"]

T = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
JOURNEY = """
entry: {segment_entered: vip}
start: first
nodes:
  first:
    send: {channel: file, template: note}
    next: day
  day:
    wait: 1d
    next: second
  second:
    send: {channel: file, template: note}
    next: done
  done:
    exit: {}
"""
MAIL_JOURNEY = """
entry: {manual: {}}
start: mail
nodes:
  mail:
    send: {channel: email, template: mail}
    next: done
  done:
    exit: {}
"""
BASELINE_NODES = {"first": {"kind": "send", "next": "day"}, "day": {"kind": "wait", "seconds": 86400, "next": "second"},
                  "second": {"kind": "send", "next": "done"}, "done": {"kind": "exit"}}

Reporter = Callable[[str], None]


@dataclass
class JourneysOptions:
    profiles: int = 1_000_000
    entering: int = 200_000
    seed: int = 0
    out: Path = REPO / "bench" / "out"
    baseline_sample: int = 20_000
    messages: int = 5_000
    docs: bool = True
    pg_admin_url: str | None = field(default_factory=lambda: os.environ.get(
        "SEGFLOW_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres"))


def _pg_database(admin_url: str | None) -> tuple[str, Callable[[], None]] | None:
    if not admin_url:
        return None
    try:
        import psycopg

        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=5)
    except Exception:
        return None
    name = f"segflow_bench_{uuid.uuid4().hex[:8]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rsplit("/", 1)[0]

    def drop() -> None:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()

    return f"{base.replace('postgresql://', 'postgresql+psycopg://')}/{name}", drop


def _project(root: Path, state: str | None, opts: JourneysOptions) -> Any:
    import segflow
    from segflow.definitions.plan import apply
    from segflow.segments.static import add_members

    if root.exists():
        shutil.rmtree(root)
    ws = segflow.init(root, **({"state": state} if state else {}))
    wh = ws.warehouse
    wh.execute("INSERT INTO profiles (profile_id, created_at) SELECT 'c' || lpad(i::VARCHAR, 8, '0'), "
               "TIMESTAMPTZ '2025-01-01 00:00:00+00' FROM range(?) t(i)", [opts.profiles])
    (root / "segments" / "vip.yaml").write_text("type: static\ndescription: the entering group\n", encoding="utf-8")
    (root / "templates").mkdir(exist_ok=True)
    (root / "templates" / "note.yaml").write_text("channel: file\ntext: hello\n", encoding="utf-8")
    (root / "journeys").mkdir(exist_ok=True)
    (root / "journeys" / "three.yaml").write_text(JOURNEY, encoding="utf-8")
    apply(ws, as_of=T - timedelta(hours=1))
    step = max(1, opts.profiles // opts.entering)
    ids = [f"c{i:08d}" for i in range(0, opts.profiles, step)][:opts.entering]
    add_members(ws, "vip", ids, at=T)
    return ws


def _steps(ws: Any) -> int:
    import sqlalchemy as sa

    from segflow.state.tables import journey_steps

    with ws.state.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(journey_steps)
                                .where(journey_steps.c.outcome != "entered")).scalar() or 0)


def _transitions(store: str, state: str | None, opts: JourneysOptions, report: Reporter,
                 baseline_state: str | None = None) -> dict[str, Any]:
    from bench.baselines.mautic_campaign import run_one_at_a_time
    from segflow.journeys.engine import Engine, EngineOptions

    options = EngineOptions(deliver=False)
    root = opts.out / f"journeys-{store}"
    report(f"{store}: making the project ({opts.profiles:,} profiles, {opts.entering:,} entering)")
    ws = _project(root, state, opts)
    out: dict[str, Any] = {"store": store}
    engine = Engine(ws, now=T + timedelta(minutes=1), worker="bench", options=options)
    report(f"{store}: entries")
    started = time.perf_counter()
    engine.take_entries("three")
    out["entries"] = {"seconds": time.perf_counter() - started, "runs": engine.report.entered}
    report(f"{store}: steps, day 1")
    before, started = _steps(ws), time.perf_counter()
    engine.advance()
    out["day1"] = {"seconds": time.perf_counter() - started, "transitions": _steps(ws) - before}
    if state is None:  # the baseline's copy of the day-1 state (SQLite: the file)
        shutil.copy(root / ".segflow" / "state.db", opts.out / "journeys-baseline-state.db")
    day2 = T + timedelta(days=1, minutes=2)
    report(f"{store}: steps, day 2")
    before, started = _steps(ws), time.perf_counter()
    Engine(ws, now=day2, worker="bench", options=options).advance()
    out["day2"] = {"seconds": time.perf_counter() - started, "transitions": _steps(ws) - before}
    ws.close()
    report(f"{store}: Mautic-style, {opts.baseline_sample:,} runs")
    import sqlalchemy as sa

    if state is None:
        url = f"sqlite:///{opts.out / 'journeys-baseline-state.db'}"
    else:  # PostgreSQL: day 1 again on a fresh project and database instead of copying the database
        ws = _project(root, baseline_state, opts)
        Engine(ws, now=T + timedelta(minutes=1), worker="bench", options=options).run()
        ws.close()
        url = str(baseline_state)
    engine_sa = sa.create_engine(url)
    started = time.perf_counter()
    steps = run_one_at_a_time(engine_sa, "three", BASELINE_NODES, day2, opts.baseline_sample)
    out["baseline"] = {"seconds": time.perf_counter() - started, "transitions": steps}
    engine_sa.dispose()
    for part in ("day1", "day2", "baseline"):
        v = out[part]
        v["per_second"] = v["transitions"] / v["seconds"] if v["seconds"] else None
    shutil.rmtree(root, ignore_errors=True)
    return out


def _messages(opts: JourneysOptions, report: Reporter) -> dict[str, Any]:
    import smtplib
    from email.message import EmailMessage

    from aiosmtpd.controller import Controller

    import segflow
    from segflow.definitions.plan import apply
    from segflow.journeys.engine import EngineOptions, enroll, run_journeys

    class Sink:
        count = 0

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            Sink.count += 1
            return "250 OK"

    import socket

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = int(free.getsockname()[1])
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        n = opts.messages
        report(f"SMTP sink: {n:,} messages with smtplib")
        started = time.perf_counter()
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            for i in range(n):
                msg = EmailMessage()
                msg["From"], msg["To"], msg["Subject"] = "Shop <news@shop.example>", f"c{i}@shop.example", "Hi"
                msg.set_content("Hello")
                smtp.send_message(msg)
        raw = time.perf_counter() - started
        root = opts.out / "journeys-mail"
        if root.exists():
            shutil.rmtree(root)
        ws = segflow.init(root)
        ws.warehouse.execute("INSERT INTO profiles (profile_id, email) SELECT 'c' || i, 'c' || i || '@shop.example' "
                             "FROM range(?) t(i)", [n])
        with (root / "segflow.yaml").open("a", encoding="utf-8") as fh:
            fh.write(f"channels:\n  email:\n    smtp: {{host: 127.0.0.1, port: {port}}}\n"
                     "    from: Shop <news@shop.example>\n")
        ws.close()
        ws = segflow.open(root)
        (root / "templates").mkdir(exist_ok=True)
        (root / "templates" / "mail.yaml").write_text("channel: email\nsubject: Hi {{ profile.profile_id }}\n"
                                                      "text: Hello\n", encoding="utf-8")
        (root / "journeys").mkdir(exist_ok=True)
        (root / "journeys" / "mail.yaml").write_text(MAIL_JOURNEY, encoding="utf-8")
        apply(ws, as_of=T)
        enroll(ws, "mail", [f"c{i}" for i in range(n)], at=T)
        run_journeys(ws, now=T + timedelta(seconds=1), worker="bench", options=EngineOptions(deliver=False))
        Sink.count = 0
        report(f"SMTP sink: {n:,} messages through the engine's delivery")
        started = time.perf_counter()
        result = run_journeys(ws, now=T + timedelta(seconds=2), worker="bench")
        ours = time.perf_counter() - started
        ws.close()
        shutil.rmtree(root, ignore_errors=True)
        return {"messages": n, "smtplib_seconds": raw, "segflow_seconds": ours, "sent": result.sent,
                "sink_received": Sink.count, "smtplib_per_second": n / raw, "segflow_per_second": n / ours}
    finally:
        controller.stop()


def run_journeys_suite(opts: JourneysOptions, report: Reporter) -> dict[str, Any]:
    opts.out.mkdir(parents=True, exist_ok=True)
    stores = [_transitions("sqlite", None, opts, report)]
    pg, again = _pg_database(opts.pg_admin_url), _pg_database(opts.pg_admin_url)
    if pg is not None and again is not None:
        try:
            stores.append(_transitions("postgres", pg[0], opts, report, baseline_state=again[0]))
        finally:
            pg[1]()
            again[1]()
    data = {"options": {"profiles": opts.profiles, "entering": opts.entering, "seed": opts.seed,
                        "baseline_sample": opts.baseline_sample, "messages": opts.messages},
            "machine": machine_info(), "source": source_digest(), "stores": stores,
            "messages": _messages(opts, report)}
    save_results("journeys", data, profiles=opts.profiles, seed=opts.seed, docs=opts.docs, render=render)
    return data


def render(saved: list[dict[str, Any]]) -> str:
    parts = []
    for d in saved:
        o = d["options"]
        rows = []
        for s in d["stores"]:
            base = s["baseline"]["per_second"]
            for part, label in (("day1", "day 1: send, reach the wait"), ("day2", "day 2: wait, send, exit"),
                                ("baseline", "Mautic-style, one run at a time")):
                v = s[part]
                ratio = "1.0×" if part == "baseline" else f"{v['per_second'] / base:.1f}× Mautic-style"
                rows.append([s["store"], label, f"{v['transitions']:,}", f"{v['seconds']:.2f}",
                             f"{v['per_second']:,.0f}", ratio])
            rows.append([s["store"], "entries (segment entered → runs)", f"{s['entries']['runs']:,}",
                         f"{s['entries']['seconds']:.2f}", f"{s['entries']['runs'] / s['entries']['seconds']:,.0f}", ""])
        m = d["messages"]
        parts.append(
            f"{o['profiles']:,} profiles, {o['entering']:,} entering a 3-step journey "
            f"(`python bench/run.py journeys --profiles {o['profiles']} --entering {o['entering']}`); "
            f"{machine_line(d['machine'])}\n\n"
            + markdown_table(["store", "part", "transitions", "seconds", "per second", "ratio"], rows, right={2, 3, 4})
            + f"\n\nMessages to a local SMTP sink (aiosmtpd in the same process): {m['messages']:,} with smtplib "
              f"over one connection {m['smtplib_seconds']:.2f} s ({m['smtplib_per_second']:,.0f}/s, the sink's "
              f"limit); through the engine's delivery (consent check, rendering, outbox bookkeeping) "
              f"{m['segflow_seconds']:.2f} s ({m['segflow_per_second']:,.0f}/s, "
              f"{m['segflow_per_second'] / m['smtplib_per_second']:.0%} of the sink's limit); "
              f"{m['sink_received']:,} received.\n")
    return "\n".join(parts)
