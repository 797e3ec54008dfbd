"""A desk process of the mall: finalizes visits in a loop while its hub lane pushes them.

``run DATA_DIR VISIT_FILE USER PASSWORD INDEX TARGET SKEW_S [--exit]``: opens the desk as the
app does (its own data dir; its key file from ``MPPDESK_KEY_FILE``), with its clock ``SKEW_S``
seconds off the true time (the desk's injectable clock: this process's environment, not a mock),
starts the hub lane the sync worker runs (``mppdesk.sync.hub_sync.HubLane``), and finalizes
visits with the desk's own ``finalize_visit`` until the store holds ``TARGET`` finalized visits.
Each visit has its own applicant (NIK, name and phone number derived from INDEX and the count).

It prints, flushed, so the parent knows what happened before a kill -9:
- ``ready`` once logged in; ``stored VISIT_ID N`` after each commit;
- ``push FIRST LAST`` just before each push leaves (the kill lands during pushes) and
  ``acked N`` when the hub answered;
- ``finalized`` at TARGET, and ``drained`` once the hub acknowledged the whole journal
  (then it exits), or with ``--exit`` right after ``finalized`` (the hub is down).

``report DATA_DIR`` prints the desk's own counts as JSON (read only).
"""

from __future__ import annotations

import json
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

FIRST = ("DEWI", "SITI", "RINA", "AYU", "PUTRI", "BUDI", "AGUS", "EKO", "HADI", "JOKO", "WAYAN",
         "MADE", "NYOMAN", "YOHANA", "MARIA", "FITRI")
LAST = ("LESTARI", "RAHAYU", "SUSANTI", "HARTONO", "WIBOWO", "PRATAMA", "KUSUMA", "SETIAWAN",
        "NUGROHO", "SIREGAR", "SIMANJUNTAK", "PANJAITAN", "WIJAYA", "HALIM", "SANTOSO", "UTAMI")


PACE_S = 0.03


def applicant_for(index: int, number: int) -> dict[str, str]:
    """The personal data of visit ``number`` at desk ``index`` (valid for the KTP-el example:
    the NIK keeps its district and birth date and changes its serial)."""
    serial = index * 1000 + number
    return {
        "nik": f"357803680195{serial:04d}",
        "nama": f"{FIRST[serial % len(FIRST)]} {LAST[(serial // len(FIRST)) % len(LAST)]}",
        "no_hp": f"+628133123{serial:04d}",
    }


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def run(argv: list[str]) -> None:
    data_dir, visit_file, user, password = argv[0:4]
    index, target, skew_s = int(argv[4]), int(argv[5]), float(argv[6])
    exit_when_finalized = "--exit" in argv[7:]

    from sqlalchemy import func, select

    from mppdesk.desk.auth import login
    from mppdesk.desk.intake import finalize_visit, parse_visit
    from mppdesk.desk.runtime import open_runtime
    from mppdesk.store import hub as journal
    from mppdesk.store.models import Visit
    from mppdesk.sync.hub_sync import HubLane, client_for

    skew = timedelta(seconds=skew_s)

    def clock() -> datetime:
        return datetime.now(UTC) + skew

    runtime = open_runtime(Path(data_dir), clock=clock, create=False)
    actor = login(runtime, user, password)
    client = client_for(runtime.settings, runtime.store)
    if client is None:
        raise SystemExit("this desk has not joined a hub")
    real_push = client.push

    def push(records):  # type: ignore[no-untyped-def]
        _say(f"push {records[0]['seq']} {records[-1]['seq']}")
        result = real_push(records)
        if result.ok:
            _say(f"acked {result.body['acked']}")
        return result

    client.push = push  # type: ignore[method-assign]
    lane = HubLane(runtime.store, runtime.settings, client, clock=clock)
    document = json.loads(Path(visit_file).read_text(encoding="utf-8"))
    folder = Path(visit_file).parent
    with runtime.store.read() as session:
        done = int(session.scalar(
            select(func.count()).select_from(Visit).where(Visit.status == "finalized")) or 0)
    _say("ready")
    lane.start()
    pace = threading.Event()  # never set: its wait() is the officer's pause between visits
    while done < target:
        visit = json.loads(json.dumps(document))
        visit["applicant"].update(applicant_for(index, done + 1))
        result = finalize_visit(runtime, actor, parse_visit(visit, folder))
        done += 1
        _say(f"stored {result.visit_id} {len(result.submissions)}")
        lane.wake()
        # An officer never finalizes back to back: the pause lets the lane take the store's
        # write gate to record what the hub acknowledged.
        pace.wait(PACE_S)
    _say("finalized")
    if not exit_when_finalized:
        idle = threading.Event()  # never set: its wait() paces the look at the journal
        while True:
            with runtime.store.read() as session:
                if journal.pending_count(session) == 0:
                    break
            idle.wait(0.05)
        _say("drained")
    lane.stop()
    runtime.close()


def report(argv: list[str]) -> None:
    from sqlalchemy import func, select

    from mppdesk.desk.runtime import open_runtime
    from mppdesk.store import hub as journal
    from mppdesk.store.models import Applicant, AuditEvent, Submission, Visit

    runtime = open_runtime(Path(argv[0]), create=False)
    try:
        with runtime.store.read() as session:
            def count(stmt):  # type: ignore[no-untyped-def]
                return int(session.scalar(stmt) or 0)

            last = session.execute(
                select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
            ).first()
            answer = {
                "visits": count(select(func.count()).select_from(Visit)
                                .where(Visit.status == "finalized")),
                "submissions": count(select(func.count()).select_from(Submission)),
                "applicants": count(select(func.count()).select_from(Applicant)),
                "audit_head": last.hash if last else None,
                "pending": journal.pending_count(session),
                "acked": int(journal.get_state(session, journal.ACKED) or 0),
            }
    finally:
        runtime.close()
    print(json.dumps(answer))


if __name__ == "__main__":
    {"run": run, "report": report}[sys.argv[1]](sys.argv[2:])
