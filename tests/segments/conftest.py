"""Fixtures: the tiny shop of segshop.py as a project, and a segment-file writer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from segshop import load_shop

import segflow
from segflow.workspace import Workspace


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Workspace]:
    ws = segflow.init(tmp_path / "shop", default_phone_country="CN")
    load_shop(ws, tmp_path)
    yield ws
    ws.close()


@pytest.fixture
def define(shop: Workspace) -> Callable[..., Path]:
    """define(name, yaml_text) writes segments/<name>.yaml; define(name, None) deletes it."""

    def _define(name: str, text: str | None) -> Path:
        path = shop.root / "segments" / f"{name}.yaml"
        if text is None:
            path.unlink()
        else:
            path.write_text(text, encoding="utf-8")
        return path

    return _define
