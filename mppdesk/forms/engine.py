"""The form engine: one evaluation of a service form for the UI, the CLI and the catalog check.

Like JavaRosa's ``FormEntryController``, every entry is answered with a result (ok, required
but empty, invalid, warning) instead of raising, so the UI can re-evaluate the whole form on
each keystroke and the headless intake can report every field error at once.

One evaluation runs in three phases over the shared fields the service declares and its own
fields (``applicant.<id>`` and ``answers.<id>``; rows of a repeat group are
``answers.<group>[<i>].<id>``):

1. normalise each typed value by its field type (Indonesian number separators, dates,
   yes/no words, NIK/KK/NPWP/phone/e-mail/postal code validators, region codes);
2. in dependency order, decide visibility (``show_if``), computed values (``compute``) and
   defaults (``default``/``default_expr``); a hidden field's answer is dropped and reads as
   unanswered in every expression;
3. for every visible field, report what is wrong: required but empty, not parseable,
   out of bounds, constraint false, validator warnings.

Then the requirement checklist, the fee and the SLA are settled over the final values.

Notations accepted (officers type what is printed on Indonesian documents):

- integer / money: "1.500.000" (dots group thousands), money also "Rp 1.500.000,-" and a
  ",00" tail; money is whole rupiah and never negative;
- decimal: "1,5" and "1.234,5" (decimal comma); "2.5" is two and a half, but "1.500" is
  fifteen hundred, because a dot followed by exactly three digits is a thousands group;
- date: ISO "1990-05-01" and day-first "01-05-1990" / "01/05/1990" (as on a KTP); stored ISO;
- time: "09:30" or "09.30"; stored "HH:MM";
- yes/no: true/false, "ya"/"tidak", "yes"/"no", "y"/"t", 1/0;
- choice: the value, matched case-insensitively and stored as the catalog spells it.

``readonly`` fields, like ``compute`` fields, take their value from the catalog
(``default``/``default_expr``) and ignore a typed value; an unknown answer key is never
dropped silently but reported as an invalid entry at its own path.

A catalog expression that fails at run time never crashes an evaluation. The engine falls
back to the safe side and says so in an entry: ``show_if`` → shown, ``required`` → required,
``constraint`` → invalid, a requirement ``condition`` → applies, ``compute``/``default_expr``
→ no value (warning), fee/SLA → an invalid entry at ``fee``/``sla``. ``mppdesk catalog
check`` runs every example through here, so such failures are normally caught before a
counter sees them.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, NamedTuple

from mppdesk.core.messages import Localized, Phrase
from mppdesk.core.states import ChecklistState
from mppdesk.forms import indonesia, validators
from mppdesk.forms.catalog import Catalog
from mppdesk.forms.definitions import FieldDef, FieldType, Requirement, Service, Text
from mppdesk.forms.expressions import Expression, ExpressionError, compile_expression, parse_date
from mppdesk.forms.validators import Said

log = logging.getLogger(__name__)

APPLICANT = "applicant"
ANSWERS = "answers"
CHECKLIST = "checklist"
FEE_PATH = "fee"
SLA_PATH = "sla"

CHECKLIST_STATES = frozenset(state.value for state in ChecklistState)
_MAX_INT = 2**63 - 1  # what SQLite and every agency's JSON parser can hold


class EntryStatus(StrEnum):
    OK = "ok"
    REQUIRED = "required"
    INVALID = "invalid"
    WARNING = "warning"


@dataclass(frozen=True)
class Entry:
    """What is wrong (or worth a look) at one path of the form."""

    path: str
    field: str  # the field id (innermost for group rows), requirement id, "fee" or "sla"
    status: EntryStatus
    # A catalog message (``engine.``/``validator.`` codes), or the catalog's own
    # ``constraint_message``: both have ``.id``, ``.en`` and ``.get(lang)``.
    message: Said | Text | None


@dataclass
class RequirementState:
    id: str
    applies: bool
    state: str | None  # a ChecklistState value; None: optional and nothing given


@dataclass
class FormResult:
    entries: list[Entry]  # every non-OK entry (required / invalid / warning)
    applicant: dict[str, Any]  # normalised shared-field values the service declares
    answers: dict[str, Any]  # normalised answers incl. computed and defaults, hidden dropped
    visible: set[str]  # paths of visible fields
    requirements: list[RequirementState]
    fee: int | None  # None when assessed (or not computable; then an entry says why)
    sla_working_days: int

    @property
    def errors(self) -> list[Entry]:
        return [e for e in self.entries if e.status in (EntryStatus.REQUIRED, EntryStatus.INVALID)]

    @property
    def warnings(self) -> list[Entry]:
        return [e for e in self.entries if e.status == EntryStatus.WARNING]

    @property
    def ok(self) -> bool:
        return not any(
            e.status in (EntryStatus.REQUIRED, EntryStatus.INVALID) for e in self.entries
        )

    def at(self, path: str) -> list[Entry]:
        """The entries of one path (what the UI shows under one widget)."""
        return [e for e in self.entries if e.path == path]

    @property
    def missing_requirements(self) -> list[str]:
        """Requirement ids still missing: the lines of a "berkas belum lengkap" slip."""
        return [r.id for r in self.requirements if r.applies and r.state == ChecklistState.MISSING]


# --- messages ---------------------------------------------------------------------------------


def _said(code: str, /, **params: Any) -> Said:
    """A message of the catalog (``engine.`` codes); it reads like a catalog ``Text``."""
    return Said(f"engine.{code}", params)


def _amount(value: float, prefix: str = "") -> Localized:
    """A number as each language writes it (1.500.000 / 1,500,000)."""
    return Localized(prefix + _number_id(value), prefix + _number_en(value))


def _number_id(value: float) -> str:
    """1500000 → "1.500.000", 2.5 → "2,5" (Indonesian separators)."""
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,}".replace(",", "_").replace(".", ",").replace("_", ".")
    return f"{int(value):,}".replace(",", ".")


def _number_en(value: float) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,}"
    return f"{int(value):,}"


def _shown(value: Any, limit: int = 40) -> str:
    text = repr(value) if not isinstance(value, str) else f"'{value}'"
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Invalid(Exception):
    """A typed value that does not fit its field type (internal to normalisation)."""

    def __init__(self, code: str, /, **params: Any):
        super().__init__(code)
        self.message = _said(code, **params)


def _naming(label: Text, message: Said) -> Said:
    """A validator's message, led by the form's label unless it already starts with it."""
    if message.id.startswith(label.id) and message.en.lower().startswith(label.en.lower()):
        return message
    return _said("labelled", label=label, message=message)


def _labelled(field_def: FieldDef, message: Said) -> Said:
    return _said("labelled", label=field_def.label, message=message)


# --- normalising typed values ---------------------------------------------------------------

_INT_PLAIN = re.compile(r"^[+-]?\d{1,19}$")
_INT_GROUPED = re.compile(r"^[+-]?\d{1,3}(?:\.\d{3}){1,6}$")
_DECIMAL_COMMA = re.compile(r"^[+-]?(?:\d{1,3}(?:\.\d{3}){1,6}|\d{1,19}),\d{1,12}$")
_DECIMAL_POINT = re.compile(r"^[+-]?\d{1,19}(?:\.\d{1,12})?$")
_MONEY_PREFIX = re.compile(r"^rp\.?\s*", re.IGNORECASE)
_MONEY_CENTS = re.compile(r"(?:,0{1,2}|,-)$")
_TIME = re.compile(r"^(\d{1,2})[:.](\d{2})$")
_YES = frozenset({"ya", "y", "yes", "true", "benar", "1"})
_NO = frozenset({"tidak", "t", "no", "n", "false", "salah", "0"})


class NormalizedValue(NamedTuple):
    """One typed value in its stored form, or why it does not fit its field type.

    A named tuple rather than a frozen dataclass: one is built per field per keystroke.
    """

    value: Any  # None when unanswered or not parseable
    error: Said | None = None
    warnings: tuple[Said, ...] = ()


_UNANSWERED = NormalizedValue(None)


def _as_text(raw: Any) -> str:
    if isinstance(raw, str):
        return raw.strip()
    if isinstance(raw, int) and not isinstance(raw, bool):
        return str(raw)
    raise _Invalid("not_text")


def _parse_int(raw: Any) -> int:
    if isinstance(raw, bool):
        raise _Invalid("int_not_yesno")
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, float):
        if not math.isfinite(raw) or not raw.is_integer():
            raise _Invalid("int_needed")
        value = int(raw)
    elif isinstance(raw, str):
        text = raw.strip().replace(" ", "")
        if _INT_PLAIN.match(text):
            value = int(text)
        elif _INT_GROUPED.match(text):
            value = int(text.replace(".", ""))
        else:
            raise _Invalid("int_bad", value=_shown(raw))
    else:
        raise _Invalid("int_needed")
    if abs(value) > _MAX_INT:
        raise _Invalid("too_large")
    return value


def _parse_money(raw: Any) -> int:
    if isinstance(raw, str):
        text = _MONEY_PREFIX.sub("", raw.strip())
        text = _MONEY_CENTS.sub("", text.replace(" ", ""))
        if not text:
            raise _Invalid("money_bad", value=_shown(raw))
        try:
            value = _parse_int(text)
        except _Invalid:
            raise _Invalid("money_not_whole", value=_shown(raw)) from None
    else:
        value = _parse_int(raw)
    if value < 0:
        raise _Invalid("negative")
    return value


def _parse_decimal(raw: Any) -> float:
    if isinstance(raw, bool):
        raise _Invalid("number_not_yesno")
    if isinstance(raw, int):
        if abs(raw) > _MAX_INT:
            raise _Invalid("too_large")
        return float(raw)
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise _Invalid("number_needed")
        return raw
    if not isinstance(raw, str):
        raise _Invalid("number_needed")
    text = raw.strip().replace(" ", "")
    if _DECIMAL_COMMA.match(text):  # Indonesian: 1.234,5
        return float(text.replace(".", "").replace(",", "."))
    if _INT_GROUPED.match(text):  # Indonesian thousands: 1.500 is fifteen hundred
        return float(text.replace(".", ""))
    if _DECIMAL_POINT.match(text):  # 2.5 (not a thousands grouping) is two and a half
        return float(text)
    raise _Invalid("number_bad", value=_shown(raw))


def _parse_date(raw: Any) -> str:
    if isinstance(raw, str | date) and not isinstance(raw, bool):
        try:
            parsed = parse_date(raw)
        except ValueError:
            parsed = None
        if parsed is not None:
            return parsed.isoformat()
    raise _Invalid("date_bad", value=_shown(raw))


def _parse_time(raw: Any) -> str:
    match = _TIME.match(raw.strip()) if isinstance(raw, str) else None
    if match:
        hour, minute = int(match.group(1)), int(match.group(2))
        if hour < 24 and minute < 60:
            return f"{hour:02d}:{minute:02d}"
    raise _Invalid("time_bad", value=_shown(raw))


def _parse_yesno(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str):
        word = raw.strip().casefold()
        if word in _YES:
            return True
        if word in _NO:
            return False
    raise _Invalid("yesno_bad", value=_shown(raw))


def _choice_values(field_def: FieldDef) -> list[str]:
    return [c.value for c in field_def.choices or ()]


def _parse_choice(field_def: FieldDef, raw: Any) -> str:
    values = _choice_values(field_def)
    if isinstance(raw, str | int) and not isinstance(raw, bool):
        text = str(raw).strip()
        if text in values:
            return text
        folded = text.casefold()
        for value in values:
            if value.casefold() == folded:
                return value
    listed = ", ".join(values)
    raise _Invalid("choice_bad", value=_shown(raw), choices=listed)


def _parse_multichoice(field_def: FieldDef, raw: Any) -> list[str] | None:
    if not isinstance(raw, list | tuple):
        raise _Invalid("choices_list")
    chosen: list[str] = []
    for item in raw:
        value = _parse_choice(field_def, item)
        if value not in chosen:
            chosen.append(value)
    return chosen or None


def _memo(check: Callable[..., validators.Check]) -> Callable[..., validators.Check]:
    """Validators are pure and their results frozen: a visit re-checks the same applicant
    values for every service and on every keystroke, so remember recent answers."""
    cached = functools.lru_cache(maxsize=4096)(check)

    def call(*args: Any, **kwargs: Any) -> validators.Check:
        try:
            return cached(*args, **kwargs)
        except TypeError:  # an unhashable value (a list typed into a text field)
            return check(*args, **kwargs)

    return call


_VALIDATORS: dict[FieldType, Callable[..., validators.Check]] = {
    FieldType.NIK: _memo(validators.check_nik),
    FieldType.KK: _memo(validators.check_kk),
    FieldType.NPWP: _memo(validators.check_npwp),
    FieldType.PHONE: _memo(validators.check_phone),
    FieldType.EMAIL: _memo(validators.check_email),
    FieldType.POSTALCODE: _memo(validators.check_postal_code),
    FieldType.PASSPORT: _memo(validators.check_passport),
    FieldType.KITAS: _memo(validators.check_kitas),
    FieldType.REGION: _memo(validators.check_region),
}
_TAKES_TODAY = frozenset({FieldType.NIK, FieldType.KK, FieldType.NPWP})


@dataclass(frozen=True)
class CrossCheck:
    """Other applicant facts a value must agree with; a disagreement is a warning.

    The shared ``nik`` is checked against ``tanggal_lahir`` and ``jenis_kelamin`` ("L"/"P"),
    the shared ``kode_pos`` against the village of ``wilayah``.
    """

    birth_date: date | None = None
    sex: str | None = None
    village: str | None = None


# The shared fields that get a CrossCheck.
_CROSS_CHECKED = frozenset({"nik", "kode_pos"})


_Normalize = Callable[[Any, "CrossCheck | None", "date | None"], NormalizedValue]


def _blank(raw: Any) -> bool:
    return raw is None or (raw.__class__ is str and (not raw or raw.isspace()))


def _normalizer(field_def: FieldDef) -> _Normalize:
    """The normaliser of one field, its type's rule looked up once rather than per keystroke."""
    kind = field_def.type
    parse = _PARSERS.get(kind)
    if parse is not None:

        def normalize_parsed(raw: Any, cross: Any = None, today: Any = None) -> NormalizedValue:
            if _blank(raw):
                return _UNANSWERED
            try:
                return NormalizedValue(parse(field_def, raw))
            except _Invalid as bad:
                return NormalizedValue(None, _labelled(field_def, bad.message))

        return normalize_parsed
    if kind in _VALIDATORS:
        return _validating_normalizer(field_def)
    if kind == FieldType.GROUP:
        # Rows need the form's scope (``evaluate``); here only the shape can be wrong.
        def normalize_group(raw: Any, cross: Any = None, today: Any = None) -> NormalizedValue:
            if _blank(raw):
                return _UNANSWERED
            return NormalizedValue(None, _labelled(field_def, _said("rows_list")))

        return normalize_group
    raise AssertionError(f"field type {kind} has no rule")  # a new FieldType without a rule


