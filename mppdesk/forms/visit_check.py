"""Checking one visit: the text rule, attachments, proxy, identity, the profile and every form.

The first half of the visit plan (:mod:`mppdesk.forms.plan`), pure like it: every problem is
an :class:`Issue` with a path, a code and its parameters; errors block the visit, warnings
(the engine's doubts) are stored with it, and missing documents go on the slip.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from mppdesk.core import messages
from mppdesk.core.filetypes import ACCEPTED_LABEL
from mppdesk.core.messages import Localized, Phrase
from mppdesk.core.states import SATISFIED_CHECKLIST_STATES, ChecklistState
from mppdesk.forms import engine
from mppdesk.forms.catalog import Catalog
from mppdesk.forms.safe_text import text_problems
from mppdesk.forms.visit import PROXY_KEYS, VisitRequest, identity_of
from mppdesk.settings import IntakeSettings

# --- issues -----------------------------------------------


@dataclass(frozen=True)
class Issue:
    """One problem (an error blocks the visit, a warning is stored with it) at a field's path.

    ``code`` is a message of the catalog (``resources/messages/``) and ``params`` fill it in;
    whoever renders the issue words it in its own language. The form engine's entries are
    ``form.<status>`` issues whose ``message`` parameter carries the engine's own words (the
    validators' or the catalog author's, in both languages).
    """

    path: str  # e.g. "applicant.nik", "services[1].answers.alasan"
    code: str
    params: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def get(self, lang: str) -> str:
        """Its words in ``lang`` ("id" or "en"), as a catalog ``Text`` gives them."""
        return messages.text(self.code, lang, **self.params)

    @property
    def text_id(self) -> str:
        return self.get("id")

    @property
    def text_en(self) -> str:
        return self.get("en")


def text_issues(value: Any, path: str) -> list[Issue]:
    """The visit's one text rule (mppdesk.forms.safe_text) as issues."""
    return [
        Issue(where, "visit.text_refused", {"problem": Phrase(code, params)})
        for where, code, params in text_problems(value, path)
    ]


def too_many_attachments(where: str, limits: IntakeSettings) -> Issue:
    return Issue(where, "visit.attachments_too_many", {"max": limits.max_attachments})


def attachments_over_total(where: str, limits: IntakeSettings) -> Issue:
    return Issue(where, "visit.attachments_total", {"max": limits.max_visit_attachment_bytes})


def proxy_issues(proxy: Mapping[str, Any]) -> list[Issue]:
    """The person acting for the applicant: a name, and a valid NIK when one is given."""
    from mppdesk.forms.validators import check_nik

    issues = [
        Issue(f"proxy.{key}", "visit.proxy_text")
        for key, value in proxy.items()
        if key in PROXY_KEYS and value is not None and not isinstance(value, str)
    ]
    name = proxy.get("nama")
    if not isinstance(name, str) or not name.strip():
        issues.append(Issue("proxy.nama", "visit.proxy_name_required"))
    nik = proxy.get("nik")
    if isinstance(nik, str) and nik.strip():
        checked = check_nik(nik)
        if not checked.ok:
            issues.append(Issue("proxy.nik", "visit.proxy_nik", {"problem": checked.error}))
    return issues


# --- checking the visit ----------------------------------------------------------------


@dataclass(frozen=True)
class VisitCheck:
    """The engine's answer for the profile and each service, and the visit's issues."""

    profile: engine.FormResult | None
    results: tuple[engine.FormResult | None, ...]  # one per service; None: unknown service
    errors: tuple[Issue, ...]
    warnings: tuple[Issue, ...]  # the engine's doubts: stored with the visit, shown after it
    # Requirements that apply and were not handed over: the "berkas belum lengkap" slip.
    missing_documents: tuple[Issue, ...] = ()


def missing_requirements(result: engine.FormResult) -> list[str]:
    """Requirement ids that apply and are not handed over (nothing given counts as missing)."""
    return [
        r.id
        for r in result.requirements
        if r.applies
        and r.state not in SATISFIED_CHECKLIST_STATES
        and r.state != ChecklistState.NOT_APPLICABLE
    ]


def _missing_documents(
    catalog: Catalog, request: VisitRequest, results: Sequence[engine.FormResult | None]
) -> tuple[Issue, ...]:
    issues = []
    for index, result in enumerate(results):
        if result is None:
            continue
        code = request.services[index].service
        labels = {r.id: r.label for r in catalog.service(code).requirements}
        for requirement in missing_requirements(result):
            label = labels[requirement]
            issues.append(
                Issue(
                    f"services[{index}].checklist.{requirement}",
                    "visit.document_missing",
                    {"service": code, "requirement": requirement, "label": label},
                )
            )
    return tuple(issues)


