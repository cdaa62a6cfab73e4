"""Source profiles: each person's 1-4 records in different channels.

A person signs up in one channel first (shop account, app, WeChat, CRM, offline
store) and may appear in others later. Each record gets its own ``profile_id``
(``shop_000123``, ``wx_000045``, ...) and its own, partly overlapping view of the
person: the shop knows the e-mail, the store the phone (sometimes the store's own
number), WeChat a nickname, the CRM a work address. Profiles are written in the
order they were created.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import vocab
from .people import Persons
from .util import DAY, gumbel_topk, pick_weighted, sub_rng

__all__ = ["Profiles", "build_profiles", "person_age"]

SRC_W = np.array([0.30, 0.27, 0.25, 0.08, 0.10])  # shop, app, wechat, crm, pos
P_EMAIL = np.array([0.92, 0.55, 0.12, 0.85, 0.35])
P_PHONE = np.array([0.75, 0.85, 0.60, 0.80, 0.95])
P_REAL = np.array([0.70, 0.35, 0.05, 0.98, 0.70])
P_NICK = np.array([0.10, 0.35, 0.85, 0.00, 0.00])
P_GENDER = np.array([0.80, 0.70, 0.60, 0.90, 0.70])
P_BIRTH = np.array([0.55, 0.40, 0.10, 0.50, 0.70])
P_CITY = np.array([0.85, 0.80, 0.60, 0.90, 0.95])
P_TZ = np.array([0.60, 0.95, 0.30, 0.50, 0.20])
P_INDUSTRY = np.array([0.35, 0.30, 0.10, 0.90, 0.20])
P_ACCOUNT = np.array([0.65, 0.50, 0.45, 1.00, 0.40])
P_LEVEL = np.array([0.90, 0.90, 0.00, 0.00, 0.90])


@dataclass
class Profiles:
    """Parallel per-profile arrays, in file order (by creation time)."""

    n: int
    person: np.ndarray
    source: np.ndarray
    created: np.ndarray
    seq: np.ndarray  # 1-based number within the source
    by_person: np.ndarray  # (persons, 5): profile index per source, -1 if none
    first: np.ndarray  # per person: the profile created first
    email_kind: np.ndarray  # -1 none, 0 personal, 1 second personal, 2 work, 3 junk
    email_style: np.ndarray  # 0 clean, 1/2 upper-cased with surrounding spaces
    phone_kind: np.ndarray  # -1 none, 0 primary, 1 secondary, 2 store's own phone
    phone_fmt: np.ndarray
    name_kind: np.ndarray  # -1 none, 0 real name, 1 nickname
    flags: dict[str, np.ndarray]
    id_width: int


def person_age(birth: np.ndarray, end: int) -> np.ndarray:
    """Age in whole years at the end of the period, from birth dates (days since epoch)."""
    b = birth.astype("datetime64[D]")
    by = b.astype("datetime64[Y]").astype(np.int64)
    e = np.datetime64(end // DAY, "D")
    ey = e.astype("datetime64[Y]").astype(np.int64)
    # compare (month, day) via month and day-of-month, not day-of-year (leap years)
    bm = b.astype("datetime64[M]").astype(np.int64) % 12
    bd = (b - b.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64)
    em = int(e.astype("datetime64[M]").astype(np.int64) % 12)
    ed = int((e - e.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64))
    before = (bm > em) | ((bm == em) & (bd > ed))
    return (ey - by - before).astype(np.int64)


def _at_least(
    rng: np.random.Generator, mask: np.ndarray, eligible: np.ndarray, k: int
) -> np.ndarray:
    """``mask`` with extra ``True`` among ``eligible`` rows until it has ``k`` of them."""
    have = int((mask & eligible).sum())
    if have < k:
        cand = np.flatnonzero(eligible & ~mask)
        if len(cand):
            mask = mask.copy()
            mask[rng.choice(cand, size=min(k - have, len(cand)), replace=False)] = True
    return mask


def build_profiles(seed: int, persons: Persons) -> Profiles:
    """Assign source profiles to persons and decide which attributes each one knows."""
    rng = sub_rng(seed, "profiles")
    p, k = persons.n, persons.n_profiles
    person = np.repeat(np.arange(p), k)
    rank = np.arange(len(person)) - np.repeat(np.cumsum(k) - k, k)
    w = np.tile(SRC_W, (p, 1))
    w[:, vocab.CRM] *= np.where(persons.account >= 0, 4.0, 1.0)
    store_city = np.array([[c[0] for c in vocab.CITIES].index(s[2]) for s in vocab.STORES])
    w[:, vocab.POS] *= np.where(store_city[persons.home_store] == persons.city, 2.0, 0.4)
    order = gumbel_topk(rng, w)
    source = order[person, rank]
    later = (
        persons.first_seen[person] + rng.exponential(90 * DAY, len(person)).astype(np.int64) + 60
    )
    room = np.maximum(persons.end - 120 - persons.first_seen[person], 1)
    late_alt = persons.first_seen[person] + 60 + (rng.random(len(person)) * room).astype(np.int64)
    created = np.where(
        rank == 0, persons.first_seen[person], np.where(later < persons.end - 60, later, late_alt)
    )
    created = np.minimum(created, persons.end - 1)
    persons.anon &= np.isin(order[:, 0], (vocab.SHOP, vocab.APP))

    srt = np.lexsort((person, created))
    person, source, created, rank = person[srt], source[srt], created[srt], rank[srt]
    n = len(person)
    seq = np.zeros(n, np.int64)
    for s in range(len(vocab.SOURCES)):
        m = source == s
        seq[m] = np.arange(1, int(m.sum()) + 1)
    by_person = np.full((p, len(vocab.SOURCES)), -1, np.int64)
    by_person[person, source] = np.arange(n)
    first = by_person[np.arange(p), order[:, 0]]

    def u() -> np.ndarray:
        return rng.random(n)

    has_acc = persons.account[person] >= 0
    has_email = u() < P_EMAIL[source]
    second = (rng.random(p) < 0.15)[person] & (u() < 0.35)
    work = has_acc & (
        ((source == vocab.CRM) & (u() < 0.6)) | ((source == vocab.SHOP) & (u() < 0.08))
    )
    email_kind = np.where(has_email, np.where(work, 2, np.where(second, 1, 0)), -1)
    online = np.isin(source, (vocab.SHOP, vocab.APP))
    junk_e = _at_least(rng, online & (u() < 0.002), online, 5 if n >= 50 else 0)
    email_kind = np.where(junk_e, 3, email_kind)
    clean = (email_kind >= 0) & (email_kind != 3)
    mixed = _at_least(rng, clean & (u() < 0.005), clean, 1 if n >= 200 else 0)
    email_style = np.where(mixed, 1 + (u() < 0.5), 0)

    has_phone = u() < P_PHONE[source]
    phone_kind = np.where(
        has_phone, np.where((rng.random(p) < 0.10)[person] & (u() < 0.5), 1, 0), -1
    )
    is_pos = source == vocab.POS
    junk_p = _at_least(rng, is_pos & (u() < 0.02), is_pos, 3 if n >= 50 else 0)
    phone_kind = np.where(junk_p, 2, phone_kind)
    cn = persons.locale[person] == 0
    phone_fmt = np.where(cn, pick_weighted(rng, [0.5, 0.2, 0.15, 0.15], n), rng.integers(0, 3, n))

    r = u()
    name_kind = np.where(
        r < P_REAL[source], 0, np.where(r < P_REAL[source] + P_NICK[source], 1, -1)
    )
    md = np.datetime_as_string(persons.birth.astype("datetime64[D]"))
    leap_day = np.char.endswith(md, "-02-29")[person]
    has_city = u() < P_CITY[source]
    flags = {
        "gender": u() < P_GENDER[source],
        "birthday": (u() < P_BIRTH[source]) | leap_day,
        "city": has_city,
        "country": has_city | (u() < 0.5),
        "timezone": u() < P_TZ[source],
        "industry": (u() < P_INDUSTRY[source]) & (persons.industry[person] >= 0),
        "account": has_acc & (u() < P_ACCOUNT[source]),
        "level": u() < P_LEVEL[source],
        "emoji": np.where(name_kind == 1, u() < 0.3, u() < 0.006),
        "nick_style": rng.integers(0, 3, n),
    }
    width = max(6, len(str(int(seq.max()) if n else 0)))
    return Profiles(
        n=n,
        person=person,
        source=source,
        created=created,
        seq=seq,
        by_person=by_person,
        first=first,
        email_kind=email_kind,
        email_style=email_style,
        phone_kind=phone_kind,
        phone_fmt=phone_fmt,
        name_kind=name_kind,
        flags=flags,
        id_width=width,
    )