def _validating_normalizer(field_def: FieldDef) -> _Normalize:
    kind = field_def.type
    check = _VALIDATORS[kind]
    label = field_def.label
    level = field_def.region_level.value if field_def.region_level else None
    is_region = kind == FieldType.REGION
    is_nik = kind == FieldType.NIK
    is_postal = kind == FieldType.POSTALCODE
    takes_today = kind in _TAKES_TODAY

    def normalize_checked(
        raw: Any, cross: CrossCheck | None = None, today: date | None = None
    ) -> NormalizedValue:
        if _blank(raw):
            return _UNANSWERED
        try:
            text = _as_text(raw)
        except _Invalid as bad:
            return NormalizedValue(None, _labelled(field_def, bad.message))
        if is_region:
            result = check(text, level)
        elif is_nik and cross is not None:
            result = check(text, cross.birth_date, cross.sex, today=today)
        elif is_postal and cross is not None:
            result = check(text, village=cross.village)
        elif takes_today:
            result = check(text, today=today)
        else:
            result = check(text)
        warnings = tuple(_naming(label, w) for w in result.warnings)
        if result.error is not None:
            return NormalizedValue(None, _naming(label, result.error), warnings)
        return NormalizedValue(result.value, None, warnings)

    return normalize_checked


def normalize_value(
    field_def: FieldDef,
    raw: Any,
    *,
    cross: CrossCheck | None = None,
    today: date | None = None,
) -> NormalizedValue:
    """The stored form of one typed value, or why it does not fit (never raises).

    Empty text, empty lists and ``None`` are unanswered. Groups are not handled here:
    their rows need the form's scope (``evaluate``). ``today`` fixes the century rule of
    NIK/KK dates (tests).
    """
    return _normalizer(field_def)(raw, cross, today)