def _text_refusals(request: VisitRequest) -> list[Issue]:
    """Refused text anywhere: checked first, since later messages may quote the values."""
    issues = text_issues(request.ticket, "ticket") + text_issues(
        dict(request.applicant), "applicant"
    )
    if request.proxy is not None:
        issues += text_issues(dict(request.proxy), "proxy")
    for i, service in enumerate(request.services):
        where = f"services[{i}]"
        issues += text_issues(service.service, f"{where}.service")
        issues += text_issues(dict(service.answers), f"{where}.answers")
        issues += text_issues(dict(service.checklist), f"{where}.checklist")
        for j, attachment in enumerate(service.attachments):
            issues += text_issues(attachment.name, f"{where}.attachments[{j}]")
    return issues


def attachment_limit_issues(request: VisitRequest, limits: IntakeSettings) -> list[Issue]:
    """Count, size and type of every attachment, whoever read it (visit file or desk form)."""
    issues: list[Issue] = []
    count = total = 0
    for i, service in enumerate(request.services):
        for j, attachment in enumerate(service.attachments):
            where = f"services[{i}].attachments[{j}]"
            count += 1
            total += attachment.size
            if count > limits.max_attachments:
                issues.append(too_many_attachments(where, limits))
            elif attachment.size > limits.max_attachment_bytes:
                limit = limits.max_attachment_bytes
                issues.append(Issue(where, "visit.attachment_too_large", {"max": limit}))
            elif total > limits.max_visit_attachment_bytes:
                issues.append(attachments_over_total(where, limits))
            elif attachment.proven_type() is None:
                issues.append(Issue(where, "visit.attachment_type", {"accepted": ACCEPTED_LABEL}))
    return issues


class _Collected:
    """Engine entries as issues: one per path (the first wins), warnings apart from errors."""

    def __init__(self) -> None:
        self.errors: list[Issue] = []
        self.warnings: list[Issue] = []
        self._seen: set[str] = set()

    def add(self, entries: Sequence[engine.Entry], prefix: str) -> None:
        for entry in entries:
            path = entry.path if entry.path.startswith("applicant.") else f"{prefix}{entry.path}"
            if path in self._seen:
                continue
            self._seen.add(path)
            message = entry.message
            words = (
                Localized(message.id, message.en)
                if message is not None
                else Phrase(f"form.status.{entry.status}")
            )
            issue = Issue(path, f"form.{entry.status}", {"message": words})
            (self.warnings if entry.status == engine.EntryStatus.WARNING else self.errors).append(
                issue
            )


def _service_issues(
    catalog: Catalog, request: VisitRequest, index: int, today: date, found: _Collected
) -> engine.FormResult | None:
    service = request.services[index]
    prefix = f"services[{index}]."
    if service.service not in catalog.services:
        found.errors.append(
            Issue(f"{prefix}service", "visit.unknown_service", {"service": service.service})
        )
        return None
    result = engine.evaluate(
        catalog, service.service, request.applicant, service.answers, service.checklist, today=today
    )
    found.add(result.entries, prefix)
    names = [a.name for a in service.attachments]
    for duplicate in sorted({n for n in names if names.count(n) > 1}):
        found.errors.append(
            Issue(f"{prefix}attachments", "visit.duplicate_attachment", {"name": duplicate})
        )
    return result


def check_request(
    catalog: Catalog, request: VisitRequest, today: date, limits: IntakeSettings
) -> VisitCheck:
    """Validate a whole visit: the text rule, attachments, proxy, profile and every form."""
    refused = _text_refusals(request)
    if refused:
        return VisitCheck(None, (None,) * len(request.services), tuple(refused), ())
    found = _Collected()
    found.errors += attachment_limit_issues(request, limits)
    if request.proxy is not None:
        found.errors += proxy_issues(request.proxy)
    profile = engine.evaluate_shared(catalog, request.applicant, None, today=today)
    found.add(profile.entries, "")
    if identity_of(profile.applicant) is None and identity_of(request.applicant) is None:
        found.errors.append(Issue("applicant.nik", "visit.identity_required"))
    results = tuple(
        _service_issues(catalog, request, i, today, found) for i in range(len(request.services))
    )
    documents = _missing_documents(catalog, request, results)
    return VisitCheck(profile, results, tuple(found.errors), tuple(found.warnings), documents)
