"""The picture of a journey's stats: per node in path order, how many runs reached it, are
waiting there, and what its effects did (sent / skipped / failed), with the conversions.

    >>> save_chart(journey_chart(journey_stats(ws, "vip_birthday")), Path("vip.png"))  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from segflow.journeys.service import JourneyStats

__all__ = ["journey_chart", "journey_chart_rows"]

#: The measures drawn, in the order of their bars, with their colours.
MEASURES = (("reached", "#4c78a8"), ("waiting", "#9ecae9"), ("sent", "#54a24b"), ("skipped", "#eeca3b"),
            ("failed", "#e45756"), ("converted", "#b279a2"))


def journey_chart_rows(stats: JourneyStats) -> list[dict[str, Any]]:
    """One row per (node, measure) with a count; nodes keep the path order of the stats."""
    rows = []
    for order, n in enumerate(stats.nodes):
        values = {"reached": n.entered, "waiting": n.waiting, "sent": n.sent, "skipped": n.skipped,
                  "failed": n.failed, "converted": n.converted}
        label = f"{n.node} [{n.kind}]" + (f" {n.label}" if n.label else "")
        for measure, _ in MEASURES:
            rows.append({"node": label, "order": order, "measure": measure, "runs": int(values[measure])})
    return rows


def journey_chart(stats: JourneyStats) -> Any:
    import altair as alt

    rows = journey_chart_rows(stats)
    nodes = [r["node"] for r in rows if r["measure"] == "reached"]
    colours = alt.Scale(domain=[m for m, _ in MEASURES], range=[c for _, c in MEASURES])
    bars = alt.Chart(alt.Data(values=rows)).mark_bar().encode(
        y=alt.Y("node:N", sort=nodes, title=None),
        x=alt.X("runs:Q", title="runs"),
        yOffset=alt.YOffset("measure:N", sort=[m for m, _ in MEASURES]),
        color=alt.Color("measure:N", scale=colours, title=None, sort=[m for m, _ in MEASURES]),
        tooltip=["node:N", "measure:N", "runs:Q"],
    )
    text = bars.mark_text(align="left", dx=3, fontSize=9).encode(text="runs:Q", color=alt.value("#333")
                                                                 ).transform_filter(alt.datum.runs > 0)
    title = (f"journey {stats.name} v{stats.version} ({stats.status}): {stats.runs:,} runs, "
             f"{stats.converted:,} converted")
    return (bars + text).properties(title=title, width=520, height=alt.Step(9))
