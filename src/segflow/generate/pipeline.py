"""The generation run: people and profiles first, then events chunk by chunk.

:func:`run` is called by :func:`segflow.generate.generate_shop` after the
parameters were checked; it writes every file and returns the manifest.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from . import vocab
from .catalog import build_calendar, build_campaigns, build_catalog
from .contacts import profiles_table
from .dirty import BAD_DATES, BAD_TIMESTAMPS, DirtyCounts, inject, mixed_case_emails, plan
from .events import simulate_chunk
from .links import (
    Links,
    identities_table,
    memberships_table,
    plan_links,
    subscriptions_table,
    uuid_ids,
)
from .model import Batch, World, take, uid
from .people import Persons, accounts_table, build_accounts, build_persons
from .profiles import Profiles, build_profiles
from .render import events_csv_sql, events_frame, events_sql, render_orders, ts_styles
from .util import sub_rng
from .writer import TableWriter

__all__ = ["EVENT_COLUMNS", "KINDS", "PERSONS_PER_CHUNK", "Progress", "run"]

Progress = Callable[[str, float], None]

#: The data kinds written, in manifest order.
KINDS = (
    "profiles",
    "accounts",
    "identities",
    "events",
    "orders",
    "order_items",
    "memberships",
    "subscriptions",
)
#: Persons simulated per event chunk (bounds memory; part of the deterministic layout).
PERSONS_PER_CHUNK = 25_000
VISITORS_PER_PERSON = 0.3
EVENT_COLUMNS = (
    "event_id",
    "profile_id",
    "anonymous_id",
    "event",
    "ts",
    "properties",
    "channel",
    "source",
)


def run(
    out: Path,
    n_profiles: int,
    seed: int,
    days: int,
    start: int,
    end: int,
    fmt: str,
    con: duckdb.DuckDBPyConnection,
    report: Progress,
) -> dict:
    """Write all files of the shop into ``out``; returns the manifest (not yet written)."""
    accounts = build_accounts(seed, max(1, round(n_profiles / 40)))
    persons = build_persons(seed, n_profiles, start, end, accounts.industry)
    prof = build_profiles(seed, persons)
    report("people", 1.0)
    report("profiles", 0.0)
    ptab = profiles_table(seed, persons, prof, accounts, con)
    profile_ids = ptab.column("profile_id").combine_chunks()
    links = plan_links(
        seed,
        persons,
        prof,
        ptab.column("email").combine_chunks(),
        ptab.column("phone").combine_chunks(),
    )
    writers = {k: TableWriter(out, k, fmt, con) for k in KINDS}
    rng = sub_rng(seed, "dirty")

    mixed = mixed_case_emails(ptab.column("email"))
    dirty_p, counts = inject(
        rng,
        ptab,
        date_col="birthday",
        bad_values=BAD_DATES,
        id_cols=("profile_id",),
        rates=(0.002, 0.001, 0.003),
        at_least_one=ptab.num_rows >= 200,
        clean=~mixed,
    )
    counts.mixed_case_emails = int(mixed.sum())
    writers["profiles"].write(dirty_p, counts)
    writers["accounts"].write(accounts_table(accounts))
    itab = identities_table(links, profile_ids)
    is_email = pa.array(np.asarray(itab.column("type").to_numpy(zero_copy_only=False)) == "email")
    writers["identities"].write(
        itab,
        DirtyCounts(mixed_case_emails=int(mixed_case_emails(itab.column("value"), is_email).sum())),
    )
    writers["memberships"].write(memberships_table(links, profile_ids, con))
    writers["subscriptions"].write(subscriptions_table(links, prof, profile_ids, con))
    truth = pa.table(
        {
            "profile_id": profile_ids,
            "person_id": pa.array(
                np.char.add(
                    "person_",
                    np.char.zfill((prof.person + 1).astype(str), max(6, len(str(persons.n)))),
                )
            ),
        }
    )
    con.register("truth_t", truth)
    con.execute(
        f"COPY truth_t TO '{str(out / 'truth_persons.csv').replace(chr(39), chr(39) * 2)}' "
        "(FORMAT csv, HEADER true)"
    )
    con.unregister("truth_t")
    del ptab, dirty_p, itab
    report("profiles", 1.0)
    report("events", 0.0)

    world = _world(seed, start, end, persons, prof, links)
    anon_ids = pa.concat_arrays(
        [links.anon_id, uuid_ids(sub_rng(seed, "visitors"), world.n_visitors)]
    )
    _write_events(world, writers, profile_ids, anon_ids, fmt, con, report)

    files = {k: w.close() for k, w in writers.items()}
    return {
        "seed": seed,
        "profiles": n_profiles,
        "people": persons.n,
        "days": days,
        "end": datetime.fromtimestamp(end, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "format": fmt,
        "files": files,
    }


def _chunk(w: World, c: int, profile_ids: pa.Array, anon_ids: pa.Array) -> tuple:
    """Simulate chunk ``c``: the numeric event table, its dirty counts, orders, rng."""
    n = w.persons.n
    p0, p1 = c * PERSONS_PER_CHUNK, min(n, (c + 1) * PERSONS_PER_CHUNK)
    v0, v1 = p0 * w.n_visitors // n, p1 * w.n_visitors // n
    ev, order, orders = simulate_chunk(w, c, p0, p1, v0, v1)
    crng = sub_rng(w.seed, "dirty", c + 1)
    ev, counts = _dirty_events(w, ev, order, c, crng)
    return events_frame(w, ev, profile_ids, anon_ids), counts, orders, crng


def _write_events(
    w: World,
    writers: dict[str, TableWriter],
    profile_ids: pa.Array,
    anon_ids: pa.Array,
    fmt: str,
    con: duckdb.DuckDBPyConnection,
    report: Progress,
) -> None:
    """Events, orders and order items, chunk by chunk.

    numpy simulates chunk c + 1 in a helper thread while DuckDB renders and writes
    chunk c; every chunk has its own random streams, so the output does not depend
    on the timing.
    """
    n_chunks = max(1, math.ceil(w.persons.n / PERSONS_PER_CHUNK))
    csv_sql, sql = events_csv_sql(w), events_sql(w)
    header = ",".join(EVENT_COLUMNS)
    with ThreadPoolExecutor(max_workers=1) as pool:
        nxt = pool.submit(_chunk, w, 0, profile_ids, anon_ids)
        for c in range(n_chunks):
            frame, counts, orders, crng = nxt.result()
            if c + 1 < n_chunks:
                nxt = pool.submit(_chunk, w, c + 1, profile_ids, anon_ids)
            con.register("ev_t", frame)
            if fmt == "csv":
                writers["events"].write_lines(
                    header, con.sql(csv_sql).to_arrow_table().column(0), counts
                )
            else:
                writers["events"].write(con.sql(sql).to_arrow_table(), counts)
            con.unregister("ev_t")
            del frame
            otab, items = render_orders(w, orders, crng, profile_ids, con)
            cancelled = (
                np.asarray(otab.column("status").to_numpy(zero_copy_only=False)) == "cancelled"
            )
            otab, counts = inject(
                crng,
                otab,
                date_col="ts",
                bad_values=BAD_TIMESTAMPS,
                id_cols=("order_id",),
                rates=(0.002, 0.001, 0.003),
                at_least_one=c == 0 and otab.num_rows >= 200,
                missing_ok=cancelled,
            )
            writers["orders"].write(otab, counts)
            writers["order_items"].write(items)
            report("events", (c + 1) / n_chunks)


def _dirty_events(
    w: World, ev: Batch, order: np.ndarray, chunk: int, rng: np.random.Generator
) -> tuple[Batch, DirtyCounts]:
    """Events in file order: ids, ts spellings, dirty rows and duplicate copies.

    ``order`` lists the rows of ``ev`` in time order; the result is gathered once.
    """
    n = len(order)
    eid = uid(chunk, n, w.id_key ^ 0x0E)
    tsf = ts_styles(rng, n)
    badi = np.full(n, -1, np.int8)
    p = plan(rng, n, (0.001, 0.001, 0.002), at_least_one=chunk == 0 and n >= 200)
    tsf[p.bad] = 9
    badi[p.bad] = rng.integers(0, len(BAD_TIMESTAMPS), len(p.bad))
    ev["prof"][order[p.missing]] = -1
    ev["aid"][order[p.missing]] = -1
    out = take(ev, order[p.order])
    out["eid"], out["tsf"], out["badi"] = eid[p.order], tsf[p.order], badi[p.order]
    return out, p.counts()


def _world(
    seed: int, start: int, end: int, persons: Persons, prof: Profiles, links: Links
) -> World:
    catalog = build_catalog(seed)
    campaigns = build_campaigns(start, end)
    names = pa.concat_arrays(
        [
            campaigns.email_name.cast(pa.string()),
            campaigns.sms_name.cast(pa.string()),
            campaigns.coupon_name.cast(pa.string()),
        ]
    )
    country = np.array([c[2] for c in vocab.CITIES])[persons.city]
    tz = np.array([c[4] for c in vocab.CITIES])[persons.city]
    currency = np.select([country == "CN", country == "RU"], [0, 1], 2)
    online = prof.by_person[:, [vocab.SHOP, vocab.APP, vocab.WECHAT]]
    big = np.iinfo(np.int64).max
    first_online = np.where(online >= 0, online, big).min(axis=1)
    id_key = int(sub_rng(seed, "ids").integers(0, 2**62))
    return World(
        seed=seed,
        start=start,
        end=end,
        persons=persons,
        profiles=prof,
        links=links,
        catalog=catalog,
        calendar=build_calendar(start, end),
        campaigns=campaigns,
        campaign_names=names,
        n_visitors=round(persons.n * VISITORS_PER_PERSON),
        tz=tz,
        currency=currency,
        online_profile=np.where(first_online == big, -1, first_online),
        id_key=id_key,
    )
