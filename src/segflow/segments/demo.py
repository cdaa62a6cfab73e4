"""The segments step of ``segflow demo``: example segments, the e-commerce tag templates, apply.

:func:`demo_segments` writes a few segment files a shop would start with (one reads
another, one is static, one is scheduled daily at 02:00); the tags module's
e-commerce templates are installed when it offers them; then everything is applied
and refreshed in dependency order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from segflow.context import ProjectContext
    from segflow.definitions.plan import ApplyResult

__all__ = ["DEMO_SEGMENTS", "demo_segments", "install_tag_templates", "run_demo_segments"]

#: file name → YAML text.
DEMO_SEGMENTS: dict[str, str] = {
    "active_browsers.yaml": """\
description: Viewed a product in the last 14 days
rule:
  event: view_product
  within: 14d
schedule: "0 2 * * *"
""",
    "cart_abandoners.yaml": """\
description: Added to cart in the last 7 days without ordering since
rule:
  all:
    - {event: add_to_cart, within: 7d}
    - not: {orders: {within: 7d}}
schedule: "0 * * * *"
""",
    "high_value_dormant.yaml": """\
description: Spent at least 2000 in total but no order in the last 90 days
rule:
  all:
    - orders: {total: {gte: 2000}}
    - not: {orders: {within: 90d}}
schedule: "0 2 * * *"
""",
    "tier1_active.yaml": """\
description: Active browsers in first-tier cities
rule:
  all:
    - segment: active_browsers
    - attr: city
      in: [Beijing, Shanghai, Guangzhou, Shenzhen]
schedule: "0 2 * * *"
""",
    "sales_picks.yaml": """\
type: static
description: Customers the sales team picked by hand (segflow segment add sales_picks IDS)
""",
}


def demo_segments(ws: ProjectContext) -> list[str]:
    """Write :data:`DEMO_SEGMENTS` into ``segments/`` (existing files are kept); return the names written."""
    folder = ws.root / "segments"
    folder.mkdir(exist_ok=True)
    written = []
    for name, text in DEMO_SEGMENTS.items():
        path = folder / name
        if not path.exists():
            path.write_text(text, encoding="utf-8")
            written.append(path.stem)
    return written


def install_tag_templates(ws: ProjectContext, template: str = "ecommerce") -> Any:
    """Install the tag templates *template* (:func:`segflow.tags.install_templates`)."""
    from segflow.tags import install_templates

    return install_templates(ws, template)


def run_demo_segments(ws: ProjectContext) -> tuple[list[str], Any, ApplyResult]:
    """Write the demo segments, install the e-commerce tags, apply and refresh everything."""
    from segflow.definitions.plan import apply

    written = demo_segments(ws)
    installed = install_tag_templates(ws)
    result = apply(ws)
    return written, installed, result
