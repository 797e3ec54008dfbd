"""The outbox worker: the same code under the desk UI (a background thread) and headless.

Each pass reads what is due, claims it with a lease, hands each entry to the agency
endpoint's transport and records the outcome. Every decision comes from
``mppdesk.core.sync_policy``, and every transport (``mppdesk.sync.transports``: http, manual,
the folder drop, or one registered by a plug-in) classifies its own results into the policy's
plain outcomes, so this module never sees a status code or a file: it only reads, dispatches
and records. Each agency endpoint has its own queue, thread and circuit breaker, so one
agency down or misconfigured never delays another.

Within an agency's pass up to ``[sync] concurrency_per_agency`` deliveries are in flight at
once (for http each on its own kept-alive connection: the client's pool is sized to it); they
take the claimed entries one by one from a shared queue, and one of them at a time records the
deliveries so far in one transaction while the others keep sending. Retry-After, pauses
and the circuit breaker stay per agency: a pause or an opening breaker stops every request
of that agency's pass, and what was not sent is given back.

``run_once`` is one pass over every agency (it returns when all are done). ``run_forever``
and ``drain`` give each agency a lane of its own (a thread that runs that agency's passes):
the loop that plans hands work to idle lanes and never waits for a busy one, so an agency
answering at one byte a second delays nobody else. ``stop()`` (and a drain's deadline) cuts
the exchanges in flight; the entries they carried go back to pending without an attempt.
"""

from __future__ import annotations

import logging
import os
import queue
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from mppdesk.core import sync_policy as policy
from mppdesk.core.sync_policy import Outcome, OutcomeKind
from mppdesk.settings import AgencyEndpoint, Settings
from mppdesk.store import billing as bills
from mppdesk.store import outbox, repo
from mppdesk.store.blobs import BlobStore
from mppdesk.store.database import Store, StoreError
from mppdesk.sync.transports import (
    ABORTED,
    Attachment,
    AttachmentUnreadable,
    Delivery,
    Transport,
    TransportContext,
    registered_transports,
    transport_factory,
    transport_probes,
    transport_sends,
)

log = logging.getLogger(__name__)

FIRST_STATUS_CHECK_S = 5.0
DELIVERED_BATCH = 64  # deliveries recorded per transaction (a crash re-sends: idempotent)
RECORD_AFTER_S = 0.5  # ... or fewer, once the oldest unrecorded one is this old (the UI moves)
LANE_JOIN_S = 5.0  # an aborted exchange ends within moments; this only bounds a bug
_ABORTED = ABORTED
LOCAL_FAULT_HELP = (
    "this PC cannot read the attachment file it must send; restore the data dir's "
    "attachments (backup) or re-scan the document as a correction, then choose "
    "'kirim ulang' (the agency already holds the submission itself)"
)


@dataclass(frozen=True)
class _Delivered:
    entry_id: str
    submission_id: str
    agency_ref: str | None
    agency_status: str | None
    billing: Any = None  # a validated core.billing.Billing the acceptance carried


def _keep_billing(session: Any, submission_id: str | None, billing: Any, now: datetime) -> None:
    """The bill an acceptance carried; one that contradicts the stored bill is not kept (the
    status pull shows why on the entry)."""
    if submission_id is None:
        return
    problem = bills.record(session, submission_id, billing, now)
    if problem is not None:
        log.warning("billing of %s not kept: %s", submission_id, problem)


def _record_status(
    session: Any, entry_id: str, submission_id: str, outcome: Outcome, now: datetime, every: float
) -> bool:
    """A status answer with the bill it carries: both kept, or, when the bill contradicts the
    stored one (a paid bill reported unpaid, a changed amount), neither, the reason shown on
    the entry. True when something a person sees changed."""
    check_at = now + timedelta(seconds=every)
    bill_changed = False
    if outcome.billing is not None:
        bill_changed = bills.stored(session, submission_id) != outcome.billing
        refused = bills.record(session, submission_id, outcome.billing, now)
        if refused is not None:
            outbox.record_status_problem(
                session,
                entry_id,
                "bad_billing",
                f"status not stored: the agency's billing record is refused: {refused}",
                check_at,
            )
            return True
    assert outcome.agency_status is not None
    changed = outbox.record_status(
        session,
        entry_id,
        outcome.agency_status,
        outcome.message,
        outcome.agency_ref,
        now,
        check_at,
    )
    bills.keep_pulling(session, entry_id, submission_id, now, check_at)  # an unpaid bill
    return changed or bill_changed


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SyncListener(Protocol):
    """Plain callbacks from the worker's threads; the UI turns them into Qt signals."""

    def outbox_changed(self, agency: str, submission_ids: list[str]) -> None: ...

    def agency_health_changed(self, health: AgencyHealth) -> None: ...


@dataclass
class AgencyHealth:
    agency: str
    online: bool | None = None  # None: not tried yet
    last_success_at: datetime | None = None
    last_error: str | None = None
    paused_reason: str | None = None
    breaker: policy.BreakerState = field(default_factory=policy.BreakerState)
    last_contact_at: datetime | None = None  # any answer or failure, health checks included


