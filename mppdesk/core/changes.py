"""What an operation changed, so each view reloads only when something it shows changed.

Every desk operation the UI calls (finalize, a review decision, a collection, a survey, an
account or settings change) and every sync pass says what it changed as one ``Changes``
value; the UI's notifier fans it out and each view decides from it whether to reload. The
model is Anki's ``OpChanges``: a small value, not an event bus, and never a description of
*how* something changed.

A change is named by its kind (``Kind`` for the desk's own; any other lower-case dotted name,
such as ``hub.tickets``, for a part that brings its own kind without editing this module).
Submissions also carry their ids when the operation knows them, so the submissions view can
re-read just those rows; ``None`` means "some, unknown which" and asks for a full reload.

Pure and immutable: safe to build on a worker thread and hand to the GUI thread.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

_KIND_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")


class Kind(StrEnum):
    """The desk's own kinds of change."""

    VISITS = "visits"  # a visit finalized (new submissions, the day's counts)
    SUBMISSIONS = "submissions"  # a submission's row: status, review, agency state, collection
    OUTBOX = "outbox"  # outbox entries: released, sent, retried, paused (the sync backlog)
    REVIEW = "review"  # a supervisor's decision
    SURVEY = "survey"  # a satisfaction survey answered
    COLLECTION = "collection"  # a product handed over
    APPLICANTS = "applicants"  # an applicant's profile created or changed
    DRAFTS = "drafts"  # a draft visit saved or discarded
    USERS = "users"  # accounts added or changed
    CATALOG = "catalog"  # services, agencies, overrides
    SETTINGS = "settings"  # desk or agency settings
    HUB = "hub"  # something pulled from the mall hub


def _kind(name: str) -> str:
    value = str(name)
    if not _KIND_NAME.match(value):
        raise ValueError(f"a kind of change is a lower-case dotted name, got {name!r}")
    return value


@dataclass(frozen=True, slots=True)
class Changes:
    """What changed. Build with ``Changes.of(kind, …, submission_ids=…)``;
    combine with ``|``; ``NOTHING`` (falsy) when an operation changed nothing.

    ``submission_ids`` is meaningful only when ``SUBMISSIONS`` is among the kinds: a set of
    ids, or ``None`` for "unknown which" (always an empty set when no submission changed).
    """

    kinds: frozenset[str] = frozenset()
    submission_ids: frozenset[str] | None = frozenset()

    def __post_init__(self) -> None:
        kinds = frozenset(_kind(k) for k in self.kinds)
        object.__setattr__(self, "kinds", kinds)
        ids = self.submission_ids
        if Kind.SUBMISSIONS not in kinds:
            ids = frozenset()  # ids without the kind say nothing
        elif ids is not None:
            ids = frozenset(str(i) for i in ids)
            if not ids:
                ids = None  # "submissions changed" with no ids named: any of them may have
        object.__setattr__(self, "submission_ids", ids)

    # --- building --------------------------------------------------------------------------

    @classmethod
    def of(cls, *kinds: str, submission_ids: Iterable[str] | None = None) -> Changes:
        """These kinds changed; naming ``submission_ids`` implies ``SUBMISSIONS`` (an empty
        list names none: listing ``SUBMISSIONS`` without ids means "unknown which")."""
        names = set(kinds)
        ids = frozenset(submission_ids) if submission_ids is not None else frozenset()
        if ids:
            names.add(Kind.SUBMISSIONS)
            return cls(frozenset(names), ids)
        return cls(frozenset(names), None)

    @classmethod
    def merged(cls, many: Iterable[Changes]) -> Changes:
        result = NOTHING
        for changes in many:
            result = result | changes
        return result

    def __or__(self, other: object) -> Changes:
        if not isinstance(other, Changes):
            return NotImplemented
        if not other.kinds:
            return self
        if not self.kinds:
            return other
        mine, theirs = self.submission_ids, other.submission_ids
        ids: frozenset[str] | None
        if Kind.SUBMISSIONS not in self.kinds:
            ids = theirs
        elif Kind.SUBMISSIONS not in other.kinds:
            ids = mine
        elif mine is None or theirs is None:
            ids = None
        else:
            ids = mine | theirs
        return Changes(self.kinds | other.kinds, ids)

    # --- reading ---------------------------------------------------------------------------

    def __bool__(self) -> bool:
        return bool(self.kinds)

    @property
    def empty(self) -> bool:
        """Nothing changed: no view needs to reload."""
        return not self.kinds

    def touches(self, *kinds: str | Iterable[str]) -> bool:
        """True when any of these kinds changed (a view's ``wants``)."""
        for kind in kinds:
            if isinstance(kind, str):
                if kind in self.kinds:
                    return True
            elif not self.kinds.isdisjoint(kind):
                return True
        return False

    def only(self, *kinds: str) -> bool:
        """True when something changed and all of it is among these kinds."""
        return bool(self.kinds) and self.kinds <= frozenset(kinds)

    @property
    def ids_known(self) -> bool:
        """The changed submissions are named (False also when none changed)."""
        return Kind.SUBMISSIONS in self.kinds and self.submission_ids is not None

    @property
    def visits(self) -> bool:
        return Kind.VISITS in self.kinds

    @property
    def submissions(self) -> bool:
        return Kind.SUBMISSIONS in self.kinds

    @property
    def outbox(self) -> bool:
        return Kind.OUTBOX in self.kinds

    @property
    def review(self) -> bool:
        return Kind.REVIEW in self.kinds

    @property
    def survey(self) -> bool:
        return Kind.SURVEY in self.kinds

    @property
    def collection(self) -> bool:
        return Kind.COLLECTION in self.kinds

    @property
    def users(self) -> bool:
        return Kind.USERS in self.kinds

    @property
    def catalog(self) -> bool:
        return Kind.CATALOG in self.kinds

    @property
    def settings(self) -> bool:
        return Kind.SETTINGS in self.kinds

    @property
    def hub(self) -> bool:
        return Kind.HUB in self.kinds

    def __repr__(self) -> str:
        kinds = ", ".join(sorted(self.kinds)) or "nothing"
        if self.submissions:
            ids = self.submission_ids
            shown = "?" if ids is None else str(len(ids))
            return f"Changes({kinds}; submissions: {shown})"
        return f"Changes({kinds})"


NOTHING = Changes()
