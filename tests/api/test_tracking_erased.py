"""Tracking calls of an erased person are answered 200 and stored nowhere (not even the inbox)."""

from __future__ import annotations

import base64
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from segflow.privacy import erase_person
from segflow.state.tables import inbox
from segflow.workspace import Workspace


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def test_calls_of_an_erased_person_are_not_stored(project: Workspace, client: TestClient, write: Any,
                                                  make_key: Any) -> None:
    project.load("profiles", [write("p.csv", "profile_id,email\np1,ann@x.com\np2,bob@x.com\n")])
    erase_person(project, "p1")
    key = make_key(project, "write")
    calls = [
        {"type": "track", "userId": "p1", "event": "view", "messageId": "m1"},
        {"type": "identify", "anonymousId": "a-new", "traits": {"email": " Ann@X.com "}, "messageId": "m2"},
        {"type": "track", "userId": "p2", "event": "view", "messageId": "m3"},
    ]
    r = client.post("/v1/batch", json={"batch": calls}, headers=_auth(key))
    assert r.status_code == 200 and r.json() == {"success": True}
    with project.state.engine.connect() as conn:
        stored = sorted(m for (m,) in conn.execute(sa.select(inbox.c.message_id)))
    assert stored == ["m3"]
