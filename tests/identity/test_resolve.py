"""Identity resolution on hand-made records: chains, bridges, the junk cap, bad values,
anonymous → known, the merge policy, re-keyed queries and incremental loads."""

from __future__ import annotations

import pytest
from identity_helpers import Feed, groups, partition, set_identity

from segflow.identity.resolve import resolve_identities
from segflow.workspace import Workspace

T0 = "2020-01-01T00:00:00Z"
T1 = "2021-01-01T00:00:00Z"
T2 = "2022-01-01T00:00:00Z"
T3 = "2023-01-01T00:00:00Z"


def _rows(ws: Workspace, sql: str, params: list | None = None) -> list[tuple]:
    return ws.warehouse.con.execute(sql, params or []).fetchall()


def test_chain_phone_then_email_is_one_person(ws: Workspace, feed: Feed) -> None:
    feed("profiles", [
        {"profile_id": "A", "phone": "138 0013 9999", "created_at": T1},
        {"profile_id": "B", "phone": "+86 13800139999", "email": "b@shop.cn", "created_at": T2},
        {"profile_id": "C", "email": " B@Shop.CN ", "created_at": T3},
        {"profile_id": "D", "email": "d@shop.cn", "created_at": T0},
    ])
    summary = resolve_identities(ws)
    assert groups(ws) == {frozenset("ABC"), frozenset("D")}
    assert partition(ws)["C"] == "A"  # the oldest record survives
    assert (summary.sources, summary.persons) == (4, 2)
    assert _rows(ws, "SELECT profile_id FROM profiles ORDER BY 1") == [("A",), ("D",)]


def test_identities_rows_link_records(ws: Workspace, feed: Feed) -> None:
    feed("profiles", [{"profile_id": "wx1", "created_at": T1}, {"profile_id": "app1", "created_at": T2},
                      {"profile_id": "crm1", "created_at": T3}])
    feed("identities", [
        {"profile_id": "wx1", "type": "wechat_unionid", "value": "U-1"},
        {"profile_id": "app1", "type": "wechat_unionid", "value": "U-1"},
        {"profile_id": "app1", "type": "crm_contact_id", "value": "C-9"},
        {"profile_id": "crm1", "type": "crm_contact_id", "value": "C-9"},
        {"profile_id": "crm1", "type": "device_id", "value": "dev-1"},
    ])
    resolve_identities(ws)
    assert groups(ws) == {frozenset({"wx1", "app1", "crm1"})}
    # identities follow the person, each row keeps its source
    assert _rows(ws, "SELECT DISTINCT profile_id FROM identities") == [("wx1",)]
    assert sorted(_rows(ws, "SELECT coalesce(_source_profile_id, profile_id), type FROM identities WHERE type = 'crm_contact_id'")) == [
        ("app1", "crm_contact_id"), ("crm1", "crm_contact_id")]


def test_attach_only_and_other_types_never_merge(ws: Workspace, feed: Feed) -> None:
    feed("profiles", [{"profile_id": "A"}, {"profile_id": "B"}])
    feed("identities", [
        {"profile_id": "A", "type": "device_id", "value": "shared-ipad"},
        {"profile_id": "B", "type": "device_id", "value": "shared-ipad"},
        {"profile_id": "A", "type": "crm_lead_id", "value": "L1"},
        {"profile_id": "B", "type": "crm_lead_id", "value": "L1"},
    ])
    resolve_identities(ws)
    assert groups(ws) == {frozenset("A"), frozenset("B")}


@pytest.mark.parametrize(
    ("type_", "value"),
    [
        ("email", ""), ("email", "null"), ("email", "undefined"), ("email", "N/A"), ("email", "test@test.com"),
        ("email", "noreply@example.com"), ("email", "someone@example.org"), ("email", "not-an-email"),
        ("email", "two@@ats.com"), ("phone", "0"), ("phone", "00000000000"), ("phone", "13333333333"),
        ("phone", "12"), ("phone", "call me"), ("wechat_unionid", "none"), ("wechat_unionid", "undefined"),
        ("crm_contact_id", "0"), ("crm_contact_id", " - "),
    ],
    ids=lambda v: repr(v) if v != "" else "empty",
)
def test_placeholders_and_malformed_values_never_merge(ws: Workspace, feed: Feed, type_: str, value: str) -> None:
    feed("profiles", [{"profile_id": "A", "name": "a"}, {"profile_id": "B", "name": "b"}])
    if value.strip():
        feed("identities", [{"profile_id": p, "type": type_, "value": value} for p in "AB"])
    summary = resolve_identities(ws)
    assert groups(ws) == {frozenset("A"), frozenset("B")}
    if value.strip():
        statuses = {r[0] for r in _rows(ws, "SELECT status FROM identity_index WHERE type = ?", [type_])}
        assert statuses <= {"placeholder", "malformed"} and statuses
        assert sum(summary.not_merged.values()) >= 2


