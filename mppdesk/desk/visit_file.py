"""The headless visit (``mppdesk intake --input visit.json``): its JSON shape, read into a visit.

    {"ticket": "A-017",
     "applicant": {"nik": "...", "nama": "...", ...},        shared fields, typed once
     "proxy": null | {"nama": ..., "nik": ..., "hubungan": ...},
     "services": [{"service": "dukcapil/ktp-el", "answers": {...},
                   "checklist": {"fc-kk": "copy"}, "attachments": ["scan-kk.pdf"],
                   "supersedes": null}]}

Only the shape is checked here (and the attachment files read, within their limits); what
the visit means is the plan's to check (:mod:`mppdesk.forms.plan`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mppdesk.desk.attachments import AttachmentInput, AttachmentRefused, read_attachment
from mppdesk.desk.errors import FieldError, InvalidInput
from mppdesk.forms.visit import PROXY_KEYS, ServiceRequest, VisitRequest
from mppdesk.forms.visit_check import (
    Issue,
    attachments_over_total,
    proxy_issues,
    text_issues,
    too_many_attachments,
)
from mppdesk.settings import IntakeSettings

VISIT_KEYS = frozenset({"ticket", "applicant", "proxy", "services"})
SERVICE_KEYS = frozenset({"service", "answers", "checklist", "attachments", "supersedes"})


def field_errors(issues: list[Issue] | tuple[Issue, ...]) -> list[FieldError]:
    """The plan's issues as the desk's field errors (the same message code and parameters)."""
    return [FieldError.of(i.path, i.code, **i.params) for i in issues]


def text_errors(value: Any, path: str) -> list[FieldError]:
    """The visit's one text rule (mppdesk.forms.safe_text) as field errors."""
    return field_errors(text_issues(value, path))


def parse_visit(
    document: Any, base_dir: Path | None = None, limits: IntakeSettings | None = None
) -> VisitRequest:
    """Turn the visit JSON into a VisitRequest; attachments are read from inside base_dir.

    ``base_dir`` is the visit file's folder for ``mppdesk intake``: an attachment outside it
    (or a link out of it) is refused. ``limits`` bound the attachments' size and count.
    """
    if not isinstance(document, dict):
        raise InvalidInput([FieldError.of("", "visit_file.not_object")])
    # Text and nesting first: every later message may quote a value, and a quoted lone
    # surrogate would break the very error output that reports it.
    refused_text = text_errors(document, "")
    if refused_text:
        raise InvalidInput(refused_text)
    errors = _unknown_keys(document, VISIT_KEYS, "")
    ticket = _ticket(document, errors)
    applicant = document.get("applicant")
    if not isinstance(applicant, dict):
        errors.append(FieldError.of("applicant", "visit_file.applicant_required"))
        applicant = {}
    proxy = _proxy(document.get("proxy"), errors)
    budget = _AttachmentBudget(limits or IntakeSettings(), base_dir)
    services = [
        service
        for i, raw in enumerate(_service_list(document, errors))
        if (service := _service(raw, f"services[{i}]", budget, errors)) is not None
    ]
    if errors:
        raise InvalidInput(errors)
    return VisitRequest(applicant=applicant, services=tuple(services), ticket=ticket, proxy=proxy)


def _unknown_keys(document: dict[str, Any], known: frozenset[str], prefix: str) -> list[FieldError]:
    return [
        FieldError.of(f"{prefix}{key}" if prefix else (key or '""'), "visit_file.unknown_key")
        for key in sorted(set(document) - known)
    ]


def _ticket(document: dict[str, Any], errors: list[FieldError]) -> str:
    ticket = document.get("ticket") or ""
    if isinstance(ticket, str) and len(ticket) <= 32:
        return ticket
    errors.append(FieldError.of("ticket", "visit_file.ticket_invalid", max=32))
    return ""


def _proxy(proxy: Any, errors: list[FieldError]) -> dict[str, Any] | None:
    if proxy is None:
        return None
    if not isinstance(proxy, dict):
        errors.append(FieldError.of("proxy", "visit_file.proxy_not_object"))
        return None
    errors += _unknown_keys(proxy, PROXY_KEYS, "proxy.")
    errors += field_errors(proxy_issues(proxy))
    return proxy


def _service_list(document: dict[str, Any], errors: list[FieldError]) -> list[Any]:
    raw_services = document.get("services")
    if isinstance(raw_services, list) and raw_services:
        return raw_services
    errors.append(FieldError.of("services", "visit_file.services_required"))
    return []


def _service(
    raw: Any, where: str, budget: _AttachmentBudget, errors: list[FieldError]
) -> ServiceRequest | None:
    """One entry of ``services``; None when it is not even a service (errors say why)."""
    if not isinstance(raw, dict):
        errors.append(FieldError.of(where, "visit_file.service_not_object"))
        return None
    errors += _unknown_keys(raw, SERVICE_KEYS, f"{where}.")
    code = raw.get("service")
    if not isinstance(code, str) or not code:
        errors.append(FieldError.of(f"{where}.service", "visit_file.service_code_required"))
        return None
    answers = raw.get("answers") or {}
    if not isinstance(answers, dict):
        errors.append(FieldError.of(f"{where}.answers", "visit_file.answers_not_object"))
        answers = {}
    checklist = raw.get("checklist") or {}
    if not isinstance(checklist, dict) or not all(isinstance(v, str) for v in checklist.values()):
        errors.append(FieldError.of(f"{where}.checklist", "visit_file.checklist_invalid"))
        checklist = {}
    supersedes = raw.get("supersedes")
    if supersedes is not None and not isinstance(supersedes, str):
        errors.append(FieldError.of(f"{where}.supersedes", "visit_file.supersedes_invalid"))
        supersedes = None
    attachments = _attachments(raw.get("attachments") or [], where, budget, errors)
    return ServiceRequest(code, answers, checklist, attachments, supersedes)


def _attachments(
    names: Any, where: str, budget: _AttachmentBudget, errors: list[FieldError]
) -> tuple[AttachmentInput, ...]:
    if not isinstance(names, list):
        errors.append(FieldError.of(f"{where}.attachments", "visit_file.attachments_not_list"))
        return ()
    read = (budget.read(name, f"{where}.attachments[{j}]", errors) for j, name in enumerate(names))
    return tuple(attachment for attachment in read if attachment is not None)


class _AttachmentBudget:
    """Reads a visit's attachment files within the per-file, per-visit and count limits."""

    def __init__(self, limits: IntakeSettings, base_dir: Path | None):
        self.limits = limits
        self.base_dir = base_dir
        self.count = 0
        self.total = 0

    def read(self, name: Any, where: str, errors: list[FieldError]) -> AttachmentInput | None:
        self.count += 1
        if self.count > self.limits.max_attachments:
            errors += field_errors([too_many_attachments(where, self.limits)])
            return None
        remaining = self.limits.max_visit_attachment_bytes - self.total
        try:
            attachment = read_attachment(
                name,
                self.base_dir,
                max_bytes=max(0, min(self.limits.max_attachment_bytes, remaining)),
            )
        except AttachmentRefused as refused:
            if refused.too_large and remaining < self.limits.max_attachment_bytes:
                errors += field_errors([attachments_over_total(where, self.limits)])
            else:
                errors.append(FieldError.of(where, refused.code, **refused.params))
            return None
        self.total += len(attachment.data)
        return attachment
