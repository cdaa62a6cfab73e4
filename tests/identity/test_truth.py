"""Resolution of a generated shop against its ground truth (``truth_persons.csv``).

The generator guarantees that records of different people share no identifier except
the junk ones (``test@test.com``, ``noreply@example.com`` — placeholders here — and the
stores' own phone numbers, which a shop lists in ``identity.ignore``). So with the
store phones ignored, no two people may be merged: precision is exactly 1. Recall is
below 1 by design (25–35 % of multi-record people have a record that shares nothing
with the others); the test checks it stays in the documented range.
"""

from __future__ import annotations

import csv
from datetime import date
from itertools import combinations
from pathlib import Path

import pytest
from identity_helpers import partition, set_identity

import segflow
from segflow.generate import generate_shop
from segflow.generate.vocab import STORES
from segflow.identity.resolve import resolve_identities

KINDS = ("accounts", "profiles", "identities", "events", "orders", "order_items", "memberships", "subscriptions")


def _pairs(groups: dict[str, set[str]]) -> set[tuple[str, str]]:
    return {pair for members in groups.values() for pair in combinations(sorted(members), 2)}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[segflow.Workspace, Path, dict]:  # type: ignore[name-defined]
    root = tmp_path_factory.mktemp("truth")
    manifest = generate_shop(root / "data", profiles=3000, seed=11, days=120, end=date(2026, 11, 1))
    ws = segflow.init(root / "p", timezone="Asia/Shanghai", default_phone_country="CN")
    set_identity(ws, ignore={"phone": [s[3] for s in STORES]})
    for kind in KINDS:
        ws.load(kind, [root / "data" / manifest["files"][kind]["file"]])
    yield ws, root / "data", manifest
    ws.close()


def test_resolution_recovers_the_true_persons(shop) -> None:  # type: ignore[no-untyped-def]
    ws, data, _ = shop
    orders_before = dict(ws.warehouse.con.execute("SELECT profile_id, count(*) FROM orders GROUP BY 1").fetchall())
    summary = resolve_identities(ws)
    mapping = partition(ws)
    with open(data / "truth_persons.csv", encoding="utf-8") as fh:
        truth = {r["profile_id"]: r["person_id"] for r in csv.DictReader(fh)}
    loaded = [s for (s,) in ws.warehouse.con.execute("SELECT profile_id FROM source_profiles").fetchall()]
    predicted: dict[str, set[str]] = {}
    actual: dict[str, set[str]] = {}
    for source in loaded:
        predicted.setdefault(mapping[source], set()).add(source)
        actual.setdefault(truth[source], set()).add(source)
    got, want = _pairs(predicted), _pairs(actual)
    precision = len(got & want) / len(got)
    recall = len(got & want) / len(want)
    print(f"\nprecision {precision:.4f}, recall {recall:.4f}: {summary.sources} records -> {summary.persons} people "
          f"(truth: {len(actual)} people)")
    assert precision == 1.0
    assert 0.6 <= recall < 1.0
    assert summary.persons >= len(actual)
    # every order is counted once, under the person of its source
    orders_after = dict(ws.warehouse.con.execute("SELECT profile_id, count(*) FROM orders GROUP BY 1").fetchall())
    expected: dict[str, int] = {}
    for source, n in orders_before.items():
        person = mapping.get(source, source)
        expected[person] = expected.get(person, 0) + n
    assert orders_after == expected


def test_identified_visitors_have_their_anonymous_events_attached(shop) -> None:  # type: ignore[no-untyped-def]
    ws, _, _ = shop
    con = ws.warehouse.con
    left = con.execute(
        "SELECT count(*) FROM events e WHERE e.profile_id IS NULL AND e.anonymous_id IN "
        "(SELECT anonymous_id FROM events WHERE event = 'identify' AND anonymous_id IS NOT NULL)"
    ).fetchall()[0][0]
    attached = con.execute("SELECT count(*) FROM events WHERE _source_profile_id = ''").fetchall()[0][0]
    anonymous = con.execute("SELECT count(*) FROM events WHERE profile_id IS NULL").fetchall()[0][0]
    assert left == 0
    assert attached > 0 and anonymous > 0  # visitors who never signed up stay anonymous
    # segment preview counts persons: one member per canonical id with an event
    names = [n for (n,) in con.execute("SELECT DISTINCT event FROM events ORDER BY 1").fetchall()]
    persons_with_events = con.execute(
        "SELECT count(DISTINCT profile_id) FROM events WHERE profile_id IN (SELECT profile_id FROM profiles)"
    ).fetchall()[0][0]
    assert ws.preview({"event": names}).count == persons_with_events
