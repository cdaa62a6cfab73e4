"""The models' pictures: the RFM grid as a heat map, the lifetime-value distribution.

Each function takes a model's result and returns an Altair chart; write it with
:func:`segflow.charts.save_chart` (PNG, SVG or HTML).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from segflow.models.clv import ClvResult
    from segflow.models.rfm import RfmResult

__all__ = ["CHARTS", "activity_chart", "clusters_chart", "clv_chart", "lifecycle_chart", "rfm_chart"]


def rfm_chart(result: RfmResult) -> Any:
    """Profiles per (R, F) cell, coloured by count, with the cell's mean M score written in."""
    import altair as alt

    best = "1 = best" if result.mode == "guide" else "higher = better"
    rows = [{"R": int(key.split(",")[0]), "F": int(key.split(",")[1]), "profiles": cell["profiles"],
             "mean M": round(cell["monetary"], 2)} for key, cell in result.grid.items()]
    base = alt.Chart(alt.Data(values=rows)).encode(
        x=alt.X("F:O", title=f"F score ({best})"),
        y=alt.Y("R:O", title=f"R score ({best})"),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("profiles:Q", scale=alt.Scale(scheme="blues"), title="profiles"),
        tooltip=["R:O", "F:O", "profiles:Q", "mean M:Q"],
    )
    text = base.mark_text(baseline="middle", fontSize=13).encode(
        text=alt.Text("label:N"),
    ).transform_calculate(label="format(datum.profiles, ',') + ' · M ' + format(datum['mean M'], '.2f')")
    # English labels only: the PNG renderer has no CJK font to rely on (the table output
    # and the JSON carry the Chinese labels).
    tiers = ", ".join(f"{result.labels[t]['en']} {n:,}" for t, n in result.tiers.items()
                      if n) if result.mode == "guide" else f"{sum(1 for n in result.tiers.values() if n)} cells"
    return (cells + text).properties(
        width=120 * max(2, len({r['F'] for r in rows})), height=90 * max(2, len({r['R'] for r in rows})),
        title={"text": f"RFM ({result.mode}) of {result.scored:,} buyers as of {result.as_of.date().isoformat()}",
               "subtitle": tiers},
    )


def clv_chart(result: ClvResult) -> Any:
    """Histograms of the customers' CLV (up to its 99th percentile) and P(alive)."""
    import altair as alt

    def bars(name: str, title: str) -> Any:
        hist = result.histograms[name]
        rows = [{"from": a, "to": b, "customers": n}
                for a, b, n in zip(hist["edges"][:-1], hist["edges"][1:], hist["counts"])]
        return alt.Chart(alt.Data(values=rows)).mark_bar().encode(
            x=alt.X("from:Q", title=title, bin="binned"), x2="to:Q", y=alt.Y("customers:Q", title="customers"),
            tooltip=["from:Q", "to:Q", "customers:Q"],
        ).properties(width=360, height=220)

    top = result.histograms["clv"]["edges"][-1]
    return alt.hconcat(
        bars("clv", f"CLV over {result.settings['horizon']} periods (to the 99th percentile, {top:,.2f})"),
        bars("p_alive", "P(alive)"),
    ).properties(title={"text": f"Lifetime value of {result.customers:,} customers as of "
                                f"{result.as_of.date().isoformat()}",
                        "subtitle": f"BG/NBD r {result.bgnbd['r']:.3g}, α {result.bgnbd['alpha']:.3g}, "
                                    f"a {result.bgnbd['a']:.3g}, b {result.bgnbd['b']:.3g}; Gamma-Gamma "
                                    f"p {result.gamma_gamma['p']:.3g}, q {result.gamma_gamma['q']:.3g}, "
                                    f"γ {result.gamma_gamma['gamma']:.3g}"})


if TYPE_CHECKING:
    from segflow.models.activity import ActivityResult



