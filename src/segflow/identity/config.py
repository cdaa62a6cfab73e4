"""The ``identity:`` section of ``segflow.yaml``: what may merge, what only attaches.

    identity:
      merge_types: [email, phone, wechat_unionid, wechat_openid, wecom_external_userid, crm_contact_id]
      attach_types: [anonymous_id, device_id]
      junk_cap: 10            # a value on more than 10 source profiles never merges anything
      normalize: {crm_contact_id: upper}
      ignore: {phone: ["021-62881234"]}   # a store's own phone, typed in at the till

Light on purpose (pydantic only): ``segflow.config`` imports it when the CLI starts.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "DEFAULT_ATTACH_TYPES",
    "DEFAULT_MERGE_TYPES",
    "DEFAULT_NORMALIZE",
    "NORMALIZERS",
    "PLACEHOLDERS",
    "PLACEHOLDER_EMAILS",
    "IdentityOptions",
]

#: Identifier types that join source profiles into one person by default.
DEFAULT_MERGE_TYPES = (
    "email",
    "phone",
    "wechat_unionid",
    "wechat_openid",
    "wecom_external_userid",
    "crm_contact_id",
)
#: Identifier types that only attach anonymous activity to a known profile.
DEFAULT_ATTACH_TYPES = ("anonymous_id", "device_id")

#: How a value of each type is normalised before it is compared. ``email``: trim and
#: lower-case, must look like ``local@domain.tld``; ``phone``: E.164 with the project's
#: default country, must be ``+`` and 8-15 digits; ``lower``/``upper``: trim and change
#: case; ``trim``: only trim (the default for other types).
NORMALIZERS = ("email", "phone", "lower", "upper", "trim")
DEFAULT_NORMALIZE = {"email": "email", "phone": "phone"}

#: Values (compared after trimming and lower-casing) that mean "nothing here" for any type.
PLACEHOLDERS = (
    "",
    "null",
    "nil",
    "none",
    "undefined",
    "unknown",
    "n/a",
    "na",
    "-",
    "--",
    "?",
    "0",
    "00000000",
    "test",
    "[]",
    "{}",
    "false",
    "nan",
)
#: E-mail addresses typed in when a customer gives none (also: any address at the
#: reserved ``example.com/.org/.net`` domains, and the local parts ``noreply``/``no-reply``).
PLACEHOLDER_EMAILS = (
    "test@test.com",
    "test@example.com",
    "a@a.com",
    "none@none.com",
    "null@null.com",
    "no@email.com",
    "noemail@noemail.com",
    "email@email.com",
    "xxx@xxx.com",
    "abc@abc.com",
)


class IdentityOptions(BaseModel):
    """How ``segflow resolve`` builds one profile per person."""

    model_config = ConfigDict(extra="forbid")

    #: Identifier types whose shared values merge source profiles.
    merge_types: list[str] = Field(default_factory=lambda: list(DEFAULT_MERGE_TYPES))
    #: Identifier types that attach anonymous events but never merge two profiles.
    attach_types: list[str] = Field(default_factory=lambda: list(DEFAULT_ATTACH_TYPES))
    #: A value held by more than this many source profiles is junk: it never merges.
    junk_cap: int = 10
    #: Normaliser per identifier type (email, phone, lower, upper, trim).
    normalize: dict[str, str] = Field(default_factory=dict)
    #: Extra values to ignore, per type (written as in the data; normalised before use).
    ignore: dict[str, list[str]] = Field(default_factory=dict)
    #: Profile columns that are identifiers too: column → identifier type.
    profile_columns: dict[str, str] = Field(default_factory=lambda: {"email": "email", "phone": "phone"})

    @field_validator("merge_types", "attach_types")
    @classmethod
    def _lower_types(cls, value: list[str]) -> list[str]:
        return [v.strip().lower() for v in value if v.strip()]

    @field_validator("junk_cap")
    @classmethod
    def _positive_cap(cls, value: int) -> int:
        if value < 2:
            raise ValueError("junk_cap must be at least 2 (a value shared by two records is what merges them)")
        return value

    @field_validator("normalize")
    @classmethod
    def _known_normalizers(cls, value: dict[str, str]) -> dict[str, str]:
        out = {}
        for type_, how in value.items():
            if how not in NORMALIZERS:
                raise ValueError(f"normalize.{type_}: unknown normaliser {how!r} (known: {', '.join(NORMALIZERS)})")
            out[type_.strip().lower()] = how
        return out

    @model_validator(mode="after")
    def _disjoint(self) -> IdentityOptions:
        both = sorted(set(self.merge_types) & set(self.attach_types))
        if both:
            raise ValueError(f"{', '.join(both)}: a type is either in merge_types or in attach_types, not both")
        return self

    def normalizer(self, type_: str) -> str:
        """The normaliser used for identifier type *type_*."""
        return self.normalize.get(type_, DEFAULT_NORMALIZE.get(type_, "trim"))
