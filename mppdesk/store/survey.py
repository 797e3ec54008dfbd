"""Satisfaction survey responses (SKM): one per visit, written once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from mppdesk.store.models import SURVEY_COLUMNS, SurveyResponse, Visit


@dataclass(frozen=True)
class SurveyVisit:
    id: str
    desk: str
    status: str
    local_date: str


def visit_for_survey(session: Session, visit_id: str) -> SurveyVisit | None:
    row = session.execute(
        select(Visit.id, Visit.desk, Visit.status, Visit.local_date).where(Visit.id == visit_id)
    ).first()
    return SurveyVisit(*row) if row else None


def has_response(session: Session, visit_id: str) -> bool:
    return (
        session.scalar(select(SurveyResponse.id).where(SurveyResponse.visit_id == visit_id))
        is not None
    )


def add_response(
    session: Session,
    *,
    visit_id: str,
    scores: Mapping[str, int],
    answered_at: datetime,
    local_date: str,
    officer: str,
    suggestion: str | None,
) -> int:
    values = {name: int(scores[name]) for name in SURVEY_COLUMNS}
    result = session.execute(
        insert(SurveyResponse)
        .values(
            visit_id=visit_id,
            answered_at=answered_at,
            local_date=local_date,
            officer=officer,
            suggestion=suggestion,
            **values,
        )
        .returning(SurveyResponse.id)
    )
    return int(result.scalar_one())