def test_malformed_profile_email_is_kept_as_an_attribute(ws: Workspace, feed: Feed) -> None:
    feed("profiles", [{"profile_id": "A", "email": "wang at qq", "created_at": T1},
                      {"profile_id": "B", "email": "wang at qq", "created_at": T2}])
    resolve_identities(ws)
    assert groups(ws) == {frozenset("A"), frozenset("B")}
    assert _rows(ws, "SELECT profile_id, email FROM profiles ORDER BY 1") == [("A", "wang at qq"), ("B", "wang at qq")]


def test_junk_cap_refuses_to_merge_and_reports(ws: Workspace, feed: Feed) -> None:
    set_identity(ws, junk_cap=3)
    store_phone = "021-62881234"
    feed("profiles", [{"profile_id": f"pos{i}", "phone": store_phone, "created_at": T1} for i in range(4)]
         + [{"profile_id": "x1", "phone": "13900001111"}, {"profile_id": "x2", "phone": "+8613900001111"}])
    summary = resolve_identities(ws)
    assert groups(ws) == {frozenset({f"pos{i}"}) for i in range(4)} | {frozenset({"x1", "x2"})}
    assert summary.junk_total == 1
    assert summary.junk == [{"type": "phone", "value": "+862162881234", "sources": 4}]


def test_ignore_list_blocks_a_value_below_the_cap(ws: Workspace, feed: Feed) -> None:
    set_identity(ws, ignore={"phone": ["021 6288 1234"]})
    feed("profiles", [{"profile_id": "pos1", "phone": "021-62881234"}, {"profile_id": "pos2", "phone": "+862162881234"}])
    resolve_identities(ws)
    assert groups(ws) == {frozenset({"pos1"}), frozenset({"pos2"})}
    assert {r[0] for r in _rows(ws, "SELECT status FROM identity_index")} == {"ignored"}


def test_value_crossing_the_cap_later_splits_what_it_merged(ws: Workspace, feed: Feed) -> None:
    set_identity(ws, junk_cap=3)
    feed("profiles", [{"profile_id": p, "email": "family@home.cn", "created_at": T1} for p in ("A", "B", "C")])
    resolve_identities(ws)
    assert groups(ws) == {frozenset("ABC")}
    feed("profiles", [{"profile_id": "D", "email": "family@home.cn", "created_at": T2}])
    summary = resolve_identities(ws)
    assert summary.mode == "incremental"
    assert groups(ws) == {frozenset(p) for p in "ABCD"}
    assert _rows(ws, "SELECT count(*) FROM profiles") == [(4,)]


def test_bridge_merges_two_people_and_the_oldest_survives(ws: Workspace, feed: Feed) -> None:
    feed("profiles", [
        {"profile_id": "A", "email": "a@x.cn", "created_at": T2},
        {"profile_id": "A2", "email": "a@x.cn", "created_at": T3},
        {"profile_id": "B", "phone": "13700000001", "created_at": T1},
    ])
    feed("orders", [{"order_id": f"o{p}", "profile_id": p, "ts": T3, "amount": 10} for p in ("A", "A2", "B")])
    resolve_identities(ws)
    assert groups(ws) == {frozenset({"A", "A2"}), frozenset({"B"})}
    feed("profiles", [{"profile_id": "BR", "email": "a@x.cn", "phone": "137-0000-0001", "created_at": T3}])
    summary = resolve_identities(ws)
    assert summary.mode == "incremental"
    assert groups(ws) == {frozenset({"A", "A2", "B", "BR"})}
    assert set(partition(ws).values()) == {"B"}
    assert _rows(ws, "SELECT DISTINCT profile_id FROM orders") == [("B",)]
    assert _rows(ws, "SELECT profile_id FROM profiles") == [("B",)]


