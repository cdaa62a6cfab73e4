"""``segflow tags ...`` as a user runs it (a real subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from segflow.workspace import Workspace


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SEGFLOW_PROJECT"}
    env["COLUMNS"] = "200"
    return subprocess.run([sys.executable, "-m", "segflow.cli.app", *args], capture_output=True, text=True, env=env, check=False,
                          timeout=120)


@pytest.fixture
def proj(tiny: Workspace) -> str:
    tiny.close()  # the commands open the warehouse themselves
    return str(tiny.root)


def test_templates_lists_every_template_and_the_seed_examples() -> None:
    result = run("tags", "templates", "--format", "json")
    assert result.returncode == 0, result.stderr
    found = {t["name"]: {tag["name"] for tag in t["tags"]} for t in json.loads(result.stdout)}
    assert set(found) == {"ecommerce", "saas", "b2b", "retail"}
    assert {"rfm/tier", "preference/coupon_sensitive", "lifecycle/churn_risk", "demographic/first_tier_young_professional",
            "behavior/cart_no_order_7d", "behavior/no_login_3d", "lifecycle/birthday_month",
            "lifecycle/new_no_first_order_7d", "behavior/night_active", "preference/category_lover"} <= found["ecommerce"]
    table = run("tags", "templates")
    assert "一线城市职场新人" in table.stdout and "Install one with" in table.stdout


def test_install_refresh_list_show(proj: str) -> None:
    installed = run("tags", "install", "retail", "--project", proj)
    assert installed.returncode == 0, installed.stderr
    assert "tags/member/vip.yaml" in installed.stdout
    refreshed = run("tags", "refresh", "member/vip", "--project", proj, "--as-of", "2026-03-01T00:00:00Z",
                    "--format", "json")
    assert refreshed.returncode == 0, refreshed.stderr
    [row] = json.loads(refreshed.stdout)
    assert (row["name"], row["members"], row["added"], row["error"]) == ("member/vip", 2, 2, None)
    listed = json.loads(run("tags", "list", "member", "--project", proj, "--format", "json").stdout)
    assert [(r["name"], r["members"], r["source"]) for r in listed] == [("member/vip", 2, "rule")]
    shown = run("tags", "show", "member/vip", "--project", proj)
    assert shown.returncode == 0, shown.stderr
    assert "2 members now; by source: rule 2" in shown.stdout and "last refreshes" in shown.stdout


def test_assign_and_remove(proj: str, tmp_path: Path) -> None:
    ids = tmp_path / "ids.csv"
    ids.write_text("profile_id,value\np1,gold\nnobody,x\n", encoding="utf-8")
    result = run("tags", "assign", "crm/tier", "p2", "--file", str(ids), "--value", "silver", "--expires", "30d",
                 "--project", proj)
    assert result.returncode == 0, result.stderr
    assert "crm/tier: 2 added, 0 updated, 0 unchanged" in result.stdout
    assert "1 unknown profile id(s) not tagged: nobody" in result.stderr
    shown = json.loads(run("tags", "show", "crm/tier", "--project", proj, "--format", "json").stdout)
    assert (shown["members"], shown["values"], shown["will_expire"]) == (2, {"gold": 1, "silver": 1}, 2)
    removed = run("tags", "remove", "crm/tier", "p1", "p3", "--project", proj)
    assert removed.returncode == 0 and "1 assignment(s) removed, 1 id(s) did not have it" in removed.stdout
    everyone = run("tags", "remove", "crm/tier", "--all", "--project", proj, "--format", "json")
    assert json.loads(everyone.stdout)["removed"] == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("tags", "install", "fintech"), "Error: no tag template 'fintech'"),
        (("tags", "assign", "crm/tier"), "Error: give profile ids or --file"),
        (("tags", "assign", "Bad Tag", "p1"), "Error: 'Bad Tag' is not a tag name"),
        (("tags", "refresh", "nope/none"), "Error: no tag 'nope/none' in tags/"),
        (("tags", "show", "nope/none"), "Error: no tag 'nope/none' is defined or assigned"),
        (("tags", "refresh", "--as-of", "yesterday"), "Error: --as-of 'yesterday': expected an ISO date"),
    ],
    ids=["unknown-template", "no-ids", "bad-name", "unknown-refresh", "unknown-show", "bad-as-of"],
)
def test_errors_are_one_line_and_exit_1(proj: str, args: tuple[str, ...], message: str) -> None:
    result = run(*args, "--project", proj)
    assert result.returncode == 1
    assert result.stderr.startswith(message), result.stderr
    assert "Traceback" not in result.stderr


def test_a_failing_tag_exits_1_after_refreshing_the_others(proj: str) -> None:
    tags = Path(proj) / "tags" / "x"
    tags.mkdir(parents=True)
    (tags / "broken.yaml").write_text("sql: SELECT profile_id FROM profiles WHERE CAST(city AS INTEGER) > 0\n",
                                      encoding="utf-8")
    (tags / "fine.yaml").write_text("rule: {attr: member_level, eq: vip}\n", encoding="utf-8")
    result = run("tags", "refresh", "--project", proj, "--format", "json")
    assert result.returncode == 1
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["x/fine"]["members"] == 2 and rows["x/broken"]["error"]


def test_install_conflict_exits_1_and_keeps_the_file(proj: str) -> None:
    assert run("tags", "install", "retail", "--project", proj).returncode == 0
    vip = Path(proj) / "tags" / "member" / "vip.yaml"
    vip.write_text("rule: {attr: member_level, eq: gold}\n", encoding="utf-8")
    result = run("tags", "install", "retail", "--project", proj)
    assert result.returncode == 1 and "Kept tags/member/vip.yaml" in result.stderr
    assert "gold" in vip.read_text(encoding="utf-8")


def test_members_and_of(proj: str) -> None:
    assert run("tags", "assign", "crm/tier", "p2", "p1", "--value", "gold", "--project", proj).returncode == 0
    ids = run("tags", "members", "crm/tier", "--project", proj)
    assert ids.returncode == 0 and ids.stdout == "p1\np2\n"
    csv = run("tags", "members", "crm/*", "--format", "csv", "--project", proj)
    assert csv.stdout.splitlines()[0] == '"profile_id","tag","value","source","assigned_at","expires_at"'
    of = json.loads(run("tags", "of", "p1", "--project", proj, "--format", "json").stdout)
    assert [(r["tag"], r["value"], r["source"]) for r in of] == [("crm/tier", "gold", "manual")]
