"""The shop's world outside the customers: product catalog, calendar and campaigns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import vocab
from .util import DAY, sub_rng

__all__ = ["Calendar", "Campaigns", "Catalog", "build_calendar", "build_campaigns", "build_catalog"]

SKUS_PER_CATEGORY = 150

#: Relative activity by local hour (0-23) for ordinary users: evenings are busiest.
HOURS_DAY = np.array(
    [
        0.25,
        0.12,
        0.06,
        0.04,
        0.03,
        0.05,
        0.15,
        0.45,
        0.70,
        0.80,
        0.85,
        0.90,
        1.10,
        1.00,
        0.80,
        0.80,
        0.85,
        0.95,
        1.05,
        1.30,
        1.60,
        1.70,
        1.40,
        0.80,
    ]
)
#: Night-active users: about three quarters of their sessions fall in 22:00-03:00.
HOURS_NIGHT = np.array(
    [
        3.5,
        3.0,
        2.5,
        1.5,
        0.2,
        0.1,
        0.1,
        0.2,
        0.2,
        0.2,
        0.2,
        0.2,
        0.3,
        0.3,
        0.2,
        0.2,
        0.2,
        0.2,
        0.3,
        0.3,
        0.4,
        0.5,
        3.0,
        3.5,
    ]
)
#: Monday .. Sunday.
WEEKDAY = np.array([0.90, 0.90, 0.95, 1.00, 1.10, 1.35, 1.30])

_CNY = np.array(
    [
        "2015-02-19",
        "2016-02-08",
        "2017-01-28",
        "2018-02-16",
        "2019-02-05",
        "2020-01-25",
        "2021-02-12",
        "2022-02-01",
        "2023-01-22",
        "2024-02-10",
        "2025-01-29",
        "2026-02-17",
        "2027-02-06",
        "2028-01-26",
        "2029-02-13",
        "2030-02-03",
        "2031-01-23",
        "2032-02-11",
        "2033-01-31",
        "2034-02-19",
        "2035-02-08",
    ],
    dtype="datetime64[D]",
)


@dataclass
class Catalog:
    """Products: ``sku``/``name``/``category`` strings and ``price`` in CNY cents."""

    sku: pa.Array
    name: pa.Array
    category_name: pa.Array
    category: np.ndarray  # int per sku
    price: np.ndarray  # int64 cents
    cat_offset: np.ndarray  # first sku index of each category
    cat_size: np.ndarray
    cat_weight: np.ndarray  # popularity of each category (normalised)
    nouns: pa.Array  # search words
    noun_offset: np.ndarray
    noun_count: np.ndarray


def build_catalog(seed: int) -> Catalog:
    """About 1,500 products in 10 categories, priced like a Chinese online shop."""
    rng = sub_rng(seed, "catalog")
    skus: list[pa.Array] = []
    names: list[pa.Array] = []
    cats: list[np.ndarray] = []
    prices: list[np.ndarray] = []
    offsets: list[int] = []
    sizes: list[int] = []
    nouns: list[str] = []
    noun_off: list[int] = []
    noun_cnt: list[int] = []
    off = 0
    for ci, (_cat, prefix, _w, median, sigma, brands, words) in enumerate(vocab.CATEGORIES):
        n = SKUS_PER_CATEGORY
        yuan = np.exp(np.log(median) + sigma * rng.standard_normal(n))
        # shop prices: 199, 299 for larger amounts, 59.90 for small ones
        cents = np.where(
            yuan >= 100,
            (np.round(yuan / 10) * 10 - 1) * 100,
            np.maximum(np.round(yuan) * 100 - 10, 490),
        ).astype(np.int64)
        cents.sort()  # index order = price order: the top of a category is premium
        b = rng.integers(0, len(brands), n)
        w = rng.integers(0, len(words), n)
        v = rng.integers(0, len(vocab.VARIANTS), n)
        num = pc.utf8_lpad(pc.cast(pa.array(np.arange(10001, 10001 + n)), pa.string()), 5, "0")
        skus.append(pc.binary_join_element_wise(prefix, "-", num, ""))
        names.append(
            pc.binary_join_element_wise(
                pc.take(pa.array(brands), pa.array(b)),
                " ",
                pc.take(pa.array(words), pa.array(w)),
                pc.take(pa.array(vocab.VARIANTS), pa.array(v)),
                "",
            )
        )
        cats.append(np.full(n, ci))
        prices.append(cents)
        offsets.append(off)
        sizes.append(n)
        off += n
        noun_off.append(len(nouns))
        noun_cnt.append(len(words))
        nouns.extend(words)
    weights = np.array([c[2] for c in vocab.CATEGORIES])
    return Catalog(
        sku=pa.concat_arrays(skus),
        name=pa.concat_arrays(names),
        category_name=pa.array([c[0] for c in vocab.CATEGORIES]),
        category=np.concatenate(cats),
        price=np.concatenate(prices),
        cat_offset=np.array(offsets),
        cat_size=np.array(sizes),
        cat_weight=weights / weights.sum(),
        nouns=pa.array(nouns),
        noun_offset=np.array(noun_off),
        noun_count=np.array(noun_cnt),
    )


@dataclass
class Calendar:
    """Day weights of the simulated period (weekends, 618, Double 11, Spring Festival)."""

    start: int  # epoch seconds, 00:00 UTC of the first day
    end: int  # epoch seconds (exclusive)
    weight: np.ndarray  # per day
    cum: np.ndarray  # len days + 1, cumulative weight at each day start

    def cdf(self, t: np.ndarray) -> np.ndarray:
        """Cumulative day weight at epoch seconds ``t`` (clipped to the period)."""
        x = (np.clip(t, self.start, self.end) - self.start) / DAY
        d = np.minimum(x.astype(np.int64), len(self.weight) - 1)
        return self.cum[d] + self.weight[d] * (x - d)

    def day_of(self, u: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`cdf` at day resolution: the day index holding ``u``."""
        d = np.searchsorted(self.cum, u, side="right") - 1
        return np.clip(d, 0, len(self.weight) - 1)


