"""The webhook node against a real HTTP server on loopback: the body, the idempotency key, retries."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import sqlalchemy as sa

from segflow.definitions.plan import apply
from segflow.journeys.engine import enroll, run_journeys
from segflow.state.tables import outbox

T0 = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)


def test_a_webhook_is_retried_after_a_5xx_and_carries_its_key(shop, files):
    seen: list[tuple[str, str, dict]] = []
    replies = [503, 200]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server name
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append((self.path, self.headers["Idempotency-Key"], body))
            self.send_response(replies.pop(0) if replies else 200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        files("journeys/hook.yaml", f"""
entry: {{manual: {{}}}}
start: call
nodes:
  call:
    webhook: {{url: "{url}", body: '{{"id": "{{{{ profile.profile_id }}}}", "city": "{{{{ profile.city }}}}"}}'}}
    next: done
  done:
    exit: {{}}
""")
        apply(shop, as_of=T0)
        enroll(shop, "hook", ["p1"], at=T0)
        first = run_journeys(shop, now=T0 + timedelta(minutes=1), worker="w")
        assert first.retried == 1
        second = run_journeys(shop, now=T0 + timedelta(minutes=2), worker="w")
        assert second.sent == 1
    finally:
        server.shutdown()
    assert [(p, k) for p, k, _ in seen] == [("/hook", "hook:p1:1:call")] * 2  # the same key both times
    assert seen[-1][2] == {"id": "p1", "city": "Shanghai"}
    with shop.state.engine.connect() as conn:
        row = conn.execute(sa.select(outbox)).one()
    assert (row.status, row.attempts) == ("sent", 2)


def test_a_webhook_body_that_does_not_compile_is_refused_at_plan(shop, files):
    import pytest

    from segflow.definitions.plan import make_plan
    from segflow.errors import SegflowError

    files("journeys/hook.yaml", """
entry: {manual: {}}
start: call
nodes:
  call:
    webhook: {url: "https://example.com/x", body: '{{ profile.city: }}'}
    next: done
  done:
    exit: {}
""")
    with pytest.raises(SegflowError) as caught:
        make_plan(shop, as_of=T0)
    assert "journeys/hook.yaml: nodes.call.webhook.body: line 1:" in str(caught.value)
