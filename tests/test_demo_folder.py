"""A plain `segflow demo` reuses one folder (replacing only an earlier demo) and says where it is."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from segflow.demo import DEMO_MARKER, folder_size, run_demo
from segflow.errors import ProjectError


def test_replace_removes_an_earlier_demo_and_refuses_anything_else(tmp_path: Path) -> None:
    root = tmp_path / "segflow-demo"
    first = run_demo(root, profiles=300, days=30, replace=True)
    assert (root / DEMO_MARKER).is_file() and not first.replaced
    (root / "my-notes.txt").write_text("scratch")  # anything inside goes with the demo
    second = run_demo(root, profiles=300, days=30, replace=True)
    assert second.replaced and not (root / "my-notes.txt").exists()
    assert second.size_bytes == folder_size(root) > 0

    other = tmp_path / "not-a-demo"
    other.mkdir()
    (other / "thesis.txt").write_text("keep me")
    with pytest.raises(ProjectError, match="is not empty and is not a segflow demo project"):
        run_demo(other, profiles=300, days=30, replace=True)
    assert [p.name for p in other.iterdir()] == ["thesis.txt"]


def test_a_plain_demo_uses_one_folder_in_the_temp_dir_and_says_how_to_remove_it(tmp_path: Path) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    for _ in range(2):
        proc = subprocess.run([sys.executable, "-m", "segflow.cli.app", "demo", "--profiles", "300", "--days", "30"],
                              capture_output=True, text=True, env=env, timeout=300, check=False)
        assert proc.returncode == 0, proc.stderr
    root = tmp_path / "segflow-demo"
    text = " ".join(proc.stdout.split())
    assert f"The project is in {root}" in text and f"remove it with `rm -rf {root}`" in text
    assert f"The earlier demo project in {root} was replaced." in text
    assert [p.name for p in tmp_path.iterdir()] == ["segflow-demo"]
