"""``segflow keys`` and ``segflow audit`` end to end (typer's CliRunner on the real app)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

import segflow
from segflow.access import authenticate
from segflow.cli.app import app
from segflow.cli.keys import parse_duration
from segflow.errors import AccessError, QueryError, SegflowError


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    segflow.init(tmp_path / "shop").close()
    return tmp_path / "shop"


def cli(*args: str) -> object:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def test_create_prints_the_key_once_and_list_shows_only_prefixes(proj: Path) -> None:
    made = cli("keys", "create", "secret", "--name", "crm", "--scopes", "profiles:read,exports:read",
               "--rate", "5", "-p", str(proj), "--format", "json")
    assert made.exit_code == 0, made.output
    body = json.loads(made.stdout)
    assert body["key"].startswith("sfs_") and body["scopes"] == ["exports:read", "profiles:read"]
    assert body["rate_limit"] == 5.0
    shown = cli("keys", "create", "write", "--name", "web", "-p", str(proj))
    assert shown.exit_code == 0
    assert "it will not be shown again" in shown.stderr
    key = next(line for line in shown.stdout.splitlines() if line.startswith("sfw_"))
    ws = segflow.open(proj)
    try:
        assert authenticate(ws.state, key, now=ws.clock.now()).name == "web"
        assert authenticate(ws.state, body["key"], now=ws.clock.now()).name == "crm"
    finally:
        ws.close()
    listed = cli("keys", "list", "-p", str(proj))
    assert listed.exit_code == 0
    assert body["prefix"] + "…" in listed.stdout and key[:12] + "…" in listed.stdout
    assert body["key"] not in listed.stdout and key not in listed.stdout
    as_json = json.loads(cli("keys", "list", "-p", str(proj), "--format", "json").stdout)
    assert [(k["name"], k["status"]) for k in as_json] == [("crm", "active"), ("web", "active")]


def test_revoke_rotate_and_the_audit_log(proj: Path) -> None:
    first = json.loads(cli("keys", "create", "secret", "-p", str(proj), "--format", "json").stdout)
    rotated = cli("keys", "rotate", first["prefix"], "--grace", "30m", "-p", str(proj), "--format", "json")
    assert rotated.exit_code == 0, rotated.output
    new = json.loads(rotated.stdout)
    assert new["rotated_from"] == first["id"] and new["key"] != first["key"]
    status = {k["id"]: k["status"] for k in json.loads(cli("keys", "list", "-p", str(proj), "--format", "json").stdout)}
    assert status[first["id"]].startswith("expires ") and status[new["id"]] == "active"

    revoked = cli("keys", "revoke", str(new["id"]), "-p", str(proj))
    assert revoked.exit_code == 0 and f"Revoked API key {new['prefix']}…" in revoked.stdout
    again = cli("keys", "revoke", new["key"], "-p", str(proj))
    assert again.exit_code == 0 and "was already revoked at" in again.stdout
    ws = segflow.open(proj)
    try:
        with pytest.raises(AccessError, match="was revoked at"):
            authenticate(ws.state, new["key"], now=ws.clock.now())
    finally:
        ws.close()
    assert [k["id"] for k in json.loads(cli("keys", "list", "-p", str(proj), "--format", "json").stdout)] == [
        first["id"]]
    assert len(json.loads(cli("keys", "list", "--all", "-p", str(proj), "--format", "json").stdout)) == 2

    audit = json.loads(cli("audit", "-p", str(proj), "--format", "json").stdout)
    assert [e["action"] for e in audit] == ["key.revoke", "key.rotate", "key.create"]
    assert [e["action"] for e in json.loads(cli("audit", "--action", "key.rotate", "--since", "1h", "-p", str(proj),
                                                "--format", "json").stdout)] == ["key.rotate"]
    paged = cli("audit", "--limit", "2", "-p", str(proj))
    assert paged.exit_code == 0 and "key.revoke" in paged.stdout and "key.create" not in paged.stdout
    assert f"More with --before {audit[1]['id']}" in paged.stdout
    rest = json.loads(cli("audit", "--before", str(audit[1]["id"]), "-p", str(proj), "--format", "json").stdout)
    assert [e["action"] for e in rest] == ["key.create"]


def test_errors_reach_the_handler_as_domain_errors(proj: Path) -> None:
    bad = cli("keys", "create", "secret", "--scopes", "profils:read", "-p", str(proj))
    assert bad.exit_code == 1 and isinstance(bad.exception, QueryError)
    assert bad.exception.code == "unknown_scope" and "did you mean 'profiles:read'" in bad.exception.message
    missing = cli("keys", "revoke", "sfs_nothere", "-p", str(proj))
    assert isinstance(missing.exception, QueryError) and missing.exception.code == "unknown_api_key"
    grace = cli("keys", "rotate", "1", "--grace", "soon", "-p", str(proj))
    assert isinstance(grace.exception, SegflowError) and grace.exception.code == "bad_duration"
    assert cli("keys", "create", "admin", "-p", str(proj)).exit_code == 2  # not a kind: a usage error


@pytest.mark.parametrize("text, expected", [
    ("0", timedelta(0)), ("90s", timedelta(seconds=90)), ("30m", timedelta(minutes=30)),
    ("24h", timedelta(hours=24)), ("7d", timedelta(days=7)), ("1.5h", timedelta(minutes=90)),
], ids=["zero", "seconds", "minutes", "hours", "days", "fraction"])
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text, "--grace") == expected


def test_a_bad_duration_names_the_option() -> None:
    with pytest.raises(SegflowError, match=r"^--grace '24': expected a duration such as 0, 30m, 24h or 7d$"):
        parse_duration("24", "--grace")