def activity_chart(result: ActivityResult) -> Any:
    """Profiles per (activity level, loyalty level) cell as a heat map, each cell with its
    count and share of the scored profiles."""
    import altair as alt

    from segflow.models.activity import LEVELS

    order = list(reversed(LEVELS))  # inactive, low, medium, high: better to the right and up
    total = max(1, result.scored)
    rows = [{"activity": a, "loyalty": lo, "profiles": result.grid.get(f"{a},{lo}", 0),
             "share": result.grid.get(f"{a},{lo}", 0) / total} for a in order for lo in order]
    base = alt.Chart(alt.Data(values=rows)).encode(
        x=alt.X("activity:O", sort=order, title="activity level", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("loyalty:O", sort=list(LEVELS), title="loyalty level"),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("profiles:Q", scale=alt.Scale(scheme="greens"), title="profiles"),
        tooltip=["activity:O", "loyalty:O", "profiles:Q", alt.Tooltip("share:Q", format=".1%")],
    )
    text = base.mark_text(baseline="middle", fontSize=13).encode(text=alt.Text("label:N")).transform_calculate(
        label="format(datum.profiles, ',') + ' · ' + format(datum.share, '.1%')")
    # English labels only: the PNG renderer has no CJK font to rely on.
    subtitle = [f"{score}: " + ", ".join(f"{lv} {n:,}" for lv, n in result.levels[score].items())
                for score in ("activity", "loyalty")]
    return (cells + text).properties(
        width=130 * len(order), height=80 * len(order),
        title={"text": f"Activity and loyalty of {result.scored:,} profiles as of {result.as_of.date().isoformat()}",
               "subtitle": subtitle},
    )


if TYPE_CHECKING:
    from segflow.models.lifecycle import LifecycleRange, LifecycleResult



def lifecycle_chart(result: LifecycleResult | LifecycleRange) -> Any:
    """The stage distribution: a stacked area over the days of a range (stages stacked in the
    config's order), a bar per stage for one day. Profiles without a stage are "unclassified"."""
    import altair as alt

    names = list(result.labels)
    en = [result.labels[s]["en"] for s in names]
    days = getattr(result, "days", None)
    if days is None:  # one day: a LifecycleResult
        days = [{"day": result.day, "stages": result.stages, "unclassified": result.unclassified}]  # type: ignore[union-attr]
    extra = ["unclassified"] if any(d["unclassified"] for d in days) else []
    rows = [{"day": d["day"].isoformat(), "stage": label, "order": i,
             "profiles": d["unclassified"] if label == "unclassified" else d["stages"][names[i]]}
            for d in days for i, label in enumerate(en + extra)]
    color = alt.Color("stage:N", sort=en + extra, title="stage", scale=alt.Scale(scheme="tableau10"))
    chart = alt.Chart(alt.Data(values=rows))
    total = sum(days[-1]["stages"].values()) + days[-1]["unclassified"]
    if len(days) == 1:
        shown = chart.mark_bar().encode(
            x=alt.X("stage:N", sort=en + extra, title="stage", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("profiles:Q", title="profiles"),
            color=color, tooltip=["stage:N", "profiles:Q"],
        ).properties(width=60 * len(en + extra), height=260)
        title = f"Lifecycle stages of {total:,} profiles on {days[0]['day'].isoformat()}"
    else:
        shown = chart.mark_area().encode(
            x=alt.X("day:T", title="day"), y=alt.Y("profiles:Q", stack="zero", title="profiles"),
            color=color, order=alt.Order("order:Q"), tooltip=["day:T", "stage:N", "profiles:Q"],
        ).properties(width=640, height=300)
        title = f"Lifecycle stages per day, {days[0]['day'].isoformat()} to {days[-1]['day'].isoformat()}"
    # English labels only: the PNG renderer has no CJK font to rely on.
    last = ", ".join(f"{label} {d:,}" for label, d in zip(en, days[-1]["stages"].values()))
    return shown.properties(title={"text": title, "subtitle": f"{days[-1]['day'].isoformat()}: {last}"})


if TYPE_CHECKING:
    from segflow.models.clusters import ClustersResult



def clusters_chart(result: ClustersResult) -> Any:
    """The cluster profile: a heat map of each centre's z-score per feature (clusters × features,
    red above the buyers' mean, blue below, the z and the centre in original units written in),
    and the clusters' sizes beside it."""
    import altair as alt

    names = [f["name"] for f in result.features]
    rows, sizes = [], []
    for c in result.clusters:
        cluster = f"{c['id']} · {c['label']}"
        sizes.append({"cluster": cluster, "buyers": c["size"], "share": c["share"]})
        for name in names:
            cell = c["features"][name]
            rows.append({"cluster": cluster, "feature": name, "z": cell["z"], "centre": cell["centre"],
                         "population": cell["population"]})
    order = [s["cluster"] for s in sizes]
    top = max([1.0, *(abs(r["z"]) for r in rows)])
    base = alt.Chart(alt.Data(values=rows)).encode(
        x=alt.X("feature:N", sort=names, title=None, axis=alt.Axis(labelAngle=-30)),
        y=alt.Y("cluster:N", sort=order, title=None),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("z:Q", scale=alt.Scale(scheme="redblue", domain=[top, -top]),
                        title="z vs all buyers"),
        tooltip=["cluster:N", "feature:N", alt.Tooltip("z:Q", format=".2f"),
                 alt.Tooltip("centre:Q", format=",.2f"), alt.Tooltip("population:Q", format=",.2f")],
    )
    text = base.mark_text(baseline="middle", fontSize=11).encode(text=alt.Text("label:N")).transform_calculate(
        label="format(datum.z, '+.2f') + ' (' + (abs(datum.centre) >= 1000 ? format(datum.centre, ',.0f') "
              ": format(datum.centre, '.3~r')) + ')'")
    bars = alt.Chart(alt.Data(values=sizes)).mark_bar(color="#888").encode(
        x=alt.X("buyers:Q", title="buyers"),
        y=alt.Y("cluster:N", sort=order, title=None, axis=None),
        tooltip=["cluster:N", "buyers:Q", alt.Tooltip("share:Q", format=".1%")],
    ).properties(width=140, height=40 * len(order))
    chosen = (f"k = {result.k} by silhouette ({result.silhouettes[str(result.k)]:.3f})"
              if result.k_chosen_by == "silhouette" else f"k = {result.k} (fixed)")
    compared = "; ".join(f"{a} silhouette {v['silhouette']:.3f}" for a, v in result.comparison.items()
                         if isinstance(v, dict))
    return alt.hconcat(
        (cells + text).properties(width=95 * len(names), height=40 * len(order)), bars,
    ).properties(title={"text": f"Clusters of {result.clustered:,} buyers as of {result.as_of.date().isoformat()}",
                        "subtitle": [f"{chosen}, fitted with {result.algorithm}; {compared}",
                                     "cells: centre's z-score vs all buyers (centre in original units)"]})


#: Each model's picture, by model name (``segflow demo`` draws them all).
CHARTS: dict[str, Callable[[Any], Any]] = {"rfm": rfm_chart, "clv": clv_chart, "activity": activity_chart, "lifecycle": lifecycle_chart,
          "clusters": clusters_chart}
