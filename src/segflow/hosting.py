"""Sharing one project between `segflow serve` and the other commands.

DuckDB lets one process write a database file at a time. `segflow serve` keeps the warehouse
open (tracking flushes, the management API, the embedded worker), and any other process that
opens the same project — a CLI command, a notebook, `segflow worker` — *borrows* it:

1. Its open fails on DuckDB's file lock. It reads ``.segflow/serve.json`` (written by the server
   at start, removed at stop: pid, URL, a random token, mode 0600) and asks the server to lend
   the warehouse (``POST /internal/warehouse/lend`` with the token and its pid).
2. The server lets running warehouse work finish, closes its connection and answers. While lent,
   tracking calls are still accepted (they go to the inbox in the state store) and the management
   API waits a few seconds, then answers 503 ``warehouse_busy`` with Retry-After.
3. The borrower opens the warehouse, does its work, and gives it back when it closes the project
   (``POST /internal/warehouse/return``; also at exit). A borrower that dies is noticed by the
   server (its pid is gone) within a second, and the server takes the warehouse back.

Only the owner of the project folder can read the token, so only local users with access to the
project can borrow. See docs/api.md ("The CLI while the server runs").
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from segflow.config import STATE_DIR
from segflow.errors import BusyError

__all__ = ["ServerFile", "borrow", "give_back", "pid_alive", "read_server_file", "remove_server_file",
           "write_server_file"]

FILE = "serve.json"
TOKEN_HEADER = "X-Segflow-Token"


@dataclass(frozen=True)
class ServerFile:
    pid: int
    url: str
    token: str
    workspace: str

    def to_dict(self) -> dict[str, Any]:
        return {"pid": self.pid, "url": self.url, "token": self.token, "workspace": self.workspace}


def _path(root: Path) -> Path:
    return root / STATE_DIR / FILE


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def write_server_file(root: Path, url: str, workspace: str) -> ServerFile:
    """Announce this process as the project's server (called by `segflow serve` at start)."""
    info = ServerFile(os.getpid(), url, secrets.token_urlsafe(24), workspace)
    path = _path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(info.to_dict(), fh)
    os.replace(tmp, path)
    return info


def remove_server_file(root: Path) -> None:
    path = _path(root)
    with contextlib.suppress(FileNotFoundError, ValueError, OSError):
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("pid") == os.getpid():
            path.unlink()


def read_server_file(root: Path) -> ServerFile | None:
    """The running server of the project at *root* (None when none runs, or it died)."""
    try:
        data = json.loads(_path(root).read_text(encoding="utf-8"))
        info = ServerFile(int(data["pid"]), str(data["url"]), str(data["token"]), str(data.get("workspace", "")))
    except (FileNotFoundError, ValueError, KeyError, TypeError, OSError):
        return None
    return info if pid_alive(info.pid) else None


def _post(info: ServerFile, path: str, timeout: float) -> dict[str, Any]:
    body = json.dumps({"pid": os.getpid()}).encode()
    req = urllib.request.Request(info.url.rstrip("/") + path, data=body, method="POST",
                                 headers={"Content-Type": "application/json", TOKEN_HEADER: info.token})
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - the project's own loopback server
        result: dict[str, Any] = json.loads(resp.read() or b"{}")
        return result


def borrow(root: Path, *, timeout: float = 120.0) -> ServerFile | None:
    """Ask the project's server to lend the warehouse; None when no server runs (the caller's
    open failed for another reason, e.g. another command holds the file)."""
    info = read_server_file(root)
    if info is None or info.pid == os.getpid():
        return None
    try:
        _post(info, "/internal/warehouse/lend", timeout)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise BusyError(f"the warehouse of {root} is held by `segflow serve` (pid {info.pid}), which did not "
                        f"lend it: {exc}", retry_after=5.0) from exc
    return info


def give_back(root: Path, info: ServerFile) -> None:
    """Return a borrowed warehouse (the server also notices when this process is gone)."""
    with contextlib.suppress(urllib.error.URLError, OSError, ValueError):
        _post(info, "/internal/warehouse/return", 5.0)


def open_retrying(opener: Any, *, seconds: float = 10.0) -> Any:
    """Call *opener* until the DuckDB lock is free (the server closes its connection as it lends)."""
    from segflow.errors import QueryError

    deadline = time.monotonic() + seconds
    delay = 0.02
    while True:
        try:
            return opener()
        except QueryError as exc:
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.5)
