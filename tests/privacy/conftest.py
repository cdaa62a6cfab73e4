"""A small shop with two people, resolved, with a segment, a tag, a journey run and inbox calls."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from privacy_shop import BAD, JOURNEY, T0, load

from segflow.workspace import Workspace


@pytest.fixture
def shop(project: Workspace, tmp_path: Path) -> Iterator[Workspace]:
    import sqlalchemy as sa

    from segflow.definitions.plan import apply
    from segflow.journeys.engine import run_journeys
    from segflow.state.tables import inbox

    ws = project
    load(ws, tmp_path / "data")
    bad = tmp_path / "data" / "profiles_bad.csv"
    bad.write_text(BAD, encoding="utf-8")
    assert ws.load("profiles", [bad])[0].rejected == 1
    ws.resolve()
    files = {
        "segments/people.yaml": "rule: {any: [{attr: city, eq: Shanghai}, {attr: city, eq: Beijing}]}\n",
        "tags/buyer.yaml": "rule: {orders: {count: {gte: 1}}}\n",
        "templates/welcome.yaml": "channel: email\nsubject: Welcome {{ profile.first_name }}\ntext: Hi\n",
        "journeys/welcome.yaml": JOURNEY,
    }
    for rel, text in files.items():
        (ws.root / rel).parent.mkdir(parents=True, exist_ok=True)
        (ws.root / rel).write_text(text, encoding="utf-8")
    apply(ws, as_of=T0)
    run_journeys(ws, now=T0 + timedelta(hours=12), worker="w")
    with ws.state.begin() as conn:
        for n, body in enumerate(({"userId": "p1", "traits": {"email": "Ann@X.com"}, "type": "identify"},
                                  {"userId": "p2", "traits": {"email": "bo@x.com"}, "type": "identify"},
                                  {"anonymousId": "anon1xyz", "event": "view", "type": "track"})):
            conn.execute(sa.insert(inbox).values(message_id=f"m{n}", type=body["type"], received_at=T0, ts=T0,
                                                 body=json.dumps(body)))
    yield ws
