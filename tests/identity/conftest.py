"""Fixtures for identity resolution: a project and a ``feed`` that loads rows as CSV."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from identity_helpers import Feed, csv_text

import segflow
from segflow.identity import rekey
from segflow.workspace import Workspace


@pytest.fixture(autouse=True, params=["rewrite", "update"], ids=["move-rewrite", "move-update"])
def move_strategy(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every identity test runs with both ways re-keying moves rows (``rekey._move``):
    deleting and re-inserting them, and updating them in place. Real sizes choose by how
    close together the rows lie; the tests' few rows would otherwise only ever take the
    first way."""
    monkeypatch.setattr(rekey, "DENSE_ROWS", 1 if request.param == "update" else 10**12)
    return str(request.param)


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    workspace = segflow.init(tmp_path / "proj", default_phone_country="CN")
    yield workspace
    workspace.close()


@pytest.fixture
def feed(ws: Workspace, tmp_path: Path) -> Feed:
    """``feed(kind, rows)`` loads *rows* (dicts) into *kind* and returns the load summary."""
    counter = iter(range(1_000_000))

    def _feed(kind: str, rows: list[dict[str, Any]]) -> Any:
        path = tmp_path / "files" / f"{kind}-{next(counter)}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(csv_text(rows), encoding="utf-8")
        summary = ws.load(kind, [path])[0]
        assert summary.rejected == 0, f"test data rejected: see {summary.rejects_file}"
        return summary

    return _feed
