"""The file provider: one JSON object a line per message, appended to a file.

The dry-run channel (and the default of every channel when ``segflow.yaml`` has no
``channels:`` section): nothing leaves the machine, and each line says what would have
been sent::

    {"key": "winback:p1:1:coupon_email", "channel": "email", "to": "ann@example.com",
     "subject": "...", "text": "...", "html": "...", "meta": {...}, "at": "2026-03-01T08:00:00.123456+00:00"}

Each line is written with one ``write`` call on a file opened with ``O_APPEND``, then
``fsync``-ed before :meth:`FileChannel.send` answers ``sent``: a message the outbox
records as sent is on disk. Lines of several processes appending to one file do not
interleave (``O_APPEND``, one write per line).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from segflow.channels.base import PERMANENT, SENT, TEMPORARY, Delivery, OutMessage, one_line

__all__ = ["FileChannel"]


class FileChannel:
    """Appends each message to *path* as a JSON line (folders are created on first send)."""

    provider = "file"

    def __init__(self, name: str, path: Path, *, address_attribute: str | None = None) -> None:
        self.name = name
        self.path = Path(path)
        self.address_attribute = address_attribute
        self._fd: int | None = None

    def send(self, message: OutMessage) -> Delivery:
        from segflow.clock import now

        record: dict[str, Any] = {
            "key": message.key, "channel": message.channel, "to": message.to, "subject": message.subject,
            "text": message.text, "html": message.html, "meta": message.meta, "at": now().isoformat(),
        }
        try:
            line = (json.dumps(record, ensure_ascii=False, default=str) + "\n").encode("utf-8")
        except (TypeError, ValueError) as exc:
            return Delivery(PERMANENT, error=one_line(f"message not writable as JSON: {exc}"))
        try:
            fd = self._open()
            written = os.write(fd, line)
            while written < len(line):  # a regular file takes it all at once; this is for the odd case
                written += os.write(fd, line[written:])
            os.fsync(fd)
        except OSError as exc:
            self.close()
            return Delivery(TEMPORARY, error=one_line(f"{self.path}: {exc.strerror or exc}"))
        return Delivery(SENT, provider_id=message.key)

    def _open(self) -> int:
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        return self._fd

    def close(self) -> None:
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = None
