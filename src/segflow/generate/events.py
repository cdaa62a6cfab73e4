"""Behaviour simulation: sessions, funnels and orders, one chunk of persons at a time.

A person is active between sign-up (or their first anonymous visit) and churn.
Sessions arrive as a Poisson process at the person's own rate (log-normal, so a few
people are very active and many nearly idle), on days weighted by the calendar
(weekends, festivals) and at local hours from an evening-heavy profile (or the
22:00-03:00 profile of night-active users). Each session walks the funnel
``page_view -> view_product -> add_to_cart -> checkout -> order_paid`` with drop-off
at every step; a checkout creates an order (``cancelled`` when never paid). Coupon
redemptions (from :mod:`.marketing`) add sessions that always buy. Anonymous-only
visitors browse without ever signing up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import vocab
from .catalog import HOURS_DAY, HOURS_NIGHT
from .marketing import Forced, marketing_events
from .model import CHANNEL_SOURCE, ET, Batch, World, batch, concat, uid
from .util import DAY, pick_weighted, sub_rng

__all__ = ["CANCELLED", "PAID", "REFUNDED", "RETURNED", "Orders", "simulate_chunk"]

PAID, REFUNDED, RETURNED, CANCELLED = range(4)
WEB, APP, WECHAT, STORE = range(4)
SESSION_SOURCES = (vocab.SHOP, vocab.APP, vocab.WECHAT, vocab.POS)
CHANNEL_WEIGHT = np.array([0.7, 1.0, 0.6, 0.15])
BLOCKS = (
    "app_open",
    "login",
    "page_view",
    "search",
    "view_product",
    "add_to_cart",
    "checkout",
    "order_paid",
    "coupon_redeemed",
)
BLOCK_ET = np.array([ET[b] for b in BLOCKS], np.int8)


@dataclass
class Orders:
    """Orders and their items of one chunk (numeric)."""

    uid: np.ndarray
    prof: np.ndarray
    ts: np.ndarray
    amount: np.ndarray  # cents in the order currency
    status: np.ndarray
    cur: np.ndarray
    ch: np.ndarray  # session channel code
    store: np.ndarray  # -1 online
    item_order: np.ndarray  # index into the orders above
    item_sku: np.ndarray
    item_qty: np.ndarray
    item_price: np.ndarray
    item_cat: np.ndarray


def _session_times(
    w: World,
    rng: np.random.Generator,
    person: np.ndarray,
    lo_t: np.ndarray,
    hi_t: np.ndarray,
    counts: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """``counts[i]`` session start times for each window [lo_t, hi_t) of ``person``."""
    cal = w.calendar
    li = np.repeat(np.arange(len(person)), counts)
    sp = person[li]
    lo, hi = cal.cdf(lo_t)[li], cal.cdf(hi_t)[li]
    day = cal.day_of(lo + rng.random(len(li)) * (hi - lo))
    night = w.persons.night[sp] if len(sp) else np.zeros(0, bool)
    hour = np.where(
        night, pick_weighted(rng, HOURS_NIGHT, len(li)), pick_weighted(rng, HOURS_DAY, len(li))
    )
    t = w.start + day * DAY + (hour - w.tz[sp]) * 3600 + rng.integers(0, 3600, len(li))
    return t, li


def _person_sessions(
    w: World, rng: np.random.Generator, pers: np.ndarray, forced: Forced
) -> dict[str, np.ndarray]:
    P, prof = w.persons, w.profiles
    ws = np.maximum(w.start, P.first_seen[pers])
    we = np.minimum(w.end, P.churn_at[pers])
    dur = np.maximum(we - ws, 0) / DAY
    t, li = _session_times(w, rng, pers, ws, we, rng.poisson(P.rate[pers] * dur))
    keep = (t >= ws[li]) & (t < we[li])
    # people who browse anonymously before signing up: a few visits in the days before
    an = pers[P.anon[pers] & (P.first_seen[pers] > P.anon_start[pers])]
    k = 1 + rng.poisson(1.5, len(an))
    ai = np.repeat(np.arange(len(an)), k)
    at = P.anon_start[an][ai] + (
        rng.random(len(ai)) * (P.first_seen[an] - P.anon_start[an])[ai]
    ).astype(np.int64)
    sp = np.concatenate([pers[li[keep]], an[ai], forced.person])
    t = np.concatenate([t[keep], at, forced.t])
    coupon = np.concatenate([np.zeros(len(t) - len(forced.t), np.int64), forced.coupon])  # 0 = none
    is_forced = coupon != 0
    bp = prof.by_person[sp][:, SESSION_SOURCES]  # (sessions, 4) profile per channel
    avail = (bp >= 0) & (prof.created[bp] <= t[:, None])
    with np.errstate(divide="ignore"):  # weighted pick among the available channels
        keys = np.log(CHANNEL_WEIGHT * avail) - np.log(-np.log(rng.random(avail.shape)))
    ch = keys.argmax(axis=1) if len(t) else np.zeros(0, np.int64)
    has = avail.any(axis=1)
    p = np.where(has, bp[np.arange(len(t)), ch], -1)
    first_src = prof.source[prof.first[sp]]
    first_ch = np.where(first_src == vocab.APP, APP, WEB)
    anon_phase = P.anon[sp] & (t < P.first_seen[sp])
    ch = np.where(anon_phase, first_ch, ch)
    p = np.where(anon_phase, -1, p)
    # shops are visited less often than the app: most store draws are no visit at all
    ok = (has | anon_phase) & ((ch != STORE) | is_forced | (rng.random(len(t)) < 0.25))
    aid = np.where(P.anon[sp] & (ch == first_ch), sp, -1)
    return {
        "person": sp[ok],
        "t": t[ok],
        "ch": ch[ok],
        "prof": p[ok],
        "aid": aid[ok],
        "coupon": coupon[ok],
        "forced": is_forced[ok],
    }


def _visitor_sessions(
    w: World, rng: np.random.Generator, v0: int, v1: int
) -> dict[str, np.ndarray]:
    """Anonymous visitors who never sign up: a few sessions within a few days."""
    n = v1 - v0
    cal = w.calendar
    first = w.start + cal.day_of(rng.random(n) * cal.cum[-1]) * DAY
    k = 1 + rng.poisson(0.8, n)
    vi = np.repeat(np.arange(n), k)
    t = first[vi] + (
        rng.exponential(3 * DAY, len(vi))
        + pick_weighted(rng, HOURS_DAY, len(vi)) * 3600
        - 8 * 3600
        + rng.integers(0, 3600, len(vi))
    ).astype(np.int64)
    ok = (t >= w.start) & (t < w.end)
    m = int(ok.sum())
    return {
        "person": np.full(m, -1, np.int64),
        "t": t[ok],
        "ch": (rng.random(m) < 0.3).astype(np.int64),
        "prof": np.full(m, -1, np.int64),
        "aid": w.persons.n + v0 + vi[ok],
        "coupon": np.zeros(m, np.int64),
        "forced": np.zeros(m, bool),
    }


def _scatter(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Event layout: for each (session, block, k) the event's position, session and k."""
    s, nb = counts.shape
    tot = counts.sum(axis=1)
    starts = np.cumsum(tot) - tot
    offs = np.cumsum(counts, axis=1) - counts
    e = int(tot.sum())
    sess = np.empty(e, np.int64)
    block = np.empty(e, np.int64)
    kk = np.empty(e, np.int64)
    for b in range(nb):  # nine fixed funnel blocks
        c = counts[:, b]
        sb = np.repeat(np.arange(s), c)
        kb = np.arange(len(sb)) - np.repeat(np.cumsum(c) - c, c)
        dest = starts[sb] + offs[sb, b] + kb
        sess[dest], block[dest], kk[dest] = sb, b, kb
    return sess, block, kk


