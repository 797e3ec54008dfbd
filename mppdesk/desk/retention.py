"""Retention: purge personal data of finished submissions after the install's period.

Never before delivery (every outbox entry done) and never before the agency reported the
submission completed or rejected; each purge is audited; SQLite overwrites the freed pages
(``secure_delete``) and the WAL is checkpointed so old pages do not linger there either.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from mppdesk.desk.auth import Actor
from mppdesk.desk.errors import DeskError
from mppdesk.desk.runtime import Runtime
from mppdesk.store import repo, retention

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PurgeReport:
    dry_run: bool
    retention_days: int
    submissions: tuple[str, ...]  # tracking numbers
    applicants_forgotten: int
    attachments_deleted: int

    def as_dict(self) -> dict:
        return {
            "dry_run": self.dry_run,
            "retention_days": self.retention_days,
            "submissions": list(self.submissions),
            "applicants_forgotten": self.applicants_forgotten,
            "attachments_deleted": self.attachments_deleted,
        }


class ClockImplausible(DeskError):
    """The clock is far ahead of everything the store recorded: purge would trust it."""


# How far the clock may be ahead of the store's newest record before purge stops trusting it.
# A desk in use writes something every working day (a login is recorded); a longer gap, such as
# a long holiday, is confirmed with ``--trust-clock`` (or simply after the first login).
PLAUSIBLE_CLOCK_LEAD = timedelta(days=2)


def check_clock(now: datetime, newest: datetime | None) -> None:
    """Refuse when ``now`` is implausibly far after the newest record (see ClockImplausible)."""
    if newest is None or now - newest <= PLAUSIBLE_CLOCK_LEAD:
        return
    days = (now - newest).days
    raise ClockImplausible.of(
        "error.clock_ahead",
        now=f"{now:%Y-%m-%d %H:%M}",
        newest=f"{newest:%Y-%m-%d %H:%M}",
        days=days,
    )


def purge(
    runtime: Runtime, actor: Actor, *, dry_run: bool = False, trust_clock: bool = False
) -> PurgeReport:
    """Purge what is past retention; refuses (ClockImplausible) when the clock looks wrong.

    Retention is measured with the clock, so a clock a year ahead would purge a year early:
    unless ``trust_clock``, the clock must be within PLAUSIBLE_CLOCK_LEAD of the newest record.
    """
    days = runtime.settings.desk.retention_days
    now = runtime.now()
    cutoff = now - timedelta(days=days)
    tracking: list[str] = []
    orphans: set[str] = set()
    forgotten = 0
    unreferenced: list[str] = []
    with runtime.store.write() as session:
        if not trust_clock:
            check_clock(now, retention.newest_record_at(session))
        candidates = retention.purge_candidates(session, cutoff)
        tracking = [s.tracking_number for s in candidates]
        if dry_run:
            session.rollback()
        else:
            for submission in candidates:
                unreferenced += retention.purge_submission(session, submission, now)
                orphans.add(submission.applicant_id)
                repo.append_audit(
                    session,
                    actor=actor.username,
                    action="retention.purged",
                    object_type="submission",
                    object_id=submission.id,
                    details={"retention_days": days},
                )
            for applicant_id in sorted(orphans):
                if retention.purge_orphan_applicant(session, applicant_id, now):
                    forgotten += 1
                    repo.append_audit(
                        session,
                        actor=actor.username,
                        action="retention.applicant_forgotten",
                        object_type="applicant",
                        object_id=applicant_id,
                    )
    deleted = 0
    if not dry_run:
        for digest in sorted(set(unreferenced)):
            path = runtime.blobs.path_for(digest)
            if path.exists():
                path.unlink()
                deleted += 1
        runtime.store.checkpoint()
    log.info(
        "retention: %d submission(s) purged, %d applicant(s) forgotten", len(tracking), forgotten
    )
    return PurgeReport(dry_run, days, tuple(tracking), forgotten, deleted)
