"""``plan`` reports every problem of every file of every folder in one run: a file that does
not parse, or is badly named, does not hide the rule problems of the others."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from segflow.definitions.plan import make_plan
from segflow.errors import DefinitionsError
from segflow.workspace import Workspace

EXPECTED = [
    "traits/broken.yaml",           # does not parse (YAML)
    "tags/hats.yaml",               # a rule naming an unknown attribute
    "segments/bad!name.yaml",       # not a segment name
    "segments/shoes.yaml",          # a rule naming an unknown attribute
]


def _project(define: Callable[..., Path]) -> None:
    define("traits/broken.yaml", "name: views\nwithin: [7d\n")
    define("segments/bad!name.yaml", "rule: {attr: city, eq: Beijing}\n")
    define("segments/shoes.yaml", "rule: {attr: shoe_size, gt: 1}\n")
    define("tags/hats.yaml", "kind: dynamic\nrule: {attr: hat_size, gt: 1}\n")


def _which(problem: str) -> str:
    return next(f for f in EXPECTED if problem.startswith(f + ":"))


def test_plan_lists_every_file_with_a_problem(shop: Workspace, define: Callable[..., Path]) -> None:
    _project(define)
    with pytest.raises(DefinitionsError) as info:
        make_plan(shop)
    problems = info.value.problems
    assert sorted({_which(p) for p in problems}) == sorted(EXPECTED), problems
    assert any("segments/shoes.yaml: rule.attr: unknown attribute 'shoe_size'" in p for p in problems)
    assert any(p.startswith("tags/hats.yaml: rule.attr: unknown attribute 'hat_size'") for p in problems)
    assert any("not valid YAML" in p for p in problems if p.startswith("traits/broken.yaml"))
    assert info.value.to_dict()["problems"] == problems


def test_the_plan_command_prints_each_problem(shop: Workspace, define: Callable[..., Path]) -> None:
    _project(define)
    root = shop.root
    shop.close()
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "250"}
    proc = subprocess.run([sys.executable, "-m", "segflow.cli.app", "plan", "-p", str(root)], capture_output=True,
                          text=True, env=env, timeout=120)
    assert proc.returncode == 1, proc.stderr
    lines = [line.removeprefix("Error: ") for line in proc.stderr.splitlines() if line.startswith("Error:")]
    assert sorted({_which(line) for line in lines}) == sorted(EXPECTED), proc.stderr
