"""Who may do what. The desk layer checks every operation against this table."""

from __future__ import annotations

from enum import StrEnum

from mppdesk.core.states import Role


class Operation(StrEnum):
    INTAKE = "intake"  # open visits, finalize submissions, print their documents
    VIEW_OWN = "view_own"  # this desk's submissions
    VIEW_ALL = "view_all"  # every desk's submissions (shared store)
    COLLECT = "collect"  # record who collected a product
    RETRY_SYNC = "retry_sync"
    REVIEW = "review"  # approve, return, flag
    REPORT = "report"  # dashboard and exports
    MANAGE_USERS = "manage_users"
    MANAGE_SETTINGS = "manage_settings"


_OFFICER = frozenset(
    {Operation.INTAKE, Operation.VIEW_OWN, Operation.COLLECT, Operation.RETRY_SYNC}
)
_SUPERVISOR = _OFFICER | {Operation.VIEW_ALL, Operation.REVIEW, Operation.REPORT}
_ADMIN = _SUPERVISOR | {Operation.MANAGE_USERS, Operation.MANAGE_SETTINGS}

PERMISSIONS: dict[Role, frozenset[Operation]] = {
    Role.OFFICER: _OFFICER,
    Role.SUPERVISOR: frozenset(_SUPERVISOR),
    Role.ADMIN: frozenset(_ADMIN),
}


def allowed(role: str, operation: Operation) -> bool:
    try:
        return operation in PERMISSIONS[Role(role)]
    except ValueError:
        return False
