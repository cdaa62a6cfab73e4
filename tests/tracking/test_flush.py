"""The inbox (group commit) and the flush into the warehouse, against real stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

import segflow
from segflow.state.tables import inbox
from segflow.tracking.calls import parse_calls
from segflow.tracking.flush import FlushReport, flush_inbox, load_rows, rows_of, take_pending
from segflow.tracking.inbox import InboxWriter

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _calls(*items: dict) -> list:
    return parse_calls({"batch": list(items)}, type_=None, received_at=T0)


VISIT = [
    {"type": "page", "messageId": "m1", "anonymousId": "anon-1", "name": "Home",
     "properties": {"path": "/", "url": "https://shop.example/"},
     "context": {"ip": "10.0.0.1", "userAgent": "Mozilla/5.0", "locale": "zh-CN",
                 "campaign": {"name": "spring", "source": "newsletter", "medium": "email"}}},
    {"type": "track", "messageId": "m2", "anonymousId": "anon-1", "event": "add_to_cart",
     "properties": {"sku": "A-1", "price": 9.5}},
    {"type": "identify", "messageId": "m3", "anonymousId": "anon-1", "userId": "u1",
     "traits": {"email": " Ann@Example.com ", "firstName": "Ann", "plan": "gold"}},
    {"type": "track", "messageId": "m4", "userId": "u1", "event": "checkout", "properties": {"total": 30}},
]


def _submit(state, calls):
    writer = InboxWriter(state)
    writer.start()
    try:
        return writer.submit(calls, None).result(timeout=10)
    finally:
        writer.close()


def test_calls_land_as_events_profiles_and_identities(project) -> None:
    result = _submit(project.state, _calls(*VISIT))
    assert (result.accepted, result.duplicates) == (4, 0)
    report = flush_inbox(project)
    assert report.calls == 4 and report.rejected == {k: 0 for k in report.rejected}
    events = project.warehouse.rows(
        "SELECT event_id, event, profile_id, anonymous_id, properties->>'path', context->>'ip', "
        "context->'campaign'->>'source', channel, source FROM events ORDER BY event_id")
    assert events == [
        ("m1", "page_view", None, "anon-1", "/", "10.0.0.1", "newsletter", "web", "newsletter"),
        ("m2", "add_to_cart", None, "anon-1", None, None, None, None, None),
        ("m4", "checkout", "u1", None, None, None, None, None, None),
    ]
    assert project.warehouse.rows("SELECT profile_id, email, first_name, plan FROM profiles") == [
        ("u1", "ann@example.com", "Ann", "gold")]
    assert sorted(project.warehouse.rows("SELECT profile_id, type, value FROM identities")) == [
        ("u1", "anonymous_id", "anon-1"), ("u1", "email", "ann@example.com")]
    with project.state.begin() as conn:
        assert conn.execute(sa.select(sa.func.count()).where(inbox.c.flushed_at.is_(None))).scalar() == 0


def test_a_repeated_message_id_is_accepted_but_stored_once(project) -> None:
    assert _submit(project.state, _calls(*VISIT[:2])).accepted == 2
    again = _submit(project.state, _calls(*VISIT[:3]))
    assert (again.accepted, again.duplicates) == (1, 2)
    flush_inbox(project)
    assert _submit(project.state, _calls(VISIT[0])).duplicates == 1
    assert flush_inbox(project).calls == 0
    assert project.warehouse.count("SELECT count(*) FROM events") == 2


def test_a_crash_between_load_and_marking_reflushes_as_a_no_op(project) -> None:
    _submit(project.state, _calls(*VISIT))
    pending = take_pending(project, 100)
    known = {"profiles": {}, "accounts": {}}
    load_rows(project, rows_of([c for _, c in pending], known, FlushReport()), FlushReport())  # then "crash"
    before = project.table_counts()
    report = flush_inbox(project)
    assert report.calls == 4 and report.inserted.get("events", 0) == 0
    assert project.table_counts() == before


def test_anonymous_events_join_the_known_profile_after_resolution(project) -> None:
    project.resolve()  # the project resolves identities: flushes then resolve incrementally
    _submit(project.state, _calls(*VISIT))
    report = flush_inbox(project)
    assert report.resolved
    from segflow.identity.persons import person_of
    person = person_of(project.warehouse, "u1")
    owners = project.warehouse.rows("SELECT DISTINCT profile_id FROM events")
    assert owners == [(person,)]


def test_a_loader_rejected_row_is_counted(project) -> None:
    _submit(project.state, _calls({"type": "identify", "messageId": "a", "userId": "u1", "traits": {"age": 30}}))
    flush_inbox(project)
    _submit(project.state, _calls({"type": "identify", "messageId": "b", "userId": "u2", "traits": {"age": "old"}}))
    report = flush_inbox(project)
    assert report.rejected["profiles"] == 1


def test_flushed_rows_are_pruned_after_a_week(project) -> None:
    _submit(project.state, _calls(VISIT[1]))
    flush_inbox(project)
    with project.state.begin() as conn:
        conn.execute(sa.update(inbox).values(flushed_at=datetime.now(UTC) - timedelta(days=8)))
    assert flush_inbox(project).pruned == 1


def test_a_group_call_makes_an_account_and_links_the_profile(project) -> None:
    _submit(project.state, _calls({"type": "group", "messageId": "g", "userId": "u1", "groupId": "acme",
                                   "traits": {"name": "Acme", "employees": 40}}))
    flush_inbox(project)
    assert project.warehouse.rows("SELECT account_id, name, employees FROM accounts") == [("acme", "Acme", 40)]
    assert project.warehouse.rows("SELECT profile_id, account_id FROM profiles") == [("u1", "acme")]


def test_many_concurrent_submits_share_commits(project) -> None:
    writer = InboxWriter(project.state, max_wait=0.01)
    writer.start()
    futures = [writer.submit(_calls({"type": "track", "messageId": f"x{i}", "userId": "u", "event": "e"}), 1)
               for i in range(200)]
    assert sum(f.result(timeout=10).accepted for f in futures) == 200
    writer.close()
    assert writer.commits < 200


def test_a_failed_commit_fails_every_future_of_the_batch(project) -> None:
    from segflow.errors import TrackingError

    writer = InboxWriter(project.state)
    writer.start()
    with project.state.begin() as conn:
        conn.execute(sa.text("DROP TABLE inbox"))
    future = writer.submit(_calls(VISIT[1]), None)
    with pytest.raises(TrackingError) as err:
        future.result(timeout=10)
    assert err.value.code == "inbox_unavailable"
    writer.close()


def test_closed_writer_refuses(project) -> None:
    writer = InboxWriter(project.state)
    writer.start()
    writer.close()
    assert writer.submit(_calls(VISIT[1]), None).exception().code == "inbox_unavailable"


@pytest.mark.postgres
def test_postgres_state_store_group_commit_and_flush(tmp_path: Path, pg_url: str) -> None:
    ws = segflow.init(tmp_path / "p", state=pg_url)
    try:
        result = _submit(ws.state, _calls(*VISIT))
        assert result.accepted == 4
        assert _submit(ws.state, _calls(*VISIT)).duplicates == 4
        assert flush_inbox(ws).calls == 4
        assert ws.warehouse.count("SELECT count(*) FROM events") == 3
    finally:
        ws.close()
