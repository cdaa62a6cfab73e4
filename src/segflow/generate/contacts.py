"""The text a source profile shows: names, e-mail addresses, phone numbers.

Per person a real name (王伟, Анна Смирнова, Zoë Müller), a nickname (小敏, 雨涵🌸)
and three e-mail addresses (personal, second personal, work) are built once; each
profile then picks which of them it knows and in which spelling (mixed-case e-mails
with spaces, phones as ``13812345678`` / ``+86 138 1234 5678`` / ``138-1234-5678`` /
``+8613812345678``, ``+7 ...``, ``+1 ...``). E-mail local parts end in a number that is
unique per person, and phone numbers come from a bijection of the person index, so
two persons never share an address or a number by accident.
"""

from __future__ import annotations

import unicodedata

import duckdb
import numpy as np
import pyarrow as pa

from . import vocab
from .people import TIER_NAMES, Accounts, Persons
from .profiles import Profiles, person_age
from .util import lookup, pick_weighted, sql_ts, sub_rng, table

__all__ = ["profiles_table"]

US_AREAS = np.array(
    [
        212,
        415,
        646,
        917,
        312,
        213,
        617,
        206,
        305,
        512,
        718,
        510,
        347,
        202,
        404,
        303,
        702,
        503,
        619,
        214,
    ]
)


def _ascii(names: tuple[str, ...]) -> list[str]:
    out = []
    for s in names:
        a = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
        out.append("".join(c for c in a.lower() if c.isalpha()))
    return out


