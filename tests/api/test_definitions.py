"""The definitions, segments, tags, traits and models routes over real projects (TestClient)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segflow
from segflow.access.audit import list_audit
from segflow.api.app import create_app
from segflow.api.host import Host
from segflow.definitions.plan import make_plan
from segflow.definitions.versions import current_versions
from segflow.workspace import Workspace


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


CITIES = ("Shanghai", "Beijing", "Shenzhen")
N = 40


def profiles_csv(prefix: str = "p") -> str:
    rows = [f"{prefix}{i:03d},{prefix}{i}@example.com,{CITIES[i % 3]}" for i in range(N)]
    return "profile_id,email,city\n" + "\n".join(rows) + "\n"


def load_profiles(ws: Workspace, folder: Path, prefix: str = "p") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"profiles_{prefix}.csv"
    path.write_text(profiles_csv(prefix), encoding="utf-8")
    ws.load("profiles", [path])


SHANGHAI = "type: dynamic\nrule: {attr: city, eq: Shanghai}\n"
SHANGHAI_IDS = sorted(f"p{i:03d}" for i in range(N) if CITIES[i % 3] == "Shanghai")


@pytest.fixture
def loaded(project: Workspace, tmp_path: Path) -> Workspace:
    load_profiles(project, tmp_path / "data")
    return project


@pytest.fixture
def admin(loaded: Workspace, make_key: Callable[..., str]) -> dict[str, str]:
    return bearer(make_key(loaded, "secret", scopes=["all"], rate_limit=1e6))


@pytest.fixture
def reader(loaded: Workspace, make_key: Callable[..., str]) -> dict[str, str]:
    return bearer(make_key(loaded, "secret", scopes=["definitions:read"]))


def yaml_put(client: TestClient, path: str, text: str, headers: dict[str, str], **extra: str):
    return client.put(path, content=text.encode(), headers={**headers, "Content-Type": "application/yaml", **extra})


def test_put_then_get_round_trip_and_plan_is_clean(client: TestClient, loaded: Workspace, admin) -> None:
    made = yaml_put(client, "/api/definitions/segment/shanghai", SHANGHAI, admin)
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["action"], body["file"], body["version"]) == ("created", "segments/shanghai.yaml", 1)
    assert made.headers["ETag"] == body["etag"]
    file = loaded.root / "segments" / "shanghai.yaml"
    assert file.read_text(encoding="utf-8") == SHANGHAI
    assert make_plan(loaded).pending == []  # written where the CLI looks, and applied
    got = client.get("/api/definitions/segment/shanghai", headers=admin)
    assert got.status_code == 200
    assert got.headers["ETag"] == body["etag"]
    assert got.json()["text"] == SHANGHAI
    assert got.json()["definition"] == {"type": "dynamic", "rule": {"attr": "city", "eq": "Shanghai"}}
    assert got.json()["applied_version"] == 1
    listed = client.get("/api/definitions/segment", headers=admin).json()["items"]
    assert listed == [{"kind": "segment", "name": "shanghai", "file": "segments/shanghai.yaml",
                       "etag": body["etag"], "applied_version": 1}]
    members = client.get("/api/segments/shanghai/members?limit=1000", headers=admin).json()
    assert [m["profile_id"] for m in members["items"]] == SHANGHAI_IDS
    audit = list_audit(loaded.state, action="definition")
    assert [(e.action, e.target, e.detail["version"]) for e in audit] == [("definition.apply", "segment/shanghai", 1)]


def test_replace_needs_the_current_etag(client: TestClient, loaded: Workspace, admin) -> None:
    etag = yaml_put(client, "/api/definitions/segment/shanghai", SHANGHAI, admin).headers["ETag"]
    file = loaded.root / "segments" / "shanghai.yaml"
    beijing = "rule: {attr: city, eq: Beijing}\n"
    missing = yaml_put(client, "/api/definitions/segment/shanghai", beijing, admin)
    assert missing.status_code == 428 and missing.json()["code"] == "precondition_required"
    stale = yaml_put(client, "/api/definitions/segment/shanghai", beijing, admin, **{"If-Match": '"0123"'})
    assert stale.status_code == 412 and stale.json()["code"] == "stale_version"
    again = yaml_put(client, "/api/definitions/segment/shanghai", beijing, admin, **{"If-None-Match": "*"})
    assert again.status_code == 409 and again.json()["code"] == "exists"
    assert file.read_text(encoding="utf-8") == SHANGHAI
    ok = yaml_put(client, "/api/definitions/segment/shanghai", beijing, admin, **{"If-Match": etag})
    assert ok.status_code == 200 and (ok.json()["action"], ok.json()["version"]) == ("replaced", 2)
    assert file.read_text(encoding="utf-8") == beijing
    # the first editor's ETag is stale now
    late = yaml_put(client, "/api/definitions/segment/shanghai", SHANGHAI, admin, **{"If-Match": etag})
    assert late.status_code == 412
    assert file.read_text(encoding="utf-8") == beijing


def test_a_bad_rule_is_refused_with_its_path_and_nothing_is_written(client: TestClient, loaded: Workspace,
                                                                     admin) -> None:
    bad = yaml_put(client, "/api/definitions/segment/oops", "rule: {all: [{attr: city, eq: X}, {attr: nope, eq: 1}]}\n",
                   admin)
    assert bad.status_code == 422, bad.text
    error = bad.json()
    assert "segments/oops.yaml: rule.all[1]" in error["message"]
    assert not (loaded.root / "segments" / "oops.yaml").exists()
    assert current_versions(loaded.state) == {}
    syntax = yaml_put(client, "/api/definitions/segment/oops", "rule: {attr: [\n", admin)
    assert syntax.status_code == 422 and syntax.json()["message"].startswith("segments/oops.yaml: ")
    assert not (loaded.root / "segments" / "oops.yaml").exists()
    named = yaml_put(client, "/api/definitions/segment/oops", "name: other\nrule: {attr: city, eq: X}\n", admin)
    assert named.status_code == 422
    assert not (loaded.root / "segments" / "oops.yaml").exists()
    assert client.put("/api/definitions/segment/a%20b", json={"rule": {"attr": "city", "eq": "X"}},
                      headers=admin).status_code == 422


def test_json_body_tags_and_delete(client: TestClient, loaded: Workspace, admin) -> None:
    made = client.put("/api/definitions/tag/geo/shanghai", json={"rule": {"attr": "city", "eq": "Shanghai"}},
                      headers=admin)
    assert made.status_code == 201, made.text
    assert (loaded.root / "tags" / "geo" / "shanghai.yaml").is_file()
    assert make_plan(loaded).pending == []
    tags = {t["name"]: t for t in client.get("/api/tags", headers=admin).json()["items"]}
    assert tags["geo/shanghai"]["members"] == len(SHANGHAI_IDS)
    page = client.get("/api/tags/geo/shanghai/members?limit=5", headers=admin).json()
    assert [m["profile_id"] for m in page["items"]] == SHANGHAI_IDS[:5] and page["next_cursor"]
    inner = yaml_put(client, "/api/definitions/segment/inner", SHANGHAI, admin)
    outer = yaml_put(client, "/api/definitions/segment/outer", "rule: {segment: inner}\n", admin)
    assert (inner.status_code, outer.status_code) == (201, 201), outer.text
    etag = made.headers["ETag"]
    assert client.delete("/api/definitions/tag/geo/shanghai", headers=admin).status_code == 428
    seg = client.get("/api/definitions/segment/outer", headers=admin)
    gone = client.delete("/api/definitions/segment/outer", headers={**admin, "If-Match": seg.headers["ETag"]})
    assert gone.status_code == 200 and gone.json()["action"] == "deleted"
    assert not (loaded.root / "segments" / "outer.yaml").exists()
    assert client.delete("/api/definitions/tag/geo/shanghai", headers={**admin, "If-Match": etag}).status_code == 200
    assert not (loaded.root / "tags" / "geo" / "shanghai.yaml").exists()
    assert make_plan(loaded).pending == []
    assert not current_versions(loaded.state)[("tag", "geo/shanghai")].active
    actions = [e.action for e in list_audit(loaded.state, action="definition")]
    assert actions == ["definition.delete", "definition.delete", "definition.apply", "definition.apply",
                       "definition.apply"]
    assert client.get("/api/definitions/tag/geo/shanghai", headers=admin).status_code == 404


def test_tag_pages_and_a_trait(client: TestClient, loaded: Workspace, admin) -> None:
    client.put("/api/definitions/tag/geo/shanghai", json={"rule": {"attr": "city", "eq": "Shanghai"}}, headers=admin)
    seen, cursor = [], None
    while True:
        page = client.get("/api/tags/geo/shanghai/members?limit=4" + (f"&cursor={cursor}" if cursor else ""),
                          headers=admin).json()
        seen += [m["profile_id"] for m in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == SHANGHAI_IDS
    assert client.get("/api/tags/geo/nope/members", headers=admin).status_code == 404
    trait = "kind: counter\nevent: login\nwithin: 30d\n"
    made = yaml_put(client, "/api/definitions/trait/logins_30d", trait, admin)
    assert made.status_code == 201, made.text
    assert (loaded.root / "traits" / "logins_30d.yaml").read_text(encoding="utf-8") == trait
    assert make_plan(loaded).pending == []
    assert "logins_30d" in {t["name"] for t in client.get("/api/traits", headers=admin).json()["items"]}
    names = [d["name"] for d in client.get("/api/definitions/trait", headers=admin).json()["items"]]
    assert names == ["logins_30d"]
    bad = yaml_put(client, "/api/definitions/trait/Bad", trait, admin)
    assert bad.status_code == 422 and bad.json()["code"] == "bad_name"


def test_a_static_segment_is_explained_by_its_membership(client: TestClient, loaded: Workspace, admin) -> None:
    assert yaml_put(client, "/api/definitions/segment/picks", "type: static\n", admin).status_code == 201
    from segflow.segments.static import add_members

    add_members(loaded, "picks", ["p005"])
    why = client.get("/api/segments/picks/explain/p005", headers=admin).json()
    assert (why["type"], why["member"], why["matches"], why["tree"]) == ("static", True, None, None)
    assert client.get("/api/segments/picks/explain/p006", headers=admin).json()["member"] is False


def test_plan_route_shows_the_folder(client: TestClient, loaded: Workspace, admin) -> None:
    (loaded.root / "segments" / "bj.yaml").write_text("rule: {attr: city, eq: Beijing}\n", encoding="utf-8")
    plan = client.get("/api/plan", headers=admin)
    assert plan.status_code == 200
    assert [(c["name"], c["action"]) for c in plan.json()["changes"]] == [("bj", "new")]


def test_scopes(client: TestClient, loaded: Workspace, reader, make_key) -> None:
    assert client.get("/api/definitions/segment", headers=reader).status_code == 200
    denied = yaml_put(client, "/api/definitions/segment/x", SHANGHAI, reader)
    assert denied.status_code == 403
    assert not (loaded.root / "segments" / "x.yaml").exists()
    assert client.get("/api/segments/x/export", headers=reader).status_code == 403
    journeys_only = bearer(make_key(loaded, "secret", scopes=["journeys:read"]))
    assert client.get("/api/segments", headers=journeys_only).status_code == 403
    assert client.get("/api/plan").status_code == 401


def test_preview_explain_list_and_export(client: TestClient, loaded: Workspace, admin) -> None:
    preview = client.post("/api/segments/preview", json={"rule": {"attr": "city", "eq": "Shanghai"}, "limit": 3},
                          headers=admin)
    assert preview.status_code == 200, preview.text
    assert preview.json()["count"] == len(SHANGHAI_IDS)
    assert [m["profile_id"] for m in preview.json()["members"]] == SHANGHAI_IDS[:3]
    bad = client.post("/api/segments/preview", json={"rule": {"attr": "nope", "eq": 1}}, headers=admin)
    assert bad.status_code == 422 and bad.json()["path"]
    yaml_put(client, "/api/definitions/segment/shanghai", SHANGHAI, admin)
    segments = client.get("/api/segments", headers=admin).json()["items"]
    assert [(s["name"], s["members"]) for s in segments] == [("shanghai", len(SHANGHAI_IDS))]
    why = client.get(f"/api/segments/shanghai/explain/{SHANGHAI_IDS[0]}", headers=admin).json()
    assert (why["member"], why["matches"]) == (True, True)
    why_not = client.get("/api/segments/shanghai/explain/p001", headers=admin).json()
    assert (why_not["member"], why_not["matches"]) == (False, False) and "Beijing" in json.dumps(why_not["tree"])
    assert client.get("/api/segments/shanghai/explain/nobody", headers=admin).status_code == 404
    assert client.get("/api/segments/nope/members", headers=admin).status_code == 404
    members = client.get("/api/segments/shanghai/members?limit=1000", headers=admin).json()["items"]
    exported = client.get("/api/segments/shanghai/export?format=csv", headers=admin)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["profile_id"] for r in rows] == [m["profile_id"] for m in members] == SHANGHAI_IDS
    lines = client.get("/api/segments/shanghai/export?format=jsonl", headers=admin).text.splitlines()
    assert [json.loads(line)["profile_id"] for line in lines] == SHANGHAI_IDS
    assert [e.detail["format"] for e in list_audit(loaded.state, action="segment.export")] == ["jsonl", "csv"]
    assert client.get("/api/segments/shanghai/export?format=xlsx", headers=admin).status_code == 422
    assert client.get("/api/traits", headers=admin).status_code == 200
    models = client.get("/api/models", headers=admin).json()["items"]
    assert "rfm" in {m["name"] for m in models}


@pytest.fixture
def paged(loaded: Workspace, client: TestClient, admin) -> Iterator[tuple[TestClient, dict[str, str]]]:
    yaml_put(client, "/api/definitions/segment/everyone", "rule: {attr: city, in: [Shanghai, Beijing, Shenzhen]}\n",
             admin)
    yield client, admin


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=st.lists(st.integers(min_value=1, max_value=17), min_size=1, max_size=60))
def test_member_pages_return_every_member_once(paged, sizes: list[int]) -> None:
    client, admin = paged
    oracle = sorted(f"p{i:03d}" for i in range(N))
    seen: list[str] = []
    cursor = None
    for i in range(200):
        size = sizes[i % len(sizes)]
        url = f"/api/segments/everyone/members?limit={size}" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=admin).json()
        assert len(page["items"]) <= size
        seen += [m["profile_id"] for m in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == oracle


def test_a_bad_cursor_is_a_client_error(paged) -> None:
    client, admin = paged
    assert client.get("/api/segments/everyone/members?cursor=%%%", headers=admin).status_code == 400


# -- isolation: two workspaces in one app -------------------------------------------------------

def _snapshot(ws: Workspace) -> tuple:
    files = sorted((p.relative_to(ws.root).as_posix(), p.read_bytes()) for p in ws.root.rglob("*")
                   if p.is_file() and ".segflow" not in p.parts)
    versions = sorted((k, v.version, v.status) for k, v in current_versions(ws.state).items())
    audit = [(e.action, e.target) for e in list_audit(ws.state)]
    return files, versions, audit


def test_a_key_of_one_workspace_sees_and_changes_nothing_of_another(tmp_path: Path, make_key) -> None:
    a = segflow.init(tmp_path / "a", name="a")
    b = segflow.init(tmp_path / "b", name="b")
    load_profiles(a, tmp_path / "data", "a")
    load_profiles(b, tmp_path / "data", "p")
    (b.root / "segments" / "shanghai.yaml").write_text(SHANGHAI, encoding="utf-8")
    (b.root / "tags").mkdir(exist_ok=True)
    (b.root / "tags" / "vip.yaml").write_text("rule: {attr: city, eq: Beijing}\n", encoding="utf-8")
    from segflow.definitions.plan import apply

    apply(b)
    key_a = bearer(make_key(a, "secret", scopes=["all"]))
    host_a, host_b = Host(a, worker=False), Host(b, worker=False)
    try:
        before = _snapshot(b)
        from segflow.definitions.edit import etag_of

        b_etag = etag_of((b.root / "segments" / "shanghai.yaml").read_bytes())
        with TestClient(create_app([host_a, host_b], start=False)) as client:
            seen = {
                "get": client.get("/api/definitions/segment/shanghai", headers=key_a).status_code,
                "list": [d["name"] for d in client.get("/api/definitions/segment", headers=key_a).json()["items"]],
                "members": client.get("/api/segments/shanghai/members", headers=key_a).status_code,
                "export": client.get("/api/segments/shanghai/export", headers=key_a).status_code,
                "explain": client.get("/api/segments/shanghai/explain/p000", headers=key_a).status_code,
                "segments": client.get("/api/segments", headers=key_a).json()["items"],
                "tags": [t["name"] for t in client.get("/api/tags", headers=key_a).json()["items"]],
                "tag members": client.get("/api/tags/vip/members", headers=key_a).status_code,
                "plan": client.get("/api/plan", headers=key_a).json()["changes"],
                "delete": client.delete("/api/definitions/segment/shanghai",
                                        headers={**key_a, "If-Match": b_etag}).status_code,
                "replace": yaml_put(client, "/api/definitions/segment/shanghai", "rule: {attr: city, eq: X}\n",
                                    key_a, **{"If-Match": b_etag}).status_code,
                "preview": client.post("/api/segments/preview", json={"rule": {"attr": "city", "eq": "Shanghai"}},
                                       headers=key_a).json()["members"][0]["profile_id"],
            }
        assert seen == {"get": 404, "list": [], "members": 404, "export": 404, "explain": 404, "segments": [],
                        "tags": [], "tag members": 404, "plan": [], "delete": 404, "replace": 412,
                        "preview": "a000"}
        assert _snapshot(b) == before
        # the replace with B's ETag went to A (which has no such file: stale) and wrote nothing
        assert not (a.root / "segments" / "shanghai.yaml").exists()
    finally:
        host_a.close()
        host_b.close()


def test_two_editors_with_one_etag_one_wins_the_other_is_told(loaded: Workspace) -> None:
    import threading

    from segflow.definitions.edit import put_definition, read_definition
    from segflow.errors import ConflictError

    put_definition(loaded, "segment", "shanghai", SHANGHAI)
    etag = read_definition(loaded, "segment", "shanghai").etag
    texts = {"a": "rule: {attr: city, eq: Beijing}\n", "b": "rule: {attr: city, eq: Shenzhen}\n"}
    outcome: dict[str, str] = {}
    start = threading.Barrier(2)

    def edit(who: str) -> None:
        start.wait()
        try:
            put_definition(loaded, "segment", "shanghai", texts[who], if_match=etag)
            outcome[who] = "ok"
        except ConflictError as exc:
            outcome[who] = exc.code

    threads = [threading.Thread(target=edit, args=(w,)) for w in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcome.values()) == ["ok", "stale_version"]
    winner = next(w for w, o in outcome.items() if o == "ok")
    assert (loaded.root / "segments" / "shanghai.yaml").read_text(encoding="utf-8") == texts[winner]
    assert make_plan(loaded).pending == []