@dataclass
class PassReport:
    sent: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    paused: int = 0
    flagged: int = 0
    waiting: int = 0  # handed over, the agency's confirmation not there yet (folder drop)
    released: int = 0  # claimed but given back unsent (stopping, deadline, breaker)
    status_updates: int = 0
    per_agency: dict[str, dict[str, int]] = field(default_factory=dict)
    # One agency's deliveries run on several threads and count into the same report.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, agency: str, key: str) -> None:
        with self._lock:
            setattr(self, key, getattr(self, key) + 1)
            bucket = self.per_agency.setdefault(agency, {})
            bucket[key] = bucket.get(key, 0) + 1

    def merge(self, other: PassReport) -> None:
        for key in (
            "sent",
            "delivered",
            "retried",
            "failed",
            "paused",
            "flagged",
            "waiting",
            "released",
            "status_updates",
        ):
            setattr(self, key, getattr(self, key) + getattr(other, key))
        for agency, counts in other.per_agency.items():
            bucket = self.per_agency.setdefault(agency, {})
            for key, value in counts.items():
                bucket[key] = bucket.get(key, 0) + value


class _Progress:
    """What the worker offers a transport during one delivery (``transports.Progress``)."""

    def __init__(self, worker: SyncWorker, agency: str, job: outbox.SendJob, report: PassReport):
        self.worker = worker
        self.agency = agency
        self.job = job
        self.report = report

    def read(self, attachment: Attachment) -> bytes:
        try:
            return self.worker.blobs.get(attachment.sha256)
        except (OSError, ValueError) as exc:
            raise AttachmentUnreadable(attachment.name, exc) from exc

    def posted(self, outcome: Outcome) -> None:
        self.worker._observe(self.agency, outcome)
        self.worker._record_delivered(
            self.agency, [], self.report, posted=(self.job.entry_id, outcome)
        )

    def acked(self, attachment: Attachment) -> None:
        self.worker._observe(self.agency, Outcome(OutcomeKind.DELIVERED, "attachment"))
        with self.worker.store.write() as session:
            outbox.record_attachment_acked(
                session, self.job.entry_id, attachment.name, attachment.sha256
            )


def _delivery(job: outbox.SendJob) -> Delivery:
    return Delivery(
        entry_id=job.entry_id,
        submission_id=job.submission_id,
        agency=job.agency,
        payload=job.payload,
        attachments=tuple(Attachment(*a) for a in job.attachments),
        acked=dict(job.acked),
        posted=job.delivered,
        attempts=job.attempts,
    )


