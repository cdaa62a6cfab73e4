"""Shared fixtures: a fresh project per test, a throw-away PostgreSQL database, and a real SMTP
server on loopback (aiosmtpd) whose replies a test chooses."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from smtp_sink import Recorder, Server, free_port

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
