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
    key: str  # the store's column
    label_id: str
    label_en: str
    question_id: str
    question_en: str
    answers: tuple[tuple[str, str], ...]  # scores 1..4: (id, en)

    def label(self, lang: str) -> str:
        return self.label_en if lang == "en" else self.label_id

    def question(self, lang: str) -> str:
        return self.question_en if lang == "en" else self.question_id

    def answer(self, score: int, lang: str) -> str:
        pair = self.answers[score - 1]
        return pair[1] if lang == "en" else pair[0]


def _scale(*words: tuple[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(words)


_SUITABLE = _scale(
    ("Tidak sesuai", "Not suitable"),
    ("Kurang sesuai", "Somewhat unsuitable"),
    ("Sesuai", "Suitable"),
    ("Sangat sesuai", "Very suitable"),
)

ELEMENTS: tuple[SurveyElement, ...] = (
    SurveyElement(
        "requirements",
        "Persyaratan",
        "Requirements",
        "Kesesuaian persyaratan pelayanan dengan jenis pelayanannya",
        "How well the requirements fit the service",
        _SUITABLE,
    ),
    SurveyElement(
        "procedure",
        "Sistem, mekanisme dan prosedur",
        "Procedure",
        "Kemudahan prosedur pelayanan",
        "How easy the procedure was",
        _scale(
            ("Tidak mudah", "Not easy"),
            ("Kurang mudah", "Not very easy"),
            ("Mudah", "Easy"),
            ("Sangat mudah", "Very easy"),
        ),
    ),
    SurveyElement(
        "turnaround",
        "Waktu penyelesaian",
        "Time taken",
        "Kecepatan waktu pelayanan",
        "How quick the service was",
        _scale(
            ("Tidak cepat", "Not quick"),
            ("Kurang cepat", "Not very quick"),
            ("Cepat", "Quick"),
            ("Sangat cepat", "Very quick"),
        ),
    ),
    SurveyElement(
        "cost",
        "Biaya/tarif",
        "Cost",
        "Kewajaran biaya/tarif pelayanan",
        "How fair the cost was",
        _scale(
            ("Sangat mahal", "Very expensive"),
            ("Cukup mahal", "Rather expensive"),
            ("Murah", "Cheap"),
            ("Gratis", "Free"),
        ),
    ),
    SurveyElement(
        "product",
        "Produk layanan",
        "Service product",
        "Kesesuaian produk pelayanan dengan standar pelayanan",
        "How well the product matches the service standard",
        _SUITABLE,
    ),
    SurveyElement(
        "competence",
        "Kompetensi pelaksana",
        "Staff competence",
        "Kompetensi/kemampuan petugas dalam pelayanan",
        "How competent the staff were",
        _scale(
            ("Tidak kompeten", "Not competent"),
            ("Kurang kompeten", "Somewhat competent"),
            ("Kompeten", "Competent"),
            ("Sangat kompeten", "Very competent"),
        ),
    ),
    SurveyElement(
        "conduct",
        "Perilaku pelaksana",
        "Staff conduct",
        "Kesopanan dan keramahan petugas",
        "How courteous and friendly the staff were",
        _scale(
            ("Tidak sopan dan ramah", "Not courteous"),
            ("Kurang sopan dan ramah", "Not very courteous"),
            ("Sopan dan ramah", "Courteous"),
            ("Sangat sopan dan ramah", "Very courteous"),
        ),
    ),
    SurveyElement(
        "complaints",
        "Penanganan pengaduan, saran dan masukan",
        "Complaint handling",
        "Penanganan pengaduan pengguna layanan",
        "How complaints and suggestions are handled",
        _scale(
            ("Tidak ada", "None"),
            ("Ada tetapi tidak berfungsi", "Exists but does not work"),
            ("Berfungsi kurang maksimal", "Works, not fully"),
            ("Dikelola dengan baik", "Well handled"),
        ),
    ),
    SurveyElement(
        "facilities",
        "Sarana dan prasarana",
        "Facilities",
        "Kualitas sarana dan prasarana",
        "Quality of the facilities",
        _scale(
            ("Buruk", "Poor"),
            ("Cukup", "Fair"),
            ("Baik", "Good"),
            ("Sangat baik", "Very good"),
        ),
    ),
)
assert tuple(e.key for e in ELEMENTS) == SURVEY_COLUMNS

# (lowest converted value, mutu, kinerja id, kinerja en), best first.
CATEGORIES: tuple[tuple[float, str, str, str], ...] = (
    (88.31, "A", "Sangat baik", "Very good"),
    (76.61, "B", "Baik", "Good"),
    (65.00, "C", "Kurang baik", "Fair"),
    (25.00, "D", "Tidak baik", "Poor"),
)


@dataclass(frozen=True)
class Ikm:
    """An index (IKM) on the converted 25-100 scale with its category."""

    value: float
    category: str  # A | B | C | D
    label_id: str
    label_en: str

    def label(self, lang: str) -> str:
        return self.label_en if lang == "en" else self.label_id


def ikm(mean_score: float | None) -> Ikm | None:
    """The converted index and category of a mean score on the 1-4 scale (None: no answers)."""
    if mean_score is None:
        return None
    if not 1.0 <= mean_score <= 4.0:
        raise ValueError(f"a mean SKM score lies within 1-4, got {mean_score}")
    value = round(mean_score * 25.0, 2)
    for low, category, label_id, label_en in CATEGORIES:
        if value >= low:
            return Ikm(value, category, label_id, label_en)
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
                FieldError(
                    f"survey.{element.key}",
                    f"{element.label_id}: pilih nilai 1 sampai 4",
                    f"{element.label_en}: choose a score from 1 to 4",
                )
            )
        else:
            clean[element.key] = value
    unknown = sorted(set(scores) - set(SURVEY_COLUMNS))
    for key in unknown:
        errors.append(
            FieldError(f"survey.{key}", "Unsur survei tidak dikenal", "Unknown survey element")
        )
    if errors:
        raise InvalidInput(errors)
    return clean


def record_survey(
    runtime: Runtime,
    actor: Actor,
    visit_id: str,
    scores: Mapping[str, int],
    suggestion: str | None = None,
) -> int:
    """Store one visit's survey; an officer may record it only for a visit of this desk.

    Raises InvalidInput (a score outside 1-4, a second survey for the visit), NotFound or
    PermissionDenied. Returns the response's id.
    """
    require(actor, Operation.INTAKE)
    clean = _check_scores(scores)
    text = (suggestion or "").strip() or None
    if text is not None and len(text) > SUGGESTION_MAX:
        raise InvalidInput(
            [
                FieldError(
                    "survey.suggestion",
                    f"Saran paling panjang {SUGGESTION_MAX} karakter",
                    f"A suggestion has at most {SUGGESTION_MAX} characters",
                )
            ]
        )
    now = runtime.now()
    with runtime.store.write() as session:
        visit = survey_store.visit_for_survey(session, visit_id)
        if visit is None or visit.status != "finalized":
            raise NotFound(f"Kunjungan tidak ditemukan: {visit_id} (visit not found)")
        if not actor.may(Operation.VIEW_ALL) and visit.desk != runtime.settings.desk.code:
            raise PermissionDenied(
                "Kunjungan ini milik loket lain. (This visit belongs to another desk.)"
            )
        if survey_store.has_response(session, visit_id):
            raise InvalidInput(
                [
                    FieldError(
                        "survey",
                        "Survei untuk kunjungan ini sudah diisi",
                        "This visit's survey was answered already",
                    )
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
    return response_id
