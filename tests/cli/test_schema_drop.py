"""``segflow load`` refusing typo columns (and ``--new-attributes``), ``segflow schema drop`` (real subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SEGFLOW_PROJECT"}
    env["COLUMNS"] = "200"
    return subprocess.run([sys.executable, "-m", "segflow.cli.app", *args], capture_output=True, text=True,
                          env=env, input=stdin, timeout=120)


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    assert run("init", str(tmp_path / "shop")).returncode == 0
    return tmp_path / "shop"


def columns(proj: Path) -> list[str]:
    shown = run("schema", "show", "profiles", "-p", str(proj), "--format", "json")
    return [c["name"] for c in json.loads(shown.stdout)["profiles"]]


def test_a_typo_column_is_refused_with_the_cli_hint(proj: Path, tmp_path: Path) -> None:
    file = tmp_path / "profiles.csv"
    file.write_text("profile_id,emial\np1,a@b.cn\n")
    refused = run("load", "profiles", str(file), "-p", str(proj))
    assert refused.returncode == 1
    assert refused.stderr.splitlines() == [
        f'Error: {file}: column "emial" is not a known attribute of profiles; did you mean "email"? (declare it in '
        "schema.yaml or allow new attributes to add it)",
        "  Hint: fix the header, or load again with --new-attributes to add the column(s) as they are (or declare "
        "each first: `segflow schema add KIND NAME TYPE`)",
    ]
    assert "emial" not in columns(proj)
    allowed = run("load", "profiles", str(file), "-p", str(proj), "--new-attributes")
    assert allowed.returncode == 0, allowed.stderr
    assert "New attributes (inferred): emial string" in allowed.stdout
    assert "emial" in columns(proj)


def test_load_json_lists_the_new_attributes(proj: Path, tmp_path: Path) -> None:
    file = tmp_path / "profiles.csv"
    file.write_text("profile_id,loyalty_points\np1,3\n")
    loaded = run("load", "profiles", str(file), "-p", str(proj), "--format", "json")
    assert loaded.returncode == 0, loaded.stderr
    assert json.loads(loaded.stdout)["new_attributes"] == {"loyalty_points": "integer"}


@pytest.fixture
def loaded(proj: Path, tmp_path: Path) -> Path:
    file = tmp_path / "profiles.csv"
    file.write_text("profile_id,loyalty_points\np1,3\np2,5\n")
    assert run("load", "profiles", str(file), "-p", str(proj)).returncode == 0
    return proj


def test_drop_asks_first_and_keeps_everything_when_told_no(loaded: Path) -> None:
    kept = run("schema", "drop", "profiles", "loyalty_points", "-p", str(loaded), stdin="n\n")
    assert kept.returncode == 1
    assert "Drop profiles.loyalty_points (integer, inferred): its column with 2 stored value(s)?" in kept.stderr
    assert "Nothing dropped." in kept.stderr
    assert "loyalty_points" in columns(loaded)
    dropped = run("schema", "drop", "profiles", "loyalty_points", "-p", str(loaded), stdin="y\n")
    assert dropped.returncode == 0, dropped.stderr
    assert dropped.stdout.strip() == "Dropped profiles.loyalty_points (2 values)"
    assert "loyalty_points" not in columns(loaded)
    gone = run("sql", "SELECT * FROM profiles", "-p", str(loaded), "--format", "json")
    assert all("loyalty_points" not in row for row in json.loads(gone.stdout))


def test_drop_yes_and_the_dotted_form(loaded: Path) -> None:
    dropped = run("schema", "drop", "profiles.loyalty_points", "--yes", "-p", str(loaded))
    assert dropped.returncode == 0, dropped.stderr
    assert "loyalty_points" not in columns(loaded)


@pytest.mark.parametrize(("args", "error"), [
    (("profiles", "city"), "Error: profiles.city is a built-in column of profiles (string); it cannot be dropped"),
    (("profiles", "loyalty_pionts"),
     "Error: profiles.loyalty_pionts: profiles has no attribute 'loyalty_pionts'; did you mean \"loyalty_points\"?"),
], ids=["builtin", "unknown"])
def test_drop_refusals(loaded: Path, args: tuple[str, ...], error: str) -> None:
    refused = run("schema", "drop", *args, "--yes", "-p", str(loaded))
    assert refused.returncode == 1
    assert refused.stderr.splitlines()[0] == error
    assert "loyalty_points" in columns(loaded)


def test_drop_refuses_an_attribute_a_segment_reads(loaded: Path) -> None:
    (loaded / "segments" / "loyal.yaml").write_text("rule: {attr: loyalty_points, gte: 3}\n", encoding="utf-8")
    refused = run("schema", "drop", "profiles", "loyalty_points", "--yes", "-p", str(loaded))
    assert refused.returncode == 1
    assert refused.stderr.splitlines() == [
        "Error: profiles.loyalty_points is still read by segment loyal (segments/loyal.yaml); change or remove that "
        "definition first",
        "  Hint: after editing the files run `segflow apply`, so the applied versions stop reading it",
    ]
    assert "loyalty_points" in columns(loaded)
