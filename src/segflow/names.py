"""The one name rule of every definition kind (segments, tags, traits; later journeys).

A name is made of Unicode letters and digits (``高价值客户``, ``лояльные``, ``vip_2024``)
and a few ASCII marks a kind allows (``_`` and ``-``; ``.`` in segment names; ``/``
between the parts of a tag name). It never holds a space, a control character or a
character unsafe in a file name (``\\ / : * ? " < > |``, except a tag's ``/``), so a name
is always a safe file name, and it reaches SQL only as a bound parameter or a quoted
literal or identifier.

Names are normalised to Unicode NFC: the same name typed two ways (``й`` as one code
point, or as ``и`` and a combining breve, as macOS writes file names) is one name.
:func:`check_name` returns the NFC form; loaders key definitions by it.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from segflow.errors import DefinitionError

__all__ = ["check_name", "nfc", "problem"]


def nfc(name: str) -> str:
    """*name* in Unicode normal form C."""
    return unicodedata.normalize("NFC", name)


def _letter(ch: str) -> bool:
    return unicodedata.category(ch).startswith("L")


def _word(ch: str) -> bool:
    """A letter, a combining mark (part of a letter in many scripts) or a decimal digit."""
    cat = unicodedata.category(ch)
    return cat[0] in "LM" or cat == "Nd"


def problem(name: Any, *, marks: str = "_-", first: str = "letter_or_digit", lower: bool = False,
            groups: bool = False, max_len: int = 200) -> str | None:
    """Why *name* is not a valid name under these settings, or None when it is.

    *marks* are the ASCII characters allowed besides letters and digits; *first* says what
    a name (or each ``/`` part, with *groups*) starts with: ``"letter"``,
    ``"letter_or_digit"`` or ``"letter_digit_or_underscore"``; *lower* refuses upper-case
    letters; *max_len* counts characters of the NFC form.
    """
    if not isinstance(name, str) or not name:
        return "a name is expected"
    name = nfc(name)
    if len(name) > max_len:
        return f"at most {max_len} characters"
    parts = name.split("/") if groups else [name]
    for part in parts:
        if not part:
            return "an empty part between /"
        head = part[0]
        ok_first = _letter(head) or (first != "letter" and unicodedata.category(head) == "Nd") or (
            first == "letter_digit_or_underscore" and head == "_")
        if not ok_first:
            return f"{head!r} cannot start a name"
        for ch in part:
            if ch.isspace():
                return "no spaces"
            if not (_word(ch) or ch in marks):
                return f"{ch!r} is not allowed"
            if lower and ch.isupper():
                return f"{ch!r}: lower-case letters only"
        if ".." in part:
            return "'..' is not allowed"
    return None


def check_name(kind: str, name: Any, where: str | None = None, *, rule: str = "", code: str = "bad_name",
               path: str | None = None, **settings: Any) -> str:
    """The NFC form of *name* when it is a valid *kind* name, else a :class:`DefinitionError`.

    The message (``{where}: 'x y' is not a segment name ({rule})``) names *where* (the
    file, when given) and the kind's *rule* in words; the error's path is *path* (default
    *where*, else the name); *settings* are those of :func:`problem`.
    """
    if problem(name, **settings) is None:
        return nfc(name)
    prefix = f"{where}: " if where else ""
    described = f" ({rule})" if rule else ""
    raise DefinitionError(f"{prefix}{name!r} is not a {kind} name{described}", code=code,
                          path=path or where or str(name))