def _parse_text(field_def: FieldDef, raw: Any) -> str | None:
    text = _as_text(raw)
    if "\x00" in text:
        raise _Invalid("nul")
    if field_def.type == FieldType.TEXT and ("\n" in text or "\r" in text):
        text = " ".join(text.split())  # one line: a pasted line break is not meant
    return text or None


_PARSERS: dict[FieldType, Callable[[FieldDef, Any], Any]] = {
    FieldType.TEXT: _parse_text,
    FieldType.LONGTEXT: _parse_text,
    FieldType.FILE: _parse_text,
    FieldType.INTEGER: lambda _, raw: _parse_int(raw),
    FieldType.MONEY: lambda _, raw: _parse_money(raw),
    FieldType.DECIMAL: lambda _, raw: _parse_decimal(raw),
    FieldType.DATE: lambda _, raw: _parse_date(raw),
    FieldType.TIME: lambda _, raw: _parse_time(raw),
    FieldType.YESNO: lambda _, raw: _parse_yesno(raw),
    FieldType.CHOICE: _parse_choice,
    FieldType.MULTICHOICE: _parse_multichoice,
}


# --- compiled plans ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rule:
    """One catalog expression, compiled once; a compile error is kept, not raised."""

    kind: str  # "show_if", "required", "constraint", "compute", "default_expr", …
    source: str
    expression: Expression | None
    compile_error: str | None

    @classmethod
    def of(cls, kind: str, source: str | None) -> _Rule | None:
        if source is None:
            return None
        try:
            return cls(kind, source, compile_expression(source), None)
        except ExpressionError as exc:
            return cls(kind, source, None, str(exc))

    @property
    def names(self) -> frozenset[str]:
        return self.expression.names if self.expression else frozenset()

    def run(self, scope: Mapping[str, Any], today: date) -> tuple[Any, str | None]:
        if self.expression is None:
            return None, self.compile_error
        try:
            return self.expression.evaluate(scope, today=today), None
        except ExpressionError as exc:
            log.debug("%s rule failed: %s", self.kind, exc)
            return None, str(exc)


