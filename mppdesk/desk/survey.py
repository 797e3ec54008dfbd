"""The satisfaction survey (Survei Kepuasan Masyarakat, SKM) at the end of a visit.

Follows Peraturan Menteri PANRB No. 14 Tahun 2017 (Pedoman Penyusunan Survei Kepuasan
Masyarakat Unit Penyelenggara Pelayanan Publik): nine elements (unsur), each answered on a
four-point scale (1 worst … 4 best). The survey is optional and short: the applicant answers
at the counter when the officer offers it; nothing about the applicant is stored with it
beyond the visit it belongs to.

The index: each element's mean score (nilai rata-rata, NRR) is weighted equally (1/9; the
regulation prints the weight rounded, 0.11), their weighted sum is the IKM on the 1-4 scale
and ×25 converts it to 25-100 (nilai interval konversi). With every element answered, as here,
that equals the mean of all scores ×25. The quality category (mutu pelayanan) follows the
regulation's table of intervals:

====================  ===========================  =====  ================================
NI (1-4)              NIK, converted (25-100)      mutu   kinerja unit pelayanan
====================  ===========================  =====  ================================
1.00 – 2.5996         25.00 – 64.99                D      Tidak baik (poor)
2.60 – 3.064          65.00 – 76.60                C      Kurang baik (fair)
3.0644 – 3.532        76.61 – 88.30                B      Baik (good)
3.5324 – 4.00         88.31 – 100.00               A      Sangat baik (very good)
====================  ===========================  =====  ================================

The converted value is rounded to two decimals (as the table states it) before it is placed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from mppdesk.core import messages
from mppdesk.core.changes import Changes, Kind
from mppdesk.core.messages import Phrase
from mppdesk.core.permissions import Operation
from mppdesk.desk.auth import Actor, require
from mppdesk.desk.errors import FieldError, InvalidInput, NotFound, PermissionDenied
from mppdesk.desk.runtime import Runtime
from mppdesk.store import repo
from mppdesk.store import survey as survey_store
from mppdesk.store.models import SURVEY_COLUMNS

log = logging.getLogger(__name__)

SUGGESTION_MAX = 500


@dataclass(frozen=True)
class SurveyElement:
    """One of the nine SKM elements; its words (label, question, the four answers) are the
    message catalog's ``survey_element.<key>.`` codes."""

    key: str  # the store's column

    def label(self, lang: str) -> str:
        return messages.text(f"survey_element.{self.key}.label", lang)

    def question(self, lang: str) -> str:
        return messages.text(f"survey_element.{self.key}.question", lang)

    def answer(self, score: int, lang: str) -> str:
        if not 1 <= score <= 4:
            raise ValueError(f"a survey score lies within 1-4, got {score}")
        return messages.text(f"survey_element.{self.key}.answer_{score}", lang)


ELEMENTS: tuple[SurveyElement, ...] = tuple(
    SurveyElement(key)
    for key in (
        "requirements",
        "procedure",
        "turnaround",
        "cost",
        "product",
        "competence",
        "conduct",
        "complaints",
        "facilities",
    )
)
assert tuple(e.key for e in ELEMENTS) == SURVEY_COLUMNS

# (lowest converted value, mutu), best first; the kinerja words are ``survey_grade.<mutu>``.
CATEGORIES: tuple[tuple[float, str], ...] = (
    (88.31, "A"),
    (76.61, "B"),
    (65.00, "C"),
    (25.00, "D"),
)


@dataclass(frozen=True)
class Ikm:
    """An index (IKM) on the converted 25-100 scale with its category."""

    value: float
    category: str  # A | B | C | D

    def label(self, lang: str) -> str:
        return messages.text(f"survey_grade.{self.category.lower()}", lang)


def ikm(mean_score: float | None) -> Ikm | None:
    """The converted index and category of a mean score on the 1-4 scale (None: no answers)."""
    if mean_score is None:
        return None
    if not 1.0 <= mean_score <= 4.0:
        raise ValueError(f"a mean SKM score lies within 1-4, got {mean_score}")
    value = round(mean_score * 25.0, 2)
    for low, category in CATEGORIES:
        if value >= low:
            return Ikm(value, category)
    raise AssertionError("unreachable: 25.00 is the lowest possible value")


def ikm_of_elements(element_means: Mapping[str, float]) -> Ikm | None:
    """The unit's IKM from the nine elements' mean scores, each weighted 1/9."""
    if not element_means:
        return None
    weighted = sum(element_means[key] for key in SURVEY_COLUMNS) / len(SURVEY_COLUMNS)
    return ikm(weighted)


def _check_scores(scores: Mapping[str, int]) -> dict[str, int]:
    errors = []
    clean: dict[str, int] = {}
    for element in ELEMENTS:
        value = scores.get(element.key)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 4:
            errors.append(
                FieldError.of(
                    f"survey.{element.key}",
                    "error.survey_score",
                    element=Phrase(f"survey_element.{element.key}.label"),
                )
            )
        else:
            clean[element.key] = value
    unknown = sorted(set(scores) - set(SURVEY_COLUMNS))
    for key in unknown:
        errors.append(
            FieldError.of(f"survey.{key}", "error.survey_element_unknown")
        )
    if errors:
        raise InvalidInput(errors)
    return clean


@dataclass(frozen=True)
class RecordedSurvey:
    """One stored survey response; ``changes`` is what the views hear of it."""

    response_id: int
    visit_id: str

    @property
    def changes(self) -> Changes:
        return Changes.of(Kind.SURVEY)


def record_survey(
    runtime: Runtime,
    actor: Actor,
    visit_id: str,
    scores: Mapping[str, int],
    suggestion: str | None = None,
) -> RecordedSurvey:
    """Store one visit's survey; an officer may record it only for a visit of this desk.

    Raises InvalidInput (a score outside 1-4, a second survey for the visit), NotFound or
    PermissionDenied.
    """
    require(actor, Operation.INTAKE)
    clean = _check_scores(scores)
    text = (suggestion or "").strip() or None
    if text is not None and len(text) > SUGGESTION_MAX:
        raise InvalidInput(
            [
                FieldError.of(
                    "survey.suggestion", "error.survey_suggestion_long", maximum=SUGGESTION_MAX
                )
            ]
        )
    now = runtime.now()
    with runtime.store.write() as session:
        visit = survey_store.visit_for_survey(session, visit_id)
        if visit is None or visit.status != "finalized":
            raise NotFound.of("error.visit_not_found", visit=visit_id)
        if not actor.may(Operation.VIEW_ALL) and visit.desk != runtime.settings.desk.code:
            raise PermissionDenied.of("error.other_desk_visit")
        if survey_store.has_response(session, visit_id):
            raise InvalidInput(
                [
                    FieldError.of("survey", "error.survey_done")
                ]
            )
        response_id = survey_store.add_response(
            session,
            visit_id=visit_id,
            scores=clean,
            answered_at=now,
            local_date=visit.local_date,  # the visit's day: reported with its submissions
            officer=actor.username,
            suggestion=text,
        )
        repo.append_audit(
            session,
            actor=actor.username,
            action="survey.recorded",
            object_type="visit",
            object_id=visit_id,
            details={"response": response_id},
        )
    log.info("survey recorded for visit %s", visit_id)
    return RecordedSurvey(response_id, visit_id)
