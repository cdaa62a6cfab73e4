"""One served project (a *workspace*): its warehouse lock, tracking inbox, keys and background work.

The server owns the project's DuckDB warehouse. Every use of it in the server goes through
``with host.warehouse():`` — one holder at a time, since a DuckDB connection serves one caller
at a time, and none while the warehouse is lent to another process (segflow.hosting). The
background loop, every ``interval`` seconds: takes the warehouse back from a borrower that
died, moves the tracking inbox into the warehouse, runs the journeys tick (so event-triggered
journeys see new events within about a second) and, unless ``worker=False``, the embedded
worker's due refreshes one at a time (releasing the lock between them).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from segflow.errors import BusyError, QueryError

if TYPE_CHECKING:
    from segflow.access.keys import KeyCache
    from segflow.access.ratelimit import RateLimiter
    from segflow.tracking.inbox import InboxWriter
    from segflow.warehouse.base import Warehouse
    from segflow.workspace import Workspace

__all__ = ["Host", "HostContext"]

log = logging.getLogger("segflow.serve")


class HostContext:
    """The project as the embedded worker sees it: the host's workspace, whose ``close()`` does
    not close (the host keeps the warehouse; it is lent through the host, not by the worker)."""

    def __init__(self, ws: Workspace) -> None:
        self._ws = ws

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ws, name)

    def close(self) -> None:
        return None


class Host:
    def __init__(self, ctx: Workspace, *, name: str | None = None, worker: bool = True,
                 interval: float = 0.5, wait: float = 5.0) -> None:
        self.ctx = ctx
        self.name = name or ctx.config.name or ctx.root.name
        self.worker = worker
        self.interval = interval
        #: How long a request waits for the warehouse (lent, or busy) before answering 503.
        self.wait = wait
        self._cond = threading.Condition(threading.RLock())
        self._holder: int | None = None  # thread id holding the warehouse
        self._depth = 0
        self._lent_to: int | None = None  # pid of the borrowing process
        self._lent_at = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._inbox: InboxWriter | None = None
        self._keys: KeyCache | None = None
        self._limiter: RateLimiter | None = None
        self.last_error: str | None = None

    # -- parts created on first use -----------------------------------------
    @property
    def inbox(self) -> InboxWriter:
        with self._cond:
            if self._inbox is None:
                from segflow.tracking.inbox import InboxWriter

                self._inbox = InboxWriter(self.ctx.state)
                self._inbox.start()
            return self._inbox

    @property
    def keys(self) -> KeyCache:
        with self._cond:
            if self._keys is None:
                from segflow.access.keys import KeyCache

                self._keys = KeyCache(self.ctx.state)
            return self._keys

    @property
    def limiter(self) -> RateLimiter:
        with self._cond:
            if self._limiter is None:
                from segflow.access.ratelimit import DEFAULT_SECRET_RATE, RateLimiter

                self._limiter = RateLimiter(default_rate=DEFAULT_SECRET_RATE)
            return self._limiter

    # -- the warehouse --------------------------------------------------------
    @contextlib.contextmanager
    def warehouse(self, wait: float | None = None) -> Iterator[Warehouse]:
        """The warehouse, held by this thread for the block (re-entrant). Waits up to *wait*
        seconds (default: the host's) while it is lent or in use, then raises BusyError."""
        me = threading.get_ident()
        deadline = time.monotonic() + (self.wait if wait is None else wait)
        with self._cond:
            while not (self._holder in (None, me) and self._lent_to is None):
                left = deadline - time.monotonic()
                if left <= 0:
                    who = (f"lent to process {self._lent_to}" if self._lent_to is not None
                           else "busy with other work")
                    raise BusyError(f"the warehouse of workspace {self.name!r} is {who}; try again shortly",
                                    retry_after=2.0)
                self._cond.wait(min(left, 0.5))
            self._holder = me
            self._depth += 1
        try:
            try:
                wh = self.ctx.warehouse
            except QueryError as exc:
                if "lock" in str(exc).lower():
                    raise BusyError(f"the warehouse of workspace {self.name!r} is held by another process: {exc}",
                                    retry_after=2.0) from exc
                raise
            yield wh
        finally:
            with self._cond:
                self._depth -= 1
                if self._depth == 0:
                    self._holder = None
                    self._cond.notify_all()

    def lend(self, pid: int, timeout: float = 60.0) -> None:
        """Close the warehouse for process *pid* once current work is done (BusyError after *timeout*)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._holder is not None or (self._lent_to is not None and self._lent_to != pid):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BusyError(f"the warehouse of workspace {self.name!r} stayed busy for {timeout:.0f} s",
                                    retry_after=5.0)
                self._cond.wait(min(left, 0.5))
            self._lent_to = pid
            self._lent_at = time.monotonic()
            self.ctx.release_warehouse()
        log.info("warehouse lent to process %s", pid)

    def give_back(self, pid: int | None = None) -> None:
        with self._cond:
            if self._lent_to is not None and (pid is None or pid == self._lent_to):
                log.info("warehouse returned by process %s", self._lent_to)
                self._lent_to = None
                self._cond.notify_all()

    @property
    def lent_to(self) -> int | None:
        return self._lent_to

    # -- background work ------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name=f"segflow-host-{self.name}", daemon=True)
            self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        if self._inbox is not None:
            self._inbox.close()
            self._inbox = None
        if self._keys is not None:  # the key.use counts not yet written
            with contextlib.suppress(Exception):
                self._keys.flush(self.ctx.clock.now())
        with self._cond:
            self.ctx.close()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.step()
                self.last_error = None
            except BusyError:
                continue
            except Exception as exc:  # logged and shown at /health; the loop goes on
                self.last_error = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                log.exception("background work of workspace %s failed", self.name)

    def _check_borrower(self) -> None:
        from segflow.hosting import pid_alive

        pid = self._lent_to
        if pid is not None and not pid_alive(pid):
            self.give_back(pid)

    def step(self) -> dict[str, Any]:
        """One round of background work (what the loop does every interval); returns what it did."""
        self._check_borrower()
        if self._lent_to is not None:
            return {"lent_to": self._lent_to}
        done: dict[str, Any] = {}
        from segflow.tracking.flush import flush_inbox

        with self.warehouse(wait=0):
            done["flushed"] = flush_inbox(self.ctx)
        if self.worker:
            done["worker"] = self.run_worker()
        return done

    def flush(self) -> Any:
        """Move the tracking inbox into the warehouse (no-op while nothing is pending)."""
        from segflow.tracking.flush import flush_inbox

        with self.warehouse():
            return flush_inbox(self.ctx)

    def run_worker(self) -> int:
        """Due refreshes one at a time (the lock released between them), then the ticks (journeys)."""
        from segflow.scheduler.worker import run_worker

        ran = 0
        ctx = HostContext(self.ctx)
        while not self._stop.is_set():
            with self.warehouse(wait=0):
                summary = run_worker(ctx, once=True, max_runs=1, lease=timedelta(minutes=15))  # type: ignore[arg-type]
            ran += len(summary.results)
            if not summary.results:
                break
        return ran
