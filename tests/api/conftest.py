"""Fixtures for API tests: an app over a real project (no background loop unless a test starts
it), its TestClient, and keys made through segflow.access."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from segflow.api.app import create_app
from segflow.api.host import Host
from segflow.workspace import Workspace


@pytest.fixture
def host(project: Workspace) -> Iterator[Host]:
    h = Host(project, worker=False)
    yield h
    h.close()


@pytest.fixture
def client(host: Host) -> Iterator[TestClient]:
    with TestClient(create_app(host, start=False)) as c:
        yield c


@pytest.fixture
def make_key() -> Callable[..., str]:
    """make_key(workspace, "secret", scopes=["all"]) → the plaintext key."""

    def _make(ws: Any, kind: str = "secret", scopes: list[str] | None = None, **options: Any) -> str:
        from segflow.access.keys import create_key

        if kind == "secret" and scopes is None:
            scopes = ["all"]
        return create_key(ws, kind, scopes=scopes, **options).key

    return _make


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
