"""Phone numbers to E.164, as one SQL expression (no per-row Python).

Rules, applied after removing spaces, dots, dashes, slashes and brackets:

* ``+<digits>`` is kept; ``00<digits>`` becomes ``+<digits>`` (international prefix);
* with a default country: a leading national trunk ``0`` is dropped and the calling
  code is put in front; a number that already starts with the calling code and is
  longer than the country's national length gets only the ``+``;
* the result is E.164 when it is ``+`` and 8 to 15 digits, the first not 0.

A value that does not become valid E.164 is kept as written (trimmed): it stays a
source attribute, and identity resolution never merges on it.
"""

from __future__ import annotations

__all__ = ["CALLING_CODES", "phone_sql", "phone_stripped_sql", "phone_candidate_sql", "phone_final_sql", "E164_PATTERN"]

#: ISO 3166 alpha-2 → (calling code, usual national significant number length).
CALLING_CODES: dict[str, tuple[str, int]] = {
    "CN": ("86", 11),
    "HK": ("852", 8),
    "MO": ("853", 8),
    "TW": ("886", 9),
    "SG": ("65", 8),
    "JP": ("81", 10),
    "KR": ("82", 10),
    "US": ("1", 10),
    "CA": ("1", 10),
    "GB": ("44", 10),
    "DE": ("49", 11),
    "FR": ("33", 9),
    "IT": ("39", 10),
    "ES": ("34", 9),
    "NL": ("31", 9),
    "RU": ("7", 10),
    "KZ": ("7", 10),
    "UA": ("380", 9),
    "IN": ("91", 10),
    "AU": ("61", 9),
    "NZ": ("64", 9),
    "BR": ("55", 11),
    "MX": ("52", 10),
    "MY": ("60", 9),
    "TH": ("66", 9),
    "VN": ("84", 9),
    "ID": ("62", 10),
    "PH": ("63", 10),
    "AE": ("971", 9),
    "SA": ("966", 9),
    "TR": ("90", 10),
}

E164_PATTERN = r"^\+[1-9][0-9]{7,14}$"


def phone_stripped_sql(raw: str) -> str:
    """Step 1: the trimmed text without spaces, dots, dashes, slashes and brackets."""
    return f"regexp_replace(trim({raw}), '[\\s.\\-/()]', '', 'g')"


def phone_candidate_sql(stripped: str, country: str | None) -> str:
    """Step 2: the E.164 candidate built from the stripped text (NULL when none)."""
    sql = (
        f"CASE WHEN starts_with({stripped}, '+') THEN {stripped} "
        f"WHEN starts_with({stripped}, '00') THEN '+' || substr({stripped}, 3) "
    )
    if country:
        code, national_len = CALLING_CODES[country.upper()]
        sql += (
            f"WHEN regexp_full_match({stripped}, '[0-9]+') THEN "
            f"CASE WHEN starts_with({stripped}, '{code}') AND length({stripped}) > {national_len} "
            f"THEN '+' || {stripped} "
            f"ELSE '+{code}' || regexp_replace({stripped}, '^0', '') END "
        )
    return sql + "ELSE NULL END"


def phone_final_sql(candidate: str, raw: str) -> str:
    """Step 3: the candidate when it is valid E.164, else the value as written (trimmed)."""
    return (
        f"CASE WHEN trim({raw}) = '' THEN NULL "
        f"WHEN regexp_full_match(coalesce({candidate}, ''), '\\+[1-9][0-9]{{7,14}}') "
        f"THEN {candidate} ELSE trim({raw}) END"
    )


def phone_sql(column_sql: str, country: str | None) -> str:
    """One expression normalising the text in *column_sql* (the steps inlined; for tests
    and small inputs — the loader computes the steps once each, in nested selects)."""
    return phone_final_sql(phone_candidate_sql(phone_stripped_sql(column_sql), country), column_sql)
