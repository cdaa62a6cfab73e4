"""Marketing-side events: e-mail and SMS campaigns, coupons, follows, identify calls.

* E-mail: every campaign targets a share of the subscribers; ``email_sent`` ->
  ``email_delivered`` (not for bounced addresses) -> ``email_opened`` (rarely once a
  person has churned) -> ``email_clicked``.
* SMS: ``sms_sent`` to opted-in phone numbers.
* Coupons: ``coupon_received`` at a low rate for everybody with an online profile, a
  welcome coupon at sign-up, and a high rate for the coupon-sensitive group, who also
  redeem most of them. Each redemption becomes a purchase session in
  :mod:`.events` (``order_paid`` + ``coupon_redeemed`` with the coupon id).
* ``wechat_follow`` when a WeChat profile follows the official account, and
  ``identify`` when an anonymous visitor signs up (carries both ids).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import vocab
from .model import ET, SOURCE_CHANNEL, Batch, World, batch, uid
from .util import DAY

__all__ = ["COUPON_VALUES", "Forced", "marketing_events"]

COUPON_VALUES = np.array([10, 20, 30, 50, 100])


@dataclass
class Forced:
    """Purchase sessions caused by coupon redemptions."""

    person: np.ndarray
    t: np.ndarray
    coupon: np.ndarray  # coupon uid


def _email(w: World, rng: np.random.Generator, pers: np.ndarray) -> list[Batch]:
    P, prof, L, C = w.persons, w.profiles, w.links, w.campaigns
    ep = L.email_profile[pers]
    has = ep >= 0
    pe, epr, bounced = pers[has], ep[has], L.email_bounced[pers][has]
    since = np.maximum(w.start, prof.created[epr])
    engage = np.exp(0.5 * rng.standard_normal(len(pe)))
    reach = C.email_reach[None, :] * np.minimum(engage[:, None], 2.5)
    m = (C.email_time[None, :] >= since[:, None]) & (
        rng.random((len(pe), len(C.email_time))) < reach
    )
    i, j = np.nonzero(m)
    n = len(i)
    sent = C.email_time[j] + rng.integers(0, 3600, n)
    delivered = ~bounced[i] & (rng.random(n) < 0.97)
    d_t = sent + rng.integers(2, 120, n)
    person = pe[i]
    active = (sent >= P.first_seen[person]) & (sent < P.churn_at[person])
    opened = delivered & (rng.random(n) < np.where(active, 0.22 * engage[i], 0.02))
    o_t = d_t + 30 + rng.exponential(2 * 3600, n).astype(np.int64)
    clicked = opened & (rng.random(n) < 0.25)
    c_t = o_t + rng.integers(5, 600, n)
    p = epr[i]
    src = prof.source[p]
    out = []
    for et, mask, t in (
        ("email_sent", np.ones(n, bool), sent),
        ("email_delivered", delivered, d_t),
        ("email_opened", opened, o_t),
        ("email_clicked", clicked, c_t),
    ):
        out.append(
            batch(
                int(mask.sum()),
                et=ET[et],
                ts=t[mask],
                prof=p[mask],
                ch=vocab.CH_EMAIL,
                src=src[mask],
                campaign=j[mask],
            )
        )
    return out


def _sms(w: World, rng: np.random.Generator, pers: np.ndarray) -> Batch:
    prof, L, C = w.profiles, w.links, w.campaigns
    sp = L.sms_profile[pers]
    spr = sp[sp >= 0]
    since = np.maximum(w.start, prof.created[spr])
    m = (C.sms_time[None, :] >= since[:, None]) & (
        rng.random((len(spr), len(C.sms_time))) < C.sms_reach[None, :]
    )
    i, j = np.nonzero(m)
    t = C.sms_time[j] + rng.integers(0, 1800, len(i))
    return batch(
        len(i),
        et=ET["sms_sent"],
        ts=t,
        prof=spr[i],
        ch=vocab.CH_SMS,
        src=prof.source[spr[i]],
        campaign=w.sms_offset + j,
    )


def _coupons(
    w: World, rng: np.random.Generator, pers: np.ndarray, chunk: int
) -> tuple[Batch, Forced]:
    P, prof = w.persons, w.profiles
    op = w.online_profile[pers]
    has = op >= 0
    pc_, opr = pers[has], op[has]
    t0 = np.maximum(w.start, prof.created[opr])
    rate = np.where(P.coupon[pc_], 1.6, 0.25) / 30.0
    k = rng.poisson(rate * (w.end - t0) / DAY)
    li = np.repeat(np.arange(len(pc_)), k)
    t = t0[li] + (rng.random(len(li)) * (w.end - t0[li])).astype(np.int64)
    month = t.astype("datetime64[s]").astype("datetime64[M]").astype(np.int64)
    camp = month - w.campaigns.coupon_month0 + 1
    welcome = np.flatnonzero((prof.created[opr] >= w.start) & (rng.random(len(pc_)) < 0.7))
    li = np.concatenate([li, welcome])
    t = np.concatenate([t, prof.created[opr[welcome]] + 120])
    camp = np.concatenate([camp, np.zeros(len(welcome), np.int64)])
    n = len(li)
    person = pc_[li]
    p_red = np.where(P.coupon[person], 0.85, np.where(camp == 0, 0.35, 0.12))
    rt = t + (rng.uniform(0.1, 5.0, n) * DAY).astype(np.int64)
    redeemed = (rng.random(n) < p_red) & (rt < np.minimum(w.end, P.churn_at[person]))
    cid = uid(chunk, n, w.id_key ^ 0x0C)
    value = rng.integers(0, len(COUPON_VALUES), n)
    p = opr[li]
    got = batch(
        n,
        et=ET["coupon_received"],
        ts=t,
        prof=p,
        ch=SOURCE_CHANNEL[prof.source[p]],
        src=prof.source[p],
        coupon=cid,
        campaign=w.coupon_offset + camp,
        amount=COUPON_VALUES[value] * 100,
        aux2=COUPON_VALUES[value] * rng.choice([5, 10], n),
    )
    return got, Forced(person=person[redeemed], t=rt[redeemed], coupon=cid[redeemed])


def marketing_events(
    w: World, rng: np.random.Generator, pers: np.ndarray, chunk: int
) -> tuple[list[Batch], Forced]:
    """Campaign, coupon, follow and identify events of persons ``pers``."""
    P, prof, L = w.persons, w.profiles, w.links
    out = _email(w, rng, pers)
    out.append(_sms(w, rng, pers))
    coupons, forced = _coupons(w, rng, pers, chunk)
    out.append(coupons)
    lo, hi = (int(pers[0]), int(pers[-1]) + 1) if len(pers) else (0, 0)
    fp = prof.person[L.follow_profile]
    f = (fp >= lo) & (fp < hi)
    out.append(
        batch(
            int(f.sum()),
            et=ET["wechat_follow"],
            ts=L.follow_time[f],
            prof=L.follow_profile[f],
            ch=vocab.CH_WECHAT,
            src=vocab.WECHAT,
            aux=rng.integers(0, len(vocab.SUBSCRIBE_SCENES), int(f.sum())),
        )
    )
    ident = pers[P.anon[pers] & (P.first_seen[pers] >= w.start)]
    first = prof.first[ident]
    out.append(
        batch(
            len(ident),
            et=ET["identify"],
            ts=P.first_seen[ident],
            prof=first,
            aid=ident,
            ch=SOURCE_CHANNEL[prof.source[first]],
            src=prof.source[first],
        )
    )
    return out, forced
