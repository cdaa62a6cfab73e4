"""The journeys routes over real projects: a journey written and applied through the API, then
listed, shown, enrolled into, paused, started and stopped; scopes; isolation between workspaces."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from test_definitions import bearer, load_profiles, yaml_put

import segflow
from segflow.access.audit import list_audit
from segflow.api.app import create_app
from segflow.api.host import Host
from segflow.journeys.service import journey_stats, list_journeys
from segflow.workspace import Workspace

NURTURE = """description: hold people a while
entry: {manual: {}}
start: hold
nodes:
  hold:
    wait: 7d
    next: done
  done:
    exit: {}
"""


@pytest.fixture
def loaded(project: Workspace, tmp_path: Path) -> Workspace:
    load_profiles(project, tmp_path / "data")
    return project


@pytest.fixture
def admin(loaded: Workspace, make_key: Callable[..., str]) -> dict[str, str]:
    return bearer(make_key(loaded, "secret", scopes=["all"]))


def _status(client: TestClient, headers: dict[str, str]) -> dict[str, tuple[str, int]]:
    items = client.get("/api/journeys", headers=headers).json()["items"]
    return {j["name"]: (j["status"], j["active"]) for j in items}


def test_a_journey_from_put_to_stop(client: TestClient, loaded: Workspace, admin, make_key) -> None:
    made = yaml_put(client, "/api/definitions/journey/nurture", NURTURE, admin)
    assert made.status_code == 201, made.text
    assert (loaded.root / "journeys" / "nurture.yaml").read_text(encoding="utf-8") == NURTURE
    assert _status(client, admin) == {"nurture": ("active", 0)}
    shown = client.get("/api/journeys/nurture", headers=admin).json()
    assert (shown["description"], [n["node"] for n in shown["nodes"]]) == ("hold people a while", ["hold", "done"])
    enrolled = client.post("/api/journeys/nurture/enroll", json={"profile_ids": ["p000", "p001", "p001"]},
                           headers=admin)
    assert enrolled.status_code == 200, enrolled.text
    assert enrolled.json() == {"name": "nurture", "requested": 2, "started": 2, "not_entered": 0}
    assert client.get("/api/journeys/nurture/stats", headers=admin).json()["runs"] == 2
    assert _status(client, admin) == {"nurture": ("active", 2)}

    assert client.post("/api/journeys/nurture/pause", headers=admin).json()["status"] == "paused"
    assert _status(client, admin) == {"nurture": ("paused", 2)}
    refused = client.post("/api/journeys/nurture/enroll", json={"profile_ids": ["p002"]}, headers=admin)
    assert refused.status_code == 422 and refused.json()["code"] == "journey_not_active"
    assert client.post("/api/journeys/nurture/start", headers=admin).json()["status"] == "active"
    stopped = client.post("/api/journeys/nurture/stop", headers=admin)
    assert stopped.json() == {"name": "nurture", "action": "stop", "status": "stopped"}
    assert _status(client, admin) == {"nurture": ("stopped", 0)}
    assert [(i.name, i.status) for i in list_journeys(loaded)] == [("nurture", "stopped")]
    assert journey_stats(loaded, "nurture").exits == {"stopped": 2}
    actions = [e.action for e in list_audit(loaded.state, action="journey")]
    assert actions == ["journey.stop", "journey.start", "journey.pause", "journey.enroll"]

    assert client.post("/api/journeys/nurture/start", headers=admin).status_code == 200
    assert client.post("/api/journeys/nurture/enroll", json={"profile_ids": ["ghost"]},
                       headers=admin).status_code == 404
    assert client.post("/api/journeys/nurture/enroll", json={"profile_ids": []}, headers=admin).status_code == 422
    assert client.get("/api/journeys/nope", headers=admin).status_code == 404
    assert client.post("/api/journeys/nope/stop", headers=admin).status_code == 404

    reader = bearer(make_key(loaded, "secret", scopes=["journeys:read"]))
    assert client.get("/api/journeys", headers=reader).status_code == 200
    assert client.post("/api/journeys/nurture/stop", headers=reader).status_code == 403
    assert client.post("/api/journeys/nurture/enroll", json={"profile_ids": ["p003"]},
                       headers=reader).status_code == 403
    assert _status(client, admin) == {"nurture": ("active", 0)}
    no_journeys = bearer(make_key(loaded, "secret", scopes=["definitions:read"]))
    assert client.get("/api/journeys", headers=no_journeys).status_code == 403


def test_a_key_of_one_workspace_cannot_touch_the_journeys_of_another(tmp_path: Path, make_key) -> None:
    a = segflow.init(tmp_path / "a", name="a")
    b = segflow.init(tmp_path / "b", name="b")
    load_profiles(a, tmp_path / "data", "a")
    load_profiles(b, tmp_path / "data", "p")
    (b.root / "journeys" / "nurture.yaml").write_text(NURTURE, encoding="utf-8")
    from segflow.definitions.plan import apply
    from segflow.journeys.engine import enroll

    apply(b)
    enroll(b, "nurture", ["p000"])
    key_a = bearer(make_key(a, "secret", scopes=["all"]))
    host_a, host_b = Host(a, worker=False), Host(b, worker=False)

    def b_state() -> tuple:
        stats = journey_stats(b, "nurture").to_dict()
        return ([i.to_dict() for i in list_journeys(b)], stats, [e.action for e in list_audit(b.state)],
                (b.root / "journeys" / "nurture.yaml").read_bytes())

    before = b_state()
    try:
        with TestClient(create_app([host_a, host_b], start=False)) as client:
            got = [client.get("/api/journeys", headers=key_a).json()["items"]]
            for path in ("/api/journeys/nurture", "/api/journeys/nurture/stats"):
                got.append(client.get(path, headers=key_a).status_code)
            for action in ("pause", "stop", "start"):
                got.append(client.post(f"/api/journeys/nurture/{action}", headers=key_a).status_code)
            got.append(client.post("/api/journeys/nurture/enroll", json={"profile_ids": ["p001"]},
                                   headers=key_a).status_code)
            got.append(client.get("/api/definitions/journey/nurture", headers=key_a).status_code)
            got.append(client.delete("/api/definitions/journey/nurture",
                                     headers={**key_a, "If-Match": '"x"'}).status_code)
        assert got == [[], 404, 404, 404, 404, 404, 404, 404, 404]
        assert b_state() == before
        assert [j.name for j in list_journeys(a)] == []
    finally:
        host_a.close()
        host_b.close()
