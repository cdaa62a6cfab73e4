"""The pandas baseline of the rule suite: the benchmark rule written the way an analyst
would write it with DataFrames.

The analyst reads the columns the rule needs into DataFrames (events already narrowed
to the rule's event names and to times up to T, which favours pandas), then combines
boolean masks, ``groupby`` aggregates and ``isin`` tests. :func:`frames` and
:func:`members` are timed separately by the suite: getting the data into pandas is a
cost the analyst pays on every fresh question, but the computation alone is the fairer
comparison with a query.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

__all__ = ["frames", "members"]

CITIES = ("Beijing", "Shanghai", "Guangzhou", "Shenzhen", "Hangzhou", "Chengdu")
LEVELS = ("silver", "gold", "vip")
AGES = (18, 60)
SPENT_90D = 300
APP_OPEN_DAYS = 60
EVENT_NAMES = ("view_product", "order_paid", "app_open")


def frames(con: Any, as_of: datetime) -> dict[str, Any]:
    """The DataFrames the rule needs, read from a DuckDB warehouse connection."""
    names = ", ".join(f"'{n}'" for n in EVENT_NAMES)
    t = as_of.isoformat()
    return {
        "profiles": con.sql("SELECT profile_id, city, age, member_level, created_at FROM profiles").df(),
        "events": con.sql(
            f"SELECT profile_id, event, ts FROM events WHERE event IN ({names}) "
            f"AND profile_id IS NOT NULL AND ts <= TIMESTAMPTZ '{t}'"
        ).df(),
        "orders": con.sql(f"SELECT profile_id, ts, amount, status FROM orders WHERE ts <= TIMESTAMPTZ '{t}'").df(),
    }


def members(f: dict[str, Any], as_of: datetime) -> set[str]:
    """The benchmark rule (bench/rules.py ``RULE``) over the DataFrames *f*."""
    import pandas as pd

    t = pd.Timestamp(as_of)
    p, e, o = f["profiles"], f["events"], f["orders"]
    pid = p["profile_id"]
    existed = p["created_at"].isna() | (p["created_at"] <= t)
    city = p["city"].isin(CITIES)
    age = p["age"].between(*AGES)

    week = e[e["ts"] > t - timedelta(days=7)]
    views = week[week["event"] == "view_product"].groupby("profile_id").size()
    viewed = pid.map(views).fillna(0) >= 1
    ordered_7d = set(week.loc[week["event"] == "order_paid", "profile_id"])
    not_ordered = ~pid.isin(ordered_7d)

    paid = o[(o["status"] == "paid") & (o["ts"] > t - timedelta(days=90))]
    spent = paid.groupby("profile_id")["amount"].sum().astype(float)
    big_or_level = (pid.map(spent).fillna(0) >= SPENT_90D) | p["member_level"].isin(LEVELS)

    last_open = e[e["event"] == "app_open"].groupby("profile_id")["ts"].max()
    recent = pid.map(last_open) > t - timedelta(days=APP_OPEN_DAYS)

    keep = existed & city & age & viewed & not_ordered & big_or_level & recent.fillna(False).astype(bool)
    return set(pid[keep])