def _person_strings(
    seed: int, persons: Persons, accounts: Accounts, con: duckdb.DuckDBPyConnection
) -> pa.Table:
    """Per person: real name, nickname, three e-mail addresses and phone number parts."""
    rng = sub_rng(seed, "identities", 1)
    n = persons.n
    loc, fem = persons.locale, persons.female
    cn, ru, we = loc == 0, loc == 1, loc == 2
    sur = persons.surname
    m = 10 ** (len(str(n)) + 1)
    a1 = int(rng.integers(1, m // 10)) * 10 + int(rng.choice([1, 3, 7, 9]))
    idx = np.arange(n, dtype=np.int64)
    code1 = (a1 * idx + int(rng.integers(0, m))) % m
    a2 = int(rng.integers(1, 10**7)) * 10 + int(rng.choice([1, 3, 7, 9]))
    d1 = (a2 * idx + int(rng.integers(0, 10**8))) % 10**8
    a3 = int(rng.integers(1, 10**7)) * 10 + int(rng.choice([1, 3, 7, 9]))
    d2 = (a3 * idx + int(rng.integers(0, 10**8))) % 10**8
    dom_lists = [[d for d, _ in lst] for lst in vocab.EMAIL_DOMAINS]
    dom_all = [d for lst in dom_lists for d in lst]
    offs = np.cumsum([0] + [len(x) for x in dom_lists])[:-1]
    dom1 = offs[loc] + np.select(
        [loc == i for i in range(3)],
        [pick_weighted(rng, [w for _, w in lst], n) for lst in vocab.EMAIL_DOMAINS],
    )
    dom2 = offs[loc] + np.select(
        [loc == i for i in range(3)],
        [pick_weighted(rng, [w for _, w in lst], n) for lst in vocab.EMAIL_DOMAINS],
    )
    qq = cn & (np.array(dom_all)[dom1] == "qq.com") & (rng.random(n) < 0.6)
    g1f = np.where(cn & fem, persons.given1, -1)
    g1m = np.where(cn & ~fem, persons.given1, -1)
    g2f = np.where(cn & fem, persons.given2, -1)
    g2m = np.where(cn & ~fem, persons.given2, -1)

    def both(pairs: tuple[tuple[str, str], ...], i: np.ndarray, j: int) -> pa.Array:
        return lookup([x[j] for x in pairs], i)

    t = table(
        loc=loc,
        fem=fem,
        qq=qq,
        style=rng.integers(0, 2, n),
        code1=code1,
        d1=d1,
        d2=d2,
        pre1=np.array(vocab.CN_MOBILE_PREFIXES[:25])[rng.integers(0, 25, n)],
        pre2=np.array(vocab.CN_MOBILE_PREFIXES[25:])[rng.integers(0, 8, n)],
        r1=rng.integers(0, 5, n),
        r2=rng.integers(5, 10, n),
        area1=US_AREAS[d1 // 10**7],
        area2=US_AREAS[10 + d2 // 10**7],
        sur_cn=both(vocab.CN_SURNAMES, np.where(cn, sur, -1), 0),
        sur_py=both(vocab.CN_SURNAMES, np.where(cn, sur, -1), 1),
        g1_cn=both(vocab.CN_GIVEN_FEMALE, g1f, 0),
        g1m_cn=both(vocab.CN_GIVEN_MALE, g1m, 0),
        g1_py=both(vocab.CN_GIVEN_FEMALE, g1f, 1),
        g1m_py=both(vocab.CN_GIVEN_MALE, g1m, 1),
        g2_cn=both(vocab.CN_GIVEN_FEMALE, g2f, 0),
        g2m_cn=both(vocab.CN_GIVEN_MALE, g2m, 0),
        g2_py=both(vocab.CN_GIVEN_FEMALE, g2f, 1),
        g2m_py=both(vocab.CN_GIVEN_MALE, g2m, 1),
        ru_first=lookup(
            [x[0] for x in vocab.RU_FIRST_FEMALE], np.where(ru & fem, persons.given1, -1)
        ),
        ru_firstm=lookup(
            [x[0] for x in vocab.RU_FIRST_MALE], np.where(ru & ~fem, persons.given1, -1)
        ),
        ru_ftr=lookup(
            [x[1] for x in vocab.RU_FIRST_FEMALE], np.where(ru & fem, persons.given1, -1)
        ),
        ru_ftrm=lookup(
            [x[1] for x in vocab.RU_FIRST_MALE], np.where(ru & ~fem, persons.given1, -1)
        ),
        ru_last=both(vocab.RU_SURNAMES, np.where(ru, sur, -1), 0),
        ru_ltr=both(vocab.RU_SURNAMES, np.where(ru, sur, -1), 1),
        w_first=lookup(vocab.WEST_FIRST_FEMALE, np.where(we & fem, persons.given1, -1)),
        w_firstm=lookup(vocab.WEST_FIRST_MALE, np.where(we & ~fem, persons.given1, -1)),
        w_fa=lookup(_ascii(vocab.WEST_FIRST_FEMALE), np.where(we & fem, persons.given1, -1)),
        w_fam=lookup(_ascii(vocab.WEST_FIRST_MALE), np.where(we & ~fem, persons.given1, -1)),
        w_last=lookup(vocab.WEST_SURNAMES, np.where(we, sur, -1)),
        w_la=lookup(_ascii(vocab.WEST_SURNAMES), np.where(we, sur, -1)),
        emoji=lookup(vocab.EMOJI, rng.integers(0, len(vocab.EMOJI), n)),
        dom1=lookup(dom_all, dom1),
        dom2=lookup(dom_all, dom2),
        work_dom=lookup(accounts.domain, persons.account),
    )
    con.register("pt", t)
    q = """
    WITH b AS (
      SELECT *,
        coalesce(g1_cn, g1m_cn) AS g1c, coalesce(g2_cn, g2m_cn, '') AS g2c,
        coalesce(g1_py, g1m_py) AS g1p, coalesce(g2_py, g2m_py, '') AS g2p,
        coalesce(ru_first, ru_firstm) AS rf, coalesce(ru_ftr, ru_ftrm) AS rft,
        coalesce(w_first, w_firstm) AS wf, coalesce(w_fa, w_fam) AS wfa
      FROM pt)
    SELECT
      CASE loc WHEN 0 THEN sur_cn || g1c || g2c
               WHEN 1 THEN rf || ' ' || ru_last || CASE WHEN fem THEN 'а' ELSE '' END
               ELSE wf || ' ' || w_last END AS real_name,
      CASE loc WHEN 0 THEN g1c || g2c ELSE coalesce(rf, wf) END AS given,
      CASE loc WHEN 0 THEN CASE WHEN g2c = '' THEN g1c ELSE g2c END ELSE coalesce(rf, wf) END AS last_char,
      emoji,
      CASE loc WHEN 0 THEN CASE style WHEN 0 THEN sur_py || g1p || g2p ELSE g1p || g2p || '.' || sur_py END
               WHEN 1 THEN rft || '.' || ru_ltr || CASE WHEN fem THEN 'a' ELSE '' END
               ELSE wfa || '.' || w_la END AS latin,
      loc, d1, d2, pre1, pre2, r1, r2, area1, area2, qq, code1, dom1, dom2, work_dom
    FROM b"""
    base = con.sql(q).to_arrow_table()
    con.register("pb", base)
    out = con.sql("""
    SELECT real_name, given, last_char, emoji, loc, d1, d2, pre1, pre2, r1, r2, area1, area2,
      CASE WHEN qq THEN (10000 + code1)::VARCHAR ELSE latin || code1::VARCHAR END || '@' || dom1 AS email1,
      latin || '_' || code1::VARCHAR || '@' || dom2 AS email2,
      latin || code1::VARCHAR || '@' || work_dom AS email_work
    FROM pb""").to_arrow_table()
    con.unregister("pt")
    con.unregister("pb")
    return out


_PHONE_SQL = """
CASE WHEN pk < 0 THEN NULL WHEN pk = 2 THEN store_phone
 WHEN loc = 0 THEN CASE fmt
   WHEN 0 THEN printf('%d%08d', pre, d) WHEN 1 THEN printf('+86 %d %04d %04d', pre, d // 10000, d % 10000)
   WHEN 2 THEN printf('%d-%04d-%04d', pre, d // 10000, d % 10000) ELSE printf('+86%d%08d', pre, d) END
 WHEN loc = 1 THEN CASE fmt
   WHEN 0 THEN printf('+7 %03d %03d-%02d-%02d', ru // 10000000, ru // 10000 % 1000, ru // 100 % 100, ru % 100)
   WHEN 1 THEN printf('+7%010d', ru)
   ELSE printf('+7 (%03d) %03d-%02d-%02d', ru // 10000000, ru // 10000 % 1000, ru // 100 % 100, ru % 100) END
 ELSE CASE fmt
   WHEN 0 THEN printf('+1 %d %03d %04d', area, d % 10000000 // 10000, d % 10000)
   WHEN 1 THEN printf('+1%d%03d%04d', area, d % 10000000 // 10000, d % 10000)
   ELSE printf('+1 (%d) %03d-%04d', area, d % 10000000 // 10000, d % 10000) END
END"""

_EMAIL_SQL = """
CASE es WHEN 0 THEN e
  WHEN 1 THEN ' ' || upper(e) || ' '
  ELSE ' ' || upper(substr(e, 1, 1)) || substr(e, 2, strpos(e, '@') - 1) || upper(substr(e, strpos(e, '@') + 1))
END"""


def profiles_table(
    seed: int, persons: Persons, prof: Profiles, accounts: Accounts, con: duckdb.DuckDBPyConnection
) -> pa.Table:
    """The clean ``profiles`` table (dirty rows are added by :mod:`.dirty`)."""
    ps = _person_strings(seed, persons, accounts, con).take(pa.array(prof.person))
    f = prof.flags
    pe = prof.person
    city = persons.city[pe]
    cities = vocab.CITIES
    age = person_age(persons.birth, persons.end)[pe]
    junk_e = pick_weighted(sub_rng(seed, "identities", 2), [0.75, 0.25], prof.n)
    prefix = lookup(vocab.SOURCE_PREFIX, prof.source)
    t = table(
        prefix=prefix,
        seq=prof.seq,
        ek=prof.email_kind,
        es=prof.email_style,
        pk=prof.phone_kind,
        fmt=prof.phone_fmt,
        nk=prof.name_kind,
        emo=f["emoji"],
        nick=f["nick_style"],
        created=prof.created,
        birth=np.where(f["birthday"], persons.birth[pe], np.iinfo(np.int64).min),
        age=pa.array(age, mask=~f["birthday"]),
        gender=lookup(
            ["male", "female"], np.where(f["gender"], persons.female[pe].astype(int), -1)
        ),
        city=lookup([c[0] for c in cities], np.where(f["city"], city, -1)),
        province=lookup([c[1] for c in cities], np.where(f["city"], city, -1)),
        country=lookup([c[2] for c in cities], np.where(f["country"], city, -1)),
        timezone=lookup([c[3] for c in cities], np.where(f["timezone"], city, -1)),
        account_id=lookup(accounts.account_id, np.where(f["account"], persons.account[pe], -1)),
        level=lookup(TIER_NAMES, np.where(f["level"], persons.tier[pe], -1)),
        industry=lookup(
            [i[0] for i in vocab.INDUSTRIES], np.where(f["industry"], persons.industry[pe], -1)
        ),
        source=lookup(vocab.SOURCES, prof.source),
        store_phone=lookup([s[3] for s in vocab.STORES], persons.home_store[pe]),
        junk_email=lookup(vocab.JUNK_EMAILS, junk_e),
    )
    for name in ps.column_names:
        t = t.append_column(name, ps.column(name))
    con.register("pp", t)
    out = con.sql(f"""
    WITH x AS (
      SELECT *, CASE pk WHEN 1 THEN d2 ELSE d1 END AS d, CASE pk WHEN 1 THEN pre2 ELSE pre1 END AS pre,
        CASE pk WHEN 1 THEN 9000000000 + r2 * 100000000 + d2 ELSE 9000000000 + r1 * 100000000 + d1 END AS ru,
        CASE pk WHEN 1 THEN area2 ELSE area1 END AS area,
        CASE ek WHEN 0 THEN email1 WHEN 1 THEN email2 WHEN 2 THEN email_work WHEN 3 THEN junk_email END AS e
      FROM pp)
    SELECT
      prefix || lpad(seq::VARCHAR, {prof.id_width}, '0') AS profile_id,
      {_EMAIL_SQL} AS email,
      {_PHONE_SQL} AS phone,
      CASE nk WHEN 0 THEN real_name || CASE WHEN emo THEN emoji ELSE '' END
              WHEN 1 THEN CASE WHEN loc = 0 AND nick = 0 THEN '小' || last_char ELSE given END
                          || CASE WHEN emo THEN emoji ELSE '' END END AS name,
      gender,
      CASE WHEN birth > -1000000 THEN strftime(DATE '1970-01-01' + birth::INTEGER, '%Y-%m-%d') END AS birthday,
      age::INTEGER AS age, city, province, country,
      {sql_ts("created")} AS created_at,
      account_id, level AS member_level, timezone, industry, source
    FROM x""").to_arrow_table()
    con.unregister("pp")
    return out
