"""Charts: one library (Altair / Vega-Lite) for every picture segflow draws.

A chart is built by the package that owns the numbers (``models/``, later ``analytics/``)
as an ``altair.Chart`` and written by :func:`save_chart`: ``.png`` (and ``.svg``) are
rendered by vl-convert, in-process, without a browser; ``.html`` is a standalone page
for the web (Vega-Lite from a CDN when opened). Altair is imported inside functions,
so the CLI starts fast.

    >>> save_chart(rfm_chart(result), Path("rfm.png"))   # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from segflow.errors import SegflowError

__all__ = ["CHART_SUFFIXES", "check_chart_path", "save_chart"]

CHART_SUFFIXES = (".png", ".svg", ".html")


def check_chart_path(path: Path) -> Path:
    """*path* when it ends in a known suffix and its folder exists; SegflowError otherwise.
    Called before the work whose picture it is, so a typo costs nothing."""
    if path.suffix.lower() not in CHART_SUFFIXES:
        raise SegflowError(f"chart file {str(path)!r}: use a name ending in {', '.join(CHART_SUFFIXES)}",
                           code="bad_chart_path", path=str(path))
    if not path.parent.exists():
        raise SegflowError(f"chart file {str(path)!r}: the folder {str(path.parent)!r} does not exist",
                           code="bad_chart_path", path=str(path))
    return path


def save_chart(chart: Any, path: Path) -> Path:
    """Write *chart* (an Altair chart) to *path*: PNG at twice the pixel density, SVG or HTML."""
    check_chart_path(path)
    suffix = path.suffix.lower()
    if suffix == ".png":
        chart.save(str(path), format="png", ppi=144)
    else:
        chart.save(str(path), format=suffix.lstrip("."))
    return path
