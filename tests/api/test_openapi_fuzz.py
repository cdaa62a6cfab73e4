"""schemathesis against the OpenAPI document: generated requests to every operation, with valid
keys, never get a 500 (the error handler turns every refusal into a 4xx {code, message, path})."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from segflow.api.app import create_app
from segflow.api.host import Host
from segflow.workspace import Workspace

KEYS: dict[str, str] = {}


@pytest.fixture
def api_schema(project: Workspace, write: Any, make_key: Any) -> Iterator[Any]:
    project.load("profiles", [write("p.csv", "profile_id,email,city\np1,a@x.com,Paris\np2,b@x.com,Lyon\n")])
    project.load("events", [write("e.csv", "profile_id,event,ts\np1,view,2026-11-01T10:00:00Z\n")])
    KEYS["secret"] = make_key(project, "secret", ["all"])
    KEYS["write"] = make_key(project, "write")
    host = Host(project, worker=False)
    yield schemathesis.openapi.from_asgi("/openapi.json", create_app(host, start=False))
    host.close()


def test_no_request_gets_a_server_error(api_schema: Any) -> None:
    from hypothesis import given

    failures: list[str] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 5

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case: Any) -> None:
            key = KEYS["write"] if case.path.startswith("/v1/") else KEYS["secret"]
            auth = base64.b64encode(f"{key}:".encode()).decode()
            response = case.call(headers={"Authorization": f"Basic {auth}"})
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}")
            kind = response.headers.get("content-type") or [""]
            kind = kind[0] if isinstance(kind, list) else kind
            if 400 <= response.status_code < 500 and kind.startswith("application/json"):
                body = response.json()
                if not {"code", "message"} <= set(body):
                    failures.append(f"{case.method} {case.formatted_path}: error body {body}")

        run()
    assert not failures, "\n".join(sorted(set(failures))[:20])
