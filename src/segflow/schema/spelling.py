"""Is a new column name a typo of a known one? (``cty`` for ``city``, ``emial`` for ``email``)

A column a file brings that the registry does not know becomes a permanent attribute,
so a misspelt header would leave a junk column behind. :func:`close_name` says which
known name a new one looks like a slip of:

    >>> close_name("emial", ["email", "city"])
    'email'
    >>> close_name("cty", ["email", "city"])
    'city'
    >>> close_name("loyalty_points", ["email", "city"]) is None
    True

"Close" is an optimal-string-alignment distance (insertions, deletions, substitutions
and swaps of two neighbours, each 1) of at most 1 for names of up to 5 letters and 2 for
longer ones, ignoring case and ``_``/``-``/space differences (``FirstName`` is
``first_name``). Names of one or two letters are never called typos, a three-letter name
only for a letter too many, too few or swapped (``cty``; but ``vip`` is no slip of ``zip``),
and a name that is itself a well-known attribute (:data:`WELL_KNOWN`) never.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["WELL_KNOWN", "close_name", "edit_distance", "well_known"]

#: Attribute names customer files commonly carry, per kind (besides the kind's built-in columns):
#: suggested for a close new name, and never themselves taken for a typo.
WELL_KNOWN: dict[str, tuple[str, ...]] = {
    "profiles": (
        "first_name", "last_name", "full_name", "nickname", "username", "gender", "birthday", "birth_date", "age",
        "email", "phone", "mobile", "city", "province", "state", "region", "country", "address", "street",
        "zip", "zip_code", "postal_code", "postcode", "company", "title", "job_title", "department", "industry",
        "language", "locale", "store", "vip", "currency", "source", "channel", "status", "tier", "level", "segment", "score",
        "points", "loyalty_points", "balance", "signup_date", "last_login", "website", "wechat", "openid",
        "unionid", "notes", "note", "tags",
    ),
    "accounts": (
        "website", "domain", "country", "city", "province", "region", "address", "phone", "email", "owner",
        "plan", "tier", "status", "source", "created_at",
    ),
}


def well_known(kind: str) -> tuple[str, ...]:
    """The well-known attribute names of *kind* (none for a kind without a list)."""
    return WELL_KNOWN.get(kind, ())


def _plain(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch not in "_- ")


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: ``edit_distance("emial", "email") == 1`` (one swap)."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[len(b)]


def close_name(name: str, known: Iterable[str], *, kind: str | None = None) -> str | None:
    """The known name *name* is most likely a misspelling of, or None.

    *known* are the names already in use; with *kind*, that kind's :data:`WELL_KNOWN`
    names are candidates too, and *name* being one of them means it is no typo.
    """
    plain = _plain(name)
    candidates = [k for k in dict.fromkeys([*known, *(well_known(kind) if kind else ())]) if k != name]
    if len(plain) <= 2 or (kind and name.lower() in well_known(kind)):
        return None
    limit = 1 if len(plain) <= 5 else 2
    best: tuple[int, int, str] | None = None
    for order, candidate in enumerate(candidates):
        other = _plain(candidate)
        if len(plain) <= 3 and len(other) == len(plain) and sorted(other) != sorted(plain):
            continue  # a short name one letter off another (vip, zip) is a word of its own
        d = edit_distance(plain, other)
        if d <= limit and (best is None or (d, order) < best[:2]):
            best = (d, order, candidate)
    return best[2] if best else None
