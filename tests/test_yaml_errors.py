"""A project file that is not YAML: every loader names the file, the line and the column,
and carries the source line with a caret under the spot (segflow.yamlfile)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from segflow.config import read_config
from segflow.errors import (
    DefinitionError,
    ModelError,
    ProjectError,
    RuleError,
    SchemaError,
    SegflowError,
)
from segflow.models.config import read_model_file
from segflow.rules.project import read_rule_file
from segflow.segments.definition import load_segment_definitions
from segflow.tags.definition import load_tag_definitions
from segflow.traits.definition import load_trait_definitions
from segflow.workspace import Workspace
from segflow.yamlfile import YamlSyntax, parse_yaml

#: An unclosed flow mapping on line 2: the parser stops at the end of the file, and the
#: place shown is just past the last character (line 2, column 33).
UNCLOSED = "description: x\nrule: {all: [{attr: city, eq: x}\n"
UNCLOSED_CONTEXT = ("rule: {all: [{attr: city, eq: x}", " " * 32 + "^")
#: A mapping value where none may be: line 3, column 9.
NESTED = "name: a\nkind: counter\nevent: x: y\n"
NESTED_CONTEXT = ("event: x: y", " " * 8 + "^")
PROBLEM = "mapping values are not allowed here"
END = "expected ',' or ']', but got '<stream end>'"


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_rule_file(tmp_path: Path) -> None:
    file = _write(tmp_path / "vip.yaml", UNCLOSED)
    with pytest.raises(RuleError) as info:
        read_rule_file(file)
    assert info.value.message == f"{file}: not valid YAML (line 2, column 33): {END}"
    assert str(info.value) == info.value.message
    assert (info.value.code, info.value.context) == ("bad_yaml", UNCLOSED_CONTEXT)


def test_a_segment_file(tmp_path: Path) -> None:
    _write(tmp_path / "segments" / "vip.yaml", UNCLOSED)
    with pytest.raises(DefinitionError) as info:
        load_segment_definitions(tmp_path)
    assert info.value.message == f"segments/vip.yaml: not valid YAML (line 2, column 33): {END}"
    assert (info.value.code, info.value.path, info.value.context) == ("bad_yaml", "segments/vip.yaml",
                                                                      UNCLOSED_CONTEXT)


def test_a_tag_file(tmp_path: Path) -> None:
    _write(tmp_path / "tags" / "loyal.yaml", NESTED)
    with pytest.raises(DefinitionError) as info:
        load_tag_definitions(tmp_path)
    assert info.value.message == f"tags/loyal.yaml: not valid YAML (line 3, column 9): {PROBLEM}"
    assert (info.value.code, info.value.context) == ("bad_yaml", NESTED_CONTEXT)


def test_a_trait_file(tmp_path: Path) -> None:
    _write(tmp_path / "traits" / "views.yaml", NESTED)
    with pytest.raises(DefinitionError) as info:
        load_trait_definitions(tmp_path)
    assert info.value.message == f"traits/views.yaml: not valid YAML (line 3, column 9): {PROBLEM}"
    assert (info.value.code, info.value.context) == ("bad_yaml", NESTED_CONTEXT)


def test_schema_yaml(project: Workspace) -> None:
    _write(project.root / "schema.yaml", "profiles:\n  age: integer\n  tier: {type: string\n")
    with pytest.raises(SchemaError) as info:
        project.sync_schema()
    assert info.value.message == ("schema.yaml: not valid YAML (line 3, column 22): "
                                  "expected ',' or '}', but got '<stream end>'")
    assert info.value.code == "bad_schema"
    assert info.value.context == ("  tier: {type: string", " " * 21 + "^")


def test_a_model_file(tmp_path: Path) -> None:
    file = _write(tmp_path / "models" / "rfm.yaml", "model: rfm\nrecency_days: [30, 90\nschedule: x\n")
    with pytest.raises(ModelError) as info:
        read_model_file(file, "rfm")
    assert info.value.message == f"{file}: not valid YAML (line 3, column 9): expected ',' or ']', but got ':'"
    assert info.value.code == "invalid_config"
    assert info.value.context == ("schedule: x", " " * 8 + "^")


def test_segflow_yaml(tmp_path: Path) -> None:
    _write(tmp_path / "segflow.yaml", "name: shop\ntimezone: [\n")
    with pytest.raises(ProjectError) as info:
        read_config(tmp_path)
    path = tmp_path / "segflow.yaml"
    assert info.value.message == f"{path}: not valid YAML (line 2, column 12): expected the node content, " \
                                 "but found '<stream end>'"
    assert info.value.context == ("timezone: [", " " * 11 + "^")


@pytest.mark.parametrize(
    ("text", "message", "context"),
    [
        ("a: 1\n\tb: 2\n", "not valid YAML (line 2, column 1): found character '\\t' that cannot start any token",
         ("\tb: 2", "^")),
        ('k: "x\ty" z: 1\n', "not valid YAML (line 1, column 10): expected <block end>, but found '<scalar>'",
         ('k: "x\ty" z: 1', "     \t   ^")),
        (b"a: 1\nb: caf\xe9\n", "not valid UTF-8 text (line 2, column 7): byte 0xe9 (invalid continuation byte)",
         ("b: caf\ufffd", "      ^")),
        ("a: \x07\n", "not valid YAML (line 1, column 4): character #x0007: special characters are not allowed",
         ("a: ?", "   ^")),
        ('{"a": 1,, "b": 2}', "not valid YAML (line 1, column 9): expected the node content, but found ','",
         ('{"a": 1,, "b": 2}', "        ^")),
    ],
    ids=["tab", "tab-kept-in-caret", "utf8", "control", "json"],
)
def test_every_kind_of_syntax_error_has_a_place(text: str | bytes, message: str, context: tuple[str, ...]) -> None:
    with pytest.raises(YamlSyntax) as info:
        parse_yaml(text)
    assert (str(info.value), info.value.context) == (message, context)


def test_a_long_line_is_cut_around_the_column() -> None:
    text = "rule: " + "x" * 300 + ": y\n"
    with pytest.raises(YamlSyntax) as info:
        parse_yaml(text)
    assert (info.value.line, info.value.column) == (1, 307)
    source, caret = info.value.context
    assert len(source) <= 102 and source.startswith("…")
    assert source[len(caret) - 1] == ":"


def test_the_error_body_stays_code_message_path() -> None:
    error = SegflowError("x.yaml: not valid YAML (line 1, column 1): y", code="bad_yaml", path="x.yaml",
                         context=("a", "^"))
    assert error.to_dict() == {"code": "bad_yaml", "message": error.message, "path": "x.yaml"}


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "segflow.cli.app", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120, check=False)


def test_the_cli_prints_the_line_and_a_caret_under_the_error(project: Workspace) -> None:
    root = project.root
    _write(root / "vip.yaml", UNCLOSED)
    done = _cli("segment", "preview", "vip.yaml", "-p", str(root), cwd=root)
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines()[:3] == [
        f"Error: vip.yaml: not valid YAML (line 2, column 33): {END}",
        "  rule: {all: [{attr: city, eq: x}",
        "  " + " " * 32 + "^",
    ]
    _write(root / "segments" / "vip.yaml", UNCLOSED)
    done = _cli("plan", "-p", str(root), cwd=root)
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines()[:3] == [
        f"Error: segments/vip.yaml: not valid YAML (line 2, column 33): {END}",
        "  rule: {all: [{attr: city, eq: x}",
        "  " + " " * 32 + "^",
    ]
