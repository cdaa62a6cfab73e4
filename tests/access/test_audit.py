"""The audit log: entries written by the key services and by hand, filtered and paged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from segflow.access import create_key, list_audit, record, revoke_key
from segflow.clock import FixedClock
from segflow.errors import QueryError

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def test_key_changes_are_recorded_with_kind_name_and_scopes(project) -> None:
    project.clock = FixedClock(T0)
    made = create_key(project, "secret", name="crm", scopes="audit:read")
    revoke_key(project, made.info.id, actor="key:7")
    revoked, created = list_audit(project)
    assert created.to_dict() == {"id": created.id, "at": "2026-03-01T09:00:00+00:00", "actor": "cli",
                                 "action": "key.create", "target": made.info.prefix,
                                 "detail": {"kind": "secret", "name": "crm", "scopes": ["audit:read"]},
                                 "key_id": None}
    assert (revoked.action, revoked.actor, revoked.key_id) == ("key.revoke", "key:7", made.info.id)


def test_filters_and_paging_newest_first(project) -> None:
    for i in range(7):
        record(project.state, actor="cli", action="definition.apply" if i % 2 else "segment.export",
               target=f"t{i}", detail={"n": i}, at=T0 + timedelta(hours=i))
    everything = list_audit(project.state)
    assert [e.target for e in everything] == [f"t{i}" for i in reversed(range(7))]
    page1 = list_audit(project, limit=3)
    page2 = list_audit(project, limit=3, before_id=page1[-1].id)
    page3 = list_audit(project, limit=3, before_id=page2[-1].id)
    assert [e.target for e in page1 + page2 + page3] == [e.target for e in everything]
    assert [e.target for e in list_audit(project, action="definition")] == ["t5", "t3", "t1"]
    assert [e.target for e in list_audit(project, action="segment.export", since=T0 + timedelta(hours=3))] == [
        "t6", "t4"]
    assert list_audit(project, action="segment.exp") == []
    with pytest.raises(QueryError) as caught:
        list_audit(project, limit=0)
    assert caught.value.code == "bad_limit"


def test_a_detail_that_is_not_json_is_refused(project) -> None:
    with pytest.raises(QueryError) as caught:
        record(project.state, actor="cli", action="x.y", detail={"when": object()}, at=T0)
    assert caught.value.code == "bad_audit_detail"
    assert list_audit(project) == []
