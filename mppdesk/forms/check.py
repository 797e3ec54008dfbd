"""The semantic check of a loaded catalog (``mppdesk catalog check``).

The loader already guarantees the shape of every definition; this finds what only makes
sense across definitions: expressions that do not compile or read names that are not
fields in scope, choice values an expression compares with but no choice offers, fields
that depend on each other in a cycle, literal defaults that do not fit their field, and
worked examples that the form engine does not accept (with their sample attachments).

Every problem names the file and the path inside it (``fields[3].show_if``,
``examples[0].answers.alasan``) so the catalog author can go straight to it, and carries a
``check.`` message code whose fix docs/catalog-format.md lists.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from pydantic import BaseModel

from mppdesk.core.messages import Phrase
from mppdesk.forms.catalog import Catalog, Problem
from mppdesk.forms.definitions import FieldDef, FieldType, Service, Text
from mppdesk.forms.engine import EntryStatus, evaluate, normalize_value
from mppdesk.forms.expressions import Expression, ExpressionError, compile_expression

log = logging.getLogger(__name__)

_FIELD_RULES = ("required", "show_if", "constraint", "compute", "default_expr")


@dataclass(frozen=True)
class _Scope:
    """The fields an expression may read, innermost first (group rows shadow the form)."""

    levels: tuple[Mapping[str, FieldDef], ...]

    def inner(self, fields: Iterable[FieldDef]) -> _Scope:
        return _Scope(({f.id: f for f in fields}, *self.levels))

    def get(self, name: str) -> FieldDef | None:
        for level in self.levels:
            if name in level:
                return level[name]
        return None


class _Checker:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.problems: list[Problem] = []

    def add(self, file: str, path: str, code: str, /, **params: Any) -> None:
        """One problem as a ``check.`` message code (docs/catalog-format.md lists each fix)."""
        self.problems.append(Problem.of(file, path, code, **params))

    # --- expressions ----------------------------------------------------------------------

    def expression(
        self,
        file: str,
        path: str,
        source: str,
        scope: _Scope,
        *,
        own: FieldDef | None = None,
        where: str = "check.where_service",
    ) -> Expression | None:
        """Compile one expression and check the names it reads; ``own`` is ``value``'s field."""
        try:
            expression = compile_expression(source)
        except ExpressionError as exc:
            self.add(file, path, "check.expression_syntax", error=str(exc))
            return None
        for name in sorted(expression.names):
            if name == "value":
                if own is None:
                    self.add(file, path, "check.value_outside_constraint")
                continue
            if scope.get(name) is None:
                self.add(file, path, "check.unknown_name", name=name, where=Phrase(where))
        for name, literal in expression.literal_comparisons:
            target = own if name == "value" else scope.get(name)
            if target is None or target.type not in (FieldType.CHOICE, FieldType.MULTICHOICE):
                continue
            values = [c.value for c in target.choices or ()]
            if literal not in values:
                self.add(
                    file,
                    path,
                    "check.unknown_choice",
                    literal=literal,
                    field=target.id,
                    choices=", ".join(values),
                )
        return expression

    # --- fields ---------------------------------------------------------------------------

    def field(self, file: str, path: str, field_def: FieldDef, scope: _Scope, where: str) -> None:
        for rule in _FIELD_RULES:
            source = getattr(field_def, rule)
            if isinstance(source, str):
                own = field_def if rule == "constraint" else None
                self.expression(file, f"{path}.{rule}", source, scope, own=own, where=where)
        if field_def.default is not None:
            if field_def.type == FieldType.GROUP:
                self.add(file, f"{path}.default", "check.group_default")
            else:
                typed = normalize_value(field_def, field_def.default)
                if typed.error is not None:
                    self.add(file, f"{path}.default", "check.default_misfit", error=typed.error)
        if field_def.compute is not None and (
            field_def.default is not None or field_def.default_expr is not None
        ):
            self.add(file, path, "check.compute_and_default")
        if (
            field_def.readonly
            and field_def.compute is None
            and field_def.default is None
            and field_def.default_expr is None
        ):
            self.add(file, f"{path}.readonly", "check.readonly_no_value")
        if field_def.type == FieldType.GROUP and field_def.fields:
            inner = scope.inner(field_def.fields)
            for i, row_field in enumerate(field_def.fields):
                self.field(file, f"{path}.fields[{i}]", row_field, inner, where)
            index = {f.id: i for i, f in enumerate(field_def.fields)}
            self.cycles(
                lambda _: file, lambda fid: f"{path}.fields[{index[fid]}]", field_def.fields
            )

    def cycles(
        self, file_of: Callable[[str], str], path_of: Callable[[str], str], fields: list[FieldDef]
    ) -> None:
        """Fields whose visibility or value depend on each other in a circle."""
        ids = [f.id for f in fields]  # definition order: a cycle is reported at its first field
        reads: dict[str, set[str]] = {}
        for field_def in fields:
            names: set[str] = set()
            for source in (field_def.show_if, field_def.compute, field_def.default_expr):
                if source is not None:
                    try:
                        names |= compile_expression(source).names
                    except ExpressionError:
                        pass  # reported where it is defined
            reads[field_def.id] = (names & set(ids)) - {field_def.id}
        reported: set[frozenset[str]] = set()
        for start in ids:
            cycle = _find_cycle(start, reads)
            if cycle and frozenset(cycle) not in reported:
                reported.add(frozenset(cycle))
                chain = " → ".join([*cycle, cycle[0]])
                self.add(file_of(cycle[0]), path_of(cycle[0]), "check.cycle", chain=chain)

    # --- labels ---------------------------------------------------------------------------

    def texts(self, file: str, path: str, model: Any) -> None:
        """Both languages of every text must say something (not just spaces)."""
        if isinstance(model, Text):
            for lang in ("id", "en"):
                if not getattr(model, lang).strip():
                    self.add(file, f"{path}.{lang}", "check.blank_text")
            return
        if isinstance(model, BaseModel):
            for name in type(model).model_fields:
                if name in ("examples", "default"):
                    continue
                self.texts(file, f"{path}.{name}" if path else name, getattr(model, name))
        elif isinstance(model, list):
            for i, item in enumerate(model):
                self.texts(file, f"{path}[{i}]", item)

    # --- shared fields --------------------------------------------------------------------

    def shared_fields(self) -> None:
        scope = _Scope((self.catalog.shared_fields,))
        for field_id, field_def in self.catalog.shared_fields.items():
            file = str(self.catalog.sources.get(f"field:{field_id}", "shared-fields.yaml"))
            path = f"fields[id={field_id}]"
            self.texts(file, path, field_def)
            self.field(file, path, field_def, scope, "check.where_shared")
        self.cycles(
            lambda fid: str(self.catalog.sources.get(f"field:{fid}", "shared-fields.yaml")),
            lambda fid: f"fields[id={fid}]",
            list(self.catalog.shared_fields.values()),
        )

    # --- services -------------------------------------------------------------------------

    def service(self, code: str, service: Service) -> None:
        file = str(self.catalog.sources.get(code, code))
        self.texts(file, "", service)
        declared: dict[str, FieldDef] = {}
        for ref in service.shared_fields:
            definition = self.catalog.shared_fields.get(ref.field)
            if definition is not None:  # unknown ones are load problems already
                declared[ref.field] = definition
        own = {f.id: f for f in service.fields}
        scope = _Scope(({**declared, **own},))

        for i, ref in enumerate(service.shared_fields):
            if isinstance(ref.required, str):
                self.expression(file, f"shared_fields[{i}].required", ref.required, scope)
            definition = declared.get(ref.field)
            if definition is None:
                continue
            for rule in _FIELD_RULES:
                source = getattr(definition, rule)
                if not isinstance(source, str):
                    continue
                try:
                    names = compile_expression(source).names
                except ExpressionError:
                    continue  # reported at the shared field
                missing = sorted(n for n in names - {"value"} if n not in declared)
                if missing:
                    self.add(
                        file,
                        f"shared_fields[{i}]",
                        "check.shared_field_reads",
                        field=ref.field,
                        rule=rule,
                        names=", ".join(missing),
                    )
        for i, field_def in enumerate(service.fields):
            self.field(file, f"fields[{i}]", field_def, scope, "check.where_service")
        index = {f.id: i for i, f in enumerate(service.fields)}
        self.cycles(lambda _: file, lambda fid: f"fields[{index[fid]}]", service.fields)

        for i, requirement in enumerate(service.requirements):
            if requirement.condition is not None:
                self.expression(file, f"requirements[{i}].condition", requirement.condition, scope)
        if service.fee.amount_expr is not None:
            self.expression(file, "fee.amount_expr", service.fee.amount_expr, scope)
        if service.sla.working_days_expr is not None:
            self.expression(file, "sla.working_days_expr", service.sla.working_days_expr, scope)
        self.examples(file, code, service)

    def examples(self, file: str, code: str, service: Service) -> None:
        file_fields = _file_fields(service)
        for i, example in enumerate(service.examples):
            path = f"examples[{i}]"
            result = evaluate(
                self.catalog, code, example.applicant, example.answers, example.checklist
            )
            for entry in result.entries:
                if entry.status in (EntryStatus.REQUIRED, EntryStatus.INVALID):
                    message = entry.message if entry.message else entry.status.value
                    self.add(
                        file,
                        f"{path}.{entry.path}",
                        "check.example_entry",
                        status=entry.status.value,
                        message=message,
                    )
            for answer_path in _hidden_answers(
                service, example.applicant, example.answers, result.visible
            ):
                self.add(file, f"{path}.{answer_path}", "check.example_hidden_answer")
            names = set()
            for j, attachment in enumerate(example.attachments):
                names.add(attachment)
                names.add(PurePath(attachment).name)
                if self.catalog.resolve_path(attachment) is None:
                    self.add(
                        file, f"{path}.attachments[{j}]", "check.sample_missing", sample=attachment
                    )
            for answer_path, value in _file_answers(result.answers, file_fields):
                if value not in names:
                    self.add(
                        file,
                        f"{path}.answers.{answer_path}",
                        "check.attachment_not_listed",
                        value=value,
                    )

    def run(self) -> list[Problem]:
        for code, agency in self.catalog.agencies.items():
            file = str(self.catalog.sources.get(f"agency:{code}", "agencies.yaml"))
            self.texts(file, f"agencies[code={code}]", agency)
        self.shared_fields()
        for code in sorted(self.catalog.services):
            self.service(code, self.catalog.services[code])
        return self.problems


