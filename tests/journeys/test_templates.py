"""Message templates: loading (every problem at once), sandboxed rendering, the profile context."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from segflow.errors import DefinitionsError, SegflowError, TemplateError
from segflow.journeys.templates import Rendered, Template, load_templates, render, template_context
from segflow.warehouse import tables
from segflow.workspace import Workspace

COUPON = """\
channel: email
description: Coupon for dormant high-AOV customers
subject: "{{ profile.name | default('Hello') }}, 20% off"
text: |
  Hi {{ profile.name | default('there') }}, use COMEBACK20.
  {% if 'vip' in tags %}As a VIP you also get free shipping.{% endif %}
html: "<p>Hi {{ profile.name | default('there') }}</p><p>{{ traits.orders_365d }} orders this year</p>"
"""
REMINDER = """\
channel: sms
text: "{{ profile.name }}: your coupon ends Sunday ({{ journey.name }}/{{ journey.node }})"
"""


@pytest.fixture
def templates(tmp_path: Path) -> Callable[..., Path]:
    """templates(name=yaml_text, ...) writes templates/<name>.yaml in a scratch project folder."""
    root = tmp_path / "proj"

    def _write(**files: str) -> Path:
        folder = root / "templates"
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (folder / f"{name}.yaml").write_text(text, encoding="utf-8")
        return root

    return _write


def sms(text: str, name: str = "t") -> Template:
    return Template(name=name, channel="sms", subject=None, text=text, html=None, file=f"templates/{name}.yaml")


# -- loading ---------------------------------------------------------------------------------
def test_loads_templates(templates: Callable[..., Path]) -> None:
    found = load_templates(templates(comeback_coupon=COUPON, coupon_reminder=REMINDER))
    assert sorted(found) == ["comeback_coupon", "coupon_reminder"]
    coupon = found["comeback_coupon"]
    assert (coupon.channel, coupon.file, coupon.description) == (
        "email", "templates/comeback_coupon.yaml", "Coupon for dormant high-AOV customers")
    assert found["coupon_reminder"].html is None and found["coupon_reminder"].subject is None


def test_no_templates_folder_is_no_templates(tmp_path: Path) -> None:
    assert load_templates(tmp_path) == {}


def test_every_problem_of_every_file_at_once(templates: Callable[..., Path]) -> None:
    root = templates(
        a_no_subject="channel: email\ntext: hi\n",
        b_sms_html="channel: sms\ntext: hi\nhtml: <p>hi</p>\nsubjct: typo\n",
        c_syntax="channel: sms\ntext: |\n  line one\n  {{ profile.name }\n",
        d_not_yaml="channel: [sms\n",
        e_no_channel="text: hi\n",
        f_html_syntax="channel: email\nsubject: Hi\nhtml: '{% if x %}never closed'\n",
        good=REMINDER,
    )
    with pytest.raises(DefinitionsError) as caught:
        load_templates(root)
    problems = caught.value.problems
    assert problems[:6] == [
        "templates/a_no_subject.yaml: subject: missing (an email needs a subject)",
        "templates/b_sms_html.yaml: subjct: unknown key (keys: channel, description, subject, text, html)",
        "templates/b_sms_html.yaml: html: only email messages have html (this template is for sms)",
        "templates/c_syntax.yaml: text: line 2: unexpected '}'",
        "templates/d_not_yaml.yaml: not valid YAML (line 1, column 14): expected ',' or ']', but got '<stream end>'",
        "templates/e_no_channel.yaml: channel: missing (email, sms, push, ...)",
    ]
    assert problems[6].startswith("templates/f_html_syntax.yaml: html: line 1: Unexpected end of template.")
    assert caught.value.code == "invalid_template"
    errors: list[SegflowError] = []
    assert list(load_templates(root, errors=errors)) == ["good"]
    assert len(errors) == 1 and isinstance(errors[0], DefinitionsError) and len(errors[0].problems) == 7


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("channel: email\nsubject: Hi\n", "text: missing (an email needs text or html, or both)"),
        ("channel: push\nsubject: Title\n", "text: missing (push messages need text)"),
        ("channel: sms\ntext: 42\n", "text: expected text, got int"),
        ("- channel: sms\n", "expected a mapping with channel and text (the file is a list)"),
        ("", "expected a mapping with channel and text (the file is empty)"),
    ],
    ids=["email-no-body", "push-no-text", "not-text", "a-list", "empty"],
)
def test_refused(templates: Callable[..., Path], text: str, problem: str) -> None:
    with pytest.raises(DefinitionsError) as caught:
        load_templates(templates(bad=text))
    assert caught.value.problems == [f"templates/bad.yaml: {problem}"]


def test_a_bad_name_is_refused(templates: Callable[..., Path]) -> None:
    root = templates(good=REMINDER)
    (root / "templates" / "two words.yaml").write_text(REMINDER, encoding="utf-8")
    with pytest.raises(DefinitionsError, match=r"templates/two words.yaml: 'two words' is not a template name \(no spaces\)"):
        load_templates(root)


# -- rendering -------------------------------------------------------------------------------
def test_render_email(templates: Callable[..., Path]) -> None:
    coupon = load_templates(templates(comeback_coupon=COUPON))["comeback_coupon"]
    context = {"profile": {"name": "Ann & Bob <3"}, "traits": {"orders_365d": 4}, "tags": ["vip"]}
    got = render(coupon, context)
    assert got == Rendered(
        subject="Ann & Bob <3, 20% off",
        text="Hi Ann & Bob <3, use COMEBACK20.\nAs a VIP you also get free shipping.\n",
        html="<p>Hi Ann &amp; Bob &lt;3</p><p>4 orders this year</p>",  # autoescaped in html only
    )


def test_a_missing_variable_renders_empty_or_its_default(templates: Callable[..., Path]) -> None:
    coupon = load_templates(templates(comeback_coupon=COUPON))["comeback_coupon"]
    got = render(coupon, {"profile": {}, "tags": []})
    assert got.subject == "Hello, 20% off"
    assert got.text == "Hi there, use COMEBACK20.\n\n"
    assert got.html == "<p>Hi there</p><p> orders this year</p>"
    assert render(sms("[{{ nothing.deeper.still }}][{{ profile.first_name | default('there') }}]"), {}).text == "[][there]"


@pytest.mark.parametrize(
    ("source", "refused"),
    [
        ("{{ ''.__class__ }}", "'__class__'"),
        ("{{ ''.__class__.__mro__ }}", "'__class__'"),
        ("{{ x.__globals__ }}", "'__globals__'"),
        ("{{ render.__globals__ }}", "'__globals__'"),
        ("{{ ''['__class__'] }}", "'__class__'"),
        ("{{ ''|attr('__class__') }}", "'__class__'"),
        ("{{ '{0.__class__}'.format('') }}", "'__class__'"),
        ("{{ profile._load_id }}", "'_load_id'"),
    ],
    ids=["class", "mro", "undefined-globals", "globals", "item", "attr-filter", "format", "private"],
)
def test_the_sandbox_refuses(source: str, refused: str) -> None:
    with pytest.raises(TemplateError) as caught:
        render(sms(source, "sneaky"), {"profile": {"_load_id": 1}, "render": render})
    message = str(caught.value)
    assert message.startswith("template 'sneaky' (templates/sneaky.yaml): text: refused: ")
    assert refused in message and "\n" not in message
    assert caught.value.code == "template_error"


def test_a_failing_expression_names_template_and_field() -> None:
    with pytest.raises(TemplateError) as caught:
        render(sms("{{ 1 / 0 }}"), {})
    assert str(caught.value) == "template 't' (templates/t.yaml): text: ZeroDivisionError: division by zero"


def test_journey_context_is_available(templates: Callable[..., Path]) -> None:
    reminder = load_templates(templates(coupon_reminder=REMINDER))["coupon_reminder"]
    got = render(reminder, {"profile": {"name": "李明"}, "journey": {"name": "winback", "node": "sms_reminder"}})
    assert got == Rendered(subject=None, text="李明: your coupon ends Sunday (winback/sms_reminder)", html=None)


# -- the context -----------------------------------------------------------------------------
PROFILES = """profile_id,name,email,city,member_level
p1,李明,li.ming@example.com,Beijing,vip
p2,Ann,ann@example.com,,normal
p3,Bob,,Chengdu,
"""
T = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def shop(project: Workspace, write) -> Workspace:  # type: ignore[no-untyped-def]
    project.load("profiles", [write("profiles.csv", PROFILES)])
    wh = project.warehouse
    tables.ensure(wh, tables.TRAITS, tables.TAG_ASSIGNMENTS)
    wh.execute("ALTER TABLE traits ADD COLUMN orders_365d BIGINT")
    wh.execute("INSERT INTO traits VALUES ('p1', 4), ('p2', 0)")
    wh.executemany(
        "INSERT INTO tag_assignments (profile_id, tag, value, source, assigned_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
        [
            ("p1", "vip", None, "manual", datetime(2026, 1, 1, tzinfo=UTC), None),
            ("p1", "churn/risk", None, "rule", datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)),
            ("p1", "expired", None, "manual", datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)),
            ("p1", "later", None, "manual", datetime(2026, 5, 1, tzinfo=UTC), None),
            ("p2", "vip", None, "manual", None, None),
            ("p2", "vip", None, "rule", None, None),
        ],
    )
    return project


def test_template_context(shop: Workspace) -> None:
    got = template_context(shop.warehouse, ["p1", "p2", "p3", "ghost"], at=T)
    assert set(got) == {"p1", "p2", "p3", "ghost"}
    p1 = got["p1"]
    assert p1["profile"]["name"] == "李明" and p1["profile"]["city"] == "Beijing"
    assert p1["profile"]["email"] == "li.ming@example.com" and p1["profile"]["profile_id"] == "p1"
    assert not [c for c in p1["profile"] if c.startswith("_")]
    assert p1["traits"] == {"orders_365d": 4}
    assert p1["tags"] == ["churn/risk", "vip"]  # not the expired one, not the one assigned later
    assert got["p2"]["tags"] == ["vip"] and got["p2"]["profile"]["city"] is None
    assert got["p3"]["traits"] == {} and got["p3"]["tags"] == []
    assert got["ghost"] == {"profile": {"profile_id": "ghost"}, "traits": {}, "tags": []}
    assert template_context(shop.warehouse, ["p1"], at=datetime(2026, 6, 1, tzinfo=UTC))["p1"]["tags"] == ["later", "vip"]


def test_context_renders(shop: Workspace, templates: Callable[..., Path]) -> None:
    coupon = load_templates(templates(comeback_coupon=COUPON))["comeback_coupon"]
    context = template_context(shop.warehouse, ["p1"], at=T)["p1"]
    assert render(coupon, context).text == "Hi 李明, use COMEBACK20.\nAs a VIP you also get free shipping.\n"


def test_one_query_per_table(shop: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    wh = shop.warehouse
    seen: list[str] = []
    for method in ("query", "rows"):
        real = getattr(wh, method)
        monkeypatch.setattr(wh, method, lambda sql, params=None, _real=real: (seen.append(sql), _real(sql, params))[1])
    got = template_context(wh, [f"x{i}" for i in range(500)] + ["p1"], at=T)
    assert len(got) == 501 and got["p1"]["tags"] == ["churn/risk", "vip"]
    assert len([s for s in seen if "profile_id IN" in s]) == 3  # profiles, traits, tag_assignments


def test_no_traits_or_tags_tables(project: Workspace, write) -> None:  # type: ignore[no-untyped-def]
    project.load("profiles", [write("profiles.csv", PROFILES)])
    project.warehouse.drop_tables(tables.TRAITS, tables.TAG_ASSIGNMENTS)
    got = template_context(project.warehouse, ["p3"])
    assert got["p3"]["profile"]["name"] == "Bob" and got["p3"]["traits"] == {} and got["p3"]["tags"] == []