class SyncWorker:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        blobs: BlobStore,
        *,
        owner: str | None = None,
        clock: Callable[[], datetime] = _utcnow,
        rand: Callable[[], float] = random.random,
        listener: SyncListener | None = None,
        batch_per_agency: int = 128,
        concurrency_per_agency: int | None = None,
    ):
        self.store = store
        self.settings = settings
        self.blobs = blobs
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.clock = clock
        self.rand = rand
        self.listener = listener
        self.batch_per_agency = batch_per_agency
        # None: ``[sync] concurrency_per_agency`` of the settings in force.
        self._concurrency = concurrency_per_agency
        self.health: dict[str, AgencyHealth] = {}
        self._transports: dict[str, Transport] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        # Paused agencies whose probe entry is out: its first delivery resumes the rest.
        self._probing: set[str] = set()
        self._audit_head: str | None = None
        self._wake = threading.Event()
        # Set to cut what is in flight (stop, or a drain's deadline): lanes give entries back.
        self._abort = threading.Event()
        self._probe_all = threading.Event()  # the next lane cycle asks every agency's health
        self._finished: queue.SimpleQueue[PassReport | BaseException] = queue.SimpleQueue()

    # --- configuration ------------------------------------------------------------------

    @property
    def concurrency_per_agency(self) -> int:
        """Deliveries in flight to one agency at once (http: each on its own connection)."""
        value = self._concurrency
        if value is None:
            value = self.settings.sync.concurrency_per_agency
        return max(1, int(value))

    def update_settings(self, settings: Settings) -> None:
        with self._lock:
            self.settings = settings
            for transport in self._transports.values():
                transport.close()
            self._transports.clear()

    def _transport(self, endpoint: AgencyEndpoint) -> Transport:
        """The endpoint's transport, built once by the factory registered under its name;
        ValueError (the worker pauses the agency with it) for a name nothing registered or an
        endpoint the transport cannot use."""
        with self._lock:
            transport = self._transports.get(endpoint.code)
            if transport is None:
                factory = transport_factory(endpoint.transport)
                if factory is None:
                    raise ValueError(
                        f"agency {endpoint.code!r} names transport {endpoint.transport!r}, "
                        f"which is not registered (known: {', '.join(registered_transports())})"
                    )
                context = TransportContext(
                    desk_id=self.settings.desk.code,
                    concurrency=self.concurrency_per_agency,
                    sync=self.settings.sync,
                    cancel=self._abort,
                    clock=self.clock,
                )
                transport = factory(endpoint, context)
                self._transports[endpoint.code] = transport
            transport.note_audit_head(self._audit_head)
            return transport

    def _sending(self) -> set[str]:
        """The agencies whose entries the worker delivers (not manual ones)."""
        return {c for c, e in self.settings.agencies.items() if transport_sends(e.transport)}

    def _by_hand(self) -> set[str]:
        return set(self.settings.agencies) - self._sending()

    def _health(self, agency: str) -> AgencyHealth:
        with self._lock:
            return self.health.setdefault(agency, AgencyHealth(agency))

    def _breaker_blocked(self, now: datetime) -> set[str]:
        with self._lock:
            return {
                agency
                for agency, health in self.health.items()
                if not policy.breaker_allows(health.breaker, now)
            }

    def _breaker_reopens_at(self, agency: str) -> datetime | None:
        """When an open breaker lets the next probe through (None when it is closed)."""
        with self._lock:
            health = self.health.get(agency)
            breaker = health.breaker if health is not None else None
        if breaker is None or breaker.mode is policy.BreakerMode.CLOSED:
            return None
        start = (
            breaker.opened_at
            if breaker.mode is policy.BreakerMode.OPEN
            else breaker.probe_started_at
        )
        if start is None:
            return None
        return start + timedelta(seconds=breaker.cool_down_s)

    def close(self) -> None:
        self.stop()
        with self._lock:
            for transport in self._transports.values():
                transport.close()
            self._transports.clear()

    # --- one pass -----------------------------------------------------------------------

    def _bounds(self) -> dict[str, float]:
        """The longest wait the desk ever stores, per kind: a later time is a clock jump."""
        sync = self.settings.sync
        return {"max_wait_s": sync.backoff_cap_s, "lease_s": sync.lease_s}

    def _plan(
        self, now: datetime, busy: Iterable[str] = ()
    ) -> dict[str, tuple[list[str], list[tuple[str, str]]]]:
        """Per agency (except ``busy`` ones): the due entry ids to send and the status polls."""
        skip = set(busy)
        sync = self.settings.sync
        bounds = self._bounds()
        probed: list[str] = []
        with self.store.read() as session:
            head_id, head_hash = repo.audit_head(session)
            probe = outbox.any_paused_due(session, now, max_wait_s=sync.pause_probe_s)
            candidates = outbox.due_candidates(
                session, now, self.batch_per_agency, skip_agencies=skip, **bounds
            )
            polls = outbox.status_poll_candidates(
                session, now, 200, max_wait_s=sync.status_poll_interval_s
            )
            overdue = bills.any_overdue(session, now)
        self._audit_head = f"{head_id}:{head_hash}"
        if overdue:  # bills nobody reported paid by expiry + grace: expired by the desk's clock
            with self.store.write() as session:
                expired = bills.expire_overdue(session, now)
            for agency, submission_id in expired:
                self._notify_outbox(agency, [submission_id])
        if probe:
            with self.store.write() as session:
                probed = outbox.paused_probe_due(session, now, max_wait_s=sync.pause_probe_s)
            with self.store.read() as session:
                candidates = outbox.due_candidates(
                    session, now, self.batch_per_agency, skip_agencies=skip, **bounds
                )
        if probed:
            log.info("probing paused agencies: %s", ", ".join(probed))
            with self._lock:
                self._probing.update(probed)
        # An agency whose breaker is open waits for its cool-down without being claimed.
        chosen = policy.due_entries(
            candidates, now, self._breaker_blocked(now), self.batch_per_agency, **bounds
        )
        # Manual agencies are delivered by hand (the handover list): never planned, or a loop
        # that replans when a lane ends would spin on their pending entries.
        manual = self._by_hand()
        chosen = [entry for entry in chosen if entry.agency not in manual]
        plan: dict[str, tuple[list[str], list[tuple[str, str]]]] = {}
        for entry in chosen:
            plan.setdefault(entry.agency, ([], []))[0].append(entry.id)
        for entry_id, agency, submission_id in polls:
            if agency not in skip and agency not in manual:
                plan.setdefault(agency, ([], []))[1].append((entry_id, submission_id))
        return plan

    def run_once(self) -> PassReport:
        """Send what is due now and pull statuses back, every agency at the same time; returns
        when every agency's pass is over (``run_forever`` and ``drain`` never wait so)."""
        plan = self._plan(self.clock())
        report = PassReport()
        agencies = sorted(plan)
        if not agencies:
            return report
        with ThreadPoolExecutor(max_workers=len(agencies), thread_name_prefix="sync") as pool:
            futures = [pool.submit(self._run_agency, agency, *plan[agency]) for agency in agencies]
            for future in futures:
                report.merge(future.result())
        return report

    def _run_agency(
        self,
        agency: str,
        entry_ids: list[str],
        polls: list[tuple[str, str]],
        probe_health: bool = False,
    ) -> PassReport:
        report = PassReport()
        endpoint = self.settings.agencies.get(agency)
        if endpoint is not None and not transport_sends(endpoint.transport):
            return report  # delivered by hand: the handover list, not this worker
        if endpoint is None:
            if entry_ids:
                self._pause_unconfigured(agency, entry_ids, report)
            self._postpone_polls(polls)
            return report
        try:
            transport = self._transport(endpoint)
        except ValueError as exc:  # e.g. a base URL the client cannot use, an unknown transport
            if entry_ids:
                self._pause_unconfigured(agency, entry_ids, report, reason=str(exc))
            self._postpone_polls(polls)
            return report
        try:
            if entry_ids:
                self._send_all(agency, transport, entry_ids, report)
            if polls and not self._abort.is_set():
                self._poll_statuses(agency, transport, polls, report)
            if probe_health and not entry_ids and not polls and not self._abort.is_set():
                self._probe(endpoint)
        except StoreError:
            log.exception("store error while syncing %s", agency)
            raise
        return report

    def _postpone_polls(self, polls: list[tuple[str, str]]) -> None:
        """Status pulls that cannot go out (no usable endpoint): asked again later."""
        if polls:
            later = self.clock() + timedelta(seconds=self.settings.sync.status_poll_interval_s)
            with self.store.write() as session:
                outbox.postpone_status_checks(session, [e for e, _s in polls], later)

    def _pause_unconfigured(
        self, agency: str, entry_ids: list[str], report: PassReport, reason: str | None = None
    ) -> None:
        now = self.clock()
        message = reason or (
            f"agency {agency!r} has no endpoint in settings.toml ([agencies.{agency}])"
        )
        with self.store.write() as session:
            count = outbox.pause_agency(
                session,
                agency,
                None,
                None,
                "config",
                message,
                now + timedelta(seconds=self.settings.sync.pause_probe_s),
            )
        health = self._health(agency)
        health.paused_reason = message
        health.online = None
        for _ in range(count):
            report.count(agency, "paused")
        self._notify_health(health)
        self._notify_outbox(agency, [])

    def _send_all(
        self, agency: str, transport: Transport, entry_ids: list[str], report: PassReport
    ) -> None:
        """Claim the agency's due entries in one transaction, then deliver them concurrently."""
        now = self.clock()
        lease_s = self.settings.sync.lease_s
        health = self._health(agency)
        if not policy.breaker_allows(health.breaker, now):
            return
        with self.store.write() as session:
            claimed = outbox.claim_many(
                session,
                entry_ids,
                self.owner,
                now,
                lease_s,
                max_wait_s=self.settings.sync.backoff_cap_s,
            )
        if not claimed:
            return
        if health.breaker.mode is not policy.BreakerMode.CLOSED:
            # The breaker allows one probe: deliver one, release the rest for the next pass.
            probe, rest = claimed[:1], claimed[1:]
            self._release(rest, self._breaker_reopens_at(agency), report, agency)
            claimed = probe
            health.breaker = policy.breaker_on_send(health.breaker, now)
        with self.store.read() as session:
            jobs = outbox.send_jobs(session, claimed)
        workers = max(1, min(self.concurrency_per_agency, len(claimed)))
        stop_agency = threading.Event()
        todo = deque(claimed)  # taken one by one: a slow answer holds up no other request
        delivered: list[_Delivered] = []  # not yet recorded, from every request of the pass
        ready = threading.Condition()  # guards todo, delivered, oldest and ended
        oldest = 0.0  # time.monotonic() of the first delivery not yet recorded
        ended = 0  # requests threads that have finished

        def rest() -> list[str]:
            with ready:
                left = list(todo)
                todo.clear()
            return left

        def deliver_queue() -> None:
            nonlocal ended, oldest
            mine: list[_Delivered] = []
            try:
                while True:
                    if stop_agency.is_set() or self._abort.is_set():
                        # Shown to the officer as the next retry: the breaker's reopening,
                        # or now.
                        self._release(rest(), self._breaker_reopens_at(agency), report, agency)
                        return
                    with ready:
                        entry_id = todo.popleft() if todo else None
                    if entry_id is None:
                        return
                    outcome = self._deliver(agency, transport, jobs[entry_id], report, mine)
                    if mine:
                        with ready:
                            if not delivered:
                                oldest = time.monotonic()
                                ready.notify()  # starts the recorder's clock
                            delivered.extend(mine)
                            if len(delivered) >= DELIVERED_BATCH:
                                ready.notify()
                        mine.clear()
                    if outcome is _ABORTED:
                        stop_agency.set()
                    elif (
                        outcome.kind is OutcomeKind.PAUSED
                        or health.breaker.mode is not policy.BreakerMode.CLOSED
                    ):
                        # Paused, or the breaker opened: the rest of this agency's batch waits.
                        stop_agency.set()
            finally:
                with ready:
                    ended += 1
                    ready.notify()

        # The requests run on threads of their own; this one records their deliveries in
        # batches (one fsync for many), so no request waits for the store between answers.
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"sync-{agency}") as pool:
            futures = [pool.submit(deliver_queue) for _ in range(workers)]
            try:
                while True:
                    with ready:
                        while len(delivered) < DELIVERED_BATCH and ended < workers:
                            if not delivered:
                                ready.wait()
                                continue
                            left = oldest + RECORD_AFTER_S - time.monotonic()
                            if left <= 0:
                                break
                            ready.wait(left)
                        batch = delivered[:]
                        delivered.clear()
                        last = ended == workers
                    self._record_delivered(agency, batch, report)
                    if last:
                        break
            except BaseException:
                stop_agency.set()  # the store failed: send no more; what is sent is re-sent
                raise
        for future in futures:
            future.result()  # a request thread's own error (the store failing under it)
        if health.paused_reason:
            # Entries given back after the pause must not slip out before the probe.
            with self.store.write() as session:
                outbox.pause_agency(
                    session,
                    agency,
                    None,
                    None,
                    "paused",
                    health.paused_reason,
                    self.clock() + timedelta(seconds=self.settings.sync.pause_probe_s),
                )

    def _release(
        self,
        entry_ids: Iterable[str],
        at: datetime | None = None,
        report: PassReport | None = None,
        agency: str = "",
    ) -> None:
        """Give back leases we will not use this pass, without counting an attempt."""
        now = self.clock()
        ids = list(entry_ids)
        if not ids:
            return
        with self.store.write() as session:
            for entry_id in ids:
                outbox.release(session, entry_id, self.owner, now, next_attempt_at=at)
        if report is not None:
            for _ in ids:
                report.count(agency, "released")

    def _deliver(
        self,
        agency: str,
        transport: Transport,
        job: outbox.SendJob,
        report: PassReport,
        done: list[_Delivered],
    ) -> Outcome:
        """Deliver one entry through the agency's transport. A delivery is added to ``done``,
        which the caller records in one transaction with its neighbours (one fsync for many).

        Only an outcome that proves the delivery moves it on; one cut short (``stop()``, a
        drain's deadline) gives the entry back untouched; a setback is recorded here."""
        report.count(agency, "sent")
        try:
            outcome = transport.deliver(_delivery(job), _Progress(self, agency, job, report))
        except AttachmentUnreadable as exc:
            # The desk's own fault: the agency refused nothing (and may hold the submission).
            self._record_local_fault(agency, job, exc.name, exc.cause, report)
            return Outcome(OutcomeKind.CONFLICT, "local_fault", str(exc))
        if outcome.reason == ABORTED.reason and outcome.kind is OutcomeKind.RETRY:
            self._release([job.entry_id], None, report, agency)
            return _ABORTED
        self._observe(agency, outcome)
        if outcome.kind is not OutcomeKind.DELIVERED:
            self._record_setback(agency, job, outcome, report)
            return outcome
        done.append(
            _Delivered(
                job.entry_id,
                job.submission_id,
                outcome.agency_ref,
                outcome.agency_status,
                outcome.billing,
            )
        )
        return outcome

    def _record_local_fault(
        self,
        agency: str,
        job: outbox.SendJob,
        name: str,
        exc: BaseException,
        report: PassReport,
    ) -> None:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        message = f"attachment {name!r} unreadable on this PC ({reason}): {LOCAL_FAULT_HELP}"
        log.warning("local fault on %s: attachment %r unreadable (%s)", job.entry_id, name, reason)
        with self.store.write() as session:
            outbox.flag(session, job.entry_id, "local_fault", message, owner=self.owner)
        report.count(agency, "flagged")
        self._notify_outbox(agency, [job.submission_id])

    def _record_delivered(
        self,
        agency: str,
        done: list[_Delivered],
        report: PassReport,
        posted: tuple[str, Outcome] | None = None,
    ) -> None:
        """Record deliveries (and a POST whose attachments follow) in one transaction."""
        if not done and posted is None:
            return
        now = self.clock()
        first_check = now + timedelta(
            seconds=min(FIRST_STATUS_CHECK_S, self.settings.sync.status_poll_interval_s)
        )
        with self._lock:
            resume = agency in self._probing
            self._probing.discard(agency)
        with self.store.write() as session:
            if posted is not None:
                entry_id, outcome = posted
                outbox.record_posted(
                    session,
                    entry_id,
                    now,
                    outcome.agency_ref,
                    outcome.agency_status,
                    status_check_at=first_check,
                )
                if outcome.billing is not None:
                    _keep_billing(
                        session, bills.submission_of_entry(session, entry_id), outcome.billing, now
                    )
            outbox.record_delivered_many(
                session,
                [(d.entry_id, d.submission_id, d.agency_ref, d.agency_status) for d in done],
                now,
                first_check,
            )
            for item in done:
                if item.billing is not None:
                    _keep_billing(session, item.submission_id, item.billing, now)
            if resume:
                # The probe went through: the agency's credentials work again.
                resumed = outbox.resume_agency(session, agency, now)
                log.info("%s answers again: %d paused entries resumed", agency, resumed)
        for _ in done:
            report.count(agency, "delivered")
        if done:
            self._notify_outbox(agency, [item.submission_id for item in done])
        done.clear()

    def _record_setback(
        self, agency: str, job: outbox.SendJob, outcome: Outcome, report: PassReport
    ) -> None:
        now = self.clock()
        message = outcome.message or outcome.reason
        if outcome.fields:
            message += (
                " (" + "; ".join(f"{k}: {v}" for k, v in sorted(outcome.fields.items())) + ")"
            )
        with self.store.write() as session:
            if outcome.kind is OutcomeKind.RETRY:
                at = policy.next_attempt_at(
                    now,
                    outcome,
                    job.attempts + 1,
                    self.settings.sync.backoff_base_s,
                    self.settings.sync.backoff_cap_s,
                    self.rand(),
                )
                sync = self.settings.sync
                outbox.record_retry(
                    session,
                    job.entry_id,
                    self.owner,
                    at or now,
                    outcome.reason,
                    message,
                    count_attempt=outcome.burns_attempt,
                    protocol=outcome.protocol,
                    flag_after=sync.protocol_error_flag_after,
                )
                flagged = outcome.protocol and job.protocol_errors + 1 >= (
                    sync.protocol_error_flag_after
                )
                waiting = "waiting" if outcome.waiting else "retried"
                report.count(agency, "flagged" if flagged else waiting)
            elif outcome.kind is OutcomeKind.FLAGGED:
                outbox.flag(session, job.entry_id, outcome.reason, message, owner=self.owner)
                report.count(agency, "flagged")
            elif outcome.kind is OutcomeKind.PAUSED:
                outbox.pause_agency(
                    session,
                    agency,
                    self.owner,
                    job.entry_id,
                    outcome.reason,
                    message,
                    now + timedelta(seconds=self.settings.sync.pause_probe_s),
                )
                report.count(agency, "paused")
            else:
                outbox.record_failed(
                    session,
                    job.entry_id,
                    self.owner,
                    outcome.reason,
                    message,
                    conflict=outcome.kind is OutcomeKind.CONFLICT,
                )
                report.count(agency, "failed")
        health = self._health(agency)
        if outcome.kind is OutcomeKind.PAUSED:
            health.paused_reason = message
            self._notify_health(health)
        self._notify_outbox(agency, [job.submission_id])

    def _observe(self, agency: str, outcome: Outcome) -> None:
        now = self.clock()
        health = self._health(agency)
        with self._lock:
            before = (health.online, health.paused_reason)
            previous_success = health.last_success_at
            health.last_contact_at = now
            health.breaker = policy.breaker_after(health.breaker, outcome, now)
            if outcome.agency_unhealthy:
                health.online = False
                health.last_error = outcome.message or outcome.reason
            else:
                # The agency answered; only a delivery or a status answer counts as a sync.
                health.online = True
                if outcome.kind is OutcomeKind.DELIVERED:
                    health.last_success_at = now
                    health.last_error = None
                if outcome.kind is not OutcomeKind.PAUSED:
                    health.paused_reason = None
            changed = before != (health.online, health.paused_reason)
            # "Last sync" moves on screen too, at most about once a second per agency.
            if health.last_success_at is not None and (
                previous_success is None
                or (health.last_success_at - previous_success).total_seconds() >= 1.0
            ):
                changed = True
        if changed:
            self._notify_health(health)

    def _poll_statuses(
        self, agency: str, transport: Transport, polls: list[tuple[str, str]], report: PassReport
    ) -> None:
        """Pull the agency's status of accepted submissions; only an answer in the agency's
        own terms is stored, and "lost at the agency" flags the entry ("hilang di instansi")."""
        interval = self.settings.sync.status_poll_interval_s
        changed_ids = []
        unanswered: list[str] = []  # asked again later, not at once (no loop may spin on them)
        for index, (entry_id, submission_id) in enumerate(polls):
            if self._abort.is_set():
                break
            outcome = transport.poll_status(submission_id)
            now = self.clock()
            if outcome.reason == ABORTED.reason and outcome.kind is OutcomeKind.RETRY:
                break  # we are stopping
            if outcome.unreachable:
                self._observe(agency, outcome)
                unanswered += [e for e, _s in polls[index:]]
                break  # the agency is unreachable: no more this pass
            if outcome.kind is OutcomeKind.DELIVERED and outcome.agency_status is not None:
                with self.store.write() as session:
                    changed = _record_status(session, entry_id, submission_id, outcome, now, interval)
                self._observe(agency, Outcome(OutcomeKind.DELIVERED, "status"))
                if changed:
                    changed_ids.append(submission_id)
                    report.count(agency, "status_updates")
            elif outcome.reason == "lost_at_agency" or outcome.kind is OutcomeKind.FLAGGED:
                log.warning("%s: submission %s lost at the agency", agency, submission_id)
                with self.store.write() as session:
                    outbox.flag(session, entry_id, outcome.reason, outcome.message)
                report.count(agency, "flagged")
                changed_ids.append(submission_id)
            elif outcome.protocol:
                with self.store.write() as session:
                    outbox.record_status_problem(
                        session,
                        entry_id,
                        outcome.reason,
                        "status not stored: " + outcome.message,
                        now + timedelta(seconds=interval),
                    )
                self._observe(agency, outcome)
                changed_ids.append(submission_id)
            else:  # 401, 5xx, a folder gone ...: nothing stored, asked again later
                unanswered.append(entry_id)
        if unanswered:
            later = self.clock() + timedelta(
                seconds=min(interval, max(1.0, self.settings.sync.backoff_cap_s))
            )
            with self.store.write() as session:
                outbox.postpone_status_checks(session, unanswered, later)
        if changed_ids:
            self._notify_outbox(agency, changed_ids)

    # --- health of idle agencies ------------------------------------------------------

    def _probe(self, endpoint: AgencyEndpoint) -> None:
        try:
            transport = self._transport(endpoint)
        except ValueError:
            # Reported when something is sent (the agency is paused then); not asked again
            # before the poll interval.
            self._health(endpoint.code).last_contact_at = self.clock()
            return
        online = transport.health()
        health = self._health(endpoint.code)
        if online is None:  # nothing to ask (a transport without a health question)
            health.last_contact_at = self.clock()
            return
        with self._lock:
            changed = health.online != online
            health.online = online
            health.last_contact_at = self.clock()
            if not online and not health.last_error:
                health.last_error = "health check failed"
        if changed:
            self._notify_health(health)

    # --- loops --------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop the loops and cut what is in flight; safe from a signal handler's thread.

        Takes no lock the caller might hold: the transports are only told to abort."""
        self._stop.set()
        self._abort.set()
        self._wake.set()
        self._abort_clients()

    def _abort_clients(self) -> None:
        for _ in range(3):  # the dict may change under us (another thread adds a transport)
            try:
                transports = tuple(self._transports.values())
                break
            except RuntimeError:
                continue
        else:
            return
        for transport in transports:
            transport.abort()

    def wake(self) -> None:
        """Run a pass now instead of waiting ("sync now", a retry-now, a finalized visit)."""
        self._wake.set()

    def request_health_probe(self) -> None:
        """Ask every agency's ``/health`` in the next cycle of ``run_forever`` (each on its own
        lane, so a slow one delays nobody)."""
        self._probe_all.set()
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def seconds_until_next_due(self, cap: float, skip: Iterable[str] = ()) -> float:
        """How long the loop may wait before something is due (bounded by ``cap``).

        An agency behind an open breaker counts from the breaker's reopening, so the loop
        does not spin on entries it is not going to send; ``skip`` agencies (busy lanes)
        are left out: their lane wakes the loop when it is done.
        """
        now = self.clock()
        skipped = set(skip)
        with self.store.read() as session:
            due_at = outbox.next_due_by_agency(session, now, **self._bounds())
            checks = outbox.next_status_check_by_agency(
                session, now, max_wait_s=self.settings.sync.status_poll_interval_s
            )
        skipped |= self._by_hand()
        waits = [cap]
        for agency, at in due_at.items():
            if agency in skipped:
                continue
            reopens = self._breaker_reopens_at(agency)
            if reopens is not None:
                at = max(at, reopens)
            waits.append(max(0.0, (at - now).total_seconds()))
        for agency, at in checks.items():  # a status pull is due then, whatever the breaker
            if agency not in skipped:
                waits.append(max(0.0, (at - now).total_seconds()))
        return min(waits)

    def run_forever(self, on_pass: Callable[[PassReport], None] | None = None) -> None:
        """Lanes until stop(); the planning loop waits until something is due.

        ``on_pass`` is called on this thread after the first cycle (an empty report: the
        worker is up) and then with each agency pass that finished. A desk joined to the
        mall hub also replicates on its own lane meanwhile (``mppdesk.sync.hub_sync``).
        """
        from mppdesk.sync.hub_sync import start_lane

        hub_lane = start_lane(self.store, self.settings, self.clock)
        try:
            self._run_lanes(on_pass, drain_until=None, health=True)
        finally:
            if hub_lane is not None:
                hub_lane.stop()

    def drain(
        self, timeout_s: float, on_pass: Callable[[PassReport], None] | None = None
    ) -> tuple[bool, PassReport]:
        """Until nothing is pending or in flight; (True, report), or (False, …) on timeout or
        stop. At the deadline what is in flight is cut and goes back to pending.

        Held, failed, flagged and manual entries are not waited for; paused ones only when
        their agency is configured and its next probe falls before the deadline (a short
        credential outage), since a probe may resume them.
        """
        total = PassReport()

        def collect(report: PassReport) -> None:
            total.merge(report)
            if on_pass is not None:
                on_pass(report)

        finished = self._run_lanes(
            collect, drain_until=time.monotonic() + max(0.0, timeout_s), health=False
        )
        return finished, total

    def _drained(self, remaining_s: float) -> bool:
        agencies = self.settings.agencies
        manual = sorted(self._by_hand())
        # Paused entries of these may resume at their probe (a known transport that sends).
        probing = [
            code
            for code, e in agencies.items()
            if transport_sends(e.transport) and transport_factory(e.transport) is not None
        ]
        until = self.clock() + timedelta(seconds=max(0.0, remaining_s))
        with self.store.read() as session:
            return outbox.count_to_drain(session, manual, probing, until) == 0

    def _run_lanes(
        self,
        on_pass: Callable[[PassReport], None] | None,
        *,
        drain_until: float | None,
        health: bool,
    ) -> bool:
        """The planning loop over per-agency lanes (see the module docstring); True when a
        drain finished, False on its deadline or on stop()."""
        lanes: dict[str, _Lane] = {}
        first = True
        try:
            while not self._stop.is_set():
                self._wake.clear()
                self._collect(on_pass, force=first)
                first = False
                busy = {agency for agency, lane in lanes.items() if lane.busy}
                try:
                    plan = self._plan(self.clock(), busy)
                except StoreError as exc:
                    if drain_until is not None:
                        raise
                    log.error("sync pass failed: %s", exc)
                    self._wake.wait(self.settings.sync.poll_interval_s)
                    continue
                probe = self._agencies_to_probe(busy, plan) if health else set()
                for agency in sorted(set(plan) | probe):
                    entry_ids, polls = plan.get(agency, ([], []))
                    lane = lanes.get(agency)
                    if lane is None:
                        lane = lanes[agency] = _Lane(self, agency)
                    lane.give(entry_ids, polls, agency in probe)
                busy = {agency for agency, lane in lanes.items() if lane.busy}
                cap = self.settings.sync.poll_interval_s
                if drain_until is not None:
                    remaining = drain_until - time.monotonic()
                    if not busy and self._drained(remaining):
                        return True
                    if remaining <= 0:
                        return False
                    cap = min(cap, remaining)
                wait = self.seconds_until_next_due(cap, busy)
                self._wake.wait(max(0.01, wait))
            return False
        finally:
            # Cut what is in flight; every lane gives its entries back and ends.
            self._abort.set()
            self._abort_clients()
            for lane in lanes.values():
                lane.close()
            for lane in lanes.values():
                lane.join(LANE_JOIN_S)
            if not self._stop.is_set():
                self._abort.clear()  # a drain's deadline: the worker may be used again
            self._collect(on_pass, force=False, raise_errors=False)

    def _agencies_to_probe(self, busy: set[str], plan: dict) -> set[str]:
        """Idle agencies (whose transport has a health question) not heard from for the
        poll interval (all when asked)."""
        forced = self._probe_all.is_set()
        self._probe_all.clear()
        now = self.clock()
        age = self.settings.sync.poll_interval_s
        chosen = set()
        for code, endpoint in self.settings.agencies.items():
            if not transport_probes(endpoint.transport) or code in busy or code in plan:
                continue
            contact = self._health(code).last_contact_at
            if forced or contact is None or (now - contact).total_seconds() >= age:
                chosen.add(code)
        return chosen

    def _collect(
        self,
        on_pass: Callable[[PassReport], None] | None,
        *,
        force: bool,
        raise_errors: bool = True,
    ) -> None:
        """Hand the lanes' finished passes to ``on_pass`` on this thread."""
        merged: PassReport | None = PassReport() if force else None
        error: BaseException | None = None
        while True:
            try:
                item = self._finished.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, BaseException):
                error = error or item
                continue
            merged = merged or PassReport()
            merged.merge(item)
        # A pass that did nothing (an idle health check) is not reported, except the first.
        if merged is not None and on_pass is not None and (force or merged.per_agency):
            on_pass(merged)
        if error is not None and raise_errors:
            if isinstance(error, StoreError):
                log.error("sync pass failed: %s", error)
            else:
                raise error

    # --- notifications ------------------------------------------------------------------

    def _notify_outbox(self, agency: str, submission_ids: list[str]) -> None:
        if self.listener is not None:
            try:
                self.listener.outbox_changed(agency, submission_ids)
            except Exception:  # noqa: BLE001 - a listener bug must not stop delivery
                log.exception("sync listener failed")

    def _notify_health(self, health: AgencyHealth) -> None:
        if self.listener is not None:
            with self._lock:
                snapshot = replace(health)  # the listener may keep it; the worker goes on
            try:
                self.listener.agency_health_changed(snapshot)
            except Exception:  # noqa: BLE001
                log.exception("sync listener failed")


