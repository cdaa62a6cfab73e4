"""The ``identity:`` section of segflow.yaml: defaults, and one-line errors naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

import segflow
from segflow.config import CONFIG_FILE, read_config
from segflow.errors import ProjectError
from segflow.identity.config import DEFAULT_ATTACH_TYPES, DEFAULT_MERGE_TYPES


def test_defaults(tmp_path: Path) -> None:
    ws = segflow.init(tmp_path / "p")
    opts = ws.config.identity
    ws.close()
    assert tuple(opts.merge_types) == DEFAULT_MERGE_TYPES
    assert tuple(opts.attach_types) == DEFAULT_ATTACH_TYPES
    assert opts.junk_cap == 10
    assert (opts.normalizer("email"), opts.normalizer("phone"), opts.normalizer("crm_contact_id")) == ("email", "phone", "trim")


@pytest.mark.parametrize(
    ("section", "where", "says"),
    [
        ("  junk_cap: 1", "identity.junk_cap", "junk_cap must be at least 2"),
        ("  junk_cap: lots", "identity.junk_cap", "valid integer"),
        ("  normalize: {crm_contact_id: title}", "identity.normalize", "unknown normaliser 'title'"),
        ("  merge_types: [email, device_id]", "identity", "device_id: a type is either in merge_types or in attach_types"),
        ("  merge_type: [email]", "identity.merge_type", "Extra inputs are not permitted"),
    ],
    ids=["cap-too-small", "cap-not-a-number", "unknown-normaliser", "type-in-both-lists", "misspelt-key"],
)
def test_bad_settings_are_refused_with_the_field(tmp_path: Path, section: str, where: str, says: str) -> None:
    ws = segflow.init(tmp_path / "p")
    ws.close()
    path = ws.root / CONFIG_FILE
    path.write_text(path.read_text(encoding="utf-8") + "identity:\n" + section + "\n", encoding="utf-8")
    with pytest.raises(ProjectError) as info:
        read_config(ws.root)
    message = str(info.value)
    assert f": {where}: " in message and says in message
    assert "\n" not in message and info.value.code == "bad_config"
