"""Real persons behind the source profiles, and the B2B companies some work for.

Everything is drawn per person with numpy, as parallel arrays (one element per
person). Strings are built later (``profiles.py``); here a person is numbers only:
locale, name parts, birthday, city, industry, employer account, the moment they
first appeared, when they churn, and behavioural traits (activity rate, night-active,
coupon-sensitive, loyal high-value buyer, favourite category).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import vocab
from .util import DAY, lookup, pick_weighted, sub_rng

__all__ = [
    "TIER_NAMES",
    "Accounts",
    "Persons",
    "accounts_table",
    "build_accounts",
    "build_persons",
    "split_profiles",
]

LOCALE_CN, LOCALE_RU, LOCALE_WEST = 0, 1, 2
TIER_NAMES = ("normal", "silver", "gold", "vip")
PROFILES_PER_PERSON = np.array([0.55, 0.27, 0.13, 0.05])


@dataclass
class Persons:
    """Parallel per-person arrays (length ``n``)."""

    n: int
    start: int
    end: int
    locale: np.ndarray
    female: np.ndarray
    surname: np.ndarray  # index into the locale's surname list
    given1: np.ndarray  # CN: first given character; RU/West: first name
    given2: np.ndarray  # CN: second given character or -1
    birth: np.ndarray  # days since 1970-01-01
    city: np.ndarray
    industry: np.ndarray  # -1 = unknown
    account: np.ndarray  # -1 = none
    first_seen: np.ndarray  # epoch seconds
    churn_at: np.ndarray  # epoch seconds; > end means still active
    rate: np.ndarray  # sessions per active day
    cart_prop: np.ndarray  # multiplier of add-to-cart probability
    night: np.ndarray
    coupon: np.ndarray
    loyal: np.ndarray
    cat_lover: np.ndarray
    fav_cat: np.ndarray
    tier: np.ndarray
    anon: np.ndarray  # browsed anonymously before signing up
    anon_start: np.ndarray
    n_profiles: np.ndarray
    home_store: np.ndarray
    n_accounts: int


def split_profiles(rng: np.random.Generator, n_profiles: int) -> np.ndarray:
    """Number of source profiles of each person, summing exactly to ``n_profiles``."""
    mean = float((PROFILES_PER_PERSON * np.arange(1, 5)).sum())
    guess = int(n_profiles / mean * 1.3) + 8
    k = pick_weighted(rng, PROFILES_PER_PERSON, guess) + 1
    while k.sum() < n_profiles:  # practically never: one more batch
        k = np.concatenate([k, pick_weighted(rng, PROFILES_PER_PERSON, guess) + 1])
    cum = np.cumsum(k)
    p = int(np.searchsorted(cum, n_profiles)) + 1
    k = k[:p].copy()
    k[-1] -= int(cum[p - 1] - n_profiles)
    return k


def _ages(rng: np.random.Generator, n: int) -> np.ndarray:
    part = pick_weighted(rng, [0.42, 0.43, 0.15], n)
    mu = np.array([27.0, 36.0, 52.0])[part]
    sd = np.array([4.0, 7.0, 8.0])[part]
    return np.clip(rng.normal(mu, sd), 16, 85)


def _cities(rng: np.random.Generator, locale: np.ndarray) -> np.ndarray:
    n = len(locale)
    cities = vocab.CITIES
    w = np.array([c[5] for c in cities])
    country = np.array([c[2] for c in cities])
    cn = pick_weighted(rng, np.where(country == "CN", w, 0.0), n)
    ru = pick_weighted(rng, np.where(country == "RU", w, 0.0), n)
    west = pick_weighted(rng, np.where((country != "CN") & (country != "RU"), w, 0.0), n)
    abroad = rng.random(n) < 0.6  # 40 % of foreigners live in China
    return np.where(
        locale == LOCALE_CN, cn, np.where(abroad, np.where(locale == LOCALE_RU, ru, west), cn)
    )


def _industries(
    rng: np.random.Generator,
    age: np.ndarray,
    city: np.ndarray,
    account: np.ndarray,
    acc_industry: np.ndarray,
) -> np.ndarray:
    n = len(age)
    base = np.array([i[1] for i in vocab.INDUSTRIES])
    tier1 = np.array([c[6] for c in vocab.CITIES])[city] == 1
    young = (age >= 21) & (age < 31)
    boost = np.ones(len(base))
    boost[0], boost[1] = 2.5, 2.0  # internet, finance
    plain = pick_weighted(rng, base, n)
    boosted = pick_weighted(rng, base * boost, n)
    ind = np.where(tier1 & young, boosted, plain)
    ind = np.where(rng.random(n) < 0.15, -1, ind)  # students, unknown
    has_acc = account >= 0
    use_acc = has_acc & (rng.random(n) < 0.8)
    return np.where(use_acc, acc_industry[np.maximum(account, 0)], ind)


def build_persons(
    seed: int, n_profiles: int, start: int, end: int, acc_industry: np.ndarray
) -> Persons:
    """Draw all persons for ``n_profiles`` source profiles in the period [start, end).

    ``acc_industry`` is the industry of each B2B account; most employees of an
    account share its industry.
    """
    rng = sub_rng(seed, "people")
    k = split_profiles(rng, n_profiles)
    n = len(k)
    days = (end - start) / DAY
    locale = pick_weighted(rng, [0.90, 0.04, 0.06], n)
    female = rng.random(n) < 0.56
    ns = np.where(
        locale == LOCALE_CN,
        len(vocab.CN_SURNAMES),
        np.where(locale == LOCALE_RU, len(vocab.RU_SURNAMES), len(vocab.WEST_SURNAMES)),
    )
    # common surnames are much more common (王, 李, 张 ~ 5-7 % each)
    cn_sur = pick_weighted(rng, 1.0 / (np.arange(len(vocab.CN_SURNAMES)) + 2.0) ** 0.95, n)
    surname = np.where(locale == LOCALE_CN, cn_sur, rng.integers(0, ns))
    ng = np.where(
        locale == LOCALE_CN,
        np.where(female, len(vocab.CN_GIVEN_FEMALE), len(vocab.CN_GIVEN_MALE)),
        np.where(
            locale == LOCALE_RU,
            np.where(female, len(vocab.RU_FIRST_FEMALE), len(vocab.RU_FIRST_MALE)),
            np.where(female, len(vocab.WEST_FIRST_FEMALE), len(vocab.WEST_FIRST_MALE)),
        ),
    )
    given1 = rng.integers(0, ng)
    given2 = np.where((locale == LOCALE_CN) & (rng.random(n) < 0.65), rng.integers(0, ng), -1)

    age = _ages(rng, n)
    end_day = end // DAY
    birth = (end_day - np.floor(age * 365.25) - rng.integers(0, 365, n)).astype(np.int64)
    # a few leap-day birthdays (at least one)
    n29 = max(1, round(n * 0.004))
    who = rng.choice(n, size=min(n29, n), replace=False)
    years = birth[who].astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    leap = years - (years % 4)
    leap = np.where((leap % 100 == 0) & (leap % 400 != 0), leap - 4, leap)
    jan1 = (leap - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
    birth[who] = jan1 + 59  # 31 days of January + 28 = the 29th of February

    city = _cities(rng, locale)
    n_acc = len(acc_industry)
    acc_w = 1.0 / (np.arange(n_acc) + 1.0) ** 0.7
    working = (age >= 22) & (age < 60)
    account = np.where(working & (rng.random(n) < 0.36), pick_weighted(rng, acc_w, n), -1)
    industry = _industries(rng, age, city, account, acc_industry)

    # timeline: existing customers and new sign-ups arriving through the period
    frac_new = min(0.6, 0.45 * days / 365.0)
    new = rng.random(n) < frac_new
    # truncated exponential: customers who joined up to six years before the period
    cap = 1.0 - np.exp(-6 * 365 / 500)
    old_age = (-np.log1p(-rng.random(n) * cap) * 500 * DAY).astype(np.int64)
    first_seen = np.where(
        new,
        start + (rng.random(n) ** 0.8 * (end - start - 60)).astype(np.int64),
        start - 1 - old_age,
    )
    loyal = rng.random(n) < 0.025
    coupon = (rng.random(n) < 0.07) & ~loyal
    night = rng.random(n) < 0.08
    stays = loyal | coupon | (rng.random(n) < 0.45)
    lifetime = (7 * DAY + rng.exponential(400 * DAY, n)).astype(np.int64)
    churn_at = np.where(stays, end + 365 * DAY, first_seen + lifetime)

    rate = np.exp(np.log(0.019) + 1.1 * rng.standard_normal(n))
    rate *= np.where(rng.random(n) < 0.25, 0.1, 1.0)  # nearly idle
    rate = np.where(loyal, np.maximum(rate * 3, 0.5), rate)
    rate = np.where(coupon, rate * 1.5, rate)
    rate = np.minimum(rate, 8.0)
    cart_prop = np.exp(0.4 * rng.standard_normal(n))

    cat_lover = rng.random(n) < 0.25
    fav_cat = pick_weighted(rng, [c[2] for c in vocab.CATEGORIES], n)
    tier = np.where(
        loyal, np.where(rng.random(n) < 0.6, 3, 2), pick_weighted(rng, [0.62, 0.22, 0.11, 0.05], n)
    )
    anon = new & (rng.random(n) < 0.4)
    anon_start = np.maximum(first_seen - (rng.uniform(0.5, 14, n) * DAY).astype(np.int64), start)

    store_city = np.array([[c[0] for c in vocab.CITIES].index(s[2]) for s in vocab.STORES])
    any_store = rng.integers(0, len(vocab.STORES), n)
    home_store = any_store.copy()
    for si in range(len(vocab.STORES)):  # small fixed list: prefer a store in the own city
        here = (city == store_city[si]) & (rng.random(n) < 0.7)
        home_store = np.where(here & (store_city[home_store] != city), si, home_store)

    return Persons(
        n=n,
        start=start,
        end=end,
        locale=locale,
        female=female,
        surname=surname,
        given1=given1,
        given2=given2,
        birth=birth,
        city=city,
        industry=industry,
        account=account,
        first_seen=first_seen,
        churn_at=churn_at,
        rate=rate,
        cart_prop=cart_prop,
        night=night,
        coupon=coupon,
        loyal=loyal,
        cat_lover=cat_lover,
        fav_cat=fav_cat,
        tier=tier,
        anon=anon,
        anon_start=anon_start,
        n_profiles=k,
        home_store=home_store,
        n_accounts=n_acc,
    )


# --------------------------------------------------------------------------- accounts
@dataclass
class Accounts:
    """Companies: ids, names, e-mail domains (for work addresses) and size."""

    n: int
    industry: np.ndarray
    account_id: pa.Array
    name: pa.Array
    domain: pa.Array
    employees: np.ndarray
    revenue_cents: np.ndarray


def build_accounts(seed: int, n: int) -> Accounts:
    """``n`` companies, mostly Chinese (北京星辰网络科技有限公司), a few foreign."""
    rng = sub_rng(seed, "accounts")
    industry = pick_weighted(rng, [i[1] for i in vocab.INDUSTRIES], n)
    word = rng.integers(0, len(vocab.COMPANY_WORDS), n)
    prefix = rng.integers(0, len(vocab.COMPANY_CITY_PREFIX), n)
    foreign = rng.random(n) < 0.08
    ind_word = lookup([i[2] for i in vocab.INDUSTRIES], industry)
    cn_name = pc.binary_join_element_wise(
        lookup(vocab.COMPANY_CITY_PREFIX, prefix),
        lookup([w for w, _ in vocab.COMPANY_WORDS], word),
        ind_word,
        "有限公司",
        "",
    )
    fn_name = lookup(vocab.FOREIGN_COMPANIES, rng.integers(0, len(vocab.FOREIGN_COMPANIES), n))
    name = pc.if_else(pa.array(foreign), fn_name, cn_name)
    num = pc.cast(pa.array(np.arange(1, n + 1)), pa.string())
    width = max(5, len(str(n)))
    account_id = pc.binary_join_element_wise("acc_", pc.utf8_lpad(num, width, "0"), "")
    tld = pc.if_else(pa.array(foreign), pa.scalar(".com"), pa.scalar(".com.cn"))
    domain = pc.binary_join_element_wise(
        lookup([p for _, p in vocab.COMPANY_WORDS], word), num, tld, ""
    )
    employees = np.clip(np.exp(rng.normal(np.log(120), 1.6, n)), 3, 200_000).astype(np.int64)
    per_head = np.exp(rng.normal(np.log(600_000), 0.7, n))  # CNY revenue per employee
    revenue_cents = (np.round(employees * per_head / 1000) * 1000 * 100).astype(np.int64)
    return Accounts(
        n=n,
        industry=industry,
        account_id=account_id,
        name=name,
        domain=domain,
        employees=employees,
        revenue_cents=revenue_cents,
    )


def accounts_table(acc: Accounts) -> pa.Table:
    """The ``accounts`` file: account_id, name, industry, employees, annual_revenue."""
    ind = lookup([i[0] for i in vocab.INDUSTRIES], acc.industry)
    revenue = (
        pa.array(acc.revenue_cents // 100).cast(pa.decimal128(21, 2)).cast(pa.decimal128(18, 2))
    )
    return pa.table(
        {
            "account_id": acc.account_id,
            "name": acc.name,
            "industry": ind,
            "employees": pa.array(acc.employees, pa.int64()),
            "annual_revenue": revenue,
        }
    )
