"""Workspace isolation, per endpoint: one server over two projects; a key of A calls every
operation of the OpenAPI document with B's ids and names, and gets nothing of B and changes
nothing of B."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

import segflow
from segflow.api.app import create_app
from segflow.api.host import Host
from segflow.workspace import Workspace

SEGMENT = "rule: {attr: city, eq: Bordeaux-B-only}\n"
MARKERS = ("secret-b@x.com", "Bordeaux-B-only")


def _folder_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file() and ".segflow" not in path.parts:
            digest.update(str(path.relative_to(root)).encode() + path.read_bytes())
    return digest.hexdigest()


def _state_counts(ws: Workspace) -> dict[str, int]:
    from segflow.state.tables import metadata

    with ws.state.engine.connect() as conn:
        return {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar() or 0
                for t in metadata.sorted_tables if t.name not in ("audit_log", "api_keys")}


def _fill(path: str) -> str:
    values = {"id": "pb", "profile_id": "pb", "name": "bseg", "kind": "segment", "load_id": "1", "key": "1"}
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "bseg"), path)


def test_a_key_of_one_workspace_never_reaches_another(tmp_path: Path, write: Any, make_key: Any) -> None:
    a = segflow.init(tmp_path / "a")
    b = segflow.init(tmp_path / "b")
    a.config.name = "shop_a"
    b.config.name = "shop_b"
    a.load("profiles", [write("a.csv", "profile_id,email,city\npa,a@x.com,Paris\n")])
    b.load("profiles", [write("b.csv", "profile_id,email,city\npb,secret-b@x.com,Bordeaux-B-only\n")])
    (b.root / "segments" / "bseg.yaml").write_text(SEGMENT, encoding="utf-8")
    from segflow.definitions.plan import apply

    apply(b)
    key_a = make_key(a, "secret", ["all"])
    write_a = make_key(a, "write")
    before = (_folder_digest(b.root), b.warehouse.count("SELECT count(*) FROM profiles"),
              b.warehouse.count("SELECT count(*) FROM segment_members"), _state_counts(b))
    host_a, host_b = Host(a, worker=False), Host(b, worker=False)
    app = create_app([host_a, host_b], start=False)
    called = 0
    with TestClient(app) as client:
        doc = client.get("/openapi.json").json()
        for path, item in doc["paths"].items():
            for method in item:
                if method not in ("get", "post", "put", "patch", "delete"):
                    continue
                url = _fill(path)
                key = write_a if path.startswith("/v1/") else key_a
                headers = {"Authorization": f"Bearer {key}", "If-Match": "*"}
                body: Any = None
                if path.startswith("/v1/"):
                    body = {"userId": "pb", "event": "x", "type": "track", "batch": [{"type": "track", "userId": "pb",
                                                                                      "event": "x"}]}
                r = client.request(method.upper(), url, headers=headers, json=body)
                called += 1
                assert r.status_code < 500, f"{method.upper()} {url}: {r.status_code} {r.text[:300]}"
                for marker in MARKERS:
                    assert marker not in r.text, f"{method.upper()} {url} shows B's data: {r.text[:300]}"
    assert called >= 8
    host_a.close()
    host_b.close()
    b = segflow.open(tmp_path / "b")
    after = (_folder_digest(b.root), b.warehouse.count("SELECT count(*) FROM profiles"),
             b.warehouse.count("SELECT count(*) FROM segment_members"), _state_counts(b))
    assert after == before
    b.close()
