from __future__ import annotations

from pathlib import Path

import pytest

from segflow.config import find_project, init_project, read_config
from segflow.errors import ProjectError


def test_init_writes_the_project_layout(tmp_path: Path) -> None:
    root = init_project(tmp_path / "shop", timezone="Asia/Shanghai", default_phone_country="cn")
    for name in ("segflow.yaml", "schema.yaml", "segments", "tags", "traits", "journeys"):
        assert (root / name).exists(), name
    config = read_config(root)
    assert config.timezone == "Asia/Shanghai"
    assert config.default_phone_country == "CN"
    assert config.warehouse == "duckdb:///.segflow/warehouse.duckdb"
    assert config.state == "sqlite:///.segflow/state.db"


def test_init_refuses_an_existing_project(tmp_path: Path) -> None:
    init_project(tmp_path)
    with pytest.raises(ProjectError, match="already a project"):
        init_project(tmp_path)


def test_find_project_from_argument_env_and_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = init_project(tmp_path / "p")
    assert find_project(root) == root
    monkeypatch.setenv("SEGFLOW_PROJECT", str(root))
    assert find_project() == root
    monkeypatch.delenv("SEGFLOW_PROJECT")
    monkeypatch.chdir(root)
    assert find_project() == root


def test_missing_project_says_how_to_make_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEGFLOW_PROJECT", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ProjectError) as info:
        find_project()
    assert info.value.code == "no_project"
    # The domain message names no flag; the CLI adds "pass --project DIR" (tests/cli: the hint).
    assert str(info.value) == f"no segflow project at {tmp_path.resolve()} (from the current folder): " \
        "no segflow.yaml there"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("timezone: Mars/Olympus\n", "timezone: Value error, unknown time zone 'Mars/Olympus'"),
        ("default_phone_country: XX\n", "default_phone_country: Value error, unknown phone country 'XX'"),
        ("warehous: x\n", "warehous: Extra inputs are not permitted"),
        ("timezone: [\n", "not valid YAML"),
    ],
    ids=["zone", "country", "typo", "yaml"],
)
def test_bad_config_names_the_key(tmp_path: Path, text: str, message: str) -> None:
    root = init_project(tmp_path)
    (root / "segflow.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ProjectError, match=None) as info:
        read_config(root)
    assert message in str(info.value)
    assert str(info.value).startswith(str(root / "segflow.yaml"))
