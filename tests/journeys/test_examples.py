"""The shipped example journeys: they install, and pass every check on the generated shop's data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import segflow
from segflow.errors import DefinitionError
from segflow.journeys.check import check_journeys
from segflow.journeys.definition import load_journey_definitions
from segflow.journeys.examples import example_files, install_examples, list_examples
from segflow.journeys.model import DateEntry, SegmentEntry
from segflow.rules.project import check_in
from segflow.segments.definition import load_segment_definitions
from segflow.tags.definition import load_tag_definitions
from segflow.workspace import Workspace

KINDS = ("accounts", "profiles", "identities", "events", "orders", "order_items", "memberships", "subscriptions")
NAMES = ["dormant_high_aov", "new_user_first_order", "vip_birthday"]


@pytest.fixture(scope="module")
def demo_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """A project holding the generated demo shop's data (what ``segflow demo`` loads)."""
    from segflow.generate import generate_shop

    tmp = tmp_path_factory.mktemp("journey_examples")
    manifest = generate_shop(tmp / "data", profiles=300, seed=3, days=30)
    ws = segflow.init(tmp / "demo", timezone="Asia/Shanghai", default_phone_country="CN")
    for kind in KINDS:
        ws.load(kind, [tmp / "data" / manifest["files"][kind]["file"]])
    yield ws
    ws.close()


def test_list_examples() -> None:
    examples = {e.name: e for e in list_examples()}
    assert list(examples) == NAMES
    assert examples["dormant_high_aov"].files == [
        "journeys/dormant_high_aov.yaml", "templates/comeback_coupon.yaml", "templates/coupon_reminder.yaml",
        "segments/dormant_high_aov.yaml"]
    assert examples["new_user_first_order"].files == [
        "journeys/new_user_first_order.yaml", "templates/first_order_coupon.yaml", "templates/invite_friends.yaml",
        "tags/needs_manual_follow_up.yaml"]
    assert examples["vip_birthday"].files == [
        "journeys/vip_birthday.yaml", "templates/birthday_gift.yaml", "templates/birthday_wishes.yaml"]
    assert examples["dormant_high_aov"].events == ["coupon_redeemed", "order_paid"]
    assert examples["vip_birthday"].attributes == ["birthday", "member_level", "name"]
    assert examples["new_user_first_order"].orders and not examples["vip_birthday"].orders
    assert examples["vip_birthday"].label == "生日用户-VIP客户"
    assert examples["dormant_high_aov"].to_dict()["name"] == "dormant_high_aov"


def test_what_the_examples_read_is_in_the_generated_data(demo_shop: Workspace) -> None:
    attributes = demo_shop.registry.attributes("profiles")
    for example in list_examples():
        for event in example.events:
            assert demo_shop.warehouse.scalar("SELECT count(*) FROM events WHERE event = ?", [event]) > 0, (example.name, event)
        for attr in example.attributes:
            assert attr in attributes, (example.name, attr)
        if example.orders:
            assert demo_shop.warehouse.scalar("SELECT count(*) FROM orders") > 0
    assert attributes["birthday"].type.value == "date" and attributes["created_at"].type.value == "timestamp"
    assert demo_shop.warehouse.scalar("SELECT count(*) FROM profiles WHERE member_level = 'vip'") > 0


def test_examples_install_and_pass_the_checks(demo_shop: Workspace) -> None:
    written = install_examples(demo_shop.root)
    assert sorted(p.relative_to(demo_shop.root).as_posix() for p in written) == sorted(
        rel for e in list_examples() for rel in e.files)
    journeys = load_journey_definitions(demo_shop.root)
    assert sorted(journeys) == NAMES
    assert isinstance(journeys["dormant_high_aov"].entry, SegmentEntry)
    assert journeys["vip_birthday"].entry == DateEntry("birthday", offset=-7 * 86400, at="10:00")
    segments = load_segment_definitions(demo_shop.root)
    tags = load_tag_definitions(demo_shop.root)
    assert tags["needs_manual_follow_up"].source == "manual"
    warnings: list[str] = []
    assert check_journeys(demo_shop, journeys, segments=segments, tags=tags, warnings=warnings) == []
    assert warnings == []
    check_in(demo_shop, segments["dormant_high_aov"].rule)  # the segment's rule passes the rule checks too
    assert install_examples(demo_shop.root) == []  # the same files again: nothing to write


def test_install_refuses_a_different_file(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    written = install_examples(root, ["vip_birthday"])
    assert [p.relative_to(root).as_posix() for p in written] == [
        "journeys/vip_birthday.yaml", "templates/birthday_gift.yaml", "templates/birthday_wishes.yaml"]
    mine = root / "templates" / "birthday_gift.yaml"
    mine.write_text("channel: email\nsubject: Mine\ntext: mine\n", encoding="utf-8")
    (root / "journeys" / "vip_birthday.yaml").unlink()
    with pytest.raises(DefinitionError) as info:
        install_examples(root, ["vip_birthday"])
    assert info.value.code == "example_conflict"
    assert info.value.message == ("templates/birthday_gift.yaml: already in the project with other content; "
                                  "not replaced")
    assert not (root / "journeys" / "vip_birthday.yaml").exists()  # nothing written
    assert install_examples(root, ["vip_birthday"], overwrite=True) == [root / "journeys" / "vip_birthday.yaml", mine]
    assert mine.read_text(encoding="utf-8") == example_files("vip_birthday")["templates/birthday_gift.yaml"]


def test_unknown_example(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match=r"no example journey 'vip_birthdya' \(did you mean 'vip_birthday'\?"):
        install_examples(tmp_path, ["vip_birthdya"])