def _pick_sku(
    w: World, rng: np.random.Generator, person: np.ndarray, premium: np.ndarray
) -> np.ndarray:
    cat = w.catalog
    P = w.persons
    pp = np.maximum(person, 0)
    fav_p = np.where(person < 0, 0.0, np.where(P.cat_lover[pp], 0.8, 0.3))
    c = np.where(
        rng.random(len(person)) < fav_p,
        P.fav_cat[pp],
        pick_weighted(rng, cat.cat_weight, len(person)),
    )
    u = np.where(premium, 0.7 + 0.3 * rng.random(len(person)), rng.random(len(person)) ** 1.3)
    return cat.cat_offset[c] + np.minimum(
        (u * cat.cat_size[c]).astype(np.int64), cat.cat_size[c] - 1
    )


def simulate_chunk(
    w: World, chunk: int, p0: int, p1: int, v0: int, v1: int
) -> tuple[Batch, np.ndarray, Orders]:
    """All events and orders of persons [p0, p1) and anonymous visitors [v0, v1).

    Returns the events (unordered), the row order that sorts them by time (events
    outside the period left out) and the orders.
    """
    rng = sub_rng(w.seed, "events", chunk)
    P, cat = w.persons, w.catalog
    pers = np.arange(p0, p1)
    mk, forced = marketing_events(w, rng, pers, chunk)
    a = _person_sessions(w, rng, pers, forced)
    b = _visitor_sessions(w, rng, v0, v1)
    s = {k: np.concatenate([a[k], b[k]]) for k in a}
    n = len(s["t"])
    ch, prof, person, forced_s = s["ch"], s["prof"], s["person"], s["forced"]
    pp = np.maximum(person, 0)
    ident = prof >= 0
    online = ch != STORE
    loyal = P.loyal[pp] & (person >= 0)

    def r() -> np.ndarray:
        return rng.random(n)

    def geo(p: float) -> np.ndarray:
        return np.minimum(rng.geometric(p, n), 20)

    n_pv = np.select([ch == WEB, ch == APP, ch == WECHAT], [geo(0.45), geo(0.6) - 1, geo(0.5)], 0)
    p_cart = np.where(~ident, 0.08, np.where(loyal, 0.55, 0.16 * P.cart_prop[pp]))
    cart = online & ((r() < p_cart) | forced_s)
    items = np.where(
        ch == STORE, 1 + rng.binomial(3, 0.3, n), np.where(cart, 1 + rng.binomial(2, 0.25, n), 0)
    )
    checkout = cart & ident & ((r() < np.where(loyal, 0.85, 0.5)) | forced_s)
    paid = (checkout & ((r() < np.where(loyal, 0.95, 0.85)) | forced_s)) | (ch == STORE)
    counts = np.stack(
        [
            (ch == APP),
            ident & online & (r() < np.select([ch == WEB, ch == APP], [0.35, 0.08], 0.05)),
            n_pv,
            online * (r() < 0.3) * (1 + (r() < 0.25)),
            np.where(online, np.maximum(geo(0.4), items), 0),
            np.where(online, items, 0),
            checkout,
            paid,
            paid & (s["coupon"] != 0),
        ],
        axis=1,
    ).astype(np.int64)
    sess, block, k = _scatter(counts)
    e = len(sess)
    gaps = (3 + rng.exponential(35.0, e)).astype(np.int64)
    first_ev = np.concatenate([[True], sess[1:] != sess[:-1]]) if e else np.zeros(0, bool)
    gaps[first_ev] = 0
    tc = np.cumsum(gaps)
    ts = s["t"][sess] + tc - tc[np.flatnonzero(first_ev)][np.cumsum(first_ev) - 1]
    # a session running past the end of the period is moved back to end before it
    last = np.full(n, np.iinfo(np.int64).min)
    np.maximum.at(last, sess, ts)
    ts -= np.maximum(last - (w.end - 1), 0)[sess]

    # items of every cart / store purchase; the first viewed products are the cart items
    item_sess = np.repeat(np.arange(n), items)
    item_start = np.cumsum(items) - items
    isku = _pick_sku(w, rng, person[item_sess], loyal[item_sess])
    cur = np.where(person >= 0, w.currency[pp], 0)
    fx = np.array([c[1] for c in vocab.CURRENCIES])
    iprice = np.round(cat.price[isku] * fx[cur[item_sess]]).astype(np.int64)
    iqty = (
        pick_weighted(rng, [0.8, 0.15, 0.05], len(item_sess))
        + 1
        + loyal[item_sess] * rng.integers(0, 2, len(item_sess))
    )
    has_order = checkout | paid
    order_of = np.cumsum(has_order) - 1
    osess = np.flatnonzero(has_order)
    ouid = uid(chunk, len(osess), w.id_key ^ 0x0A)
    in_order = has_order[item_sess]
    oamount = (
        np.bincount(
            order_of[item_sess[in_order]], weights=(iqty * iprice)[in_order], minlength=len(osess)
        )
        .round()
        .astype(np.int64)
    )

    ev = batch(
        e,
        et=BLOCK_ET[block],
        ts=ts,
        prof=prof[sess],
        aid=s["aid"][sess],
        ch=ch[sess],
        src=CHANNEL_SOURCE[ch[sess]],
        cur=cur[sess],
    )
    es = sess
    product = (block == 4) | (block == 5)
    is_item = product & (k < items[es])
    it = np.minimum(item_start[es] + k, max(len(isku) - 1, 0))
    other = _pick_sku(w, rng, person[es], np.zeros(e, bool))
    sku = np.where(is_item, isku[it] if len(isku) else 0, other)
    ev["sku"] = np.where(product, sku, -1)
    ev["price"] = np.where(product, np.round(cat.price[sku] * fx[cur[es]]), 0).astype(np.int64)
    ev["qty"] = np.where(block == 5, iqty[it] if len(iqty) else 1, 0)
    o_idx = np.maximum(order_of[es], 0)
    oe = (block >= 6) & has_order[es]
    ev["order"] = np.where(oe, ouid[o_idx] if len(ouid) else 0, 0)
    ev["amount"] = np.where(oe, oamount[o_idx] if len(ouid) else 0, 0)
    ev["coupon"] = np.where(block >= 7, s["coupon"][es], 0)
    ev["store"] = np.where((block == 7) & (ch[es] == STORE), P.home_store[pp[es]], -1)
    # page views: a category page (60 %) or the home page; searches: a word of the favourite category
    pv, search = block == 2, block == 3
    pv_cat = np.where(rng.random(e) < 0.6, pick_weighted(rng, cat.cat_weight, e), -1)
    q_cat = np.where(
        (rng.random(e) < 0.7) & (person[es] >= 0),
        P.fav_cat[pp[es]],
        pick_weighted(rng, cat.cat_weight, e),
    )
    ev["cat"] = np.select([product, pv, search], [cat.category[sku], pv_cat, q_cat], -1)
    ev["aux2"] = np.select(
        [block == 6, search],
        [items[es], cat.noun_offset[q_cat] + rng.integers(0, 1 << 20, e) % cat.noun_count[q_cat]],
        0,
    )
    ev["aux"] = np.select(
        [pv, block == 1, block == 0, block == 7],
        [
            pick_weighted(rng, [5, 3, 2, 3, 2, 1, 1, 1, 1], e),
            rng.integers(0, 4, e),
            rng.integers(0, 3, e),
            np.where(ch[es] == STORE, 3, rng.integers(0, 3, e)),
        ],
        0,
    )

    # orders: paid, cancelled, later returned or refunded
    paid_pos = np.full(n, -1)
    paid_pos[es[block == 7]] = np.flatnonzero(block == 7)
    co_pos = np.full(n, -1)
    co_pos[es[block == 6]] = np.flatnonzero(block == 6)
    o_ts = (
        ts[np.where(paid[osess], paid_pos[osess], co_pos[osess])]
        if len(osess)
        else np.zeros(0, np.int64)
    )
    ro = rng.random(len(osess))
    ret_t = o_ts + rng.integers(DAY, 10 * DAY, len(osess))
    status = np.where(paid[osess], PAID, CANCELLED)
    status = np.where(paid[osess] & (ro < 0.045) & (ret_t < w.end), RETURNED, status)
    status = np.where(
        paid[osess] & (ro >= 0.045) & (ro < 0.075) & (ret_t < w.end), REFUNDED, status
    )
    rr = np.flatnonzero(status == RETURNED)
    returns = batch(
        len(rr),
        et=ET["return_requested"],
        ts=ret_t[rr],
        prof=prof[osess[rr]],
        ch=ch[osess[rr]],
        src=CHANNEL_SOURCE[ch[osess[rr]]],
        order=ouid[rr],
        aux=rng.integers(0, len(vocab.RETURN_REASONS), len(rr)),
    )
    orders = Orders(
        uid=ouid,
        prof=prof[osess],
        ts=o_ts,
        amount=oamount,
        status=status,
        cur=cur[osess],
        ch=ch[osess],
        store=np.where(ch[osess] == STORE, P.home_store[pp[osess]], -1),
        item_order=order_of[item_sess[in_order]],
        item_sku=isku[in_order],
        item_qty=iqty[in_order],
        item_price=iprice[in_order],
        item_cat=cat.category[isku[in_order]],
    )
    allev = concat([ev, returns, *mk])
    keep = np.flatnonzero((allev["ts"] >= w.start) & (allev["ts"] < w.end))
    return allev, keep[np.argsort(allev["ts"][keep], kind="stable")], orders
