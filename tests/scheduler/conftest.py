"""Fixture: the scheduled shop of schedshop.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from schedshop import scheduled_shop

from segflow.workspace import Workspace


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Workspace]:
    ws = scheduled_shop(tmp_path / "shop", tmp_path)
    yield ws
    ws.close()
