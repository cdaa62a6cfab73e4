"""Identifiers, channel memberships and consent of the source profiles.

``identities`` lists every identifier a source system knows about a profile (e-mail,
phone, WeChat openid/unionid, WeCom external user id, device ids, CRM lead/contact
ids, anonymous ids). The same e-mail, phone, unionid or CRM contact id appearing on
two profiles of one person is what identity resolution uses to merge them.
``memberships`` are WeChat official-account followers, WeCom customers and groups and
CRM owners; ``subscriptions`` the consent per channel. :func:`plan_links` also
returns what the event simulation needs (who receives e-mails and SMS, who followed
the official account when, anonymous ids).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import vocab
from .people import Persons
from .profiles import Profiles
from .util import DAY, lookup, pick_weighted, sub_rng, tokens

__all__ = [
    "Links",
    "identities_table",
    "memberships_table",
    "plan_links",
    "subscriptions_table",
    "uuid_ids",
]

ID_TYPES = (
    "email",
    "phone",
    "wechat_openid",
    "wechat_unionid",
    "wecom_external_userid",
    "device_id",
    "crm_lead_id",
    "crm_contact_id",
    "anonymous_id",
)
KINDS = ("wechat_oa", "wecom_customer", "wecom_group", "crm_owner")
STATUSES = ("opted_in", "opted_out", "bounced", "complained")
SUB_CHANNELS = ("email", "sms", "push", "wechat")


@dataclass
class Links:
    """Numeric plan of identities, memberships, subscriptions + what events need."""

    identities: tuple[np.ndarray, np.ndarray, pa.Array]  # profile, type, value
    memberships: dict[str, np.ndarray | pa.Array]
    subscriptions: dict[str, np.ndarray | pa.Array]
    email_profile: np.ndarray  # per person, -1 = no e-mail marketing
    email_bounced: np.ndarray
    sms_profile: np.ndarray
    follow_profile: np.ndarray  # official-account follows (profile index, time)
    follow_time: np.ndarray
    anon_id: pa.Array  # per person, null unless they browsed anonymously first


def uuid_ids(rng: np.random.Generator, n: int, upper: bool = False) -> pa.Array:
    """``n`` random UUID-looking strings (8-4-4-4-12 hex digits)."""
    h = tokens(rng, n, 32, "hexu" if upper else "hex")
    parts = [
        pc.utf8_slice_codeunits(h, a, b) for a, b in ((0, 8), (8, 12), (12, 16), (16, 20), (20, 32))
    ]
    return pc.binary_join_element_wise(*parts, "-")


def _rows(
    profile: np.ndarray, type_: int, value: pa.Array
) -> tuple[np.ndarray, np.ndarray, pa.Array]:
    return profile, np.full(len(profile), type_, np.int64), value


def plan_links(
    seed: int, persons: Persons, prof: Profiles, emails: pa.Array, phones: pa.Array
) -> Links:
    """Draw all identifiers, memberships and subscriptions of the profiles."""
    rng = sub_rng(seed, "identities")
    end, n = persons.end, prof.n
    src, person, created = prof.source, prof.person, prof.created
    idx = np.arange(n)
    bp = prof.by_person
    parts = []
    e_ok = pc.is_valid(emails).to_numpy(zero_copy_only=False)
    p_ok = pc.is_valid(phones).to_numpy(zero_copy_only=False)
    parts.append(_rows(idx[e_ok], 0, pc.filter(emails, pa.array(e_ok))))
    parts.append(_rows(idx[p_ok], 1, pc.filter(phones, pa.array(p_ok))))

    wx = idx[src == vocab.WECHAT]
    parts.append(_rows(wx, 2, tokens(rng, len(wx), 24, prefix="oUpF")))  # mini-program openid
    follow = rng.random(len(wx)) < 0.7
    follow_time = np.minimum(
        created[wx] + (rng.random(len(wx)) * 2 * DAY).astype(np.int64), end - 1
    )
    fw = wx[follow]
    parts.append(_rows(fw, 2, tokens(rng, len(fw), 24, prefix="o6_b")))  # official-account openid
    # unionid: one per person, on the WeChat profile and sometimes on app / shop profiles
    union_person = np.zeros(persons.n, bool)
    has_union = rng.random(len(wx)) < 0.8
    union_person[person[wx[has_union]]] = True
    union_val = tokens(rng, persons.n, 24, prefix="oN3x")
    share = union_person[person] & (
        ((src == vocab.APP) & (rng.random(n) < 0.45))
        | ((src == vocab.SHOP) & (rng.random(n) < 0.15))
    )
    uni = idx[((src == vocab.WECHAT) & union_person[person]) | share]
    parts.append(_rows(uni, 3, pc.take(union_val, pa.array(person[uni]))))

    # WeCom: a quarter of the persons reachable on WeChat or known to the CRM
    reach = np.where(bp[:, vocab.WECHAT] >= 0, bp[:, vocab.WECHAT], bp[:, vocab.CRM])
    wecom_p = np.flatnonzero((reach >= 0) & (rng.random(persons.n) < 0.25))
    wecom_prof = reach[wecom_p]
    parts.append(_rows(wecom_prof, 4, tokens(rng, len(wecom_prof), 30, prefix="wm")))

    app = idx[src == vocab.APP]
    ndev = 1 + (rng.random(len(app)) < 0.2)
    dev_prof = np.repeat(app, ndev)
    ios = rng.random(len(dev_prof)) < 0.45
    dev = pc.if_else(
        pa.array(ios),
        uuid_ids(rng, len(dev_prof), upper=True),
        tokens(rng, len(dev_prof), 16, "hex"),
    )
    parts.append(_rows(dev_prof, 5, dev))

    crm = idx[src == vocab.CRM]
    lead = rng.random(len(crm)) < 0.25
    crm_num = pc.cast(pa.array(1_000_000 + np.arange(len(crm))), pa.string())
    parts.append(
        _rows(
            crm[lead],
            6,
            pc.binary_join_element_wise("LEAD-", pc.filter(crm_num, pa.array(lead)), ""),
        )
    )
    contact_val = pc.binary_join_element_wise("CON-", crm_num, "")
    person_contact = np.full(persons.n, -1)
    person_contact[person[crm[~lead]]] = np.flatnonzero(~lead)
    synced = (src == vocab.SHOP) & (person_contact[person] >= 0) & (rng.random(n) < 0.15)
    con_prof = np.concatenate([crm[~lead], idx[synced]])
    con_val = pc.take(
        contact_val,
        pa.array(np.concatenate([np.flatnonzero(~lead), person_contact[person[synced]]])),
    )
    parts.append(_rows(con_prof, 7, con_val))

    anon_id = pc.if_else(
        pa.array(persons.anon), uuid_ids(rng, persons.n), pa.scalar(None, pa.string())
    )
    known = np.flatnonzero(persons.anon & (rng.random(persons.n) < 0.4))
    parts.append(_rows(prof.first[known], 8, pc.take(anon_id, pa.array(known))))

    pr = np.concatenate([p[0] for p in parts])
    ty = np.concatenate([p[1] for p in parts])
    val = pa.concat_arrays([p[2].cast(pa.string()) for p in parts])
    order = np.lexsort((ty, pr))
    identities = (pr[order], ty[order], pc.take(val, pa.array(order)))

    memberships = _memberships(rng, persons, prof, wx, follow, follow_time, wecom_p, wecom_prof)
    subs = _subscriptions(rng, prof, e_ok, p_ok, wx[follow], end)
    st, sp, sc = subs["status"], subs["profile"], subs["channel"]
    email_profile = np.full(persons.n, np.iinfo(np.int64).max)
    ok = (sc == 0) & ((st == 0) | (st == 2)) & (subs["topic"] == 0)
    np.minimum.at(email_profile, person[sp[ok]], sp[ok])
    bounced = np.zeros(n, bool)
    bounced[sp[ok & (st == 2)]] = True
    email_profile = np.where(email_profile == np.iinfo(np.int64).max, -1, email_profile)
    sms_profile = np.full(persons.n, np.iinfo(np.int64).max)
    ok = (sc == 1) & (st == 0)
    np.minimum.at(sms_profile, person[sp[ok]], sp[ok])
    sms_profile = np.where(sms_profile == np.iinfo(np.int64).max, -1, sms_profile)
    return Links(
        identities=identities,
        memberships=memberships,
        subscriptions=subs,
        email_profile=email_profile,
        email_bounced=bounced[np.maximum(email_profile, 0)],
        sms_profile=sms_profile,
        follow_profile=wx[follow],
        follow_time=follow_time[follow],
        anon_id=anon_id,
    )


def _memberships(
    rng: np.random.Generator,
    persons: Persons,
    prof: Profiles,
    wx: np.ndarray,
    follow: np.ndarray,
    follow_time: np.ndarray,
    wecom_p: np.ndarray,
    wecom_prof: np.ndarray,
) -> dict[str, np.ndarray | pa.Array]:
    end = persons.end
    n_emp = max(3, persons.n // 400)
    n_grp = max(2, persons.n // 150)
    rows: list[tuple[np.ndarray, int, np.ndarray, np.ndarray, np.ndarray]] = []
    # (profile, kind, key number, since, attr choice)
    oa = wx[follow]
    rows.append(
        (
            oa,
            0,
            np.zeros(len(oa), np.int64),
            follow_time[follow],
            pick_weighted(rng, [5, 2, 1, 1], len(oa)),
        )
    )
    svc = wx[rng.random(len(wx)) < 0.2]
    t = prof.created[svc] + (rng.random(len(svc)) * 200 * DAY).astype(np.int64)
    rows.append(
        (
            svc[t < end],
            0,
            np.ones(int((t < end).sum()), np.int64),
            t[t < end],
            pick_weighted(rng, [5, 2, 1, 1], int((t < end).sum())),
        )
    )
    since = np.minimum(
        prof.created[wecom_prof] + (rng.random(len(wecom_prof)) * 60 * DAY).astype(np.int64),
        end - 1,
    )
    rows.append(
        (
            wecom_prof,
            1,
            rng.integers(1, n_emp + 1, len(wecom_prof)),
            since,
            rng.integers(0, len(vocab.WECOM_ADD_WAYS), len(wecom_prof)),
        )
    )
    ng = (rng.random(len(wecom_prof)) < 0.5).astype(np.int64) * (
        1 + (rng.random(len(wecom_prof)) < 0.3)
    )
    gp = np.repeat(wecom_prof, ng)
    gs = np.minimum(
        np.repeat(since, ng) + (rng.random(len(gp)) * 30 * DAY).astype(np.int64), end - 1
    )
    gkey = rng.integers(1, n_grp + 1, len(gp))
    # the second group of a person is a different one
    dup = np.concatenate([[False], (gp[1:] == gp[:-1]) & (gkey[1:] == gkey[:-1])])
    gkey = np.where(dup, gkey % n_grp + 1, gkey)
    rows.append((gp, 2, gkey, gs, np.zeros(len(gp), np.int64)))
    crm = np.flatnonzero((prof.source == vocab.CRM) & (rng.random(prof.n) < 0.9))
    rows.append(
        (
            crm,
            3,
            rng.integers(1, n_emp + 1, len(crm)),
            prof.created[crm],
            rng.integers(0, len(vocab.CRM_STAGES), len(crm)),
        )
    )
    pr = np.concatenate([r[0] for r in rows])
    kind = np.concatenate([np.full(len(r[0]), r[1]) for r in rows])
    key = np.concatenate([r[2] for r in rows])
    since = np.concatenate([r[3] for r in rows])
    attr = np.concatenate([r[4] for r in rows])
    order = np.lexsort((key, kind, since))
    pr, kind, key, since, attr = pr[order], kind[order], key[order], since[order], attr[order]
    p = prof.person[pr]
    cn = persons.locale[p] == 0
    remark = pc.if_else(
        pa.array(cn),
        pc.binary_join_element_wise(
            lookup([s for s, _ in vocab.CN_SURNAMES], np.where(cn, persons.surname[p], -1)),
            lookup(["先生", "女士"], persons.female[p].astype(np.int64)),
            "",
        ),
        pa.scalar("customer"),
    )
    return {
        "profile": pr,
        "kind": kind,
        "key": key,
        "since": since,
        "attr": attr,
        "remark": remark,
        "emp_width": np.array(max(4, len(str(n_emp)))),
    }


def _subscriptions(
    rng: np.random.Generator,
    prof: Profiles,
    e_ok: np.ndarray,
    p_ok: np.ndarray,
    oa: np.ndarray,
    end: int,
) -> dict[str, np.ndarray | pa.Array]:
    idx = np.arange(prof.n)
    junk_e = prof.email_kind == 3
    junk_p = prof.phone_kind == 2
    em = idx[e_ok & ~junk_e]
    promo = em[rng.random(len(em)) < 0.4]
    sm = idx[p_ok & ~junk_p]
    push = idx[prof.source == vocab.APP]
    groups = [
        (em, 0, 0, [0.82, 0.12, 0.04, 0.02]),
        (promo, 0, 1, [0.75, 0.2, 0.03, 0.02]),
        (sm, 1, 1, [0.75, 0.2, 0.03, 0.02]),
        (push, 2, 2, [0.7, 0.3, 0.0, 0.0]),
        (np.sort(oa), 3, 3, [0.9, 0.1, 0.0, 0.0]),
    ]
    pr = np.concatenate([g[0] for g in groups])
    ch = np.concatenate([np.full(len(g[0]), g[1]) for g in groups])
    topic = np.concatenate([np.full(len(g[0]), g[2]) for g in groups])
    status = np.concatenate([pick_weighted(rng, g[3], len(g[0])) for g in groups])
    c = prof.created[pr]
    later = c + (rng.random(len(pr)) * np.maximum(end - 1 - c, 1)).astype(np.int64)
    ts = np.where(status == 0, c + rng.integers(0, 3600, len(pr)), np.maximum(later, c))
    order = np.lexsort((topic, ch, pr))
    return {
        "profile": pr[order],
        "channel": ch[order],
        "topic": topic[order],
        "status": status[order],
        "ts": ts[order],
    }


def identities_table(links: Links, profile_ids: pa.Array) -> pa.Table:
    """The ``identities`` file: profile_id, type, value."""
    pr, ty, val = links.identities
    return pa.table(
        {
            "profile_id": pc.take(profile_ids, pa.array(pr)),
            "type": lookup(ID_TYPES, ty),
            "value": val,
        }
    )


def memberships_table(
    links: Links, profile_ids: pa.Array, con: duckdb.DuckDBPyConnection
) -> pa.Table:
    """The ``memberships`` file: profile_id, kind, key, since, attrs (JSON)."""
    m = links.memberships
    w = int(m["emp_width"])
    t = pa.table(
        {
            "profile_id": pc.take(profile_ids, pa.array(m["profile"])),
            "kind": pa.array(m["kind"]),
            "key": pa.array(m["key"]),
            "since": pa.array(m["since"]),
            "scene": lookup(vocab.SUBSCRIBE_SCENES, np.where(m["kind"] == 0, m["attr"], -1)),
            "way": lookup(vocab.WECOM_ADD_WAYS, np.where(m["kind"] == 1, m["attr"], -1)),
            "stage": lookup(vocab.CRM_STAGES, np.where(m["kind"] == 3, m["attr"], -1)),
            "remark": m["remark"],
            "oa": lookup(vocab.OA_APPS, np.where(m["kind"] == 0, m["key"], -1)),
        }
    )
    con.register("mt", t)
    out = con.sql(f"""
    SELECT profile_id, (['wechat_oa', 'wecom_customer', 'wecom_group', 'crm_owner'])[kind + 1] AS kind,
      CASE kind WHEN 0 THEN oa WHEN 2 THEN 'grp_' || lpad(key::VARCHAR, 5, '0')
           ELSE 'emp_' || lpad(key::VARCHAR, {w}, '0') END AS key,
      strftime(make_timestamp(since * 1000000), '%Y-%m-%dT%H:%M:%SZ') AS since,
      CASE kind WHEN 0 THEN '{{"subscribe_scene":"' || scene || '"}}'
        WHEN 1 THEN '{{"add_way":"' || way || '","remark":"' || remark || '"}}'
        WHEN 2 THEN '{{"group_name":"会员福利群' || key::VARCHAR || '","role":"member"}}'
        ELSE '{{"stage":"' || stage || '"}}' END AS attrs
    FROM mt""").to_arrow_table()
    con.unregister("mt")
    return out


def subscriptions_table(
    links: Links, prof: Profiles, profile_ids: pa.Array, con: duckdb.DuckDBPyConnection
) -> pa.Table:
    """The ``subscriptions`` file: profile_id, channel, status, topic, ts, source."""
    s = links.subscriptions
    t = pa.table(
        {
            "profile_id": pc.take(profile_ids, pa.array(s["profile"])),
            "channel": lookup(SUB_CHANNELS, s["channel"]),
            "status": lookup(STATUSES, s["status"]),
            "topic": lookup(
                ("newsletter", "promotions", "order_updates", "template_msg"), s["topic"]
            ),
            "ts": pa.array(s["ts"]),
            "source": lookup(vocab.SOURCES, prof.source[s["profile"]]),
        }
    )
    con.register("st", t)
    out = con.sql("""SELECT profile_id, channel, status, topic,
      strftime(make_timestamp(ts * 1000000), '%Y-%m-%dT%H:%M:%SZ') AS ts, source FROM st""").to_arrow_table()
    con.unregister("st")
    return out
