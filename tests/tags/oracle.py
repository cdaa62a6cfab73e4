"""An independent oracle for the e-commerce template: the raw CSV files of a generated shop,
read with pandas and plain Python, cleaned as the data spec says a correct loader cleans
them, and every tag computed by hand — no segflow code, no SQL.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

DAY = timedelta(days=1)
FIRST_TIER = {"Beijing", "Shanghai", "Guangzhou", "Shenzhen", "beijing", "shanghai", "guangzhou", "shenzhen",
              "北京", "上海", "广州", "深圳", "北京市", "上海市", "广州市", "深圳市", "廣州", "廣州市"}
ACTIVITY = {"page_view", "view_product", "add_to_cart", "checkout", "order_paid", "search", "login", "app_open"}
LOGIN = {"login", "app_open"}


def parse_ts(text: Any) -> datetime | None:
    """The spellings the generator writes: ISO with Z or an offset, epoch seconds, 2026/03/01 10:00:00."""
    if not isinstance(text, str) or not text.strip():
        return None
    s = text.strip()
    if s.isdigit():
        return datetime.fromtimestamp(int(s), tz=UTC)
    if re.fullmatch(r"\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}", s):
        return datetime.strptime(s, "%Y/%m/%d %H:%M:%S").replace(tzinfo=UTC)
    try:
        value = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _date(text: Any) -> date | None | bool:
    """A date, None when empty, False when invalid."""
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return False


class Shop:
    """The raw files of a shop, cleaned: valid rows only, duplicates collapsed."""

    def __init__(self, folder: Path) -> None:
        def read(name: str) -> pd.DataFrame:
            return pd.read_csv(folder / name, dtype=str, keep_default_na=False)

        self.profiles: dict[str, dict[str, Any]] = {}
        for row in read("profiles.csv").to_dict("records"):
            birthday = _date(row["birthday"])
            if not row["profile_id"] or birthday is False or row["profile_id"] in self.profiles:
                continue
            row["birthday"] = birthday
            row["created_at"] = parse_ts(row["created_at"])
            row["age"] = int(row["age"]) if row["age"] else None
            self.profiles[row["profile_id"]] = row
        self.events: dict[str, list[tuple[str, datetime, dict[str, Any]]]] = defaultdict(list)
        seen: set[str] = set()
        for row in read("events.csv").to_dict("records"):
            ts = parse_ts(row["ts"])
            if ts is None or (not row["profile_id"] and not row["anonymous_id"]):
                continue
            if row["event_id"]:
                if row["event_id"] in seen:
                    continue
                seen.add(row["event_id"])
            if row["profile_id"]:
                props = json.loads(row["properties"]) if row["properties"] else {}
                self.events[row["profile_id"]].append((row["event"], ts, props))
        self.orders: dict[str, list[dict[str, Any]]] = defaultdict(list)
        by_id: dict[str, dict[str, Any]] = {}
        for row in read("orders.csv").to_dict("records"):
            ts = parse_ts(row["ts"])
            if ts is None or not row["order_id"]:
                continue
            by_id[row["order_id"]] = {"order_id": row["order_id"], "profile_id": row["profile_id"], "ts": ts,
                                      "amount": Decimal(row["amount"]), "status": (row["status"] or "paid").lower()}
        for order in by_id.values():
            self.orders[order["profile_id"]].append(order)
        self.categories: dict[str, set[str]] = defaultdict(set)
        for row in read("order_items.csv").to_dict("records"):
            if row["category"]:
                self.categories[row["order_id"]].add(row["category"])


def _days_to_birthday(birthday: date, today: date) -> int:
    """Days from *today* to the next anniversary of *birthday* (0 today; Feb 29 → Feb 28)."""
    import calendar

    for year in (today.year, today.year + 1):
        day = 28 if (birthday.month, birthday.day) == (2, 29) and not calendar.isleap(year) else birthday.day
        anniversary = date(year, birthday.month, day)
        if anniversary >= today:
            return (anniversary - today).days
    raise AssertionError(birthday)


def _paid(shop: Shop, pid: str, t: datetime, days: int | None = None) -> list[dict[str, Any]]:
    return [o for o in shop.orders.get(pid, ()) if o["status"] == "paid" and o["ts"] <= t
            and (days is None or o["ts"] > t - days * DAY)]


def _events(shop: Shop, pid: str, names: set[str], t: datetime, days: int | None = None) -> list[tuple[str, datetime, dict]]:
    return [e for e in shop.events.get(pid, ()) if e[0] in names and e[1] <= t and (days is None or e[1] > t - days * DAY)]


def ecommerce(shop: Shop, t: datetime, zone: str) -> dict[str, dict[str, str | None]]:
    """Tag → {profile_id: value} for every tag of the e-commerce template, as of *t*."""
    tz = ZoneInfo(zone)
    out: dict[str, dict[str, str | None]] = defaultdict(dict)
    for pid, p in shop.profiles.items():
        if p["created_at"] is not None and p["created_at"] > t:
            continue
        paid_all = _paid(shop, pid, t)
        paid_90 = _paid(shop, pid, t, 90)
        if paid_all:
            r = 1 if _paid(shop, pid, t, 30) else 2 if paid_90 else 3
            f = 1 if len(paid_90) >= 5 else 2 if len(paid_90) >= 2 else 3
            spend = sum((o["amount"] for o in paid_90), Decimal(0))
            m = 1 if spend >= 1000 else 2 if spend >= 500 else 3
            out["rfm/recency_score"][pid] = str(r)
            out["rfm/frequency_score"][pid] = str(f)
            out["rfm/monetary_score"][pid] = str(m)
            score = r + f + m
            tier = "high_value" if score <= 5 else "potential" if score <= 7 else "churn_risk"
            out["rfm/tier"][pid] = tier
            if tier == "high_value":
                out["rfm/high_value"][pid] = None
        received = len(_events(shop, pid, {"coupon_received"}, t, 180))
        redeemed = len(_events(shop, pid, {"coupon_redeemed"}, t, 180))
        if received >= 5 and redeemed / received >= 0.7:
            out["preference/coupon_sensitive"][pid] = None
        if not _events(shop, pid, LOGIN, t, 90) and not paid_90 and len(paid_all) >= 2:
            out["lifecycle/churn_risk"][pid] = None
        if (p["city"] in FIRST_TIER and p["age"] is not None and 22 <= p["age"] <= 28
                and p["industry"] in {"internet", "finance", "互联网", "金融"}):
            out["demographic/first_tier_young_professional"][pid] = None
        any_order_7 = [o for o in shop.orders.get(pid, ()) if t - 7 * DAY < o["ts"] <= t]
        if _events(shop, pid, {"add_to_cart"}, t, 7) and not any_order_7:
            out["behavior/cart_no_order_7d"][pid] = None
        if _events(shop, pid, LOGIN, t) and not _events(shop, pid, LOGIN, t, 3):
            out["behavior/no_login_3d"][pid] = None
        if p["birthday"] is not None and p["birthday"].month == t.astimezone(tz).month:
            out["lifecycle/birthday_month"][pid] = None
        if p["created_at"] is not None and p["created_at"] > t - 7 * DAY and not paid_all:
            out["lifecycle/new_no_first_order_7d"][pid] = None
        active = _events(shop, pid, ACTIVITY, t, 30)
        night = [e for e in active if e[1].astimezone(tz).hour >= 22 or e[1].astimezone(tz).hour < 6]
        if len(active) >= 5 and len(night) >= 0.5 * len(active):
            out["behavior/night_active"][pid] = None
        paid_180 = _paid(shop, pid, t, 180)
        per_category = Counter(c for o in paid_180 for c in shop.categories.get(o["order_id"], ()))
        with_items = sum(1 for o in paid_180 if shop.categories.get(o["order_id"]))
        lovers = [(n, c) for c, n in per_category.items() if n >= 3 and n >= 0.6 * with_items]
        if lovers:
            out["preference/category_lover"][pid] = min(lovers, key=lambda nc: (-nc[0], nc[1]))[1]
        if (not paid_90 and paid_all and sum(o["amount"] for o in paid_all) / len(paid_all) >= 500
                and len(paid_180) >= 2):
            out["lifecycle/dormant_high_aov"][pid] = None
        if len(paid_90) >= 2 and sum(o["amount"] for o in paid_90) / len(paid_90) >= 300:
            out["behavior/repurchase_potential"][pid] = None
        if p["member_level"] in ("vip", "VIP"):
            out["member/vip"][pid] = None
        if not paid_90 and paid_all and sum(o["amount"] for o in paid_all) / len(paid_all) >= 200:
            out["lifecycle/dormant"][pid] = None
        if (not _events(shop, pid, LOGIN, t, 30) and not _paid(shop, pid, t, 30)
                and (_events(shop, pid, LOGIN, t) or paid_all)):
            out["lifecycle/inactive_30d"][pid] = None
        if not _paid(shop, pid, t, 60) and paid_all and sum(o["amount"] for o in paid_all) / len(paid_all) >= 600:
            out["lifecycle/dormant_high_aov_60d"][pid] = None
        if p["birthday"] is not None and _days_to_birthday(p["birthday"], t.astimezone(tz).date()) <= 7:
            out["lifecycle/birthday_7d"][pid] = None
            if p["member_level"] in ("vip", "VIP"):
                out["member/vip_birthday_7d"][pid] = None
        if p["created_at"] is not None and p["created_at"] > t - 14 * DAY and not paid_all:
            out["lifecycle/new_no_first_order_14d"][pid] = None
        if len(_events(shop, pid, {"coupon_redeemed"}, t, 180)) >= 3:
            out["preference/price_sensitive"][pid] = None
    return dict(out)
