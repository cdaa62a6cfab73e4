"""The ``tags`` suite: refreshing every e-commerce template tag after a day of new events.

    python bench/run.py tags --profiles 100000 [--seed 0] [--repeat 1]

On a scratch copy of the loaded shop's project (``bench/project.py``):

1. installs the e-commerce tag templates and refreshes them as of day 1 (the day before
   the shop's end): the initial refresh, every member added;
2. **segflow**: ``refresh_tags`` as of day 2 (the shop's end), one day of new events
   later — each tag's members written as a set difference (delete who left, update
   changed values, insert who joined; members who stay keep their "tagged since");
   timed per tag and in total (the total includes checking the definitions and
   recomputing the trait the templates use);
3. **rebuild** (the simple way): for each tag, the same members query as of day 2, then
   ``DELETE`` every assignment of the tag and ``INSERT`` the whole membership, in one
   transaction per tag — what a tag store without a diff does (it loses "tagged since"
   and cannot say who entered or left);

and checks both sides leave the same assignments. Figures go to
``bench/results/tags-<profiles>-<seed>.json`` and the ``tags`` section of
``docs/benchmarks.md``.
"""

from __future__ import annotations

import json
import shutil
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import (
    REPO,
    CpuMeter,
    machine_info,
    machine_line,
    markdown_table,
    source_digest,
    stopwatch,
    wait_until_idle,
    write_section,
)

__all__ = ["TagsOptions", "render_section", "result_rows", "run_tags_suite"]

RESULTS_DIR = REPO / "bench" / "results"
Reporter = Callable[[str, str], None]


@dataclass
class TagsOptions:
    profiles: int = 100_000
    seed: int = 0
    data: Path = REPO / "bench" / "data"
    out: Path = REPO / "bench" / "out"
    repeat: int = 1
    idle_timeout: float = 60.0
    docs: bool = True

    @property
    def command(self) -> str:
        return f"python bench/run.py tags --profiles {self.profiles} --seed {self.seed} --repeat {self.repeat}"


def _rebuild(ws: Any, day: datetime) -> dict[str, float]:
    """The simple side: per computed tag, DELETE all its assignments and INSERT all members."""
    from segflow.tags import check_tag_definitions, load_tag_definitions
    from segflow.tags.custom import resolve_function
    from segflow.tags.definition import refresh_order
    from segflow.tags.refresh import _fresh_traits, _members_query

    tags = load_tag_definitions(ws.root)
    order = refresh_order(tags, sorted(tags))
    _fresh_traits(ws, [tags[n] for n in order], day)  # the same trait values as segflow's side (not timed per tag)
    checked = check_tag_definitions(ws, tags, order)
    con = ws.warehouse.con
    seconds: dict[str, float] = {}
    for name in order:
        tag = tags[name]
        fn = resolve_function(tag.python, ws.root) if tag.source == "python" else None
        with stopwatch() as sw:
            query = _members_query(ws, tag, checked.get(name, []), fn, day)
            con.execute("BEGIN TRANSACTION")
            con.execute("DELETE FROM tag_assignments WHERE tag = ? AND source = ?", [name, tag.source])
            con.execute("INSERT INTO tag_assignments (profile_id, tag, value, source, assigned_at, expires_at) "
                        f"SELECT profile_id, ?, min(value), ?, ?, NULL FROM ({query}) AS q "
                        "WHERE profile_id IN (SELECT profile_id FROM profiles) GROUP BY profile_id",
                        [name, tag.source, day])
            con.execute("COMMIT")
        seconds[name] = sw.seconds
    return seconds


def _snapshot(con: Any) -> set[tuple[Any, ...]]:
    return set(con.execute("SELECT profile_id, tag, value, source FROM tag_assignments").fetchall())