class _Lane:
    """One agency's thread under ``run_forever``/``drain``: it runs that agency's passes as
    the planning loop hands them over, and wakes the loop when one is done."""

    def __init__(self, worker: SyncWorker, agency: str) -> None:
        self.worker = worker
        self.agency = agency
        self.busy = False
        self._work: tuple[list[str], list[tuple[str, str]], bool] | None = None
        self._ready = threading.Event()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name=f"sync-{agency}", daemon=True)
        self._thread.start()

    def give(self, entry_ids: list[str], polls: list[tuple[str, str]], probe: bool) -> bool:
        if self.busy or self._closing:
            return False
        self.busy = True
        self._work = (entry_ids, polls, probe)
        self._ready.set()
        return True

    def close(self) -> None:
        self._closing = True
        self._ready.set()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.error("sync lane %s did not end within %.0f s", self.agency, timeout)

    def _run(self) -> None:
        worker = self.worker
        while True:
            self._ready.wait()
            self._ready.clear()
            work, self._work = self._work, None
            if work is None:
                if self._closing:
                    return
                continue
            try:
                worker._finished.put(worker._run_agency(self.agency, *work))
            except BaseException as exc:  # noqa: BLE001 - handed to the planning loop
                worker._finished.put(exc)
            finally:
                self.busy = False
                worker._wake.set()