# The kinds of catalog expression; each is named in the catalog as ``engine.rule.<kind>``.
_RULE_KINDS = frozenset(
    {
        "show_if",
        "required",
        "constraint",
        "compute",
        "default_expr",
        "condition",
        "amount_expr",
        "working_days_expr",
    }
)


def _rule_failed(label: Text | Said, rule: _Rule, error: str) -> Said:
    return _said("rule_failed", label=label, rule=_rule_name(rule.kind), error=error)


def _rule_name(kind: str) -> Phrase | str:
    """How each language names a kind of catalog expression ("rumus (compute)")."""
    return Phrase(f"engine.rule.{kind}") if kind in _RULE_KINDS else kind


@dataclass(frozen=True, slots=True)
class _Node:
    """One field, compiled: everything an evaluation asks about it is precomputed."""

    field: FieldDef
    id: str
    normalize: _Normalize
    index: int  # definition order (shared fields first), for the order of entries
    prefix: str  # "applicant" or "answers"; "" inside group rows
    path: str  # "applicant.<id>" / "answers.<id>"; rows build theirs per row
    is_group: bool
    fixed: bool  # computed or read-only: a typed value is ignored
    cross_checked: bool  # the shared nik / kode_pos, checked against other answers
    bounded: bool  # has row counts, a max_length, or min/max to check
    required: tuple[bool | _Rule, ...]  # required when any holds
    show_if: _Rule | None
    constraint: _Rule | None
    compute: _Rule | None
    default_expr: _Rule | None
    rows: tuple[_Node, ...]  # a group's row fields, in evaluation order
    row_ids: frozenset[str]
    reads: frozenset[str]  # names that decide this field's visibility or value


def _required_spec(value: bool | str) -> bool | _Rule:
    if isinstance(value, str):
        return _Rule.of("required", value) or False
    return bool(value)