def _days(start: int, n: int) -> np.ndarray:
    return (np.datetime64(start // DAY, "D") + np.arange(n)).astype("datetime64[D]")


def build_calendar(start: int, end: int) -> Calendar:
    """Weights per day: weekday rhythm times shopping festivals and holidays."""
    n = (end - start) // DAY
    days = _days(start, n)
    dnum = days.astype(np.int64)
    w = WEEKDAY[(dnum + 3) % 7].copy()
    month = (days.astype("datetime64[M]").astype(np.int64) % 12) + 1
    dom = (days - days.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    w *= np.where((month == 6) & (dom <= 18), 1.3, 1.0) * np.where(
        (month == 6) & (dom == 18), 2.0, 1.0
    )
    w *= np.where((month == 11) & (dom <= 11), 1.4, 1.0) * np.where(
        (month == 11) & (dom == 11), 2.5, 1.0
    )
    w *= np.where((month == 12) & (dom == 12), 1.8, 1.0) * np.where(
        (month == 3) & (dom == 8), 1.6, 1.0
    )
    for cny in _CNY:
        delta = (days - cny).astype(np.int64)
        w *= np.where((delta >= -2) & (delta <= 5), 0.6, 1.0)
    cum = np.concatenate([[0.0], np.cumsum(w)])
    return Calendar(start=start, end=end, weight=w, cum=cum)


@dataclass
class Campaigns:
    """Campaign names and send times (epoch seconds), per kind."""

    email_name: pa.Array
    email_time: np.ndarray
    email_reach: np.ndarray  # fraction of subscribers targeted
    sms_name: pa.Array
    sms_time: np.ndarray
    sms_reach: np.ndarray
    coupon_name: pa.Array  # index 0 = welcome coupon, then one per month of the period
    coupon_month0: int  # month number (since 1970) of coupon_name[1]


def build_campaigns(start: int, end: int) -> Campaigns:
    """Weekly newsletter, festival promotions, member days, SMS flash sales, coupons."""
    n = (end - start) // DAY
    days = _days(start, n)
    dnum = days.astype(np.int64)
    wd = (dnum + 3) % 7
    months = days.astype("datetime64[M]")
    dom = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
    mon = months.astype(np.int64) % 12 + 1
    ymd = np.datetime_as_string(days, unit="D")
    yyyy = pc.utf8_slice_codeunits(pa.array(ymd), 0, 4)
    compact = pc.replace_substring(pa.array(ymd), "-", "")
    at10 = dnum * DAY + 2 * 3600  # 10:00 Asia/Shanghai
    festival = pc.case_when(
        pc.make_struct(
            pa.array((mon == 3) & (dom == 6)),
            pa.array((mon == 6) & np.isin(dom, (10, 17))),
            pa.array((mon == 11) & np.isin(dom, (1, 10))),
            pa.array((mon == 12) & (dom == 10)),
        ),
        pc.binary_join_element_wise("womens_day_", yyyy, ""),
        pc.binary_join_element_wise("618_", yyyy, ""),
        pc.binary_join_element_wise("double11_", yyyy, ""),
        pc.binary_join_element_wise("double12_", yyyy, ""),
    )
    is_fest = pc.is_valid(festival).to_numpy(zero_copy_only=False)
    cny = np.isin(days, _CNY - np.timedelta64(10, "D"))
    member = dom == 8
    weekly = wd == 1
    names = pc.case_when(
        pc.make_struct(pa.array(is_fest), pa.array(cny), pa.array(member), pa.array(weekly)),
        festival,
        pc.binary_join_element_wise("spring_festival_", yyyy, ""),
        pc.binary_join_element_wise("member_day_", pc.utf8_slice_codeunits(compact, 0, 6), ""),
        pc.binary_join_element_wise("newsletter_", compact, ""),
    )
    reach = np.select([is_fest, cny, member, weekly], [0.6, 0.5, 0.25, 0.3], 0.0)
    sel = np.flatnonzero(reach > 0)
    flash = (wd == 4) & ((dnum // 7) % 2 == 0)
    sms_sel = np.flatnonzero(is_fest | cny | flash)
    sms_names = pc.if_else(
        pa.array(flash), pc.binary_join_element_wise("flash_sale_", compact, ""), names
    )
    month_ids = np.unique(months.astype(np.int64))
    m0 = int(month_ids[0]) if len(month_ids) else 0
    mstr = np.datetime_as_string(np.arange(m0, m0 + max(len(month_ids), 1)).astype("datetime64[M]"))
    coupon_names = pa.concat_arrays(
        [
            pa.array(["welcome_coupon"]),
            pc.binary_join_element_wise(
                "coupon_", pc.replace_substring(pa.array(mstr), "-", "_"), ""
            ),
        ]
    )
    return Campaigns(
        email_name=pc.take(names, pa.array(sel)),
        email_time=at10[sel],
        email_reach=reach[sel],
        sms_name=pc.take(sms_names, pa.array(sms_sel)),
        sms_time=at10[sms_sel] + 4 * 3600,
        sms_reach=np.where(flash[sms_sel], 0.15, 0.3),
        coupon_name=coupon_names,
        coupon_month0=m0,
    )