def test_orders_per_person_equal_the_sum_over_its_sources(ws: Workspace, feed: Feed) -> None:
    feed("profiles", [
        {"profile_id": "A", "email": "p@x.cn", "created_at": T1},
        {"profile_id": "B", "email": "p@x.cn", "phone": "13600001234", "created_at": T2},
        {"profile_id": "C", "phone": "13600001234", "created_at": T3},
        {"profile_id": "D", "created_at": T3},
    ])
    orders = {"A": 2, "B": 3, "C": 1, "D": 4}
    feed("orders", [{"order_id": f"{p}{i}", "profile_id": p, "ts": T3, "amount": 5 + i}
                    for p, n in orders.items() for i in range(n)])
    before = dict(_rows(ws, "SELECT profile_id, count(*) FROM orders GROUP BY 1"))
    resolve_identities(ws)
    after = dict(_rows(ws, "SELECT profile_id, count(*) FROM orders GROUP BY 1"))
    mapping = partition(ws)
    expected: dict[str, int] = {}
    for source, n in before.items():
        expected[mapping[source]] = expected.get(mapping[source], 0) + n
    assert after == expected == {"A": 6, "D": 4}
    # source ids stay queryable
    by_source = dict(_rows(ws, "SELECT coalesce(_source_profile_id, profile_id), count(*) FROM orders GROUP BY 1"))
    assert by_source == before
    # and the rule language counts persons
    assert ws.preview({"orders": {"count": {"gte": 5}}}).count == 1
    assert ws.preview({"all": []}).count == 2


def test_anonymous_events_attach_through_identities_row(ws: Workspace, feed: Feed) -> None:
    feed("profiles", [{"profile_id": "A", "created_at": T1}])
    feed("events", [{"event_id": "e1", "anonymous_id": "anon-1", "event": "view", "ts": T2},
                    {"event_id": "e2", "anonymous_id": "anon-2", "event": "view", "ts": T2}])
    resolve_identities(ws)
    assert _rows(ws, "SELECT count(*) FROM events WHERE profile_id IS NOT NULL") == [(0,)]
    feed("identities", [{"profile_id": "A", "type": "anonymous_id", "value": "anon-1"}])
    summary = resolve_identities(ws)
    assert summary.anonymous_attached == 1
    assert _rows(ws, "SELECT event_id, profile_id FROM events ORDER BY 1") == [("e1", "A"), ("e2", None)]


def test_anonymous_events_attach_through_identify_event_and_follow_merges(ws: Workspace, feed: Feed) -> None:
    feed("profiles", [{"profile_id": "app9", "phone": "13511112222", "created_at": T2}])
    feed("events", [
        {"event_id": "e1", "anonymous_id": "u-77", "event": "view", "ts": T1},
        {"event_id": "e2", "anonymous_id": "u-77", "event": "add_to_cart", "ts": T1},
        {"event_id": "e3", "profile_id": "app9", "anonymous_id": "u-77", "event": "identify", "ts": T2},
    ])
    resolve_identities(ws)
    assert _rows(ws, "SELECT DISTINCT profile_id FROM events") == [("app9",)]
    assert ws.preview({"event": "add_to_cart"}).count == 1
    feed("profiles", [{"profile_id": "pos1", "phone": "135-1111-2222", "created_at": T0}])
    resolve_identities(ws)
    # pos1 joins the person, who keeps its id (stable ids): the events stay with it
    assert _rows(ws, "SELECT DISTINCT profile_id FROM events") == [("app9",)]
    assert _rows(ws, "SELECT canonical_id FROM profile_map WHERE source_id = 'pos1'") == [("app9",)]


def test_anonymous_id_on_two_people_stays_anonymous(ws: Workspace, feed: Feed) -> None:
    feed("profiles", [{"profile_id": "A"}, {"profile_id": "B"}])
    feed("identities", [{"profile_id": p, "type": "anonymous_id", "value": "family-tablet"} for p in "AB"])
    feed("events", [{"event_id": "e1", "anonymous_id": "family-tablet", "event": "view", "ts": T1}])
    summary = resolve_identities(ws)
    assert summary.anonymous_ambiguous == 1
    assert _rows(ws, "SELECT profile_id FROM events") == [(None,)]


