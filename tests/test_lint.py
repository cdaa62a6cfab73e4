"""The repository's lint and type checks, as tests: ``ruff check`` (rules in
pyproject.toml) over src, tests and bench, and mypy over ``src/`` (STYLE.md: typed
public functions). Both tools are pinned in the ``test`` extras, so a new release
cannot fail the suite by itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True, check=False)


@pytest.mark.parametrize("tool", ["ruff", "mypy"])
def test_tool_is_installed(tool: str) -> None:
    done = _run(tool, "--version")
    assert done.returncode == 0, f"{tool} is missing: pip install -e '.[test]'\n{done.stderr}"


def test_ruff_finds_nothing() -> None:
    done = _run("ruff", "check", "--no-cache", "src", "tests", "bench")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_finds_nothing() -> None:
    # The files to check and the settings come from [tool.mypy] in pyproject.toml.
    done = _run("mypy")
    assert done.returncode == 0, done.stdout + done.stderr
