"""The consent check at send time: the latest channel-wide or topic row decides."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from segflow.channels.policy import suppressed
from segflow.workspace import Workspace

SUBSCRIPTIONS = """profile_id,channel,topic,status,ts
out_all,email,,opted_out,2026-01-01T00:00:00Z
bounced,email,,bounced,2026-01-01T00:00:00Z
complained,email,,complained,2026-01-01T00:00:00Z
out_promo,email,promotions,opted_out,2026-01-01T00:00:00Z
in_all,email,,opted_in,2026-01-01T00:00:00Z
back_in,email,,opted_out,2026-01-01T00:00:00Z
back_in,email,,opted_in,2026-02-01T00:00:00Z
promo_again,email,,opted_out,2026-01-01T00:00:00Z
promo_again,email,promotions,opted_in,2026-02-01T00:00:00Z
out_later,email,promotions,opted_in,2026-01-01T00:00:00Z
out_later,email,,opted_out,2026-02-01T00:00:00Z
sms_only,sms,,opted_out,2026-01-01T00:00:00Z
future,email,,opted_out,2026-06-01T00:00:00Z
"""
EVERYONE = ["out_all", "bounced", "complained", "out_promo", "in_all", "back_in", "promo_again", "out_later",
            "sms_only", "future", "nobody"]


@pytest.fixture
def consent(project: Workspace, write) -> Workspace:  # type: ignore[no-untyped-def]
    project.load("subscriptions", [write("subscriptions.csv", SUBSCRIPTIONS)])
    return project


@pytest.mark.parametrize(
    ("channel", "topic", "expected"),
    [
        ("email", "promotions", {"out_all": "opted_out", "bounced": "bounced", "complained": "complained",
                                 "out_promo": "opted_out", "out_later": "opted_out", "future": "opted_out"}),
        ("email", None, {"out_all": "opted_out", "bounced": "bounced", "complained": "complained",
                         "promo_again": "opted_out", "out_later": "opted_out", "future": "opted_out"}),
        ("email", "news", {"out_all": "opted_out", "bounced": "bounced", "complained": "complained",
                           "promo_again": "opted_out", "out_later": "opted_out", "future": "opted_out"}),
        ("sms", "promotions", {"sms_only": "opted_out"}),
        ("push", None, {}),
    ],
    ids=["email-promotions", "email-channel-wide", "email-other-topic", "sms", "push-no-rows"],
)
def test_suppressed(consent: Workspace, channel: str, topic: str | None, expected: dict[str, str]) -> None:
    assert suppressed(consent.warehouse, EVERYONE, channel, topic) == expected


def test_rows_after_the_time_asked_are_not_known_yet(consent: Workspace) -> None:
    at = datetime(2026, 1, 15, tzinfo=UTC)
    got = suppressed(consent.warehouse, ["back_in", "promo_again", "out_later", "future"], "email", "promotions", at=at)
    # as of mid-January promo_again's topic opt-in had not come, nor out_later's opt-out, nor future's;
    # back_in keeps one row per (channel, topic): the load replaced its opt-out by the later opt-in
    assert got == {"promo_again": "opted_out"}


def test_only_the_ids_asked_for(consent: Workspace) -> None:
    assert suppressed(consent.warehouse, ["in_all", "bounced", "bounced"], "email", None) == {"bounced": "bounced"}
    assert suppressed(consent.warehouse, [], "email", None) == {}


def test_channel_is_case_insensitive(consent: Workspace) -> None:
    assert suppressed(consent.warehouse, ["out_all"], "Email", None) == {"out_all": "opted_out"}


def test_an_empty_or_missing_subscriptions_table_suppresses_nobody(project: Workspace) -> None:
    assert suppressed(project.warehouse, ["p1", "p2"], "email", "promotions") == {}
    project.warehouse.drop_tables("subscriptions")
    assert not project.warehouse.table_exists("subscriptions")
    assert suppressed(project.warehouse, ["p1", "p2"], "email", "promotions") == {}


def test_a_row_without_time_counts_as_the_oldest(project: Workspace, write) -> None:  # type: ignore[no-untyped-def]
    path: Path = write("subs.csv", "profile_id,channel,topic,status,ts\n"
                                   "a,email,,opted_out,\n"
                                   "a,email,promotions,opted_in,2026-01-01T00:00:00Z\n"
                                   "b,email,,opted_in,\n"
                                   "b,email,promotions,opted_out,2026-01-01T00:00:00Z\n"
                                   "c,email,,opted_out,\n")
    project.load("subscriptions", [path])
    assert suppressed(project.warehouse, ["a", "b", "c"], "email", "promotions") == {"b": "opted_out", "c": "opted_out"}


def test_one_query_for_the_batch(consent: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    wh = consent.warehouse
    real = wh.rows
    monkeypatch.setattr(wh, "rows", lambda sql, params=None: (calls.append(sql), real(sql, params))[1])
    ids = [f"id{i}" for i in range(2000)] + ["out_all"]
    assert suppressed(wh, ids, "email", None) == {"out_all": "opted_out"}
    assert len(calls) == 1
