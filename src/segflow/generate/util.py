"""Small vectorised helpers shared by the generator modules.

* random generators derived per table / chunk from the user's seed,
* a bijective 64-bit mixer for unique, random-looking ids,
* fast string columns (``pyarrow`` take / fixed-width tokens),
* SQL fragments used by the renderer to format timestamps and money.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "DAY",
    "gumbel_topk",
    "lookup",
    "mix64",
    "pick_weighted",
    "sql_decimal",
    "sql_list",
    "sql_money",
    "sql_ts",
    "sql_ts_styled",
    "sub_rng",
    "table",
    "tokens",
    "weighted",
]

DAY = 86_400

# Stable numeric keys of the sub-generators: never derived from hash() of strings.
_STREAMS = {
    "people": 1,
    "profiles": 2,
    "accounts": 3,
    "identities": 4,
    "memberships": 5,
    "subscriptions": 6,
    "events": 7,
    "catalog": 8,
    "dirty": 9,
    "campaigns": 10,
    "visitors": 11,
    "ids": 12,
}


def sub_rng(seed: int, stream: str, *more: int) -> np.random.Generator:
    """A generator for one table (and optionally one chunk) derived from ``seed``.

    Each table has its own stream, so changing how one table draws numbers does not
    change the others.
    """
    return np.random.default_rng(np.random.SeedSequence([seed, _STREAMS[stream], *more]))


_M63 = np.uint64((1 << 63) - 1)
_TOP = np.uint64(1 << 63)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def mix64(x: np.ndarray, key: int) -> np.ndarray:
    """Bijective scramble of 63-bit values, returned with the top bit set (as int64).

    xor with ``key``, then splitmix64-style xorshift-multiply rounds modulo 2**63:
    distinct inputs give distinct outputs, so sequence numbers become unique ids that
    look random. The top bit makes every id exactly 16 hex digits long (DuckDB's
    ``to_hex`` of a negative BIGINT prints its two's complement).
    """
    z = (x.astype(np.uint64) ^ np.uint64(key & ((1 << 63) - 1))) & _M63
    with np.errstate(over="ignore"):
        z = ((z ^ (z >> np.uint64(30))) * _M1) & _M63
        z = ((z ^ (z >> np.uint64(27))) * _M2) & _M63
    z = z ^ (z >> np.uint64(31))
    return (z | _TOP).view(np.int64)


def lookup(values: Sequence[str] | pa.Array, idx: np.ndarray) -> pa.Array:
    """``values[idx]`` as an Arrow string array; negative indices give nulls."""
    arr = values if isinstance(values, pa.Array) else pa.array(list(values), pa.string())
    idx = np.asarray(idx, dtype=np.int64)
    neg = idx < 0
    if neg.any():
        ind = pa.array(np.where(neg, 0, idx), mask=neg)
    else:
        ind = pa.array(idx)
    return pc.take(arr, ind)


_B64 = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", np.uint8)
_HEXU = np.frombuffer(b"0123456789ABCDEF", np.uint8)
_DIGITS = np.frombuffer(b"0123456789", np.uint8)


def tokens(
    rng: np.random.Generator, n: int, length: int, alphabet: str = "b64", prefix: str = ""
) -> pa.Array:
    """``n`` random fixed-length strings (``prefix`` + ``length`` characters)."""
    lut = {
        "b64": _B64,
        "hexu": _HEXU,
        "hex": np.frombuffer(b"0123456789abcdef", np.uint8),
        "digits": _DIGITS,
    }[alphabet]
    body = lut[rng.integers(0, len(lut), size=(n, length))]
    if prefix:
        pre = np.broadcast_to(np.frombuffer(prefix.encode(), np.uint8), (n, len(prefix)))
        body = np.concatenate([pre, body], axis=1)
    width = body.shape[1]
    data = np.ascontiguousarray(body, dtype=np.uint8).tobytes()
    offsets = np.arange(0, width * n + 1, width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets.tobytes()), pa.py_buffer(data))


def weighted(weights: Sequence[float] | np.ndarray) -> np.ndarray:
    """Cumulative, normalised weights for :func:`pick_weighted`."""
    w = np.asarray(weights, dtype=np.float64)
    c = np.cumsum(w / w.sum())
    c[-1] = 1.0
    return c


def pick_weighted(
    rng: np.random.Generator, weights: Sequence[float] | np.ndarray, size: int
) -> np.ndarray:
    """``size`` indices drawn with the given (unnormalised) weights."""
    cum = weighted(weights)
    return np.searchsorted(cum, rng.random(size), side="right").astype(np.int64)


def gumbel_topk(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """Per row, the column order of a weighted sample without replacement.

    ``weights`` is (rows, cols); zero weight columns come last. Returns the argsort
    (rows, cols) of Gumbel-perturbed log weights, best first.
    """
    with np.errstate(divide="ignore"):
        keys = np.log(weights) - np.log(-np.log(rng.random(weights.shape)))
    return np.argsort(-keys, axis=1, kind="stable")


def sql_ts(col: str) -> str:
    """SQL: epoch seconds -> ``2026-03-01T10:00:00Z``."""
    return f"strftime(make_timestamp({col}::BIGINT * 1000000), '%Y-%m-%dT%H:%M:%SZ')"


def sql_ts_styled(col: str, style: str, bad: str) -> str:
    """SQL: epoch seconds in one of the accepted spellings picked by ``style``.

    0 = ``...Z``, 1 = ``+08:00`` offset, 2 = epoch seconds, 3 = ``YYYY/MM/DD HH:MM:SS``
    (UTC); any other style takes the (invalid) text of column ``bad``.
    """
    return (
        f"CASE {style} WHEN 0 THEN {sql_ts(col)} "
        f"WHEN 1 THEN strftime(make_timestamp(({col}::BIGINT + 28800) * 1000000), "
        "'%Y-%m-%dT%H:%M:%S+08:00') "
        f"WHEN 2 THEN {col}::VARCHAR "
        f"WHEN 3 THEN strftime(make_timestamp({col}::BIGINT * 1000000), '%Y/%m/%d %H:%M:%S') "
        f"ELSE {bad} END"
    )


def sql_money(col: str) -> str:
    """SQL: integer cents -> ``199.00`` text (exact)."""
    return f"(({col}) // 100)::VARCHAR || '.' || lpad((({col}) % 100)::VARCHAR, 2, '0')"


def sql_decimal(col: str) -> str:
    """SQL: integer cents -> DECIMAL(12,2) (exact)."""
    return f"(({col})::DECIMAL(18,0) * 0.01::DECIMAL(3,2))::DECIMAL(12,2)"


def sql_list(values: Sequence[str] | pa.Array) -> str:
    """A DuckDB list literal of strings (index it 1-based: ``[...][i + 1]``)."""
    vals = values.to_pylist() if isinstance(values, pa.Array) else list(values)
    return "([" + ", ".join("'" + str(v).replace("'", "''") + "'" for v in vals) + "]::VARCHAR[])"


def table(**cols: np.ndarray | pa.Array) -> pa.Table:
    """An Arrow table from numpy arrays / Arrow arrays, in keyword order."""
    return pa.table(
        {
            k: (v if isinstance(v, (pa.Array, pa.ChunkedArray)) else pa.array(v))
            for k, v in cols.items()
        }
    )