def run_tags_suite(opts: TagsOptions, report: Reporter) -> dict[str, Any]:
    import segflow
    from bench.load import LoadOptions
    from bench.project import ensure_project, scratch_copy
    from segflow.tags import install_templates, refresh_tags

    src_before = source_digest()
    report("project", "finding or loading the shop's project")
    src, manifest = ensure_project(LoadOptions(profiles=opts.profiles, seed=opts.seed, data=opts.data))
    day2 = datetime.fromisoformat(manifest["end"].replace("Z", "+00:00")).astimezone(UTC)
    day1 = day2 - timedelta(days=1)
    report("project", "copying the warehouse into a scratch project")
    root = scratch_copy(src, opts.out / f"tags-{opts.profiles}-{opts.seed}")
    ws = segflow.open(root)
    install_templates(ws, "ecommerce")
    con = ws.warehouse.con
    sizes = {"profiles": int(con.execute("SELECT count(*) FROM profiles").fetchall()[0][0]),
             "events": int(con.execute("SELECT count(*) FROM events").fetchall()[0][0]),
             "events_last_day": int(con.execute("SELECT count(*) FROM events WHERE ts > ? AND ts <= ?",
                                                [day1, day2]).fetchall()[0][0])}

    def idle(side: str) -> float:
        report(side, "waiting for a quiet machine")
        return wait_until_idle(timeout=opts.idle_timeout) if opts.idle_timeout > 0 else 0.0

    report("initial", "refreshing every template tag as of day 1 (from empty)")
    idle("initial")
    with CpuMeter() as meter, stopwatch() as sw:
        initial = refresh_tags(ws, as_of=day1)
    initial_side = {"seconds": sw.seconds, "cpu_seconds": sw.cpu_seconds, "other_cores": meter.other_cores,
                    "tags": {r.name: {"seconds": r.seconds, "members": r.members, "error": r.error} for r in initial}}

    runs: list[dict[str, Any]] = []
    rebuilds: list[dict[str, Any]] = []
    after = None
    for i in range(opts.repeat):
        refresh_tags(ws, as_of=day1)  # back to the day-1 assignments
        idle("segflow")
        report("segflow", f"run {i + 1}/{opts.repeat}: refresh as of day 2")
        with CpuMeter() as meter, stopwatch() as sw:
            results = refresh_tags(ws, as_of=day2)
        runs.append({"seconds": sw.seconds, "cpu_seconds": sw.cpu_seconds, "other_cores": meter.other_cores,
                     "tags": {r.name: {"seconds": r.seconds, "members": r.members, "added": r.added,
                                       "removed": r.removed, "changed": r.changed, "error": r.error}
                              for r in results}})
        after = _snapshot(con)
        refresh_tags(ws, as_of=day1)
        idle("rebuild")
        report("rebuild", f"run {i + 1}/{opts.repeat}: delete + insert every tag as of day 2")
        with CpuMeter() as meter, stopwatch() as sw:
            per = _rebuild(ws, day2)
        rebuilds.append({"seconds": sw.seconds, "cpu_seconds": sw.cpu_seconds, "other_cores": meter.other_cores,
                         "tags": per})
    same = after == _snapshot(con)
    ws.close()

    def median_tag(side: list[dict[str, Any]], name: str) -> float:
        return statistics.median(float(r["tags"][name] if isinstance(r["tags"][name], float)
                                       else r["tags"][name]["seconds"]) for r in side)

    last = runs[-1]["tags"]
    per_tag = [{"name": name, **{k: last[name][k] for k in ("members", "added", "removed", "changed", "error")},
                "segflow_s": median_tag(runs, name), "rebuild_s": median_tag(rebuilds, name),
                "initial_s": initial_side["tags"][name]["seconds"]} for name in last]
    data = {
        "suite": "tags", "profiles": opts.profiles, "seed": opts.seed, "command": opts.command,
        "created": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine_info(),
        "source": src_before, "source_changed": source_digest() != src_before, "sizes": sizes,
        "day1": day1.isoformat(), "day2": day2.isoformat(),
        "sides": {
            "initial": {k: v for k, v in initial_side.items() if k != "tags"},
            "segflow": _summary(runs), "rebuild": _summary(rebuilds),
        },
        "tags": per_tag, "same_assignments": same,
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"tags-{opts.profiles}-{opts.seed}.json").write_text(json.dumps(data, indent=1, default=str),
                                                                       encoding="utf-8")
    if opts.docs:
        write_section("tags", render_section(_saved()))
    shutil.rmtree(root, ignore_errors=True)
    return data


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {"seconds": statistics.median(r["seconds"] for r in runs),
            "cpu_seconds": statistics.median(r["cpu_seconds"] for r in runs),
            "runs": [round(r["seconds"], 3) for r in runs],
            "other_cores": round(max(r["other_cores"] for r in runs), 2)}


