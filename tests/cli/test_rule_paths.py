"""A relative file path given with ``--project`` is read from the current folder, as typed (real subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SEGFLOW_PROJECT"}
    env["COLUMNS"] = "200"
    return subprocess.run([sys.executable, "-m", "segflow.cli.app", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=120)


@pytest.fixture
def here(tmp_path: Path) -> Path:
    """A working folder with rules/x.yaml, and a project elsewhere holding a different rules/x.yaml."""
    work = tmp_path / "work"
    (work / "rules").mkdir(parents=True)
    (work / "rules" / "x.yaml").write_text("{attr: city, eq: Beijing}\n", encoding="utf-8")
    assert run("init", str(tmp_path / "proj"), cwd=work).returncode == 0
    (tmp_path / "proj" / "rules").mkdir()
    (tmp_path / "proj" / "rules" / "x.yaml").write_text("{attr: city, eq: Moscow}\n", encoding="utf-8")
    (tmp_path / "proj" / "rules" / "only_in_project.yaml").write_text("{attr: city, eq: Moscow}\n", encoding="utf-8")
    profiles = work / "profiles.csv"
    profiles.write_text("profile_id,city\np1,Beijing\np2,Moscow\np3,Moscow\n", encoding="utf-8")
    assert run("load", "profiles", "profiles.csv", "--project", "../proj", cwd=work).returncode == 0
    return work


@pytest.mark.parametrize("project", ["../proj", "PROJ_ABSOLUTE"], ids=["relative-project", "absolute-project"])
def test_segment_preview_reads_the_rule_from_the_current_folder(here: Path, project: str) -> None:
    chosen = str(here.parent / "proj") if project == "PROJ_ABSOLUTE" else project
    shown = run("segment", "preview", "rules/x.yaml", "--project", chosen, "--format", "json", cwd=here)
    assert shown.returncode == 0, shown.stderr
    # The working folder's rules/x.yaml (Beijing: p1), not the project's (Moscow: p2, p3).
    assert [m["profile_id"] for m in json.loads(shown.stdout)["members"]] == ["p1"]


def test_a_missing_rule_file_is_named_as_typed(here: Path) -> None:
    missing = run("segment", "preview", "rules/only_in_project.yaml", "-p", "../proj", cwd=here)
    assert missing.returncode == 1
    assert missing.stderr.strip() == "Error: rules/only_in_project.yaml: no such rule file"


def test_a_rule_file_error_names_the_file_as_typed(here: Path) -> None:
    (here / "rules" / "bad.yaml").write_text("{attr: city, eq: [}\n", encoding="utf-8")
    bad = run("segment", "preview", "rules/bad.yaml", "-p", "../proj", cwd=here)
    assert bad.returncode == 1
    assert bad.stderr.startswith("Error: rules/bad.yaml")


def test_a_model_settings_file_is_read_from_the_current_folder(here: Path) -> None:
    missing = run("model", "rfm", "--config", "settings/rfm.yaml", "-p", "../proj", cwd=here)
    assert missing.returncode == 1
    assert missing.stderr.splitlines()[0] == "Error: settings/rfm.yaml: no such file"


def test_project_before_the_command_works_as_after_it(here: Path) -> None:
    shown = run("--project", "../proj", "segment", "preview", "rules/x.yaml", "--format", "json", cwd=here)
    assert shown.returncode == 0, shown.stderr
    assert [m["profile_id"] for m in json.loads(shown.stdout)["members"]] == ["p1"]
    # a --project after the command wins over one before it
    other = run("-p", str(here), "segment", "preview", "rules/x.yaml", "-p", "../proj", "--format", "json", cwd=here)
    assert other.returncode == 0, other.stderr
