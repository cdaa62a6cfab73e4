"""Normalising Segment calls: fields, limits, paths of errors, clock-skew correction."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from segflow.errors import TrackingError
from segflow.tracking.calls import MAX_CALL_BYTES, Call, correct_time, parse_calls, parse_time

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def test_a_track_call_keeps_segments_fields() -> None:
    [call] = parse_calls({"userId": 42, "anonymousId": "a", "event": "Signed Up", "messageId": "m",
                          "properties": {"plan": "pro"}, "context": {"ip": "1.2.3.4"},
                          "integrations": {"All": True}, "timestamp": "2026-03-01T08:59:00Z"},
                         type_="track", received_at=T0)
    assert (call.type, call.user_id, call.anonymous_id, call.event, call.message_id) == ("track", "42", "a",
                                                                                        "Signed Up", "m")
    assert call.ts == datetime(2026, 3, 1, 8, 59, tzinfo=UTC)
    assert call.properties == {"plan": "pro"} and call.context == {"ip": "1.2.3.4"}


@pytest.mark.parametrize(("payload", "type_", "code", "path"), [
    ({"event": "x"}, "track", "invalid_call", "userId"),
    ({"userId": "u"}, "track", "invalid_call", "event"),
    ({"userId": "u"}, "alias", "invalid_call", "previousId"),
    ({"userId": "u"}, "group", "invalid_call", "groupId"),
    ({"batch": [{"type": "track", "userId": "u", "event": "e"}, {"type": "page"}]}, None, "invalid_call",
     "batch[1].userId"),
    ({"batch": [{"type": "nope", "userId": "u"}]}, None, "invalid_call", "batch[0].type"),
    ({"batch": [{"type": "track", "userId": "u", "event": "e", "timestamp": "yesterday"}]}, None,
     "invalid_call", "batch[0].timestamp"),
    ({"batch": {"a": 1}}, None, "invalid_call", "batch"),
    ({"batch": [{"type": "track", "userId": "u", "event": "e", "properties": {"x": "y" * MAX_CALL_BYTES}}]},
     None, "message_too_large", "batch[0]"),
], ids=["no-ids", "no-event", "no-previous", "no-group", "second-of-batch", "bad-type", "bad-time",
        "batch-not-list", "too-large"])
def test_bad_calls_are_refused_with_their_path(payload: dict, type_: str | None, code: str, path: str) -> None:
    with pytest.raises(TrackingError) as err:
        parse_calls(payload, type_=type_, received_at=T0)
    assert (err.value.code, err.value.path) == (code, path)


def test_a_missing_message_id_gets_a_generated_one() -> None:
    a, b = parse_calls({"batch": [{"type": "track", "userId": "u", "event": "e"}] * 2}, type_=None, received_at=T0)
    assert a.message_id != b.message_id and a.message_id.startswith("sf-")


def test_the_batch_sent_at_corrects_items_without_their_own() -> None:
    [call] = parse_calls({"sentAt": "2026-03-01T10:00:00Z",
                          "batch": [{"type": "track", "userId": "u", "event": "e",
                                     "timestamp": "2026-03-01T09:59:00Z"}]}, type_=None, received_at=T0)
    assert call.ts == T0 - timedelta(minutes=1)  # the client's clock was an hour fast


times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))
skews = st.timedeltas(min_value=timedelta(days=-30), max_value=timedelta(days=30))


@given(event=times, skew=skews, delay=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=2)))
def test_skew_correction_matches_the_oracle(event: datetime, skew: timedelta, delay: timedelta) -> None:
    """The client's clock is *skew* off; it sends *delay* after the event; received instantly."""
    received = event + delay
    sent_client = received + skew
    event_client = event + skew
    assert correct_time(event_client, sent_client, received) == event
    assert correct_time(None, sent_client, received) == received
    assert correct_time(event_client + timedelta(days=1), None, event_client) == event_client  # clamped


@given(user=st.text(min_size=1).filter(str.strip), props=st.dictionaries(st.text(), st.integers() | st.text()),
       event=times)
def test_body_round_trips(user: str, props: dict, event: datetime) -> None:
    [call] = parse_calls({"type": "track", "userId": user, "event": "e", "properties": props,
                          "timestamp": event.isoformat()}, type_="track", received_at=datetime(2100, 1, 2, tzinfo=UTC))
    assert Call.from_body(json.loads(json.dumps(call.body()))) == call


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-03-01T09:00:00Z", T0), ("2026-03-01T17:00:00+08:00", T0), ("2026-03-01T09:00:00", T0),
    (T0.timestamp(), T0), (T0.timestamp() * 1000, T0), (None, None),
], ids=["z", "offset", "naive", "epoch-s", "epoch-ms", "none"])
def test_times(value: object, expected: datetime | None) -> None:
    assert parse_time(value) == expected
