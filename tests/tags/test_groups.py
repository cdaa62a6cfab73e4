"""``{tag: group/*}`` in rules: every tag under the group, the same in SQL and in the evaluator."""

from __future__ import annotations

from datetime import timedelta

import pytest

from segflow.rules.errors import RuleError
from segflow.segments.preview import explain_profile
from segflow.tags import assign_tags
from segflow.workspace import Workspace

from .conftest import T

CASES = [
    ({"tag": "crm/*"}, {"p1", "p2", "p3"}),
    ({"tag": "crm/*", "eq": "gold"}, {"p1"}),
    ({"tag": "crm/*", "ne": "gold"}, {"p2", "p3", "p4", "p5"}),
    ({"not": {"tag": "crm/*"}}, {"p4", "p5"}),
    ({"tag": "crm/tier/*"}, {"p1"}),
    ({"all": [{"tag": "crm/*"}, {"tag": "crm/key_account"}]}, {"p2", "p3"}),
]


@pytest.mark.parametrize(("rule", "members"), CASES, ids=["group", "group-value", "group-ne", "not-group", "subgroup",
                                                         "group-and-tag"])
def test_group_matches_every_tag_under_it_in_sql_and_in_the_evaluator(tiny: Workspace, rule: dict,
                                                                      members: set[str]) -> None:
    assign_tags(tiny, "crm/tier/gold", ["p1"], value="gold", at=T)
    assign_tags(tiny, "crm/key_account", ["p2", "p3"], at=T)
    assign_tags(tiny, "crmx/other", ["p4"], at=T)  # not under crm/
    assign_tags(tiny, "crm/expired", ["p5"], at=T - timedelta(days=10), expires="1d")
    preview = tiny.preview(rule, as_of=T, limit=None)
    assert set(preview.members.column("profile_id").to_pylist()) == members
    for pid in ("p1", "p2", "p3", "p4", "p5"):
        assert explain_profile(tiny, rule, pid, as_of=T).value is (pid in members), pid


def test_an_empty_group_is_an_unknown_tag(tiny: Workspace) -> None:
    assign_tags(tiny, "crm/key_account", ["p2"], at=T)
    with pytest.raises(RuleError, match=r"tag: no tag in group 'crn/\*' \(did you mean 'crm/\*'\?\)"):
        tiny.preview({"tag": "crn/*"}, as_of=T)
