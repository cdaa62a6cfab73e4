"""Shared helpers for the benchmark suites: timing, machine facts, Markdown sections.

Nothing here asserts on timings: benchmarks measure and report, tests never time.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = [
    "REPO",
    "DOCS_FILE",
    "Stopwatch",
    "stopwatch",
    "machine_info",
    "machine_line",
    "source_digest",
    "markdown_table",
    "write_section",
    "human_count",
    "human_rate",
    "human_seconds",
    "fresh_dir",
    "peak_rss_mb",
    "warm_file",
    "CpuMeter",
    "wait_until_idle",
]

REPO = Path(__file__).resolve().parent.parent
DOCS_FILE = REPO / "docs" / "benchmarks.md"

_DOC_HEADER = """\
# Benchmarks

Figures produced by `python bench/run.py <suite>` (see `bench/README.md`). Each suite
rewrites only its own section, between `<!-- bench:<suite>:start -->` and
`<!-- bench:<suite>:end -->`; edit text outside the markers freely.
"""


@dataclass
class Stopwatch:
    """Wall seconds (:func:`time.perf_counter`) and CPU seconds of this process, all
    threads (:func:`time.process_time`); set when the block ends."""

    seconds: float = 0.0
    cpu_seconds: float = 0.0
    _start: float = field(default=0.0, repr=False)
    _cpu_start: float = field(default=0.0, repr=False)


@contextmanager
def stopwatch() -> Iterator[Stopwatch]:
    """``with stopwatch() as sw: ...`` then ``sw.seconds`` (and ``sw.cpu_seconds``)."""
    sw = Stopwatch(_start=time.perf_counter(), _cpu_start=time.process_time())
    try:
        yield sw
    finally:
        sw.seconds = time.perf_counter() - sw._start
        sw.cpu_seconds = time.process_time() - sw._cpu_start


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gib() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        return float("nan")


def _version(module: str) -> str:
    try:
        mod = __import__(module)
        return str(getattr(mod, "__version__", "?"))
    except ImportError:
        return "not installed"


def source_digest(root: Path = REPO / "src" / "segflow") -> str:
    """Short SHA-256 of segflow's Python sources: which code a figure measured (commits
    alone do not say, the tree may have uncommitted changes)."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def machine_info(path: Path | None = None) -> dict[str, Any]:
    """Facts that make a figure comparable: cores, RAM, disk, versions, date."""
    disk = shutil.disk_usage(path or REPO)
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "os": f"{platform.system()} {platform.release()}",
        "cpu": _cpu_model(),
        "cores": os.cpu_count() or 0,
        "ram_gib": round(_ram_gib(), 1),
        "disk_free_gib": round(disk.free / 2**30, 1),
        "python": platform.python_version(),
        "duckdb": _version("duckdb"),
        "pandas": _version("pandas"),
        "sqlalchemy": _version("sqlalchemy"),
        "segflow": _version("segflow"),
        "segflow_src": source_digest(),
    }


def machine_line(info: dict[str, Any]) -> str:
    """One Markdown line describing the machine of *info*."""
    return (
        f"{info['cores']} cores ({info['cpu']}), {info['ram_gib']:g} GiB RAM, {info['os']}; "
        f"Python {info['python']}, DuckDB {info['duckdb']}, pandas {info['pandas']}, "
        f"SQLAlchemy {info['sqlalchemy']}, segflow {info['segflow']} (sources {info.get('segflow_src', 'not recorded')}); "
        f"run {info['date']}"
    )


def markdown_table(headers: list[str], rows: list[list[str]], right: set[int] | None = None) -> str:
    """A GitHub Markdown table; columns in *right* are right-aligned."""
    right = right or set()
    align = ["---:" if i in right else "---" for i in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def write_section(suite: str, body: str, path: Path = DOCS_FILE) -> Path:
    """Replace the text between the *suite* markers of *path* (append the section if new)."""
    start, end = f"<!-- bench:{suite}:start -->", f"<!-- bench:{suite}:end -->"
    block = f"{start}\n{body.strip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else _DOC_HEADER
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def human_count(n: float) -> str:
    return f"{n:,.0f}"


def human_rate(rows_per_second: float) -> str:
    if rows_per_second >= 1e6:
        return f"{rows_per_second / 1e6:.2f} M/s"
    if rows_per_second >= 1e3:
        return f"{rows_per_second / 1e3:.1f} k/s"
    return f"{rows_per_second:.0f} /s"


def human_seconds(seconds: float) -> str:
    if seconds >= 120:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.2f} s"


