"""Retention: purge personal data of finished submissions after the install's period.

Never before delivery (every outbox entry done) and never before the agency reported the
submission completed or rejected (or, for one superseded before it was sent, before its
supersession; an unsent cancellation of such a one counts from when it was recorded); each
purge is audited; SQLite overwrites the freed pages (``secure_delete``)
and the WAL is checkpointed so old pages do not linger there either.

The same run deletes the receipts, slips and checklists kept as PDF in
``<data dir>/printouts/`` (no printer on the PC, see ``mppdesk.ui.done``) once they are older
than the period: they carry the applicant's name and identity number like the store does.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

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
    printouts_deleted: int = 0  # PDFs of <data dir>/printouts past retention (would be, dry)
    printouts_failed: int = 0  # could not be deleted (said in the log, left for next run)

    def as_dict(self) -> dict:
        return {
            "dry_run": self.dry_run,
            "retention_days": self.retention_days,
            "submissions": list(self.submissions),
            "applicants_forgotten": self.applicants_forgotten,
            "attachments_deleted": self.attachments_deleted,
            "printouts_deleted": self.printouts_deleted,
            "printouts_failed": self.printouts_failed,
        }


class ClockImplausible(DeskError):
    """The clock is far ahead of everything the store recorded: purge would trust it."""


# How far the clock may be ahead of the store's newest record before purge stops trusting it.
# A desk in use writes something every working day (a login is recorded); a longer gap, such as
# a long holiday, is confirmed with ``--trust-clock`` (or simply after the first login).
PLAUSIBLE_CLOCK_LEAD = timedelta(days=2)

PRINTOUTS_DIR = "printouts"  # in the data dir (the same name as mppdesk.ui.done's)
MAX_PRINTOUTS = 100_000  # files looked at per run: a bound on a folder filled by mistake


def stale_printouts(data_dir: Path, cutoff: datetime) -> list[Path]:
    """The PDFs in ``<data dir>/printouts/`` last written before ``cutoff``.

    Only regular ``.pdf`` files directly in the folder are considered (never a symbolic link,
    nor what one points to, nor a sub-folder), and the folder itself must not be a link: the
    purge deletes what the desk wrote and nothing else. A file dated after ``cutoff`` (also one
    dated in the future by a wrong clock) is kept."""
    folder = data_dir / PRINTOUTS_DIR
    try:
        if not stat.S_ISDIR(os.lstat(folder).st_mode):
            return []
        entries = os.scandir(folder)
    except FileNotFoundError:
        return []
    except OSError as exc:
        log.warning("retention: the printouts folder cannot be read: %s", exc.strerror)
        return []
    limit = cutoff.timestamp()
    stale: list[Path] = []
    with entries:
        for count, entry in enumerate(entries):
            if count >= MAX_PRINTOUTS:
                log.warning("retention: more than %d files in printouts; the rest next run",
                            MAX_PRINTOUTS)
                break
            if not entry.name.lower().endswith(".pdf"):
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode) and info.st_mtime < limit:
                stale.append(Path(entry.path))
    return sorted(stale)


def _delete_printouts(paths: list[Path]) -> tuple[int, int]:
    deleted = failed = 0
    for path in paths:
        try:
            path.unlink()
            deleted += 1
        except FileNotFoundError:
            pass  # gone meanwhile: nothing of it is left
        except OSError as exc:
            failed += 1
            log.warning("retention: a printout could not be deleted: %s", exc.strerror)
    return deleted, failed


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
    printouts = stale_printouts(runtime.data_dir, cutoff.astimezone(UTC))
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
    printouts_deleted, printouts_failed = len(printouts), 0
    if not dry_run:
        for digest in sorted(set(unreferenced)):
            path = runtime.blobs.path_for(digest)
            if path.exists():
                path.unlink()
                deleted += 1
        runtime.store.checkpoint()
        printouts_deleted, printouts_failed = _delete_printouts(printouts)
        if printouts_deleted or printouts_failed:
            with runtime.store.write() as session:
                repo.append_audit(
                    session,
                    actor=actor.username,
                    action="retention.printouts_deleted",
                    object_type="printouts",
                    object_id=PRINTOUTS_DIR,
                    details={
                        "retention_days": days,
                        "deleted": printouts_deleted,
                        "failed": printouts_failed,
                    },
                )
    log.info(
        "retention: %d submission(s) purged, %d applicant(s) forgotten, %d printout(s) deleted",
        len(tracking),
        forgotten,
        printouts_deleted,
    )
    return PurgeReport(
        dry_run, days, tuple(tracking), forgotten, deleted, printouts_deleted, printouts_failed
    )