def _node(
    field_def: FieldDef, index: int, prefix: str, extra_required: bool | str = False
) -> _Node:
    required = (_required_spec(field_def.required),)
    if extra_required is not False:
        required += (_required_spec(extra_required),)
    rows: tuple[_Node, ...] = ()
    row_ids: frozenset[str] = frozenset()
    if field_def.type == FieldType.GROUP and field_def.fields:
        rows = _ordered([_node(f, i, "") for i, f in enumerate(field_def.fields)])
        row_ids = frozenset(f.id for f in field_def.fields)
    show_if = _Rule.of("show_if", field_def.show_if)
    compute = _Rule.of("compute", field_def.compute)
    default_expr = _Rule.of("default_expr", field_def.default_expr)
    reads: set[str] = set()
    for rule in (show_if, compute, default_expr):
        if rule is not None:
            reads |= rule.names
    for row in rows:  # a group's rows read outer names too
        reads |= row.reads - row_ids
    reads.discard(field_def.id)
    is_group = field_def.type == FieldType.GROUP
    return _Node(
        field=field_def,
        id=field_def.id,
        normalize=_normalizer(field_def),
        index=index,
        prefix=prefix,
        path=f"{prefix}.{field_def.id}" if prefix else "",
        is_group=is_group,
        fixed=compute is not None or field_def.readonly,
        cross_checked=prefix == APPLICANT and field_def.id in _CROSS_CHECKED,
        bounded=is_group
        or field_def.max_length is not None
        or field_def.min is not None
        or field_def.max is not None,
        required=required,
        show_if=show_if,
        constraint=_Rule.of("constraint", field_def.constraint),
        compute=compute,
        default_expr=default_expr,
        rows=rows,
        row_ids=row_ids,
        reads=frozenset(reads),
    )


def _ordered(nodes: list[_Node]) -> tuple[_Node, ...]:
    """Dependency order, definition order where free; a cycle is broken in definition order.

    Visibility and values must be settled before anything that reads them, even when a
    field refers to one defined further down.
    """
    ids = {n.id for n in nodes}
    pending = list(nodes)
    done: set[str] = set()
    out: list[_Node] = []
    while pending:
        # the first field whose inputs are settled; in a cycle (the check reports it) the first
        ready = next((i for i, n in enumerate(pending) if not (n.reads & ids) - done), 0)
        node = pending.pop(ready)
        done.add(node.id)
        out.append(node)
    return tuple(out)


@dataclass(frozen=True)
class _Plan:
    nodes: tuple[_Node, ...]  # evaluation order
    by_id: Mapping[str, _Node]
    applicant_ids: frozenset[str]
    answer_ids: frozenset[str]
    conditions: tuple[tuple[Requirement, _Rule | None], ...] = ()
    fee_rule: _Rule | None = None
    sla_rule: _Rule | None = None


class _PlanCache:
    """Plans by definition identity; a reloaded catalog gets fresh plans automatically."""

    def __init__(self, size: int = 256) -> None:
        self._lock = threading.Lock()
        self._size = size
        self._plans: dict[Any, tuple[tuple[Any, ...], _Plan]] = {}

    def get(self, key: Any, parts: tuple[Any, ...], build: Callable[[], _Plan]) -> _Plan:
        with self._lock:
            hit = self._plans.get(key)
        if (
            hit is not None
            and len(hit[0]) == len(parts)
            and all(a is b for a, b in zip(hit[0], parts, strict=True))
        ):
            return hit[1]
        plan = build()
        with self._lock:
            if len(self._plans) >= self._size:
                self._plans.clear()
            self._plans[key] = (parts, plan)
        return plan


_PLANS = _PlanCache()


def _service_plan(catalog: Catalog, service: Service) -> _Plan:
    shared = tuple(catalog.shared_fields.get(ref.field) for ref in service.shared_fields)

    def build() -> _Plan:
        declared = [
            (ref, definition)
            for ref, definition in zip(service.shared_fields, shared, strict=True)
            if definition is not None  # an unknown shared field is a load problem already
        ]
        nodes = [_node(d, i, APPLICANT, ref.required) for i, (ref, d) in enumerate(declared)]
        nodes += [_node(f, len(nodes) + i, ANSWERS) for i, f in enumerate(service.fields)]
        return _Plan(
            nodes=_ordered(nodes),
            by_id={n.id: n for n in nodes},
            applicant_ids=frozenset(n.id for n in nodes if n.prefix == APPLICANT),
            answer_ids=frozenset(f.id for f in service.fields),
            conditions=tuple((r, _Rule.of("condition", r.condition)) for r in service.requirements),
            fee_rule=_Rule.of("amount_expr", service.fee.amount_expr),
            sla_rule=_Rule.of("working_days_expr", service.sla.working_days_expr),
        )

    return _PLANS.get(("service", id(service)), (service, *shared), build)


def _shared_plan(catalog: Catalog, field_ids: tuple[str, ...]) -> _Plan:
    definitions = tuple(catalog.shared_fields[i] for i in field_ids)

    def build() -> _Plan:
        nodes = [_node(d, i, APPLICANT) for i, d in enumerate(definitions)]
        return _Plan(
            nodes=_ordered(nodes),
            by_id={n.id: n for n in nodes},
            applicant_ids=frozenset(field_ids),
            answer_ids=frozenset(),
        )

    return _PLANS.get(("shared", id(catalog), field_ids), definitions, build)


# --- one evaluation ---------------------------------------------------------------------------


_ABSENT = object()


class _Layered(Mapping[str, Any]):
    """``inner`` over ``outer`` (a group row over the form, ``value`` over the scope).

    The evaluator only calls ``get``; this is a ChainMap without its KeyError per miss.
    """

    __slots__ = ("inner", "outer")

    def __init__(self, inner: Mapping[str, Any], outer: Mapping[str, Any]) -> None:
        self.inner = inner
        self.outer = outer

    def get(self, key: str, default: Any = None) -> Any:
        value = self.inner.get(key, _ABSENT)
        return self.outer.get(key, default) if value is _ABSENT else value

    def __getitem__(self, key: str) -> Any:
        value = self.get(key, _ABSENT)
        if value is _ABSENT:
            raise KeyError(key)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter({**dict.fromkeys(self.outer), **dict.fromkeys(self.inner)})

    def __len__(self) -> int:
        return sum(1 for _ in self)


