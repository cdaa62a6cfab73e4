"""Finding profiles by a piece of text: an id prefix, an e-mail, a phone, a name.

    >>> page = search_profiles(ws, "ann", limit=20)   # doctest: +SKIP

Matches the profile id by prefix, and ``email``, ``phone`` and ``name`` (where the profiles
table has them) by case-insensitive substring; paged by profile id (``after``: the last id of
the previous page), so a page never repeats or skips a profile.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from segflow.errors import QueryError
from segflow.warehouse.base import quote_ident

if TYPE_CHECKING:
    from segflow.context import ProjectContext

__all__ = ["SearchPage", "search_profiles"]

SHOWN = ("profile_id", "email", "phone", "name", "city", "created_at")
MATCHED = ("email", "phone", "name")


@dataclass
class SearchPage:
    items: list[dict[str, Any]] = field(default_factory=list)
    #: The last profile id of this page when there may be more (None on the last page).
    next_after: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"items": self.items, "next_after": self.next_after}


def search_profiles(ctx: ProjectContext, text: str = "", *, limit: int = 100, after: str | None = None) -> SearchPage:
    if not 1 <= limit <= 1000:
        raise QueryError(f"limit {limit}: expected 1 to 1000", code="bad_limit", path="limit")
    wh = ctx.warehouse
    have = set(wh.columns("profiles"))
    shown = [c for c in SHOWN if c in have]
    where, params = [], []
    text = text.strip()
    if text:
        like = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        tests = ["starts_with(profile_id, ?)"]
        params.append(text)
        for col in MATCHED:
            if col in have:
                tests.append(f"lower(CAST({quote_ident(col)} AS VARCHAR)) LIKE ? ESCAPE '\\'")
                params.append(like)
        where.append("(" + " OR ".join(tests) + ")")
    if after is not None:
        where.append("profile_id > ?")
        params.append(after)
    sql = (f"SELECT {', '.join(quote_ident(c) for c in shown)} FROM profiles"
           + (" WHERE " + " AND ".join(where) if where else "") + f" ORDER BY profile_id LIMIT {limit + 1}")
    rows = [dict(zip(shown, r, strict=True)) for r in wh.rows(sql, params)]
    more = len(rows) > limit
    rows = rows[:limit]
    return SearchPage(rows, rows[-1]["profile_id"] if more and rows else None)
