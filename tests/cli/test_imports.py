"""`segflow --help` stays instant: the CLI and the package import no heavy library."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("duckdb", "sqlalchemy", "alembic", "pyarrow", "numpy", "pandas", "sqlglot", "pydantic")


def test_cli_import_is_light() -> None:
    code = (
        "import sys, segflow, segflow.cli.app; "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == ""