def fresh_dir(path: Path) -> Path:
    """An empty directory at *path* (removed first if it exists)."""
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def peak_rss_mb() -> float:
    """Peak resident memory of this process, in MiB.

    On Linux ``VmHWM`` of ``/proc/self/status``: unlike ``ru_maxrss`` it starts afresh at
    ``exec``, so a worker does not inherit the peak of the process that forked it.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**10
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (2**20 if sys.platform == "darwin" else 2**10)


def warm_file(path: Path, block: int = 1 << 24) -> int:
    """Read *path* once so every side finds it in the OS page cache; returns its size."""
    size = 0
    with open(path, "rb", buffering=0) as fh:
        while chunk := fh.read(block):
            size += len(chunk)
    return size


def _machine_cpu_seconds() -> float | None:
    """Busy CPU seconds of the whole machine since boot (all cores), from /proc/stat."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    ticks = [int(x) for x in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    busy = sum(ticks[:8]) - idle  # user nice system idle iowait irq softirq steal
    return busy / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


@dataclass
class CpuMeter:
    """CPU used by *other* processes while a block ran (average cores busy).

    The machine's busy time (/proc/stat) minus this process and its waited-for children.
    A figure measured while others used a core is not comparable; the suites report it.
    """

    other_cores: float = 0.0
    _machine: float | None = field(default=None, repr=False)
    _own: float = field(default=0.0, repr=False)
    _wall: float = field(default=0.0, repr=False)

    def __enter__(self) -> CpuMeter:
        self._machine, self._own, self._wall = _machine_cpu_seconds(), _own_cpu_seconds(), time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        end = _machine_cpu_seconds()
        wall = time.perf_counter() - self._wall
        if end is None or self._machine is None or wall <= 0:
            return
        other = (end - self._machine) - (_own_cpu_seconds() - self._own)
        self.other_cores = max(0.0, other / wall)


def _disk_written_mib() -> float:
    """MiB written to whole disks since boot (/proc/diskstats, 512-byte sectors)."""
    total = 0
    try:
        for line in Path("/proc/diskstats").read_text().splitlines():
            f = line.split()
            name = f[2]
            if name.startswith(("loop", "ram", "dm-")) or (name[-1].isdigit() and not name.startswith("nvme")):
                continue  # partitions and virtual devices: their writes are counted on the disk
            if name.startswith("nvme") and "p" in name[4:]:
                continue
            total += int(f[9])
    except (OSError, IndexError, ValueError):
        return 0.0
    return total * 512 / 2**20


def wait_until_idle(cpu_cores: float = 0.3, disk_mib_s: float = 20.0, timeout: float = 900.0,
                    sample: float = 3.0) -> float:
    """Wait (up to *timeout* s) until other processes use under *cpu_cores* cores and the
    disks take under *disk_mib_s* MiB/s of writes; return the last CPU reading (cores)."""
    deadline = time.perf_counter() + timeout
    while True:
        written = _disk_written_mib()
        with CpuMeter() as meter:
            time.sleep(sample)
        rate = (_disk_written_mib() - written) / sample
        if (meter.other_cores < cpu_cores and rate < disk_mib_s) or time.perf_counter() > deadline:
            return meter.other_cores


def timed_side(fn: Callable[[], Any], repeat: int, idle: Callable[[], None] | None = None, warm: bool = True
               ) -> tuple[Any, dict[str, Any]]:
    """Run *fn* once untimed (unless not *warm*), then *repeat* times, each after *idle()* (waiting
    for a quiet machine); its last result and ``{seconds, cpu_seconds}`` (medians), the most
    cores other processes used, and every run's seconds."""
    import statistics

    result = fn() if warm else None
    walls, cpus, other = [], [], []
    for _ in range(repeat):
        if idle is not None:
            idle()
        with CpuMeter() as meter:
            started, cpu = time.perf_counter(), time.process_time()
            result = fn()
            walls.append(time.perf_counter() - started)
            cpus.append(time.process_time() - cpu)
        other.append(meter.other_cores)
    return result, {"seconds": statistics.median(walls), "cpu_seconds": statistics.median(cpus),
                    "other_cores": round(max(other), 2), "runs": [round(w, 4) for w in walls]}


def save_results(suite: str, data: dict[str, Any], *, profiles: int, seed: int, docs: bool,
                 render: Callable[[list[dict[str, Any]]], str], results: Path | None = None) -> None:
    """Write *data* to ``bench/results/<suite>-<profiles>-<seed>.json`` and, with *docs*, the
    suite's section of docs/benchmarks.md rendered from every saved run, smallest first."""
    import json

    folder = results or REPO / "bench" / "results"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{suite}-{profiles}-{seed}.json").write_text(json.dumps(data, indent=1) + "\n")
    if docs:
        saved = [json.loads(p.read_text()) for p in sorted(folder.glob(f"{suite}-*.json"))]
        write_section(suite, render(sorted(saved, key=lambda d: d["options"]["profiles"])))


def side_row(sides: dict[str, Any], side: str, label: str, note: str = "", base: str = "segflow") -> list[str]:
    """One row of a suite's table: seconds, CPU seconds, and the ratio to the *base* side."""
    v = sides[side]
    ratio = "1.0×" if side == base else f"{v['seconds'] / sides[base]['seconds']:.1f}× segflow"
    return [label, f"{v['seconds']:.3f}", f"{v['cpu_seconds']:.2f}", ratio, note]