class _Run:
    """The state of one evaluation: entries, visible paths and the reference day."""

    def __init__(self, today: date) -> None:
        self.today = today
        self.entries: list[Entry] = []
        self.visible: set[str] = set()
        self.deferred: dict[str, list[Entry]] = {}  # group path -> its rows' entries

    def add(self, path: str, field_id: str, status: EntryStatus, message: Said | Text) -> None:
        self.entries.append(Entry(path, field_id, status, message))

    def level(
        self,
        nodes: tuple[_Node, ...],
        raws: Mapping[str, Mapping[str, Any]],
        row_path: str | None,
        outer: Mapping[str, Any] | None,
        cross: CrossCheck | None = None,
    ) -> dict[str, Any]:
        """Evaluate one level (the form, or one group row); returns the visible values.

        ``raws`` maps a node's prefix to the typed values; ``row_path`` is the path of the
        row being evaluated (None for the form itself).
        """
        typed: dict[str, NormalizedValue] = {}
        values: dict[str, Any] = {}
        today = self.today
        for node in nodes:
            if node.fixed or node.is_group:
                result = _UNANSWERED
            else:
                raw = raws[node.prefix].get(node.id)
                result = node.normalize(raw, cross if node.cross_checked else None, today)
            typed[node.id] = result
            values[node.id] = result.value
        scope: Mapping[str, Any] = values if outer is None else _Layered(values, outer)

        # Phase 2: visibility, groups, computed values, defaults, in dependency order.
        shown: list[tuple[_Node, str]] = []
        for node in nodes:
            path = node.path if row_path is None else f"{row_path}.{node.id}"
            if node.show_if is not None:
                visible, error = node.show_if.run(scope, today)
                if error is not None:
                    self.add(
                        path,
                        node.id,
                        EntryStatus.WARNING,
                        _rule_failed(node.field.label, node.show_if, error),
                    )
                    visible = True
                if not visible:
                    values[node.id] = None
                    continue
            self.visible.add(path)
            shown.append((node, path))
            if node.is_group:
                raw = raws[node.prefix].get(node.id)
                values[node.id], typed[node.id] = self._rows(node, raw, path, scope)
            elif node.compute is not None:
                values[node.id] = self._derived(node, node.compute, scope, path)
            elif values[node.id] is None and typed[node.id].error is None:
                if node.default_expr is not None:
                    values[node.id] = self._derived(node, node.default_expr, scope, path)
                elif node.field.default is not None:
                    values[node.id] = node.normalize(node.field.default, None, today).value

        # Phase 3: what is wrong with each visible field, in definition order.
        shown.sort(key=lambda item: item[0].index)
        for node, path in shown:
            self._check(node, values[node.id], typed[node.id], scope, path)
        return {node.id: values[node.id] for node, _ in shown if values[node.id] is not None}

    def _derived(self, node: _Node, rule: _Rule, scope: Mapping[str, Any], path: str) -> Any:
        result, error = rule.run(scope, self.today)
        if error is not None:
            self.add(
                path, node.id, EntryStatus.WARNING, _rule_failed(node.field.label, rule, error)
            )
            return None
        if isinstance(result, date) and not isinstance(result, datetime):
            result = result.isoformat()
        typed = node.normalize(result, None, self.today)
        if typed.error is not None:
            self.add(
                path,
                node.id,
                EntryStatus.WARNING,
                _said(
                    "rule_result",
                    label=node.field.label,
                    rule=_rule_name(rule.kind),
                    value=_shown(result),
                ),
            )
            return None
        return typed.value

    def _rows(
        self, node: _Node, raw: Any, path: str, scope: Mapping[str, Any]
    ) -> tuple[list[dict[str, Any]] | None, NormalizedValue]:
        if raw is None:
            return None, _UNANSWERED
        if not isinstance(raw, list | tuple):
            return None, NormalizedValue(
                None,
                _labelled(node.field, _said("rows_list")),
            )
        rows: list[dict[str, Any]] = []
        first_entry = len(self.entries)
        for i, row in enumerate(raw):
            row_path = f"{path}[{i}]"
            if not isinstance(row, Mapping):
                self.add(
                    row_path,
                    node.id,
                    EntryStatus.INVALID,
                    _labelled(node.field, _said("row_not_mapping", n=i + 1)),
                )
                continue
            for key in row:
                if key not in node.row_ids:
                    self.unknown(f"{row_path}.{key}", key, node.field.label)
            rows.append(self.level(node.rows, {"": row}, row_path, scope))
        # The rows' entries are reported with the group, in the form's order (phase 3).
        self.deferred[path] = self.entries[first_entry:]
        del self.entries[first_entry:]
        return (rows or None), _UNANSWERED

    def unknown(self, path: str, key: Any, within: Text | None = None) -> None:
        message = (
            _said("unknown_field_in", key=_shown(key), within=within)
            if within
            else _said("unknown_field", key=_shown(key))
        )
        self.add(path, str(key), EntryStatus.INVALID, message)

    def _check(
        self, node: _Node, value: Any, typed: NormalizedValue, scope: Mapping[str, Any], path: str
    ) -> None:
        field_def = node.field
        label = field_def.label
        if node.is_group:
            self.entries.extend(self.deferred.pop(path, ()))
        if typed.error is not None:
            self.add(path, node.id, EntryStatus.INVALID, typed.error)
        for warning in typed.warnings:
            self.add(path, node.id, EntryStatus.WARNING, warning)
        if typed.error is not None:
            return
        if value is None:  # normalisation turns "", "  " and [] into None
            if node.compute is None and self._is_required(node, scope, path):
                self.add(
                    path,
                    node.id,
                    EntryStatus.REQUIRED,
                    _said("required", label=label),
                )
            elif (
                field_def.type == FieldType.GROUP
                and field_def.min_rows > 0
                and node.compute is None
            ):
                self.add(path, node.id, EntryStatus.REQUIRED, _rows_needed(field_def))
            return
        if node.bounded:
            bound = _out_of_bounds(field_def, value)
            if bound is not None:
                self.add(path, node.id, EntryStatus.INVALID, bound)
                return
        if node.constraint is not None:
            ok, error = node.constraint.run(_Layered({"value": value}, scope), self.today)
            if error is not None:
                self.add(
                    path, node.id, EntryStatus.INVALID, _rule_failed(label, node.constraint, error)
                )
            elif not ok:
                message = field_def.constraint_message or _said("constraint", label=label)
                self.add(path, node.id, EntryStatus.INVALID, message)

    def _is_required(self, node: _Node, scope: Mapping[str, Any], path: str) -> bool:
        for spec in node.required:
            if isinstance(spec, bool):
                if spec:
                    return True
                continue
            result, error = spec.run(scope, self.today)
            if error is not None:
                self.add(
                    path, node.id, EntryStatus.WARNING, _rule_failed(node.field.label, spec, error)
                )
                return True
            if result:
                return True
        return False


