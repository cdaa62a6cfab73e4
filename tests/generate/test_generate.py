"""Tests of the synthetic shop generator (segflow.generate)."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from segflow.errors import GenerateError
from segflow.generate import generate_shop

END = date(2026, 3, 1)
END_DT = datetime(2026, 3, 1, tzinfo=UTC)

SPEC_COLUMNS = {
    "profiles": [
        "profile_id",
        "email",
        "phone",
        "name",
        "gender",
        "birthday",
        "age",
        "city",
        "province",
        "country",
        "created_at",
        "account_id",
        "member_level",
        "timezone",
        "industry",
        "source",
    ],
    "accounts": ["account_id", "name", "industry", "employees", "annual_revenue"],
    "identities": ["profile_id", "type", "value"],
    "events": [
        "event_id",
        "profile_id",
        "anonymous_id",
        "event",
        "ts",
        "properties",
        "channel",
        "source",
    ],
    "orders": ["order_id", "profile_id", "ts", "amount", "status", "currency", "channel", "store"],
    "order_items": ["order_id", "sku", "quantity", "price", "category", "name"],
    "memberships": ["profile_id", "kind", "key", "since", "attrs"],
    "subscriptions": ["profile_id", "channel", "status", "topic", "ts", "source"],
}
JUNK = {"test@test.com", "noreply@example.com"}


# ----------------------------------------------------------------------------- helpers
def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def records(path: Path) -> list[dict[str, str]]:
    header, rows = read_csv(path)
    return [dict(zip(header, r)) for r in rows]


def parse_ts(s: str) -> datetime | None:
    """Independent parser of the accepted timestamp spellings (None = invalid)."""
    if re.fullmatch(r"\d{9,11}", s):
        return datetime.fromtimestamp(int(s), UTC)
    for fmt in ("%Y/%m/%d %H:%M:%S",):
        try:
            return datetime.strptime(s, fmt).replace(tzinfo=UTC)
        except ValueError:
            pass
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})", s):
        return None
    try:
        return datetime.fromisoformat(s)
    except ValueError:
        return None


def valid_date(s: str) -> bool:
    try:
        datetime.strptime(s, "%Y-%m-%d")
        return True
    except ValueError:
        return False


def norm_phone(p: str) -> str:
    d = re.sub(r"\D", "", p)
    return d[2:] if len(d) == 13 and d.startswith("86") else d


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("shop")
    manifest = generate_shop(out, profiles=2000, seed=7, days=365, end=END)
    return out, manifest


# ----------------------------------------------------------------------------- parameters
@pytest.mark.parametrize(
    "kwargs",
    [
        {"profiles": 0},
        {"profiles": -5},
        {"days": 0},
        {"days": -1},
        {"fmt": "xlsx"},
        {"seed": -1},
        {"profiles": 2.5},
        {"profiles": True},
    ],
)
def test_bad_parameters_raise_generate_error(tmp_path: Path, kwargs: dict) -> None:
    args = {"profiles": 10, "seed": 0, "days": 10, "end": END} | kwargs
    with pytest.raises(GenerateError) as exc:
        generate_shop(tmp_path / "x", **args)
    assert exc.value.code == "generate"
    assert not (tmp_path / "x" / "manifest.json").exists()


# ----------------------------------------------------------------------------- determinism
def _all_bytes(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


def test_same_arguments_give_identical_bytes(tmp_path: Path) -> None:
    a = generate_shop(tmp_path / "a", profiles=400, seed=11, days=90, end=END)
    b = generate_shop(tmp_path / "b", profiles=400, seed=11, days=90, end=END)
    assert a == b
    fa, fb = _all_bytes(tmp_path / "a"), _all_bytes(tmp_path / "b")
    assert set(fa) == {f"{k}.csv" for k in SPEC_COLUMNS} | {"truth_persons.csv", "manifest.json"}
    assert fa == fb
    c = generate_shop(tmp_path / "c", profiles=400, seed=12, days=90, end=END)
    fc = _all_bytes(tmp_path / "c")
    for name in ("profiles.csv", "events.csv", "orders.csv", "identities.csv"):
        assert fa[name] != fc[name], name
    assert c["files"]["events"]["rows"] != a["files"]["events"]["rows"]


def test_chunked_generation_is_deterministic_and_consistent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from segflow.generate import pipeline

    monkeypatch.setattr(pipeline, "PERSONS_PER_CHUNK", 60)  # ~6 chunks, simulated in a thread
    a = generate_shop(tmp_path / "a", profiles=600, seed=3, days=120, end=END)
    b = generate_shop(tmp_path / "b", profiles=600, seed=3, days=120, end=END)
    assert a == b
    assert _all_bytes(tmp_path / "a") == _all_bytes(tmp_path / "b")
    ev = records(tmp_path / "a" / "events.csv")
    assert len(ev) == a["files"]["events"]["rows"]
    ids = Counter(r["event_id"] for r in ev)
    assert sum(n - 1 for n in ids.values()) == a["files"]["events"]["dirty"]["duplicates"]
    orders = {r["order_id"] for r in records(tmp_path / "a" / "orders.csv")}
    paid = [json.loads(r["properties"])["order_id"] for r in ev if r["event"] == "order_paid"]
    assert paid and set(paid) <= orders
    assert len({r["profile_id"] for r in ev if r["profile_id"]}) > 300


def test_end_is_respected_and_defaults_to_today(tmp_path: Path) -> None:
    m = generate_shop(
        tmp_path / "e",
        profiles=50,
        seed=1,
        days=20,
        end=datetime(2025, 6, 1, 12, tzinfo=UTC),
    )
    assert m["end"] == "2025-06-01T12:00:00Z"
    for r in records(tmp_path / "e" / "events.csv"):
        t = parse_ts(r["ts"])
        if t is not None:
            assert datetime(2025, 5, 12, 12, tzinfo=UTC) <= t < datetime(2025, 6, 1, 12, tzinfo=UTC)
    m2 = generate_shop(tmp_path / "d", profiles=5, seed=1, days=2)
    today = datetime.now(UTC).date()
    assert m2["end"] in {f"{d.isoformat()}T00:00:00Z" for d in (today, today - timedelta(days=1))}


# ----------------------------------------------------------------------------- shape
def test_files_have_exactly_the_spec_columns(shop: tuple[Path, dict]) -> None:
    out, m = shop
    for kind, cols in SPEC_COLUMNS.items():
        header, rows = read_csv(out / f"{kind}.csv")
        assert header == cols, kind
        assert len(rows) == m["files"][kind]["rows"], kind
        assert all(len(r) == len(cols) for r in rows), kind
    assert read_csv(out / "truth_persons.csv")[0] == ["profile_id", "person_id"]


def test_manifest_file_matches_return_value(shop: tuple[Path, dict]) -> None:
    out, m = shop
    text = (out / "manifest.json").read_text(encoding="utf-8")
    assert json.loads(text) == m
    assert text == json.dumps(m, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert (m["seed"], m["profiles"], m["days"], m["format"], m["end"]) == (
        7,
        2000,
        365,
        "csv",
        "2026-03-01T00:00:00Z",
    )
    assert 2000 / 4 <= m["people"] < 2000
    assert len({r["person_id"] for r in records(out / "truth_persons.csv")}) == m["people"]


def test_profile_count_and_people(shop: tuple[Path, dict]) -> None:
    out, m = shop
    prof = records(out / "profiles.csv")
    ids = {r["profile_id"] for r in prof if r["profile_id"]}
    truth = records(out / "truth_persons.csv")
    assert len(truth) == 2000
    d = m["files"]["profiles"]["dirty"]
    assert len(ids) == 2000 - d["missing_ids"]
    assert ids <= {r["profile_id"] for r in truth}
    per_person = Counter(r["person_id"] for r in truth)
    assert max(per_person.values()) <= 4 and min(per_person.values()) >= 1
    prefixes = {re.match(r"[a-z]+_", p).group(0) for p in ids}
    assert prefixes == {"shop_", "app_", "wx_", "crm_", "pos_"}
    # profiles of one person come from different channels
    src = {r["profile_id"]: r["profile_id"].split("_")[0] for r in truth}
    by_person = defaultdict(list)
    for r in truth:
        by_person[r["person_id"]].append(src[r["profile_id"]])
    assert all(len(v) == len(set(v)) for v in by_person.values())


# ----------------------------------------------------------------------------- dirty rows
def test_manifest_dirty_counts_match_the_files(shop: tuple[Path, dict]) -> None:
    out, m = shop
    files = m["files"]

    def dup_count(rows: list[dict[str, str]], key: str) -> int:
        seen: dict[str, tuple] = {}
        extra = 0
        for r in rows:
            k = r[key]
            if not k:
                continue
            if k in seen:
                assert seen[k] == tuple(r.values()), f"duplicate {key}={k} is not an exact copy"
                extra += 1
            else:
                seen[k] = tuple(r.values())
        return extra

    prof = records(out / "profiles.csv")
    counts = {
        "bad_dates": sum(1 for r in prof if r["birthday"] and not valid_date(r["birthday"])),
        "missing_ids": sum(1 for r in prof if not r["profile_id"]),
        "duplicates": dup_count(prof, "profile_id"),
        "mixed_case_emails": sum(
            1 for r in prof if r["email"] and r["email"] != r["email"].strip().lower()
        ),
    }
    assert counts == files["profiles"]["dirty"]

    ev = records(out / "events.csv")
    counts = {
        "bad_dates": sum(1 for r in ev if parse_ts(r["ts"]) is None),
        "missing_ids": sum(1 for r in ev if not r["profile_id"] and not r["anonymous_id"]),
        "duplicates": dup_count(ev, "event_id"),
        "mixed_case_emails": 0,
    }
    assert counts == files["events"]["dirty"]

    orders = records(out / "orders.csv")
    counts = {
        "bad_dates": sum(1 for r in orders if parse_ts(r["ts"]) is None),
        "missing_ids": sum(1 for r in orders if not r["order_id"]),
        "duplicates": dup_count(orders, "order_id"),
        "mixed_case_emails": 0,
    }
    assert counts == files["orders"]["dirty"]

    idn = records(out / "identities.csv")
    assert files["identities"]["dirty"]["mixed_case_emails"] == sum(
        1 for r in idn if r["type"] == "email" and r["value"] != r["value"].strip().lower()
    )

    for kind, f in files.items():
        d = f["dirty"]
        assert f["expected_rejects"] == d["bad_dates"] + d["missing_ids"], kind
        assert f["expected_duplicates"] == d["duplicates"], kind
        if kind in ("profiles", "events", "orders"):
            assert f["rows"] >= 200
            assert min(d["bad_dates"], d["missing_ids"], d["duplicates"]) >= 1, kind
            assert (d["bad_dates"] + d["missing_ids"] + d["duplicates"]) / f["rows"] <= 0.012, kind
    assert files["profiles"]["dirty"]["mixed_case_emails"] >= 1


def test_dirty_sets_are_disjoint(shop: tuple[Path, dict]) -> None:
    out, _ = shop
    ev = records(out / "events.csv")
    copies = Counter(r["event_id"] for r in ev if r["event_id"])
    for r in ev:
        bad = parse_ts(r["ts"]) is None
        missing = not r["profile_id"] and not r["anonymous_id"]
        assert not (bad and missing)
        if bad or missing:
            assert copies[r["event_id"]] == 1, "a dirty row was duplicated"
    prof = records(out / "profiles.csv")
    copies = Counter(r["profile_id"] for r in prof)
    for r in prof:
        mixed = r["email"] != r["email"].strip().lower()
        bad = bool(r["birthday"]) and not valid_date(r["birthday"])
        if mixed or bad:
            assert copies[r["profile_id"]] == 1
            assert r["profile_id"]
        assert not (mixed and bad)


# ----------------------------------------------------------------------------- content
def test_timestamps_iso_z_with_about_one_percent_other_spellings(shop: tuple[Path, dict]) -> None:
    out, _ = shop
    ts = [r["ts"] for r in records(out / "events.csv")]
    z = sum(1 for t in ts if re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", t))
    offset = sum(1 for t in ts if t.endswith("+08:00") and parse_ts(t))
    epoch = sum(1 for t in ts if re.fullmatch(r"\d{10}", t))
    slash = sum(1 for t in ts if re.fullmatch(r"\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}", t))
    assert min(offset, epoch, slash) > 0
    assert 0.97 < z / len(ts) < 0.995
    assert 0.005 < (offset + epoch + slash) / len(ts) < 0.02
    # all valid spellings are inside the period
    for t in ts:
        p = parse_ts(t)
        if p is not None:
            assert END_DT - timedelta(days=365) <= p < END_DT


def test_events_volume_and_power_law_activity(shop: tuple[Path, dict]) -> None:
    out, _ = shop
    ev = records(out / "events.csv")
    assert 30 <= len(ev) / 2000 <= 75
    per = Counter(r["profile_id"] or r["anonymous_id"] for r in ev)
    counts = sorted(per.values(), reverse=True)
    top = sum(counts[: max(1, len(counts) // 100)]) / sum(counts)
    assert top > 0.08, "the 1 % most active should produce a large share"
    assert sorted(counts)[len(counts) // 2] < len(ev) / len(counts), "median below mean"
    kinds = Counter(r["event"] for r in ev)
    for k in (
        "page_view",
        "view_product",
        "add_to_cart",
        "checkout",
        "order_paid",
        "login",
        "app_open",
        "search",
        "email_sent",
        "email_delivered",
        "email_opened",
        "email_clicked",
        "sms_sent",
        "coupon_received",
        "coupon_redeemed",
        "return_requested",
        "wechat_follow",
        "identify",
    ):
        assert kinds[k] > 0, k
    # funnel drop-off
    assert kinds["view_product"] > kinds["add_to_cart"] > kinds["checkout"]
    assert (
        kinds["email_sent"]
        > kinds["email_delivered"]
        > kinds["email_opened"]
        > kinds["email_clicked"]
    )
    for r in ev[:2000]:
        assert isinstance(json.loads(r["properties"]), dict)


def test_every_order_paid_event_has_a_consistent_order(shop: tuple[Path, dict]) -> None:
    out, _ = shop
    con = duckdb.connect()
    con.execute(f"CREATE TABLE e AS SELECT * FROM read_csv('{out}/events.csv', all_varchar=true)")
    con.execute(f"CREATE TABLE o AS SELECT * FROM read_csv('{out}/orders.csv', all_varchar=true)")
    con.execute(
        f"CREATE TABLE i AS SELECT * FROM read_csv('{out}/order_items.csv', all_varchar=true)"
    )
    paid = con.sql("""SELECT json_extract_string(properties, '$.order_id') AS oid,
        json_extract_string(properties, '$.amount') AS amount, profile_id, ts FROM e
        WHERE event = 'order_paid'""").fetchall()
    orders = {
        r[0]: r
        for r in con.sql(
            "SELECT order_id, amount, profile_id, status FROM o WHERE order_id IS NOT NULL"
        ).fetchall()
    }
    assert len(paid) > 100
    for oid, amount, pid, _ in paid:
        assert oid in orders, oid
        o = orders[oid]
        assert float(o[1]) == pytest.approx(float(amount))
        assert o[3] in ("paid", "refunded", "returned")
        if pid:
            assert o[2] == pid
    # amount = sum of quantity * price of the items
    mismatch = con.sql("""SELECT count(*) FROM o JOIN (SELECT order_id, sum(quantity::INT * price::DECIMAL(12,2)) s
        FROM i GROUP BY 1) USING (order_id) WHERE s <> amount::DECIMAL(12,2)""").fetchall()[0][0]
    assert mismatch == 0
    statuses = dict(con.sql("SELECT status, count(*) FROM o GROUP BY 1").fetchall())
    assert statuses["paid"] > 0.7 * sum(statuses.values())
    assert {"refunded", "returned", "cancelled"} <= set(statuses)
    # checkout happens before payment of the same order
    late = con.sql("""SELECT count(*) FROM e c JOIN e p ON json_extract_string(c.properties, '$.order_id')
        = json_extract_string(p.properties, '$.order_id') WHERE c.event = 'checkout' AND p.event = 'order_paid'
        AND try_cast(c.ts AS TIMESTAMPTZ) > try_cast(p.ts AS TIMESTAMPTZ)""").fetchall()[0][0]
    assert late == 0
    returned = {
        r[0] for r in con.sql("SELECT order_id FROM o WHERE status = 'returned'").fetchall()
    }
    requested = {
        r[0]
        for r in con.sql("""SELECT json_extract_string(properties, '$.order_id') FROM e
        WHERE event = 'return_requested'""").fetchall()
    }
    assert requested <= returned | {None}
    assert len(requested) > 0


def test_identifiers_overlap_within_a_person_and_junk_is_shared(shop: tuple[Path, dict]) -> None:
    out, _ = shop
    person = {r["profile_id"]: r["person_id"] for r in records(out / "truth_persons.csv")}
    by_value: dict[str, set[str]] = defaultdict(set)
    types = Counter()
    for r in records(out / "identities.csv"):
        types[r["type"]] += 1
        v = r["value"].strip().lower() if r["type"] == "email" else r["value"]
        v = norm_phone(v) if r["type"] == "phone" else v
        by_value[f"{r['type']}:{v}"].add(r["profile_id"])
    assert set(types) == {
        "email",
        "phone",
        "wechat_openid",
        "wechat_unionid",
        "wecom_external_userid",
        "device_id",
        "crm_lead_id",
        "crm_contact_id",
        "anonymous_id",
    }
    # union-find over shared identifiers, ignoring values shared by many persons
    parent = {p: p for p in person}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    junk_seen = set()
    for key, profs in by_value.items():
        persons = {person[p] for p in profs}
        if len(persons) > 1:
            junk_seen.add(key)
            continue
        first, *rest = sorted(profs)
        for p in rest:
            parent[find(p)] = find(first)
    # cross-person identifiers are only the planted junk (shop test e-mails, store phones)
    store_phone = re.compile(r"phone:0\d{9,11}$")
    assert junk_seen and all(
        k.split(":", 1)[1] in JUNK or store_phone.match(k) for k in junk_seen
    ), junk_seen
    assert max(len({person[p] for p in by_value[k]}) for k in junk_seen) >= 3
    groups: dict[str, set[str]] = defaultdict(set)
    for p, who in person.items():
        groups[who].add(p)
    multi = [ps for ps in groups.values() if len(ps) > 1]
    connected = sum(1 for ps in multi if len({find(p) for p in ps}) == 1)
    assert len(multi) > 200
    assert 0.5 < connected / len(multi) < 0.95  # realistic: most, not all, can be linked


def test_anonymous_visitors_identify_later(shop: tuple[Path, dict]) -> None:
    out, _ = shop
    ev = records(out / "events.csv")
    identify = [r for r in ev if r["event"] == "identify" and parse_ts(r["ts"])]
    assert identify and all(r["profile_id"] and r["anonymous_id"] for r in identify)
    first_seen: dict[str, datetime] = {}
    for r in ev:
        t = parse_ts(r["ts"])
        if r["anonymous_id"] and not r["profile_id"] and t:
            first_seen[r["anonymous_id"]] = min(t, first_seen.get(r["anonymous_id"], t))
    before = sum(
        1
        for r in identify
        if r["anonymous_id"] in first_seen and first_seen[r["anonymous_id"]] < parse_ts(r["ts"])
    )
    assert before >= len(identify) // 2
    # visitors that never sign up exist too
    identified = {r["anonymous_id"] for r in identify}
    assert len(set(first_seen) - identified) > 50


def test_profiles_are_realistic(shop: tuple[Path, dict]) -> None:
    out, _ = shop
    prof = [r for r in records(out / "profiles.csv") if r["profile_id"]]
    names = [r["name"] for r in prof if r["name"]]
    assert sum(bool(re.search(r"[\u4e00-\u9fff]", n)) for n in names) / len(names) > 0.7
    assert any(re.search(r"[\u0400-\u04ff]", n) for n in names)
    assert any(re.search(r"[\U0001F300-\U0001FAFF]", n) for n in names)
    assert any(re.fullmatch(r"[A-Za-zÀ-ÿ']+ [A-Za-zÀ-ÿ']+", n) for n in names)
    phones = [r["phone"] for r in prof if r["phone"]]
    assert any(re.fullmatch(r"1\d{10}", p) for p in phones)
    assert any(re.fullmatch(r"\+86 1\d{2} \d{4} \d{4}", p) for p in phones)
    assert any(re.fullmatch(r"1\d{2}-\d{4}-\d{4}", p) for p in phones)
    assert any(p.startswith("+7") for p in phones) and any(p.startswith("+1") for p in phones)
    assert any(r["birthday"].endswith("-02-29") for r in prof)
    cities = Counter(r["city"] for r in prof if r["city"])
    first_tier = sum(cities[c] for c in ("Beijing", "Shanghai", "Guangzhou", "Shenzhen"))
    assert first_tier / sum(cities.values()) > 0.25
    assert {"Hangzhou", "Chengdu", "Wuhan"} <= set(cities)
    for r in prof:
        if r["birthday"] and valid_date(r["birthday"]):
            b = date.fromisoformat(r["birthday"])
            age = END.year - b.year - ((END.month, END.day) < (b.month, b.day))
            assert int(r["age"]) == age
    young_pros = [
        r
        for r in prof
        if r["city"] in ("Beijing", "Shanghai", "Guangzhou", "Shenzhen")
        and r["age"]
        and 22 <= int(r["age"]) <= 28
        and r["industry"] in ("internet", "finance")
    ]
    assert len(young_pros) >= 3
    share_acc = sum(1 for r in prof if r["account_id"]) / len(prof)
    assert 0.12 < share_acc < 0.3
    accounts = records(out / "accounts.csv")
    assert len(accounts) == 50
    assert {r["account_id"] for r in prof if r["account_id"]} <= {a["account_id"] for a in accounts}


def test_behaviour_segments_exist(shop: tuple[Path, dict]) -> None:
    out, _ = shop
    con = duckdb.connect()
    con.execute(f"CREATE TABLE e0 AS SELECT * FROM read_csv('{out}/events.csv', all_varchar=true)")
    con.execute(
        "CREATE TABLE e AS SELECT *, try_cast(ts AS TIMESTAMPTZ) t FROM e0 WHERE ts LIKE '%Z'"
    )
    con.execute(f"CREATE TABLE o0 AS SELECT * FROM read_csv('{out}/orders.csv', all_varchar=true)")
    con.execute(
        "CREATE TABLE o AS SELECT *, try_cast(ts AS TIMESTAMPTZ) t FROM o0 WHERE order_id IS NOT NULL"
    )
    end = "TIMESTAMPTZ '2026-03-01 00:00:00+00'"

    def one(q: str) -> object:
        return con.sql(q).fetchall()[0][0]

    coupon = one(f"""SELECT count(*) FROM (SELECT profile_id,
        count(*) FILTER (WHERE event = 'coupon_received' AND t >= {end} - INTERVAL 180 DAY) r,
        count(*) FILTER (WHERE event = 'coupon_redeemed' AND t >= {end} - INTERVAL 180 DAY) d
        FROM e GROUP BY 1) WHERE r >= 5 AND d >= 0.7 * r""")
    loyal = one(f"""SELECT count(*) FROM (SELECT profile_id, count(*) n, avg(amount::DOUBLE) a FROM o
        WHERE status = 'paid' AND t >= {end} - INTERVAL 30 DAY GROUP BY 1) WHERE n >= 3 AND a >= 500""")
    night = one("""SELECT count(*) FROM (SELECT profile_id, count(*) n, count(*) FILTER (WHERE
        hour(timezone('Asia/Shanghai', t)) >= 22 OR hour(timezone('Asia/Shanghai', t)) < 3) k FROM e
        WHERE event IN ('page_view', 'app_open', 'view_product') GROUP BY 1) WHERE n >= 5 AND k >= 0.6 * n""")
    lovers = one("""SELECT count(*) FROM (SELECT profile_id, max(c) m, sum(c) s FROM (SELECT profile_id,
        json_extract_string(properties, '$.category') cat, count(*) c FROM e WHERE event = 'view_product'
        AND profile_id IS NOT NULL GROUP BY 1, 2) GROUP BY 1) WHERE s >= 10 AND m >= 0.7 * s""")
    cart_no_order = one(f"""SELECT count(DISTINCT profile_id) FROM e WHERE event = 'add_to_cart'
        AND t >= {end} - INTERVAL 7 DAY AND profile_id NOT IN (SELECT profile_id FROM e
        WHERE event = 'order_paid' AND t >= {end} - INTERVAL 7 DAY AND profile_id IS NOT NULL)""")
    lapsed = one(f"""SELECT count(*) FROM (SELECT profile_id, max(t) m, count(*) FILTER (WHERE event = 'order_paid') n
        FROM e WHERE profile_id IS NOT NULL GROUP BY 1) WHERE m < {end} - INTERVAL 90 DAY AND n >= 2""")
    assert min(coupon, loyal, night, lovers, cart_no_order, lapsed) >= 3, (
        coupon,
        loyal,
        night,
        lovers,
        cart_no_order,
        lapsed,
    )
    # new sign-ups arrive all year; many have no order within 7 days
    signups = one(f"""SELECT count(*) FROM read_csv('{out}/profiles.csv', all_varchar=true)
        WHERE try_cast(created_at AS TIMESTAMPTZ) >= {end} - INTERVAL 365 DAY""")
    assert signups > 300
    months = one(f"""SELECT count(DISTINCT strftime(try_cast(created_at AS TIMESTAMPTZ), '%Y-%m'))
        FROM read_csv('{out}/profiles.csv', all_varchar=true) WHERE try_cast(created_at AS TIMESTAMPTZ) >= {end} - INTERVAL 365 DAY""")
    assert months >= 12


def test_memberships_and_subscriptions(shop: tuple[Path, dict]) -> None:
    out, _ = shop
    mem = records(out / "memberships.csv")
    kinds = Counter(r["kind"] for r in mem)
    assert set(kinds) == {"wechat_oa", "wecom_customer", "wecom_group", "crm_owner"}
    for r in mem:
        assert isinstance(json.loads(r["attrs"]), dict)
        assert parse_ts(r["since"]) is not None
        if r["kind"] in ("wecom_customer", "crm_owner"):
            assert r["key"].startswith("emp_")
        if r["kind"] == "wecom_group":
            assert r["key"].startswith("grp_")
    subs = records(out / "subscriptions.csv")
    st = Counter(r["status"] for r in subs)
    assert set(st) == {"opted_in", "opted_out", "bounced", "complained"}
    assert st["opted_in"] > 0.6 * len(subs)
    assert {r["channel"] for r in subs} == {"email", "sms", "push", "wechat"}


# ----------------------------------------------------------------------------- formats
def test_unicode_round_trips_in_utf8(shop: tuple[Path, dict]) -> None:
    out, _ = shop
    raw = (out / "profiles.csv").read_bytes()
    text = raw.decode("utf-8")  # strict: fails on invalid UTF-8
    assert not raw.startswith(b"\xef\xbb\xbf")
    assert re.search(r"[\u4e00-\u9fff]", text) and re.search(r"[\u0400-\u04ff]", text)
    assert re.search(r"[\U0001F300-\U0001FAFF]", text)
    names = [r["name"] for r in records(out / "profiles.csv") if r["name"]]
    con = duckdb.connect()
    duck = [
        r[0]
        for r in con.sql(
            f"SELECT name FROM read_csv('{out}/profiles.csv', all_varchar=true) "
            "WHERE name IS NOT NULL"
        ).fetchall()
    ]
    assert duck == names
    items = (out / "order_items.csv").read_text(encoding="utf-8")
    assert re.search(r"[\u4e00-\u9fff]", items)


def test_parquet_and_csv_hold_the_same_data(tmp_path: Path) -> None:
    mc = generate_shop(tmp_path / "c", profiles=600, seed=5, days=60, end=END, fmt="csv")
    mp = generate_shop(tmp_path / "p", profiles=600, seed=5, days=60, end=END, fmt="parquet")
    assert mp["format"] == "parquet" and mc["format"] == "csv"
    assert {
        k: {kk: vv for kk, vv in v.items() if kk != "file"} for k, v in mc["files"].items()
    } == {k: {kk: vv for kk, vv in v.items() if kk != "file"} for k, v in mp["files"].items()}
    con = duckdb.connect()
    for kind, cols in SPEC_COLUMNS.items():
        assert mp["files"][kind]["file"] == f"{kind}.parquet"
        sel = ", ".join(f'CAST("{c}" AS VARCHAR)' for c in cols)
        a = con.sql(
            f"SELECT {sel} FROM read_csv('{tmp_path}/c/{kind}.csv', all_varchar=true)"
        ).fetchall()
        b = con.sql(f"SELECT {sel} FROM read_parquet('{tmp_path}/p/{kind}.parquet')").fetchall()
        assert [
            c for c in con.sql(f"SELECT * FROM read_parquet('{tmp_path}/p/{kind}.parquet')").columns
        ] == cols
        assert a == b, kind
        assert len(a) == mc["files"][kind]["rows"]
    props = con.sql(
        f"SELECT typeof(properties), typeof(ts) FROM read_parquet('{tmp_path}/p/events.parquet') LIMIT 1"
    ).fetchall()
    assert props == [("VARCHAR", "VARCHAR")]


def test_progress_is_reported(tmp_path: Path) -> None:
    seen: list[tuple[str, float]] = []
    generate_shop(
        tmp_path, profiles=100, seed=0, days=30, end=END, progress=lambda s, f: seen.append((s, f))
    )
    stages = list(dict.fromkeys(s for s, _ in seen))
    assert stages == ["people", "profiles", "events"]
    for stage in stages:
        fr = [f for s, f in seen if s == stage]
        assert fr == sorted(fr) and fr[0] == 0.0 and fr[-1] == 1.0, stage
    # a stage is finished before the next one starts
    assert [s for s, _ in seen] == sorted((s for s, _ in seen), key=stages.index)
