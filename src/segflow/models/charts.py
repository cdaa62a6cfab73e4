"""The models' pictures: the RFM grid as a heat map, the lifetime-value distribution.

Each function takes a model's result and returns an Altair chart; write it with
:func:`segflow.charts.save_chart` (PNG, SVG or HTML).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from segflow.models.clv import ClvResult
    from segflow.models.rfm import RfmResult

__all__ = ["clv_chart", "rfm_chart"]


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
