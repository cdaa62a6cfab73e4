"""A rule with problems of every stage (shape, names, types) reports them all in one run,
each with its path, ordered by its place in the rule: through the service and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "segments"))

from segshop import load_shop

import segflow
from segflow.errors import RuleError
from segflow.segments.preview import preview

#: Four typos, four stages: an unknown key (parse), an unknown attribute and an unknown tag
#: (names), a value of the wrong type (types).
RULE = """\
all:
  - {event: view_product, within: 7d, colour: red}
  - {attr: cty, eq: Beijing}
  - {tag: vipp}
  - {attr: city, eq: 5}
"""

EXPECTED = [
    ("unknown_key", "all[0].colour"),
    ("unknown_attribute", "all[1].attr"),
    ("unknown_tag", "all[2].tag"),
    ("wrong_value_type", "all[3].eq"),
]


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Path]:
    ws = segflow.init(tmp_path / "shop", default_phone_country="CN")
    load_shop(ws, tmp_path)
    ws.close()
    yield tmp_path / "shop"


@pytest.fixture
def rule_file(tmp_path: Path) -> Path:
    path = tmp_path / "typos.yaml"
    path.write_text(RULE, encoding="utf-8")
    return path


def test_the_service_reports_every_problem_of_every_stage(shop: Path, rule_file: Path) -> None:
    ws = segflow.open(shop)
    try:
        with pytest.raises(RuleError) as info:
            preview(ws, rule_file)
    finally:
        ws.close()
    err = info.value
    assert [(p.code, p.path) for p in err.problems] == EXPECTED
    body = err.to_dict()
    assert [(p["code"], p["path"]) for p in body["problems"]] == EXPECTED
    assert (body["code"], body["path"]) == EXPECTED[0]
    assert "(and 3 more)" in body["message"]


def test_a_part_that_does_not_parse_does_not_hide_the_names_of_the_others(shop: Path) -> None:
    ws = segflow.open(shop)
    try:
        with pytest.raises(RuleError) as info:
            preview(ws, {"any": [{"atr": "cty"}, {"attr": "cty", "eq": "x"}]})
    finally:
        ws.close()
    assert [(p.code, p.path) for p in info.value.problems] == [("unknown_condition", "any[0]"),
                                                                ("unknown_attribute", "any[1].attr")]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "250"}
    return subprocess.run([sys.executable, "-m", "segflow.cli.app", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_the_cli_prints_every_problem_on_its_own_error_line(shop: Path, rule_file: Path) -> None:
    proc = _cli("segment", "preview", str(rule_file), "-p", str(shop))
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == ""
    lines = [line for line in proc.stderr.splitlines() if line.startswith("Error:")]
    assert len(lines) == 4, proc.stderr
    for line, (_, path) in zip(lines, EXPECTED):
        assert line.startswith(f"Error: {rule_file}: {path}: "), line
    assert "more)" not in proc.stderr
    assert "did you mean 'city'" in lines[1]


def test_the_cli_json_error_carries_every_problem(shop: Path, rule_file: Path) -> None:
    proc = _cli("segment", "preview", str(rule_file), "-p", str(shop), "--format", "json")
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == ""
    body = json.loads(proc.stderr)
    assert set(body) >= {"code", "message", "path", "problems"}
    assert [(p["code"], p["path"]) for p in body["problems"]] == EXPECTED
    assert all(p["message"] for p in body["problems"])