def _rows_needed(field_def: FieldDef) -> Said:
    return _said("rows_min", label=field_def.label, n=field_def.min_rows)


def _out_of_bounds(field_def: FieldDef, value: Any) -> Said | None:
    label = field_def.label
    kind = field_def.type
    if kind == FieldType.GROUP:
        count = len(value)
        if count < field_def.min_rows:
            return _rows_needed(field_def)
        if field_def.max_rows is not None and count > field_def.max_rows:
            return _said("rows_max", label=label, n=field_def.max_rows, count=count)
        return None
    if (
        isinstance(value, str)
        and field_def.max_length is not None
        and len(value) > field_def.max_length
    ):
        return _said("too_long", label=label, n=field_def.max_length, count=len(value))
    if kind in (FieldType.INTEGER, FieldType.DECIMAL, FieldType.MONEY):
        prefix = "Rp" if kind == FieldType.MONEY else ""
        low, high = field_def.min, field_def.max
        if isinstance(low, int | float) and value < low:
            return _said("at_least", label=label, amount=_amount(low, prefix))
        if isinstance(high, int | float) and value > high:
            return _said("at_most", label=label, amount=_amount(high, prefix))
    elif kind == FieldType.DATE:
        day = date.fromisoformat(value)
        low, high = field_def.min, field_def.max
        if isinstance(low, date) and day < low:
            return _said("date_from", label=label, day=low.isoformat())
        if isinstance(high, date) and day > high:
            return _said("date_until", label=label, day=high.isoformat())
    return None


def _cross_check(applicant: Mapping[str, Any]) -> CrossCheck:
    """What the applicant typed that the shared NIK and postal code should agree with."""
    try:
        birth = parse_date(applicant.get("tanggal_lahir"))
    except (ValueError, TypeError):
        birth = None
    sex = applicant.get("jenis_kelamin")
    sex = sex.strip().upper() if isinstance(sex, str) else None
    village = applicant.get("wilayah")
    village = indonesia.normalize_code(village) if isinstance(village, str) else None
    return CrossCheck(birth, sex if sex in ("L", "P") else None, village)


