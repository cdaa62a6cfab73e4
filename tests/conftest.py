"""Shared fixtures: a fresh project per test, a throw-away PostgreSQL database, and a real SMTP
server on loopback (aiosmtpd) whose replies a test chooses."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

import segflow
from segflow.workspace import Workspace

PG_ADMIN_URL = os.environ.get("SEGFLOW_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Workspace]:
    ws = segflow.init(tmp_path / "proj", default_phone_country="CN")
    yield ws
    ws.close()


@pytest.fixture
def write(tmp_path: Path):
    """write("name.csv", text_or_bytes) → path of a file in a scratch folder."""

    def _write(name: str, content: str | bytes) -> Path:
        path = tmp_path / "files" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return _write


def _pg_connect(url: str):
    import psycopg

    return psycopg.connect(url, autocommit=True, connect_timeout=5)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A new, empty PostgreSQL database (dropped afterwards) as a SQLAlchemy URL.

    Skips when no server answers, except in CI (CI=true), where it fails.
    """
    import psycopg

    try:
        admin = _pg_connect(PG_ADMIN_URL)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"PostgreSQL is required in CI but not reachable at {PG_ADMIN_URL}: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}")
    name = f"segflow_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base.replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


# -- a real SMTP server on loopback (aiosmtpd) ---------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Recorder:
    """An aiosmtpd handler: records what it accepts; ``rcpt_reply`` / ``data_reply`` refuse."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    rcpt_reply: str | None = None
    data_reply: str | None = None
    sessions: int = 0

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]) -> list[str]:
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_reply:
            return self.data_reply
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))  # type: ignore[arg-type]
        return "250 OK queued"


@dataclass
class Server:
    host: str
    port: int
    handler: Recorder
    stop: Callable[[], None]


@pytest.fixture
def smtp_server() -> Iterator[Callable[..., Server]]:
    """smtp_server(**controller_kwargs) → a started server (stopped at the end of the test)."""
    from aiosmtpd.controller import Controller

    started: list[Any] = []

    def _start(port: int | None = None, **kwargs: Any) -> Server:
        handler = Recorder()
        controller = Controller(handler, hostname="127.0.0.1", port=port or free_port(), **kwargs)
        controller.start()
        started.append(controller)

        def stop() -> None:
            if controller in started:
                started.remove(controller)
                controller.stop()

        return Server("127.0.0.1", controller.port, handler, stop)

    yield _start
    for controller in list(started):
        controller.stop()
