"""The CLI's hints: a domain error names the thing, the command line adds the flag (a real subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import segflow
from segflow.cli.errors import hint_for
from segflow.errors import (
    DefinitionError,
    IdentityError,
    LoadError,
    Problem,
    QueryError,
    RuleError,
    SegflowError,
)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SEGFLOW_PROJECT"}
    env["COLUMNS"] = "200"
    return subprocess.run([sys.executable, "-m", "segflow.cli.app", *args], capture_output=True, text=True,
                          env=env, timeout=120)


@pytest.fixture(scope="module")
def proj(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with two profiles and one applied static segment, ``picks``."""
    root = tmp_path_factory.mktemp("hints") / "shop"
    assert run("init", str(root)).returncode == 0
    people = root.parent / "p.csv"
    people.write_text("profile_id,email\np1,a@x.cn\np2,b@x.cn\n", encoding="utf-8")
    assert run("load", "profiles", str(people), "-p", str(root)).returncode == 0
    (root / "segments" / "picks.yaml").write_text("type: static\n", encoding="utf-8")
    applied = run("apply", "--no-refresh", "-p", str(root))
    assert applied.returncode == 0, applied.stderr
    return root


def _error_and_hint(stderr: str) -> tuple[str, str]:
    lines = stderr.strip().splitlines()
    assert len(lines) == 2, stderr
    return lines[0], lines[1].strip()


def test_an_unknown_member_column_names_the_column_and_hints_at_columns(proj: Path) -> None:
    result = run("segment", "members", "picks", "--columns", "salary", "-p", str(proj))
    assert result.returncode == 1
    error, hint = _error_and_hint(result.stderr)
    assert error == "Error: profiles has no column 'salary'"
    assert hint == "Hint: --columns takes columns of profiles (see them with `segflow schema show profiles`)"


def test_an_unknown_export_column_has_the_same_hint(proj: Path, tmp_path: Path) -> None:
    result = run("segment", "export", "picks", "--to", str(tmp_path / "x.csv"), "--columns", "salary",
                 "-p", str(proj))
    assert result.returncode == 1
    error, hint = _error_and_hint(result.stderr)
    assert error == "Error: profiles has no column 'salary'"
    assert hint.startswith("Hint: --columns takes columns of profiles")


def test_columns_with_a_platform_format_hint_at_both_flags(proj: Path, tmp_path: Path) -> None:
    result = run("segment", "export", "picks", "--to", str(tmp_path / "m.csv"), "--format", "meta",
                 "--columns", "email", "-p", str(proj))
    assert result.returncode == 1
    error, hint = _error_and_hint(result.stderr)
    assert error == "Error: columns cannot be chosen for the platform format 'meta' (the platform fixes the columns)"
    assert hint == "Hint: --columns goes with --format csv, parquet or json; drop it for a platform format"
    assert not (tmp_path / "m.csv").exists()


def test_an_unknown_export_format_hints_at_format(proj: Path, tmp_path: Path) -> None:
    # The command line refuses the format itself (a choice of --format) ...
    result = run("segment", "export", "picks", "--to", str(tmp_path / "x.xml"), "--format", "xml", "-p", str(proj))
    assert result.returncode == 2 and "--format" in result.stderr
    # ... so the domain error comes from Python callers; the CLI's hint for it still names the flag.
    from segflow.segments.export import export_members

    with segflow.open(proj) as ws, pytest.raises(QueryError) as info:
        export_members(ws, "picks", tmp_path / "x.xml", fmt="xml")
    assert info.value.message == "export format 'xml': expected one of csv, parquet, json, customer-match, meta"
    assert hint_for(info.value) == "choose the export format with --format (see `segflow segment export --help`)"


def test_a_profile_without_id_or_identifier_hints_at_by(proj: Path) -> None:
    # The command line checks for an id or --by itself, naming the flag ...
    result = run("profile", "show", "-p", str(proj))
    assert result.returncode == 1
    assert result.stderr.strip() == "Error: give a profile id or --by TYPE VALUE (one of them)"
    # ... and the domain error (from Python) names the identifier; the CLI's hint adds --by.
    from segflow.identity.profile import find_person

    with segflow.open(proj) as ws, pytest.raises(IdentityError) as info:
        find_person(ws)
    assert info.value.message == "give a profile id, or an identifier (type and value) to find the person by"
    assert hint_for(info.value) == "give a profile id, or --by TYPE VALUE"


@pytest.mark.parametrize("exc, hinted", [
    (QueryError("profiles has no column 'x'", code="unknown_column"), True),
    (LoadError("ids.csv: line 1: unknown column 'x' (columns: profile_id, value, expires)", code="unknown_column"),
     False),
    (RuleError([Problem("unknown_column", "orders.where.colour", "unknown order or item column 'colour'")]), False),
    (DefinitionError("tags/x.yaml: sql: sql returns profile_id and optionally value, not a, b", code="bad_columns"),
     False),
], ids=["members-columns", "id-file", "rule", "tag-sql"])
def test_a_shared_code_gets_the_flag_hint_only_from_its_own_class(exc: SegflowError, hinted: bool) -> None:
    assert (hint_for(exc) is not None) is hinted