def test_merge_policy_recent_non_empty_earliest_created_lists_unioned(ws: Workspace, feed: Feed) -> None:
    ws.declare("profiles", "interests", "list")
    feed("profiles", [
        {"profile_id": "A", "email": "m@x.cn", "name": "Old Name", "city": "Beijing", "created_at": T2,
         "interests": '["tea", "books"]'},
        {"profile_id": "B", "email": "m@x.cn", "name": "", "city": "Shanghai", "created_at": T1,
         "interests": '["books", "golf"]'},
    ])
    resolve_identities(ws)
    # same load: the most recently created record (A) is the most recent value; B is older
    row = _rows(ws, "SELECT profile_id, name, city, created_at::VARCHAR, interests FROM profiles")
    assert row == [("B", "Old Name", "Beijing", "2021-01-01 00:00:00+00", ["books", "golf", "tea"])]
    # a later load of the non-surviving record wins for the values it sets
    feed("profiles", [{"profile_id": "A", "city": "Hangzhou"}])
    resolve_identities(ws)
    assert _rows(ws, "SELECT name, city FROM profiles") == [("Old Name", "Hangzhou")]
    # a later load of the surviving record (the loader updates the merged row in place)
    feed("profiles", [{"profile_id": "B", "name": "New Name"}])
    resolve_identities(ws)
    assert _rows(ws, "SELECT name, city FROM profiles") == [("New Name", "Hangzhou")]
    assert _rows(ws, "SELECT profile_id, name, city FROM source_profiles ORDER BY 1") == [
        ("A", "Old Name", "Hangzhou"), ("B", "New Name", "Shanghai")]


def test_reloading_files_after_resolve_changes_nothing(ws: Workspace, feed: Feed) -> None:
    profiles = [{"profile_id": "A", "email": "r@x.cn", "created_at": T1}, {"profile_id": "B", "email": "r@x.cn", "created_at": T2}]
    identities = [{"profile_id": "B", "type": "wechat_openid", "value": "o-1"}]
    memberships = [{"profile_id": "B", "kind": "wechat_oa", "key": "OA1", "since": T2}]
    subscriptions = [{"profile_id": "B", "channel": "email", "status": "opted_in", "ts": T2}]
    orders = [{"order_id": "o1", "profile_id": "B", "ts": T2, "amount": 3}]
    kinds = (("profiles", profiles), ("identities", identities), ("memberships", memberships),
             ("subscriptions", subscriptions), ("orders", orders))
    for kind, rows in kinds:
        feed(kind, rows)
    resolve_identities(ws)
    tables = {"profiles": "* EXCLUDE (_load_id)", "identities": "* EXCLUDE (_load_id)",
              "memberships": "* EXCLUDE (_load_id)", "subscriptions": "* EXCLUDE (_load_id)",
              "orders": "* EXCLUDE (_load_id)", "profile_map": "source_id, canonical_id"}
    snapshot = {t: sorted(_rows(ws, f"SELECT {cols} FROM {t}"), key=repr) for t, cols in tables.items()}
    for kind, rows in kinds:
        feed(kind, rows)
    resolve_identities(ws)
    for table, rows in snapshot.items():
        assert sorted(_rows(ws, f"SELECT {tables[table]} FROM {table}"), key=repr) == rows, table


def test_later_subscription_of_a_merged_record_replaces_its_row(ws: Workspace, feed: Feed) -> None:
    feed("profiles", [{"profile_id": "A", "email": "s@x.cn", "created_at": T1}, {"profile_id": "B", "email": "s@x.cn", "created_at": T2}])
    feed("subscriptions", [{"profile_id": "B", "channel": "email", "status": "opted_in", "ts": T2}])
    resolve_identities(ws)
    feed("subscriptions", [{"profile_id": "B", "channel": "email", "status": "opted_out", "ts": T3}])
    resolve_identities(ws)
    assert _rows(ws, "SELECT profile_id, _source_profile_id, status FROM subscriptions") == [("A", "B", "opted_out")]
    assert ws.preview({"subscribed": "email"}).count == 0


def test_tags_follow_the_person(ws: Workspace, feed: Feed) -> None:
    feed("profiles", [{"profile_id": "A", "email": "t@x.cn", "created_at": T1}, {"profile_id": "B", "email": "t@x.cn", "created_at": T2}])
    ws.warehouse.con.execute("INSERT INTO tag_assignments (profile_id, tag) VALUES ('B', 'vip')")
    resolve_identities(ws)
    assert _rows(ws, "SELECT profile_id, _source_profile_id, tag FROM tag_assignments") == [("A", "B", "vip")]


