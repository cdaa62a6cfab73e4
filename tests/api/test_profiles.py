"""Profiles, loads and the audit log over a real project (TestClient)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segflow.workspace import Workspace

PROFILES = "profile_id,email,name,city\n" + "".join(
    f"p{i:02d},user{i}@x.com,{'Ann' if i % 3 == 0 else 'Bob'} {i},Paris\n" for i in range(25))


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _setup(project: Workspace, write: Any) -> None:
    project.load("profiles", [write("p.csv", PROFILES)])
    project.load("events", [write("e.csv", "profile_id,event,ts\np01,view,2026-11-01T10:00:00Z\n"
                                            "p01,order_paid,2026-11-02T10:00:00Z\n")])
    project.resolve()  # lookups by an identifier read the identity index


def test_the_global_file_by_id_and_by_identifier(project: Workspace, client: TestClient, write: Any,
                                                 make_key: Any) -> None:
    _setup(project, write)
    key = make_key(project, "secret", ["profiles:read"])
    r = client.get("/api/profiles/p01", headers=_auth(key))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["canonical_id"] == "p01"
    assert body["attributes"]["email"]["value"] == "user1@x.com"
    assert [e["event"] for e in body["events"]] == ["order_paid", "view"]
    by_email = client.get("/api/profiles/lookup", params={"by": "email", "value": " USER1@x.com"}, headers=_auth(key))
    assert by_email.status_code == 200 and by_email.json()["canonical_id"] == "p01"
    missing = client.get("/api/profiles/nobody", headers=_auth(key))
    assert missing.status_code == 404 and missing.json()["code"] == "unknown_profile"
    assert client.get("/api/profiles/p01").status_code == 401
    write_key = make_key(project, "write")
    assert client.get("/api/profiles/p01", headers=_auth(write_key)).status_code == 403
    no_scope = make_key(project, "secret", ["journeys:read"])
    r = client.get("/api/profiles/p01", headers=_auth(no_scope))
    assert r.status_code == 403 and "profiles:read" in r.json()["message"]


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(page=st.integers(1, 9), query=st.sampled_from(["", "ann", "p1", "USER2", "nobody", "%", "_"]))
def test_search_pages_give_every_match_once(project: Workspace, client: TestClient, write: Any, make_key: Any,
                                            page: int, query: str) -> None:
    if not project.warehouse.count("SELECT count(*) FROM profiles"):
        _setup(project, write)
    key = make_key(project, "secret", ["profiles:read"])
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"q": query, "limit": page, **({"cursor": cursor} if cursor else {})}
        r = client.get("/api/profiles", params=params, headers=_auth(key))
        assert r.status_code == 200, r.text
        seen += [row["profile_id"] for row in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    q = query.lower()
    oracle = sorted(f"p{i:02d}" for i in range(25)
                    if not q or f"p{i:02d}".startswith(query) or q in f"user{i}@x.com"
                    or q in f"{'Ann' if i % 3 == 0 else 'Bob'} {i}".lower())
    assert seen == oracle


def test_export_then_erase(project: Workspace, client: TestClient, write: Any, make_key: Any) -> None:
    _setup(project, write)
    key = make_key(project, "secret", ["all"])
    exported = client.get("/api/profiles/p01/export", headers=_auth(key))
    assert exported.status_code == 200, exported.text
    assert "user1@x.com" in exported.text and "order_paid" in exported.text
    erased = client.delete("/api/profiles/p01", headers=_auth(key))
    assert erased.status_code == 200, erased.text
    assert erased.json()["tables"]["events"] == 2
    assert client.get("/api/profiles/p01", headers=_auth(key)).status_code == 404
    assert client.get("/api/profiles/p02", headers=_auth(key)).status_code == 200
    actions = [e["action"] for e in client.get("/api/audit", headers=_auth(key)).json()["items"]]
    assert "profile.erase" in actions and "profile.export" in actions
    reader = make_key(project, "secret", ["profiles:read"])
    assert client.delete("/api/profiles/p02", headers=_auth(reader)).status_code == 403


def test_upload_a_file_and_see_its_load(project: Workspace, client: TestClient, make_key: Any) -> None:
    key = make_key(project, "secret", ["loads:write", "audit:read", "profiles:read"])
    csv = "profile_id,email,birthday\nn1,n1@x.com,1990-01-02\nn2,n2@x.com,not-a-date\n"
    r = client.post("/api/loads/profiles", files={"file": ("new people.csv", csv, "text/csv")}, headers=_auth(key))
    assert r.status_code == 200, r.text
    assert (r.json()["accepted"], r.json()["rejected"]) == (1, 1)
    assert client.get("/api/profiles/n1", headers=_auth(key)).status_code == 200
    loads = client.get("/api/loads", headers=_auth(key)).json()["items"]
    assert loads[0]["kind"] == "profiles" and loads[0]["rejected"] == 1
    refused = client.get(f"/api/loads/{loads[0]['id']}/rejects", headers=_auth(key)).json()
    assert [(r["_line"], r["profile_id"]) for r in refused["items"]] == [("3", "n2")]
    assert "birthday" in refused["items"][0]["_reason"] and refused["next_cursor"] is None
    assert client.get("/api/loads/999/rejects", headers=_auth(key)).json()["code"] == "unknown_load"
    bad = client.post("/api/loads/profilez", files={"file": ("x.csv", csv, "text/csv")}, headers=_auth(key))
    assert bad.status_code == 400 and bad.json()["code"] == "unknown_kind"
    page = client.get("/api/audit", params={"action": "load.upload", "limit": 1}, headers=_auth(key)).json()
    assert page["items"][0]["target"] == "profiles" and page["items"][0]["detail"]["accepted"] == 1
