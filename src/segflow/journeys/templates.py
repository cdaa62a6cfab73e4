"""Message templates: ``templates/NAME.yaml``, rendered per profile in a sandbox.

A template names its channel and holds the message's fields as Jinja2 text::

    # templates/comeback_coupon.yaml
    channel: email
    description: Coupon for dormant high-AOV customers
    subject: "{{ profile.name | default('Hello') }}, 20% off your next order"
    text: "Hi {{ profile.name | default('there') }}, use COMEBACK20 before Sunday."
    html: "<p>Hi {{ profile.name | default('there') }},</p><p>use <b>COMEBACK20</b>.</p>"

An email template needs ``subject`` and ``text`` or ``html`` (both: a multipart message);
every other channel (sms, push, wechat, ...) needs ``text`` (``subject``, optional, is
a push notification's title) and takes no ``html``. Unknown keys are refused.
:func:`load_templates` reports every problem of every file at once and compiles every
field, so a syntax error is found at plan / apply, naming the file, the field and the line.

Rendering (:func:`render`) runs in Jinja2's :class:`~jinja2.sandbox.SandboxedEnvironment`
with one more rule: **no name starting with ``_``** can be read (``{{ ''.__class__ }}``,
``{{ x.__globals__ }}``, ``{{ profile._load_id }}``); such a template fails at render time
with :class:`~segflow.errors.TemplateError`. HTML is autoescaped in ``html`` only. A missing
variable renders as empty text, and ``default`` gives a fallback:
``{{ profile.first_name | default('there') }}``.

What a template sees (:func:`template_context`, one query per table for a whole batch):
``profile`` (the profile's attributes), ``traits`` (its computed traits), ``tags`` (the
names of its active tags, sorted); the journey engine adds ``journey`` (``name``, ``node``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from segflow.errors import DefinitionsError, SegflowError, TemplateError

if TYPE_CHECKING:
    import jinja2

    from segflow.warehouse.base import Warehouse

__all__ = ["FIELDS", "TEMPLATES_DIR", "Rendered", "Template", "load_templates", "render", "template_context"]

TEMPLATES_DIR = "templates"
#: The keys a template file may have.
FIELDS = ("channel", "description", "subject", "text", "html")
#: The fields that are Jinja2 text, in the order they are rendered.
_TEXT_FIELDS = ("subject", "text", "html")


@dataclass(frozen=True)
class Template:
    """One message template (the fields as written; rendered by :func:`render`)."""

    name: str
    channel: str
    subject: str | None
    text: str | None
    html: str | None
    #: The file as shown in messages: ``templates/comeback_coupon.yaml``.
    file: str
    description: str = ""


@dataclass(frozen=True)
class Rendered:
    """A template rendered for one profile."""

    subject: str | None
    text: str | None
    html: str | None


# -- loading ---------------------------------------------------------------------------------
def load_templates(root: Path, *, errors: list[SegflowError] | None = None) -> dict[str, Template]:
    """Every template in ``<root>/templates/*.yaml`` (and ``.yml``) by name.

    Raises :class:`~segflow.errors.DefinitionsError` listing every problem of every file, one
    line each (``templates/coupon.yaml: text: line 2: unexpected '}'``); with *errors*, that
    error is appended to it instead and the templates that loaded are returned.
    """
    from segflow.names import nfc
    from segflow.names import problem as name_problem
    from segflow.yamlfile import YamlSyntax, read_yaml

    folder = Path(root) / TEMPLATES_DIR
    files = sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file()) \
        if folder.is_dir() else []
    problems: list[str] = []
    found: dict[str, Template] = {}
    seen: dict[str, str] = {}
    for path in files:
        shown = f"{TEMPLATES_DIR}/{path.name}"
        why = name_problem(path.stem)
        if why:
            problems.append(f"{shown}: {path.stem!r} is not a template name ({why})")
            continue
        name = nfc(path.stem)
        try:
            data = read_yaml(path)
        except YamlSyntax as bad:
            problems.append(f"{shown}: {bad}")
            continue
        except OSError as exc:
            problems.append(f"{shown}: cannot be read ({exc.strerror or exc})")
            continue
        template, bad_fields = _parse(name, shown, data)
        problems.extend(bad_fields)
        if template is None:
            continue
        if name in seen:
            problems.append(f"{shown}: template {name!r} is already defined in {seen[name]}")
            continue
        seen[name] = shown
        found[name] = template
    if problems:
        error = DefinitionsError(problems, code="invalid_template", path=problems[0].split(": ", 1)[0])
        if errors is None:
            raise error
        errors.append(error)
    return found


def _parse(name: str, shown: str, data: Any) -> tuple[Template | None, list[str]]:
    """The template in *data* (a file's contents), with every problem as a ``file: field: message`` line."""
    import jinja2

    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        return None, [f"{shown}: expected a mapping with channel and text (the file is {kind})"]
    problems = []
    for key in data:
        if key not in FIELDS:
            problems.append(f"{shown}: {key}: unknown key (keys: {', '.join(FIELDS)})")
    values: dict[str, str | None] = {}
    mistyped: set[str] = set()
    for key in ("channel", "description", *_TEXT_FIELDS):
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            problems.append(f"{shown}: {key}: expected text, got {type(value).__name__}")
            mistyped.add(key)
            value = None
        values[key] = value
    channel = (values["channel"] or "").strip()
    if not channel:
        if "channel" not in mistyped:
            problems.append(f"{shown}: channel: missing (email, sms, push, ...)")
    elif channel == "email":
        if not values["subject"] and "subject" not in mistyped:
            problems.append(f"{shown}: subject: missing (an email needs a subject)")
        if values["text"] is None and values["html"] is None and not mistyped & {"text", "html"}:
            problems.append(f"{shown}: text: missing (an email needs text or html, or both)")
    else:
        if values["text"] is None and "text" not in mistyped:
            problems.append(f"{shown}: text: missing ({channel} messages need text)")
        if "html" in data:
            problems.append(f"{shown}: html: only email messages have html (this template is for {channel})")
    for key in _TEXT_FIELDS:
        source = values[key]
        if source is None:
            continue
        try:
            _compiled(source, key == "html")
        except jinja2.TemplateSyntaxError as exc:
            line = f"line {exc.lineno}: " if exc.lineno else ""
            problems.append(f"{shown}: {key}: {line}{_first_line(exc)}")
    if problems:
        return None, problems
    return Template(name=name, channel=channel, subject=values["subject"], text=values["text"],
                    html=values["html"], file=shown, description=values["description"] or ""), []


# -- rendering -------------------------------------------------------------------------------
def render(template: Template, context: Mapping[str, Any]) -> Rendered:
    """*template*'s fields rendered with *context* (``{"profile": ..., "traits": ..., "tags": ...,
    "journey": ...}``). Raises :class:`TemplateError` naming the template and field when the
    sandbox refuses something or a filter fails."""
    import jinja2

    out: dict[str, str | None] = {}
    for key in _TEXT_FIELDS:
        source = getattr(template, key)
        if source is None:
            out[key] = None
            continue
        try:
            out[key] = _compiled(source, key == "html").render(context)
        except jinja2.exceptions.SecurityError as exc:
            raise TemplateError(f"template {template.name!r} ({template.file}): {key}: refused: {_first_line(exc)}",
                                path=f"{template.file}:{key}") from None
        except jinja2.TemplateSyntaxError as exc:  # a template built in code, not loaded
            raise TemplateError(f"template {template.name!r} ({template.file}): {key}: line {exc.lineno}: "
                                f"{_first_line(exc)}", path=f"{template.file}:{key}") from None
        except Exception as exc:  # a failing filter or test: one line naming the template
            raise TemplateError(f"template {template.name!r} ({template.file}): {key}: "
                                f"{type(exc).__name__}: {_first_line(exc)}", path=f"{template.file}:{key}") from None
    return Rendered(subject=out["subject"], text=out["text"], html=out["html"])


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "message", None) or exc).strip()
    return " ".join(text.split()) or type(exc).__name__


@lru_cache(maxsize=1)
def _environments() -> tuple[jinja2.Environment, jinja2.Environment]:
    """The text and the HTML environment (built once: building one costs more than a render)."""
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    class _Sandbox(SandboxedEnvironment):
        """Refuses every name starting with ``_``, whatever object it is read from (the
        sandbox alone lets ``{{ ''.__class__ }}`` render as empty text and an undefined
        value's attributes pass silently)."""

        def getattr(self, obj: Any, attribute: str) -> Any:
            if isinstance(attribute, str) and attribute.startswith("_"):
                raise jinja2.exceptions.SecurityError(f"access to attribute {attribute!r} is not allowed "
                                                      "(names starting with _ are refused)")
            return super().getattr(obj, attribute)

        def getitem(self, obj: Any, argument: Any) -> Any:
            if isinstance(argument, str) and argument.startswith("_"):
                raise jinja2.exceptions.SecurityError(f"access to item {argument!r} is not allowed "
                                                      "(names starting with _ are refused)")
            return super().getitem(obj, argument)

    def make(html: bool) -> jinja2.Environment:
        return _Sandbox(undefined=jinja2.ChainableUndefined, autoescape=html, keep_trailing_newline=True)

    return make(False), make(True)


@lru_cache(maxsize=1024)
def _compiled(source: str, html: bool) -> jinja2.Template:
    text_env, html_env = _environments()
    return (html_env if html else text_env).from_string(source)


# -- the context -----------------------------------------------------------------------------
_IDS = "_segflow_template_ids"


def template_context(wh: Warehouse, profile_ids: Sequence[str], *,
                     at: datetime | None = None) -> dict[str, dict[str, Any]]:
    """Per profile id, what its templates see: ``{"profile": {attribute: value},
    "traits": {trait: value}, "tags": [active tag names]}``, in one query per table for
    the whole batch. Columns starting with ``_`` (bookkeeping) are left out; a tag is active
    when assigned at or before *at* (default: now) and not expired by then. An id with no
    profile row gets ``{"profile": {"profile_id": id}, "traits": {}, "tags": []}``.

        >>> template_context(ctx.warehouse, ["p1"])["p1"]["profile"]["city"]   # doctest: +SKIP
        'Beijing'
    """
    import pyarrow as pa

    from segflow.clock import now, utc
    from segflow.warehouse import tables
    from segflow.warehouse.base import quote_ident as q

    ids = list(dict.fromkeys(str(p) for p in profile_ids))
    out: dict[str, dict[str, Any]] = {
        pid: {"profile": {"profile_id": pid}, "traits": {}, "tags": []} for pid in ids}
    if not ids:
        return out
    when = utc(at) if at is not None else now()
    with wh.registered(_IDS, pa.table({"profile_id": pa.array(ids, pa.string())})):
        for table, key in (("profiles", "profile"), (tables.TRAITS, "traits")):
            if not wh.table_exists(table):
                continue
            columns = [c for c in wh.column_names(table) if not c.startswith("_")]
            if key == "traits":
                columns = [c for c in columns if c != "profile_id"]
            if not columns:
                continue
            select = ", ".join(f"t.{q(c)}" for c in columns)
            rows = wh.query(f"SELECT t.profile_id AS {q('_pid')}, {select} FROM {q(table)} AS t "
                            f"WHERE t.profile_id IN (SELECT profile_id FROM {_IDS})").to_pylist()
            for row in rows:
                pid = row.pop("_pid")
                if pid in out:
                    out[pid][key].update(row)
        if wh.table_exists(tables.TAG_ASSIGNMENTS):
            found = wh.rows(
                f"SELECT DISTINCT t.profile_id, t.tag FROM {tables.TAG_ASSIGNMENTS} AS t "
                f"WHERE t.profile_id IN (SELECT profile_id FROM {_IDS}) "
                "AND (t.assigned_at IS NULL OR t.assigned_at <= ?) AND (t.expires_at IS NULL OR t.expires_at > ?) "
                "ORDER BY t.profile_id, t.tag", [when, when])
            for pid, tag in found:
                out[str(pid)]["tags"].append(tag)
    return out