def _saved() -> list[dict[str, Any]]:
    files = sorted(RESULTS_DIR.glob("tags-*.json"), key=lambda p: int(p.stem.split("-")[1]))
    return [json.loads(p.read_text(encoding="utf-8")) for p in files]


def result_rows(data: dict[str, Any]) -> list[list[str]]:
    rows = []
    for t in data["tags"]:
        ratio = t["rebuild_s"] / t["segflow_s"] if t["segflow_s"] else float("nan")
        rows.append([t["name"], f"{t['members']:,}", f"+{t['added']:,} −{t['removed']:,} ~{t['changed']:,}",
                     f"{t['initial_s']:.3f}", f"{t['segflow_s']:.3f}", f"{t['rebuild_s']:.3f}", f"{ratio:.2f}×"])
    s = data["sides"]
    total = sum(t["segflow_s"] for t in data["tags"])
    rebuilt = sum(t["rebuild_s"] for t in data["tags"])
    rows.append(["**all tags**", "", "", f"{s['initial']['seconds']:.2f}", f"{total:.2f}", f"{rebuilt:.2f}",
                 f"{rebuilt / total:.2f}×" if total else "-"])
    return rows


def render_run(data: dict[str, Any]) -> str:
    s = data["sizes"]
    sides = data["sides"]
    return "\n".join([
        f"### {data['profiles']:,} profiles",
        "",
        f"`{data['command']}` — {data['created']}; {s['profiles']:,} profiles, {s['events']:,} events "
        f"({s['events_last_day']:,} in the last day). Seconds per tag: the first refresh as of day 1 (every member "
        f"added), then segflow's refresh as of day 2 and the rebuild of the same tag as of day 2 (medians of "
        f"{len(sides['segflow']['runs'])} run(s)); ratio = rebuild ÷ segflow. Same assignments on both sides: "
        f"{'yes' if data['same_assignments'] else '**NO**'}.",
        "",
        markdown_table(["tag", "members", "day-2 change", "first refresh s", "segflow s", "rebuild s",
                        "rebuild ÷ segflow"], result_rows(data), right={1, 3, 4, 5, 6}),
        "",
        f"The whole `refresh_tags` call as of day 2 (loading and checking the definitions, recomputing the "
        f"`coupon_redeem_rate_180d` trait, running the RFM model the `rfm/*` tags read, every tag; the per-tag "
        f"seconds above leave those out): **{sides['segflow']['seconds']:.2f} s** "
        f"({sides['segflow']['cpu_seconds']:.2f} CPU s); the rebuild of every tag: {sides['rebuild']['seconds']:.2f} s "
        f"({sides['rebuild']['cpu_seconds']:.2f} CPU s; CPU ratio rebuild ÷ segflow "
        f"{sides['rebuild']['cpu_seconds'] / sides['segflow']['cpu_seconds']:.2f}×); the first refresh from empty: "
        f"{sides['initial']['seconds']:.2f} s ({sides['initial']['cpu_seconds']:.2f} CPU s). When other processes "
        f"use the cores, wall times grow and CPU seconds are the fairer comparison.",
        "",
        f"Machine: {machine_line(data['machine'])}; other processes used up to "
        f"{max(v['other_cores'] for v in sides.values()):.2f} cores during the timed runs (the machine was shared)."
        + (" The source tree changed during the run (other engineers' edits in the shared checkout)."
           if data.get("source_changed") else ""),
    ])


def render_section(results: list[dict[str, Any]]) -> str:
    head = ("## Tags: refreshing the e-commerce templates after a day of new events\n\n"
            "`python bench/run.py tags --profiles N` (see `bench/tags.py`): every tag of the e-commerce template "
            "refreshed as a set difference (who left, whose value changed, who joined) against deleting and "
            "re-inserting each tag's whole membership, on the same data in one run.")
    return head + "\n\n" + "\n\n".join(render_run(d) for d in results)
