"""``segflow profile erase / export / unsuppress``."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from segflow.cli.app import app
from segflow.workspace import Workspace


def _run(ws: Workspace, *args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    ws.close()  # the command opens the project itself
    return CliRunner().invoke(app, [*args, "--project", str(ws.root)], input=input)


def test_export_writes_json_and_erase_asks_first(shop: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "p1.json"
    result = _run(shop, "profile", "export", "--by", "email", "ann@x.com", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text(encoding="utf-8"))["person"] == "p1"
    refused = _run(shop, "profile", "erase", "p1", input="n\n")
    assert refused.exit_code == 1 and "Nothing erased" in refused.output
    done = _run(shop, "profile", "erase", "w1", "--yes")
    assert done.exit_code == 0, done.output
    assert "Erased person p1" in done.output and "profiles: 1 row(s)" in done.output
    again = _run(shop, "profile", "erase", "p1", "--yes")
    assert again.exit_code == 1 and "no profile 'p1'" in str(again.exception)
    lifted = _run(shop, "profile", "unsuppress", "--type", "email", "--value", "Ann@X.com", "--source", "ticket 42")
    assert lifted.exit_code == 0 and "no longer suppressed" in lifted.output
