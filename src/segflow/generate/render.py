"""Turn numeric event / order batches into the final string tables with DuckDB.

Profile and anonymous ids are looked up with ``pyarrow.compute.take``, small
vocabularies (event names, SKUs, campaigns, ...) with SQL list literals; timestamps,
ids, money and the JSON ``properties`` are formatted by one SQL projection (which
keeps row order). For CSV the projection yields finished lines that are written
straight from the Arrow buffer. About 1 % of ``ts`` values use another accepted spelling:
``+08:00`` offsets, epoch seconds or ``YYYY/MM/DD HH:MM:SS`` (UTC).
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa

from . import vocab
from .dirty import BAD_TIMESTAMPS
from .events import Orders
from .model import ET, EVENT_TYPES, Batch, World
from .util import lookup, pick_weighted, sql_decimal, sql_list, sql_money, sql_ts_styled

__all__ = [
    "ORDER_STATUSES",
    "events_csv_sql",
    "events_frame",
    "events_sql",
    "render_orders",
    "ts_styles",
]

ORDER_STATUSES = ("paid", "refunded", "returned", "cancelled")
#: ts spelling shares: Z (99 %), +08:00, epoch seconds, slashes.
STYLE_WEIGHTS = (0.99, 0.004, 0.003, 0.003)

# one list for all small per-event words; each event type reads its own slice
_AUX_LISTS: dict[str, tuple[str, ...]] = {
    "page_view": vocab.REFERRERS,
    "login": vocab.LOGIN_METHODS,
    "app_open": vocab.APP_OS,
    "order_paid": vocab.PAYMENTS,
    "return_requested": vocab.RETURN_REASONS,
    "wechat_follow": vocab.SUBSCRIBE_SCENES,
}
_AUX_WORDS: list[str] = []
_AUX_OFFSET = np.full(len(EVENT_TYPES), -1, np.int64)
for _name, _words in _AUX_LISTS.items():
    _AUX_OFFSET[ET[_name]] = len(_AUX_WORDS)
    _AUX_WORDS.extend(_words)


def ts_styles(rng: np.random.Generator, n: int) -> np.ndarray:
    """Spelling code per timestamp (see :func:`.util.sql_ts_styled`)."""
    return pick_weighted(rng, STYLE_WEIGHTS, n).astype(np.int8)


def _oid(col: str) -> str:
    return f"'ord_' || to_hex({col})"


_PRODUCT = (
    '\'"sku":"\' || sku_s || \'","category":"\' || cat_s || \'","price":\' || '
    f"{sql_money('price')} || ',\"currency\":\"' || currency || '\"'"
)
_ORDER = (
    f'\'"order_id":"\' || {_oid("ord")} || \'","amount":\' || {sql_money("amount")}'
    " || ',\"currency\":\"' || currency || '\"'"
)
_COUPON = "'CPN' || to_hex(coupon)"


def events_sql(w: World, csv: bool = False) -> str:
    """The projection from the numeric event table ``ev_t`` to the events columns.

    With ``csv`` the properties come out CSV-escaped (every ``"`` doubled).
    """
    cat = w.catalog
    props = f"""
  CASE et
    WHEN {ET["page_view"]} THEN '{{"page":"' || CASE WHEN cat_s IS NULL THEN '/' ELSE '/c/' || cat_s END
         || '","referrer":"' || auxs || '"}}'
    WHEN {ET["view_product"]} THEN '{{' || {_PRODUCT} || '}}'
    WHEN {ET["add_to_cart"]} THEN '{{' || {_PRODUCT} || ',"quantity":' || qty::VARCHAR || '}}'
    WHEN {ET["checkout"]} THEN '{{' || {_ORDER} || ',"items":' || aux2::VARCHAR || '}}'
    WHEN {ET["order_paid"]} THEN '{{' || {_ORDER} || ',"payment":"' || auxs || '"'
         || CASE WHEN coupon <> 0 THEN ',"coupon_id":"' || {_COUPON} || '"' ELSE '' END
         || CASE WHEN store_s IS NOT NULL THEN ',"store":"' || store_s || '"' ELSE '' END || '}}'
    WHEN {ET["login"]} THEN '{{"method":"' || auxs || '"}}'
    WHEN {ET["app_open"]} THEN '{{"os":"' || auxs || '"}}'
    WHEN {ET["search"]} THEN '{{"query":"' || noun_s || '","category":"' || cat_s || '"}}'
    WHEN {ET["email_clicked"]} THEN '{{"campaign":"' || campaign_s
         || '","url":"https://shop.example.cn/promo/' || campaign_s || '"}}'
    WHEN {ET["coupon_received"]} THEN '{{"coupon_id":"' || {_COUPON} || '","campaign":"' || campaign_s
         || '","value":' || (amount // 100)::VARCHAR || ',"min_spend":' || aux2::VARCHAR || '}}'
    WHEN {ET["coupon_redeemed"]} THEN '{{"coupon_id":"' || {_COUPON} || '",' || {_ORDER} || '}}'
    WHEN {ET["return_requested"]} THEN '{{"order_id":"' || {_oid("ord")} || '","reason":"' || auxs || '"}}'
    WHEN {ET["wechat_follow"]} THEN '{{"app_id":"{vocab.OA_APPS[0]}","scene":"' || auxs || '"}}'
    WHEN {ET["identify"]} THEN '{{"method":"signup"}}'
    ELSE '{{"campaign":"' || campaign_s || '"}}'
  END"""
    if csv:  # every " of the JSON sits inside an SQL string literal of the template
        props = props.replace('"', '""')
    ts = sql_ts_styled("ts", "tsf", f"{sql_list(BAD_TIMESTAMPS)}[badi + 1]")
    return f"""
SELECT 'evt_' || to_hex(eid) AS event_id, profile_id, anonymous_id,
  {sql_list(EVENT_TYPES)}[et + 1] AS event, {ts} AS ts, coalesce({props}, '{{}}') AS properties,
  {sql_list(vocab.CHANNELS)}[ch + 1] AS channel, {sql_list(vocab.SOURCES)}[src + 1] AS source
FROM (SELECT *,
  CASE WHEN sku >= 0 THEN {sql_list(cat.sku)}[sku + 1] END AS sku_s,
  CASE WHEN cat >= 0 THEN {sql_list(cat.category_name)}[cat + 1] END AS cat_s,
  {sql_list([c for c, _ in vocab.CURRENCIES])}[cur + 1] AS currency,
  CASE WHEN campaign >= 0 THEN {sql_list(w.campaign_names)}[campaign + 1] END AS campaign_s,
  CASE WHEN store >= 0 THEN {sql_list([s[0] for s in vocab.STORES])}[store + 1] END AS store_s,
  CASE WHEN auxi >= 0 THEN {sql_list(_AUX_WORDS)}[auxi + 1] END AS auxs,
  CASE WHEN et = {ET["search"]} THEN {sql_list(cat.nouns)}[aux2 + 1] END AS noun_s
  FROM ev_t)"""


def events_csv_sql(w: World) -> str:
    """Like :func:`events_sql` but one finished CSV line (with newline) per event.

    Only ``properties`` can contain commas or quotes, so it is always quoted with
    inner quotes doubled; every other field is plain (identical to what a CSV writer
    quoting "only when needed" produces).
    """
    return f"""
SELECT event_id || ',' || coalesce(profile_id, '') || ',' || coalesce(anonymous_id, '') || ','
  || event || ',' || ts || ',"' || properties || '",' || channel || ',' || source || chr(10) AS line
FROM ({events_sql(w, csv=True)})"""


def events_frame(w: World, ev: Batch, profile_ids: pa.Array, anon_ids: pa.Array) -> pa.Table:
    """The numeric event table the SQL of this module reads (registered as ``ev_t``)."""
    et = ev["et"].astype(np.int64)
    return pa.table(
        {
            "eid": ev["eid"],
            "et": ev["et"],
            "ts": ev["ts"],
            "tsf": ev["tsf"],
            "badi": ev["badi"],
            "profile_id": lookup(profile_ids, ev["prof"]),
            "anonymous_id": lookup(anon_ids, ev["aid"]),
            "ch": ev["ch"],
            "src": ev["src"],
            "sku": ev["sku"],
            "cat": ev["cat"],
            "price": ev["price"],
            "qty": ev["qty"],
            "ord": ev["order"],
            "amount": ev["amount"],
            "coupon": ev["coupon"],
            "cur": ev["cur"],
            "campaign": ev["campaign"],
            "store": ev["store"],
            "auxi": np.where(_AUX_OFFSET[et] >= 0, _AUX_OFFSET[et] + ev["aux"], -1).astype(
                np.int16
            ),
            "aux2": ev["aux2"],
        }
    )


def render_orders(
    w: World,
    o: Orders,
    rng: np.random.Generator,
    profile_ids: pa.Array,
    con: duckdb.DuckDBPyConnection,
) -> tuple[pa.Table, pa.Table]:
    """The ``orders`` and ``order_items`` rows of one chunk, orders by time."""
    order = np.argsort(o.ts, kind="stable")
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    ot = pa.table(
        {
            "uid": o.uid[order],
            "profile_id": lookup(profile_ids, o.prof[order]),
            "ts": o.ts[order],
            "tsf": ts_styles(rng, len(order)),
            "amount": o.amount[order],
            "status": lookup(ORDER_STATUSES, o.status[order]),
            "currency": lookup([c for c, _ in vocab.CURRENCIES], o.cur[order]),
            "channel": lookup(vocab.CHANNELS, o.ch[order]),
            "store": lookup([s[0] for s in vocab.STORES], o.store[order]),
        }
    )
    iorder = np.argsort(rank[o.item_order], kind="stable")
    it = pa.table(
        {
            "uid": o.uid[o.item_order[iorder]],
            "sku": lookup(w.catalog.sku, o.item_sku[iorder]),
            "qty": o.item_qty[iorder],
            "price": o.item_price[iorder],
            "category": lookup(w.catalog.category_name, o.item_cat[iorder]),
            "name": lookup(w.catalog.name, o.item_sku[iorder]),
        }
    )
    con.register("o_t", ot)
    orders = con.sql(f"""SELECT {_oid("uid")} AS order_id, profile_id,
        {sql_ts_styled("ts", "tsf", "NULL")} AS ts, {sql_decimal("amount")} AS amount,
        status, currency, channel, store FROM o_t""").to_arrow_table()
    con.unregister("o_t")
    con.register("i_t", it)
    # One line per SKU per order (the order_items key): repeated picks add up their quantity.
    items = con.sql(f"""SELECT {_oid("uid")} AS order_id, sku, sum(qty)::INTEGER AS quantity,
        {sql_decimal("price")} AS price, category, name
        FROM (SELECT *, row_number() OVER () AS rn FROM i_t)
        GROUP BY uid, sku, price, category, name ORDER BY min(rn)""").to_arrow_table()
    con.unregister("i_t")
    return orders, items
