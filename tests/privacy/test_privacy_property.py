"""Property: on random small shops (before any resolve), erasing one profile removes exactly
its rows and keeps every row of the others — against a plain Python oracle."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segflow
from segflow.privacy import erase_person

EMAILS = ["a@x.com", "b@x.com", "c@x.com", ""]


def _csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


shops = st.fixed_dictionaries({
    "emails": st.lists(st.sampled_from(EMAILS), min_size=2, max_size=5),
    "events": st.lists(st.tuples(st.integers(0, 4), st.sampled_from(["", "anA", "anB"])), max_size=8),
    "target": st.integers(0, 4),
})


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shop=shops)
def test_erase_removes_exactly_the_profiles_rows(tmp_path_factory, shop) -> None:  # type: ignore[no-untyped-def]
    root: Path = tmp_path_factory.mktemp("prop")
    ws = segflow.init(root / "proj", default_phone_country="CN")
    try:
        people = [f"u{i}" for i in range(len(shop["emails"]))]
        profiles = [{"profile_id": p, "email": e} for p, e in zip(people, shop["emails"])]
        events = [{"event_id": f"e{n}", "profile_id": people[i % len(people)], "anonymous_id": a,
                   "event": "view", "ts": "2026-01-01T00:00:00Z"} for n, (i, a) in enumerate(shop["events"])]
        for kind, rows in (("profiles", profiles), ("events", events)):
            if rows:
                path = root / f"{kind}.csv"
                path.write_text(_csv(rows), encoding="utf-8")
                ws.load(kind, [path])
        target = people[shop["target"] % len(people)]
        erase_person(ws, target)
        # the oracle
        kept_profiles = sorted(p["profile_id"] for p in profiles if p["profile_id"] != target)
        anon_of = {e["anonymous_id"] for e in events if e["profile_id"] == target and e["anonymous_id"]}
        shared = {e["anonymous_id"] for e in events if e["profile_id"] != target}
        gone_anon = anon_of - shared
        kept_events = sorted(e["event_id"] for e in events
                             if e["profile_id"] != target and e["anonymous_id"] not in gone_anon)
        assert sorted(r[0] for r in ws.warehouse.rows("SELECT profile_id FROM profiles")) == kept_profiles
        assert sorted(r[0] for r in ws.warehouse.rows("SELECT event_id FROM events")) == kept_events
        # an email another profile still holds is not the target's to suppress
        mine = {p["email"] for p in profiles if p["profile_id"] == target and p["email"]}
        others = {p["email"] for p in profiles if p["profile_id"] != target}
        for email in mine:
            assert bool(ws.warehouse.count("SELECT count(*) FROM profiles WHERE email = ?", [email])) == (email in others)
    finally:
        ws.close()
