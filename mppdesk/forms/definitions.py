"""Typed catalog definitions: agencies, shared fields (data bersama) and services.

Stage three of the loader (YAML → plain dict → these models). The models are frozen so a
loaded catalog can be shared between threads. ``docs/catalog-format.md`` explains every key
with examples; this module is the authority on what is accepted.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Model):
    """A label in Bahasa Indonesia (``id``) and English (``en``)."""

    id: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.id


class FieldType(StrEnum):
    TEXT = "text"
    LONGTEXT = "longtext"
    INTEGER = "integer"
    DECIMAL = "decimal"
    MONEY = "money"  # whole Rupiah
    DATE = "date"  # ISO YYYY-MM-DD
    TIME = "time"  # HH:MM
    CHOICE = "choice"
    MULTICHOICE = "multichoice"
    YESNO = "yesno"
    NIK = "nik"
    KK = "kk"
    NPWP = "npwp"
    PHONE = "phone"
    EMAIL = "email"
    POSTALCODE = "postalcode"
    PASSPORT = "passport"  # ICAO 9303 document number (foreign applicants)
    KITAS = "kitas"  # KITAS/KITAP stay permit number, checked for form
    REGION = "region"  # Kemendagri code at ``region_level``
    FILE = "file"  # name of an attachment of the submission
    GROUP = "group"  # repeat group: a list of rows, each a dict of ``fields``


class RegionLevel(StrEnum):
    PROVINCE = "province"
    REGENCY = "regency"
    DISTRICT = "district"
    VILLAGE = "village"


class Choice(_Model):
    value: str = Field(min_length=1)
    label: Text


class FieldDef(_Model):
    """One form field.

    Expressions (``required`` as a string, ``show_if``, ``constraint``, ``compute``,
    ``default`` as an expression) are in the safe expression language of
    ``mppdesk.forms.expressions``: answers by field id, ``value`` for the field's own value
    in ``constraint``, and the functions listed there. Never Python ``eval``.
    """

    id: str
    type: FieldType
    label: Text
    hint: Text | None = None
    required: bool | str = False  # True, False, or a required-if expression
    show_if: str | None = None
    constraint: str | None = None
    constraint_message: Text | None = None
    compute: str | None = None  # computed value; computed fields are read-only
    readonly: bool = False
    default: Any = None  # a literal value
    default_expr: str | None = None
    choices: list[Choice] | None = None
    region_level: RegionLevel | None = None
    max_length: int | None = Field(default=None, gt=0)
    min: float | date | None = None  # numbers and money: a number; dates: YYYY-MM-DD
    max: float | date | None = None
    fields: list[FieldDef] | None = None  # for type: group
    min_rows: int = Field(default=0, ge=0)
    max_rows: int | None = Field(default=None, gt=0)
    sensitive: bool = False  # masked in logs and printouts

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError("field id must be lower case letters, digits and _")
        return value

    @model_validator(mode="after")
    def _check_type_specifics(self) -> FieldDef:
        if self.type in (FieldType.CHOICE, FieldType.MULTICHOICE):
            if not self.choices:
                raise ValueError(f"a {self.type} field needs choices")
            values = [c.value for c in self.choices]
            if len(values) != len(set(values)):
                raise ValueError("choice values must be unique")
        elif self.choices is not None:
            raise ValueError(f"choices are only for choice and multichoice, not {self.type}")
        if self.type == FieldType.REGION and self.region_level is None:
            raise ValueError("a region field needs region_level")
        if self.type == FieldType.GROUP:
            if not self.fields:
                raise ValueError("a group field needs fields")
            ids = [f.id for f in self.fields]
            if len(ids) != len(set(ids)):
                raise ValueError("field ids inside a group must be unique")
        elif self.fields is not None:
            raise ValueError("fields are only for type: group")
        if self.constraint_message is not None and self.constraint is None:
            raise ValueError("constraint_message without constraint")
        if self.default is not None and self.default_expr is not None:
            raise ValueError("give default or default_expr, not both")
        self._check_bounds()
        return self

    def _check_bounds(self) -> None:
        bounds = [b for b in (self.min, self.max) if b is not None]
        if not bounds:
            return
        if self.type == FieldType.DATE:
            if not all(isinstance(b, date) for b in bounds):
                raise ValueError("min and max of a date field must be dates (YYYY-MM-DD)")
        elif self.type in (FieldType.INTEGER, FieldType.DECIMAL, FieldType.MONEY):
            if not all(isinstance(b, float | int) for b in bounds):
                raise ValueError(f"min and max of a {self.type} field must be numbers")
        else:
            raise ValueError(
                f"min and max are for integer, decimal, money and date fields, not {self.type}"
                " (use max_length for text)"
            )
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is greater than max")


class Agency(_Model):
    code: str
    name: Text
    short_name: str
    kind: Literal["government", "bumn", "bumd", "private", "bank"] = "government"
    description: Text | None = None
    contact: Text | None = None  # how citizens ask about their data or status

    @field_validator("code")
    @classmethod
    def _check_code(cls, value: str) -> str:
        if not _SLUG.match(value):
            raise ValueError("agency code must be lower case letters, digits and -")
        return value


class SharedFieldRef(_Model):
    """A shared field a service receives, and whether this service requires it."""

    field: str
    required: bool | str = False


class RequirementKind(StrEnum):
    ORIGINAL = "original"  # asli, kept by the agency
    COPY = "copy"  # fotokopi
    SHOWN = "shown"  # asli diperlihatkan lalu dikembalikan
    ORIGINAL_AND_COPY = "original_and_copy"  # asli diperlihatkan + fotokopi diserahkan
    DOCUMENT = "document"  # a form or letter filled in for this request
    PHOTO = "photo"
    IN_PERSON = "in_person"  # something done at the counter (photo, fingerprints)
    DIGITAL = "digital"  # e-mail, phone number, scan


class Requirement(_Model):
    id: str
    label: Text
    kind: RequirementKind
    copies: int = Field(default=1, ge=1)
    duty_stamp: bool = False  # meterai Rp10.000
    legalized: bool = False  # legalisir
    condition: str | None = None  # expression: only required when true
    condition_text: Text | None = None  # "only if …" in words, for printouts
    optional: bool = False
    note: Text | None = None

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not _SLUG.match(value):
            raise ValueError("requirement id must be lower case letters, digits and -")
        return value

    @model_validator(mode="after")
    def _condition_needs_words(self) -> Requirement:
        if self.condition is not None and self.condition_text is None:
            raise ValueError("a conditional requirement needs condition_text for printouts")
        return self


class Fee(_Model):
    """Fee in whole Rupiah: a fixed ``amount``, an ``amount_expr``, or ``assessed``."""

    amount: int | None = Field(default=None, ge=0)
    amount_expr: str | None = None
    assessed: bool = False
    note: Text | None = None

    @model_validator(mode="after")
    def _one_way(self) -> Fee:
        ways = sum([self.amount is not None, self.amount_expr is not None, self.assessed])
        if ways != 1:
            raise ValueError("fee needs exactly one of amount, amount_expr, assessed")
        return self


class Sla(_Model):
    """Completion time in working days (national holidays respected)."""

    working_days: int | None = Field(default=None, ge=0)
    working_days_expr: str | None = None
    note: Text | None = None

    @model_validator(mode="after")
    def _one_way(self) -> Sla:
        if (self.working_days is None) == (self.working_days_expr is None):
            raise ValueError("sla needs exactly one of working_days, working_days_expr")
        return self


class Example(_Model):
    name: str
    applicant: dict[str, Any]
    answers: dict[str, Any] = Field(default_factory=dict)
    checklist: dict[str, str] = Field(default_factory=dict)
    attachments: list[str] = Field(default_factory=list)  # paths relative to the catalog dir
    proxy: dict[str, Any] | None = None


class Service(_Model):
    id: str  # slug inside the agency; the full code is "<agency>/<id>"
    agency: str
    name: Text
    description: Text | None = None
    keywords: list[str] = Field(default_factory=list)
    group: str = "umum"  # queue service group for the ticket sequence
    shared_fields: list[SharedFieldRef]
    fields: list[FieldDef] = Field(default_factory=list)
    requirements: list[Requirement]
    fee: Fee
    sla: Sla
    product: Text
    not_offered: list[Text] = Field(default_factory=list)
    requires_approval: bool = False
    applicants: Literal["citizen", "foreigner", "any"] = "citizen"
    examples: list[Example] = Field(min_length=1)

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not _SLUG.match(value):
            raise ValueError("service id must be lower case letters, digits and -")
        return value

    @field_validator("shared_fields", mode="before")
    @classmethod
    def _plain_names(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"field": v} if isinstance(v, str) else v for v in value]
        return value

    @model_validator(mode="after")
    def _unique_ids(self) -> Service:
        ids = [f.id for f in self.fields]
        if len(ids) != len(set(ids)):
            raise ValueError("field ids must be unique within a service")
        shared = [s.field for s in self.shared_fields]
        if len(shared) != len(set(shared)):
            raise ValueError("a shared field is listed twice")
        overlap = set(ids) & set(shared)
        if overlap:
            raise ValueError(f"service fields repeat shared fields: {sorted(overlap)}")
        reqs = [r.id for r in self.requirements]
        if len(reqs) != len(set(reqs)):
            raise ValueError("requirement ids must be unique within a service")
        return self

    @property
    def code(self) -> str:
        return f"{self.agency}/{self.id}"


FieldDef.model_rebuild()