def test_records_known_only_by_identities_rows_join_but_make_no_profile(ws: Workspace, feed: Feed) -> None:
    feed("profiles", [{"profile_id": "A", "created_at": T1}])
    feed("identities", [{"profile_id": "A", "type": "email", "value": "i@x.cn"},
                        {"profile_id": "ghost", "type": "email", "value": "I@x.cn"},
                        {"profile_id": "lonely", "type": "email", "value": "l@x.cn"}])
    summary = resolve_identities(ws)
    assert groups(ws) == {frozenset({"A", "ghost"}), frozenset({"lonely"})}
    assert summary.persons == 1


def test_full_run_equals_incremental_runs(ws: Workspace, feed: Feed) -> None:
    feed("profiles", [{"profile_id": "A", "email": "f@x.cn", "created_at": T1}])
    resolve_identities(ws)
    feed("profiles", [{"profile_id": "B", "email": "f@x.cn", "phone": "13000000001", "created_at": T2}])
    resolve_identities(ws)
    feed("identities", [{"profile_id": "C", "type": "phone", "value": "130 0000 0001"}])
    resolve_identities(ws)
    incremental = partition(ws)
    profiles = _rows(ws, "SELECT * EXCLUDE (_load_id) FROM profiles ORDER BY 1")
    summary = resolve_identities(ws, full=True)
    assert summary.mode == "full"
    assert partition(ws) == incremental == {"A": "A", "B": "A", "C": "A"}
    assert _rows(ws, "SELECT * EXCLUDE (_load_id) FROM profiles ORDER BY 1") == profiles


def test_changing_the_settings_forces_a_full_run(ws: Workspace, feed: Feed) -> None:
    feed("profiles", [{"profile_id": "A", "email": "c@x.cn"}, {"profile_id": "B", "email": "c@x.cn"}])
    assert resolve_identities(ws).mode == "full"
    assert resolve_identities(ws).mode == "incremental"
    set_identity(ws, merge_types=["phone"])
    assert resolve_identities(ws).mode == "full"
    assert groups(ws) == {frozenset("A"), frozenset("B")}


def test_a_failed_run_leaves_the_previous_resolution(ws: Workspace, feed: Feed, monkeypatch: pytest.MonkeyPatch) -> None:
    feed("profiles", [{"profile_id": "A", "email": "z@x.cn", "created_at": T1}, {"profile_id": "B", "email": "z@x.cn", "created_at": T2}])
    resolve_identities(ws)
    feed("profiles", [{"profile_id": "C", "email": "z@x.cn", "created_at": T3}])
    import segflow.identity.resolve as resolve_module

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(resolve_module, "rekey_tables", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        resolve_identities(ws)
    assert groups(ws) == {frozenset("AB")}
    assert _rows(ws, "SELECT profile_id FROM profiles ORDER BY 1") == [("A",), ("C",)]
    monkeypatch.undo()
    resolve_identities(ws)
    assert groups(ws) == {frozenset("ABC")}


def test_orders_loaded_before_their_profile_follow_it_later(ws: Workspace, feed: Feed) -> None:
    feed("profiles", [{"profile_id": "A", "email": "o@x.cn", "created_at": T1}])
    feed("orders", [{"order_id": "early", "profile_id": "X", "ts": T2, "amount": 9}])
    resolve_identities(ws)
    assert _rows(ws, "SELECT source_id FROM identity_orphans") == [("X",)]
    assert _rows(ws, "SELECT profile_id FROM orders") == [("X",)]
    feed("profiles", [{"profile_id": "X", "email": "O@x.cn", "created_at": T3}])
    summary = resolve_identities(ws)
    assert summary.mode == "incremental"
    assert _rows(ws, "SELECT profile_id, _source_profile_id FROM orders") == [("A", "X")]
    assert _rows(ws, "SELECT count(*) FROM identity_orphans") == [(0,)]


def test_later_anonymous_events_of_a_known_device_attach(ws: Workspace, feed: Feed) -> None:
    feed("profiles", [{"profile_id": "A", "created_at": T1}])
    feed("identities", [{"profile_id": "A", "type": "anonymous_id", "value": "dev-9"}])
    resolve_identities(ws)
    feed("events", [{"event_id": "late", "anonymous_id": "dev-9", "event": "view", "ts": T3}])
    summary = resolve_identities(ws)
    assert summary.mode == "incremental" and summary.anonymous_attached == 1
    assert _rows(ws, "SELECT profile_id, _source_profile_id FROM events") == [("A", "")]
