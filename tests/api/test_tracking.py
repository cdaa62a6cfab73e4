"""The tracking routes through the app (TestClient): auth, batch, gzip, limits, duplicates."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from segflow.api.host import Host


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


@pytest.fixture
def key(project, make_key: Callable[..., str]) -> str:
    return make_key(project, "write")


def _events(host: Host) -> list[tuple]:
    host.flush()
    return host.ctx.warehouse.rows("SELECT event_id, event FROM events ORDER BY event_id")


@pytest.mark.parametrize("type_", ["identify", "track", "page", "screen", "group", "alias"])
def test_each_call_type_is_accepted(client: TestClient, key: str, type_: str) -> None:
    body = {"userId": "u", "event": "e", "groupId": "g", "previousId": "p", "messageId": f"m-{type_}"}
    reply = client.post(f"/v1/{type_}", json=body, headers=basic(key))
    assert (reply.status_code, reply.json()) == (200, {"success": True})


def test_a_batch_with_the_write_key_in_the_body(client: TestClient, host: Host, key: str) -> None:
    batch = [{"type": "track", "userId": "u", "event": "e", "messageId": f"m{i}"} for i in range(3)]
    reply = client.post("/v1/batch", json={"writeKey": key, "batch": batch})
    assert reply.json() == {"success": True}
    assert _events(host) == [("m0", "e"), ("m1", "e"), ("m2", "e")]


def test_a_gzip_body(client: TestClient, host: Host, key: str) -> None:
    body = gzip.compress(json.dumps({"batch": [{"type": "page", "anonymousId": "a", "messageId": "g1"}]}).encode())
    reply = client.post("/v1/batch", content=body,
                        headers={**basic(key), "Content-Encoding": "gzip", "Content-Type": "application/json"})
    assert reply.status_code == 200
    assert _events(host) == [("g1", "page_view")]


@pytest.mark.parametrize(("body", "headers", "status", "code"), [
    (b"{not json", {}, 400, "invalid_json"),
    (b"\x1f\x8bnot gzip", {"Content-Encoding": "gzip"}, 400, "invalid_json"),
    (json.dumps({"event": "e"}).encode(), {}, 400, "invalid_call"),
    (json.dumps({"batch": [{"type": "track", "userId": "u", "event": "x" * 40_000}]}).encode(), {}, 400,
     "message_too_large"),
    (json.dumps({"batch": [{"type": "track", "userId": "u", "event": "e", "properties": {"p": "x" * 30_000}}
                           for _ in range(20)]}).encode(), {}, 413, "batch_too_large"),
], ids=["json", "gzip", "no-ids", "call-32kb", "batch-500kb"])
def test_refused_requests_store_nothing(client: TestClient, host: Host, key: str, body: bytes,
                                        headers: dict, status: int, code: str) -> None:
    path = "/v1/track" if code == "invalid_call" else "/v1/batch"
    reply = client.post(path, content=body, headers={**basic(key), **headers})
    assert reply.status_code == status
    assert reply.json()["code"] == code and reply.json()["message"]
    assert _events(host) == []


def test_a_batch_with_one_bad_call_is_refused_whole(client: TestClient, host: Host, key: str) -> None:
    batch = [{"type": "track", "userId": "u", "event": "e", "messageId": "ok"}, {"type": "track", "event": "e"}]
    reply = client.post("/v1/batch", json={"batch": batch}, headers=basic(key))
    assert reply.status_code == 400 and reply.json()["path"] == "batch[1].userId"
    assert _events(host) == []


def test_a_repeated_message_id_is_stored_once(client: TestClient, host: Host, key: str) -> None:
    for _ in range(3):
        assert client.post("/v1/track", json={"userId": "u", "event": "e", "messageId": "same"},
                           headers=basic(key)).status_code == 200
    assert _events(host) == [("same", "e")]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Basic " + base64.b64encode(b"nope:").decode()}],
                         ids=["missing", "unknown"])
def test_without_a_valid_key_nothing_is_taken(client: TestClient, host: Host, headers: dict) -> None:
    reply = client.post("/v1/track", json={"userId": "u", "event": "e"}, headers=headers)
    assert reply.status_code == 401 and reply.json()["code"] == "unauthorized"
    assert _events(host) == []