def _find_cycle(start: str, reads: Mapping[str, set[str]]) -> list[str] | None:
    """A dependency cycle through ``start`` (as a list of ids), if there is one."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, trail = stack.pop()
        for nxt in sorted(reads.get(node, ())):
            if nxt == start:
                return trail
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*trail, nxt]))
    return None


def _hidden_answers(
    service: Service, applicant: Mapping[str, Any], answers: Mapping[str, Any], visible: set[str]
) -> list[str]:
    """Paths an example answers although the engine hides them there (a mistake either way)."""
    declared = {ref.field for ref in service.shared_fields}
    hidden = [
        f"applicant.{k}" for k in applicant if k in declared and f"applicant.{k}" not in visible
    ]
    for field_def in service.fields:
        path = f"answers.{field_def.id}"
        if field_def.id not in answers:
            continue
        if path not in visible:
            hidden.append(path)
            continue
        rows = answers[field_def.id]
        if field_def.type == FieldType.GROUP and field_def.fields and isinstance(rows, list):
            row_ids = {f.id for f in field_def.fields}
            for i, row in enumerate(rows):
                if isinstance(row, Mapping):
                    hidden += [
                        f"{path}[{i}].{k}"
                        for k in row
                        if k in row_ids and f"{path}[{i}].{k}" not in visible
                    ]
    return hidden


def _file_fields(service: Service) -> dict[str, Any]:
    """Which answers hold attachment names: top-level ids, and groups' file row fields."""
    out: dict[str, Any] = {}
    for field_def in service.fields:
        if field_def.type == FieldType.FILE:
            out[field_def.id] = True
        elif field_def.type == FieldType.GROUP and field_def.fields:
            inner = {f.id for f in field_def.fields if f.type == FieldType.FILE}
            if inner:
                out[field_def.id] = inner
    return out


def _file_answers(
    answers: Mapping[str, Any], file_fields: Mapping[str, Any]
) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for field_id, spec in file_fields.items():
        value = answers.get(field_id)
        if value is None:
            continue
        if spec is True:
            found.append((field_id, value))
        else:
            for i, row in enumerate(value):
                for row_field in sorted(spec):
                    if row.get(row_field) is not None:
                        found.append((f"{field_id}[{i}].{row_field}", row[row_field]))
    return found


def check_catalog(catalog: Catalog) -> list[Problem]:
    """Every semantic problem of a loaded catalog (empty when it is fit to serve)."""
    return _Checker(catalog).run()
