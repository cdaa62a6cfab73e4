"""What the command line prints around the work: help without types on flags, no stray output on stderr."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CLI = [sys.executable, "-m", "segflow.cli.app"]


@pytest.mark.parametrize("command", [["--help"], ["apply", "--help"], ["demo", "--help"], ["model", "rfm", "--help"]],
                         ids=lambda c: " ".join(c))
def test_flags_show_no_type_and_options_with_values_do(command: list[str]) -> None:
    proc = subprocess.run([*CLI, *command], capture_output=True, text=True, check=False,
                          env={"COLUMNS": "120", "PATH": "", "TERM": "dumb"})
    assert proc.returncode == 0, proc.stderr
    assert "<bool>" not in proc.stdout and "--help" in proc.stdout
    if command[0] == "apply":
        assert "<table|json>" in proc.stdout  # an option that takes a value still says what


def test_a_load_into_a_pipe_writes_nothing_to_stderr(tmp_path: Path) -> None:
    assert subprocess.run([*CLI, "init", str(tmp_path / "p")], capture_output=True, check=False).returncode == 0
    (tmp_path / "people.csv").write_text("profile_id,email\np1,a@b.com\n")
    proc = subprocess.run([*CLI, "load", "profiles", str(tmp_path / "people.csv"), "-p", str(tmp_path / "p")],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "" and "load profiles" in proc.stdout
