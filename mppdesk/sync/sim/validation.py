"""What the reference agency checks in a POST body before storing it (answered as 422).

Strict on the contract's shape, lenient beyond it: every key of the protocol's example must be
present (``proxy`` and ``supersedes`` may be null), extra keys are accepted for forward
compatibility. The body must also be canonical JSON, because the desk promises frozen
canonical bytes and the idempotency check compares bytes.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from mppdesk.core.canonical import canonical_json
from mppdesk.core.states import ChecklistState

from .store import SIM_OUTCOMES

REQUIRED_STRINGS = (
    "submission_id",
    "tracking_number",
    "agency",
    "service",
    "form_version",
    "finalized_at",
    "mpp",
    "desk",
    "officer",
)
REQUIRED_KEYS = (*REQUIRED_STRINGS, "applicant", "proxy", "supersedes", "answers", "checklist",
                 "attachments")  # fmt: skip

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_FORM_VERSION = re.compile(r"^sha256:[0-9a-f]{64}$")
_NIK = re.compile(r"^[0-9]{16}$")
_CHECKLIST_STATES = frozenset(state.value for state in ChecklistState)
MAX_NAME_LENGTH = 200


def is_uuid(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


def is_sha256_hex(value: object) -> bool:
    return isinstance(value, str) and bool(_SHA256.match(value))


def attachment_name_problem(name: object) -> str | None:
    if not isinstance(name, str) or not name:
        return "must be a non-empty string"
    if len(name) > MAX_NAME_LENGTH:
        return f"must be at most {MAX_NAME_LENGTH} characters"
    if "/" in name or "\\" in name or name in (".", "..") or any(ord(c) < 32 for c in name):
        return "must be a plain file name (no slashes or control characters)"
    return None


def validate_submission(
    body: bytes, document: Any, agency: str, idempotency_key: str
) -> dict[str, str]:
    """Field path → reason for everything wrong; empty when the body is acceptable."""
    problems: dict[str, str] = {}
    if not isinstance(document, dict):
        return {"body": "must be a JSON object"}
    for key in REQUIRED_KEYS:
        if key not in document:
            problems[key] = "required"
    for key in REQUIRED_STRINGS:
        value = document.get(key)
        if key in document and (not isinstance(value, str) or not value.strip()):
            problems[key] = "must be a non-empty string"

    submission_id = document.get("submission_id")
    if "submission_id" not in problems:
        if not is_uuid(submission_id):
            problems["submission_id"] = "must be a UUID in its canonical lower-case form"
        elif submission_id != idempotency_key:
            problems["submission_id"] = "must equal the Idempotency-Key header"
    if "agency" not in problems and document["agency"] != agency:
        problems["agency"] = f"must be {agency!r}, the agency of this endpoint"
    if "form_version" not in problems and not _FORM_VERSION.match(document["form_version"]):
        problems["form_version"] = "must be 'sha256:' followed by 64 lower-case hex digits"
    if "finalized_at" not in problems:
        try:
            finalized = datetime.fromisoformat(document["finalized_at"])
        except ValueError:
            problems["finalized_at"] = "must be an ISO 8601 date-time"
        else:
            if finalized.tzinfo is None:
                problems["finalized_at"] = "must carry a UTC offset"

    _check_person(document, "applicant", problems, nullable=False)
    _check_person(document, "proxy", problems, nullable=True)

    supersedes = document.get("supersedes")
    if supersedes is not None:
        if not is_uuid(supersedes):
            problems["supersedes"] = "must be null or the UUID of an earlier submission"
        elif supersedes == submission_id:
            problems["supersedes"] = "a submission cannot supersede itself"

    answers = document.get("answers")
    if "answers" in document:
        if not isinstance(answers, dict):
            problems["answers"] = "must be an object"
        else:
            if answers.get("_cancel") is True and supersedes is None:
                problems["supersedes"] = "a cancellation must name the submission it cancels"
            if "_sim_outcome" in answers and answers["_sim_outcome"] not in SIM_OUTCOMES:
                problems["answers._sim_outcome"] = "must be one of " + ", ".join(SIM_OUTCOMES)

    _check_checklist(document.get("checklist"), "checklist" in document, problems)
    _check_attachments(document.get("attachments"), "attachments" in document, problems)

    if not problems and canonical_json(document) != body:
        problems["body"] = "must be canonical JSON (UTF-8, keys sorted, no whitespace)"
    return problems


def _check_person(
    document: dict[str, Any], key: str, problems: dict[str, str], *, nullable: bool
) -> None:
    if key not in document:
        return
    person = document[key]
    if person is None and nullable:
        return
    if not isinstance(person, dict):
        problems[key] = "must be an object" + (" or null" if nullable else "")
        return
    nik = person.get("nik")
    if nik is not None and not (isinstance(nik, str) and _NIK.match(nik)):
        problems[f"{key}.nik"] = "must be 16 digits"


def _check_checklist(items: Any, present: bool, problems: dict[str, str]) -> None:
    if not present:
        return
    if not isinstance(items, list):
        problems["checklist"] = "must be a list"
        return
    for index, item in enumerate(items):
        where = f"checklist[{index}]"
        if not isinstance(item, dict):
            problems[where] = "must be an object with id and state"
            continue
        if not isinstance(item.get("id"), str) or not item["id"]:
            problems[f"{where}.id"] = "must be a non-empty string"
        if item.get("state") not in _CHECKLIST_STATES:
            problems[f"{where}.state"] = "must be one of " + ", ".join(sorted(_CHECKLIST_STATES))


def _check_attachments(items: Any, present: bool, problems: dict[str, str]) -> None:
    if not present:
        return
    if not isinstance(items, list):
        problems["attachments"] = "must be a list"
        return
    names: set[str] = set()
    for index, item in enumerate(items):
        where = f"attachments[{index}]"
        if not isinstance(item, dict):
            problems[where] = "must be an object with name, sha256, size and content_type"
            continue
        name = item.get("name")
        name_problem = attachment_name_problem(name)
        if name_problem:
            problems[f"{where}.name"] = name_problem
        elif name in names:
            problems[f"{where}.name"] = f"{name!r} is listed twice"
        else:
            names.add(name)
        if not is_sha256_hex(item.get("sha256")):
            problems[f"{where}.sha256"] = "must be 64 lower-case hex digits"
        size = item.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            problems[f"{where}.size"] = "must be a non-negative integer"
        content_type = item.get("content_type")
        if not isinstance(content_type, str) or "/" not in content_type:
            problems[f"{where}.content_type"] = "must be a media type such as application/pdf"
