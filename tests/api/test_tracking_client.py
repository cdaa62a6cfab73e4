"""The real segment-analytics-python client against a live server on loopback."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
import uvicorn
from smtp_sink import free_port

from segflow.api.app import create_app
from segflow.api.host import Host


@pytest.fixture
def live(host: Host) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(host, start=False), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.mark.parametrize("gzip", [False, True], ids=["plain", "gzip"])
def test_the_segment_client_lands_profiles_events_and_links_the_visitor(
        project, host: Host, live: str, make_key: Callable[..., str], gzip: bool) -> None:
    from segment.analytics.client import Client

    project.resolve()  # the project resolves identities, so a flush resolves incrementally
    errors: list[Exception] = []
    client = Client(make_key(project, "write"), host=live, sync_mode=True, gzip=gzip,
                    on_error=lambda e, _batch: errors.append(e), max_retries=0)
    ctx = {"ip": "203.0.113.9", "userAgent": "Mozilla/5.0", "locale": "ru-RU",
           "campaign": {"name": "spring", "source": "wechat", "medium": "social"}}
    client.page(anonymous_id="visitor-1", name="Home", properties={"path": "/", "title": "Магазин"}, context=ctx)
    client.track(anonymous_id="visitor-1", event="add_to_cart", properties={"sku": "A-1", "price": 9.5})
    client.identify(anonymous_id="visitor-1", user_id="u-1", traits={"email": "ann@example.com", "firstName": "Ann"})
    client.track(user_id="u-1", event="checkout", properties={"total": 30}, message_id="fixed")
    client.track(user_id="u-1", event="checkout", properties={"total": 30}, message_id="fixed")  # a retry
    client.alias(previous_id="old-device", user_id="u-1")
    assert errors == []

    report = host.flush()
    assert report.calls == 5 and report.resolved
    wh = project.warehouse
    assert wh.rows("SELECT profile_id, email, first_name FROM profiles") == [("u-1", "ann@example.com", "Ann")]
    assert sorted(wh.rows("SELECT type, value FROM identities")) == [
        ("anonymous_id", "old-device"), ("anonymous_id", "visitor-1"), ("email", "ann@example.com")]
    events = wh.rows("SELECT event, profile_id, anonymous_id, properties->>'title', context->>'ip', "
                     "context->>'locale', context->'campaign'->>'medium' FROM events ORDER BY ts, event")
    assert [e[0] for e in events] == ["page_view", "add_to_cart", "checkout"]
    assert events[0][3:] == ("Магазин", "203.0.113.9", "ru-RU", "social")
    from segflow.identity.persons import person_of

    person = person_of(wh, "u-1")
    assert {e[1] for e in events} == {person}  # the visitor's events belong to the known profile
