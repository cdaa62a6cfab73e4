"""The file provider: one JSON line per message, on disk before it answers."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import pytest

from segflow.channels import OutMessage
from segflow.channels.file import FileChannel


def msg(key: str, to: str | None = None) -> OutMessage:
    return OutMessage(key=key, channel="sms", to=to, subject=None, text=f"text of {key}", html=None,
                      meta={"journey": "winback", "node": "sms_reminder", "profile_id": "p1", "template": "reminder"})


def test_appends_one_line_per_message_and_creates_folders(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "outbox" / "sms.jsonl"
    ch = FileChannel("sms", path, address_attribute="phone")
    try:
        first = ch.send(msg("winback:p1:1:sms_reminder", "+8613800000000"))
        second = ch.send(msg("winback:p2:1:sms_reminder"))
    finally:
        ch.close()
    assert first.status == second.status == "sent"
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [line["key"] for line in lines] == ["winback:p1:1:sms_reminder", "winback:p2:1:sms_reminder"]
    assert lines[0] == {
        "key": "winback:p1:1:sms_reminder", "channel": "sms", "to": "+8613800000000", "subject": None,
        "text": "text of winback:p1:1:sms_reminder", "html": None,
        "meta": {"journey": "winback", "node": "sms_reminder", "profile_id": "p1", "template": "reminder"},
        "at": lines[0]["at"],
    }
    assert datetime.fromisoformat(lines[0]["at"]).utcoffset().total_seconds() == 0  # type: ignore[union-attr]


def test_keeps_appending_across_channel_objects(tmp_path: Path) -> None:
    path = tmp_path / "file.jsonl"
    for key in ("a", "b"):
        ch = FileChannel("file", path)
        assert ch.send(msg(key)).status == "sent"
        ch.close()
    assert [json.loads(line)["key"] for line in path.read_text(encoding="utf-8").splitlines()] == ["a", "b"]


def test_each_message_is_fsynced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd))[1])
    path = tmp_path / "out.jsonl"
    ch = FileChannel("file", path)
    try:
        ch.send(msg("a"))
        assert len(synced) == 1 and path.read_text(encoding="utf-8").count("\n") == 1  # on disk before close
        ch.send(msg("b"))
        assert len(synced) == 2
    finally:
        ch.close()


def test_unwritable_path_is_temporary(tmp_path: Path) -> None:
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x", encoding="utf-8")
    delivery = FileChannel("file", blocker / "out.jsonl").send(msg("a"))
    assert delivery.status == "temporary" and delivery.error is not None and "\n" not in delivery.error


def test_values_json_does_not_know_are_written_as_text(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    ch = FileChannel("file", path)
    message = OutMessage(key="k", channel="file", to=None, subject=None, text="t", html=None,
                         meta={"at": datetime(2026, 3, 1, 8, 0)})
    assert ch.send(message).status == "sent"
    ch.close()
    assert json.loads(path.read_text(encoding="utf-8"))["meta"] == {"at": "2026-03-01 08:00:00"}
