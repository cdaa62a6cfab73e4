"""The tiny shop of tests/segments/segshop.py, for plan/apply tests."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "segments"))

from segshop import load_shop

import segflow
from segflow.workspace import Workspace


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Workspace]:
    ws = segflow.init(tmp_path / "shop", default_phone_country="CN", timezone="Asia/Shanghai")
    load_shop(ws, tmp_path)
    yield ws
    ws.close()


@pytest.fixture
def define(shop: Workspace) -> Callable[..., Path]:
    """define("segments/x.yaml", text) writes a definition file; text None deletes it."""

    def _define(rel: str, text: str | None) -> Path:
        path = shop.root / rel
        if text is None:
            path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        return path

    return _define