def _mapping(run: _Run, value: Any, path: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return value
    run.add(
        path,
        path,
        EntryStatus.INVALID,
        _said("not_mapping", path=path),
    )
    return {}


# --- public API -------------------------------------------------------------------------------


def evaluate(
    catalog: Catalog,
    service_code: str,
    applicant: Mapping[str, Any],
    answers: Mapping[str, Any],
    checklist: Mapping[str, str] | None = None,
    *,
    today: date | None = None,
) -> FormResult:
    """Evaluate one service form; every problem is an entry, nothing raises.

    Only an unknown ``service_code`` raises (``KeyError``): that is the caller's mistake,
    not the applicant's.
    """
    service = catalog.service(service_code)
    plan = _service_plan(catalog, service)
    run = _Run(today or date.today())
    applicant = _mapping(run, applicant, APPLICANT)
    answers = _mapping(run, answers, ANSWERS)

    for key in applicant:
        if key not in catalog.shared_fields:
            run.unknown(f"{APPLICANT}.{key}", key)
    for key in answers:
        if key not in plan.answer_ids:
            run.unknown(f"{ANSWERS}.{key}", key)

    values = run.level(
        plan.nodes, {APPLICANT: applicant, ANSWERS: answers}, None, None, _cross_check(applicant)
    )
    # Expressions read a missing name as unanswered, so the visible values are the scope.
    requirements = _checklist(run, plan, checklist, values)
    fee = _fee(run, service, plan, values)
    sla = _sla(run, service, plan, values)
    return FormResult(
        entries=run.entries,
        applicant={k: v for k, v in values.items() if k in plan.applicant_ids},
        answers={k: v for k, v in values.items() if k in plan.answer_ids},
        visible=run.visible,
        requirements=requirements,
        fee=fee,
        sla_working_days=sla,
    )


def evaluate_shared(
    catalog: Catalog,
    applicant: Mapping[str, Any],
    field_ids: Iterable[str] | None = None,
    *,
    today: date | None = None,
) -> FormResult:
    """Evaluate the applicant profile alone (the applicant panel, the visit-level check).

    ``field_ids`` are the shared fields to show (all of the catalog's when None); any other
    shared field present in ``applicant`` is checked too, because it will be stored. Each
    field's own ``required`` applies (a service may require more: see ``evaluate``).
    ``answers``, ``requirements`` are empty, ``fee`` None and ``sla_working_days`` 0.
    """
    wanted = list(catalog.shared_fields) if field_ids is None else list(field_ids)
    unknown = [i for i in wanted if i not in catalog.shared_fields]
    if unknown:
        raise KeyError(f"unknown shared field(s): {', '.join(unknown)}")
    run = _Run(today or date.today())
    applicant = _mapping(run, applicant, APPLICANT)
    for key in applicant:
        if key not in catalog.shared_fields:
            run.unknown(f"{APPLICANT}.{key}", key)
        elif key not in wanted:
            wanted.append(key)
    chosen = set(wanted)
    ordered = tuple(i for i in catalog.shared_fields if i in chosen)
    plan = _shared_plan(catalog, ordered)
    values = run.level(plan.nodes, {APPLICANT: applicant}, None, None, _cross_check(applicant))
    return FormResult(run.entries, values, {}, run.visible, [], None, 0)


def _checklist(
    run: _Run, plan: _Plan, checklist: Mapping[str, str] | None, scope: Mapping[str, Any]
) -> list[RequirementState]:
    given = _mapping(run, checklist, CHECKLIST)
    ids = {requirement.id for requirement, _ in plan.conditions}
    for key in given:
        if key not in ids:
            run.add(
                f"{CHECKLIST}.{key}",
                str(key),
                EntryStatus.INVALID,
                _said("unknown_requirement", key=_shown(key)),
            )
    states: list[RequirementState] = []
    allowed = ", ".join(s.value for s in ChecklistState)
    for requirement, condition in plan.conditions:
        path = f"{CHECKLIST}.{requirement.id}"
        label = requirement.label
        applies = True
        if condition is not None:
            result, error = condition.run(scope, run.today)
            if error is not None:
                run.add(
                    path, requirement.id, EntryStatus.WARNING, _rule_failed(label, condition, error)
                )
            else:
                applies = bool(result)
        state = given.get(requirement.id)
        if state is not None and (not isinstance(state, str) or state not in CHECKLIST_STATES):
            run.add(
                path,
                requirement.id,
                EntryStatus.INVALID,
                _said("unknown_state", label=label, state=_shown(state), allowed=allowed),
            )
            state = None
        if not applies:
            state = ChecklistState.NOT_APPLICABLE.value
        elif state == ChecklistState.NOT_APPLICABLE and not requirement.optional:
            run.add(
                path,
                requirement.id,
                EntryStatus.INVALID,
                _said("requirement_applies", label=label),
            )
            state = ChecklistState.MISSING.value
        elif state is None and not requirement.optional:
            state = ChecklistState.MISSING.value
        states.append(RequirementState(requirement.id, applies, state))
    return states


def _whole_number(result: Any) -> int | None:
    if isinstance(result, bool):
        return None
    if isinstance(result, int):
        return result
    if isinstance(result, float) and math.isfinite(result):
        return int(math.floor(result + 0.5))
    return None


def _fee(run: _Run, service: Service, plan: _Plan, scope: Mapping[str, Any]) -> int | None:
    fee = service.fee
    if fee.amount is not None:
        return fee.amount
    if plan.fee_rule is None:  # assessed by the agency later
        return None
    label = _said("label.fee")
    result, error = plan.fee_rule.run(scope, run.today)
    if error is not None:
        run.add(FEE_PATH, FEE_PATH, EntryStatus.INVALID, _rule_failed(label, plan.fee_rule, error))
        return None
    if result is None and _has_errors(run):
        return None  # not all inputs are answered yet; their entries say so
    amount = _whole_number(result)
    if amount is None or amount < 0 or amount > _MAX_INT:
        run.add(
            FEE_PATH,
            FEE_PATH,
            EntryStatus.INVALID,
            _said("fee_bad", value=_shown(result)),
        )
        return None
    return amount


def _sla(run: _Run, service: Service, plan: _Plan, scope: Mapping[str, Any]) -> int:
    sla = service.sla
    if sla.working_days is not None:
        return sla.working_days
    if plan.sla_rule is None:
        return 0
    label = _said("label.sla")
    result, error = plan.sla_rule.run(scope, run.today)
    if error is not None:
        run.add(SLA_PATH, SLA_PATH, EntryStatus.INVALID, _rule_failed(label, plan.sla_rule, error))
        return 0
    if result is None and _has_errors(run):
        return 0
    days = _whole_number(result)
    if days is None or days < 0 or days > 3660:
        run.add(
            SLA_PATH,
            SLA_PATH,
            EntryStatus.INVALID,
            _said("sla_bad", value=_shown(result)),
        )
        return 0
    return days


def _has_errors(run: _Run) -> bool:
    return any(e.status in (EntryStatus.REQUIRED, EntryStatus.INVALID) for e in run.entries)
