"""The outbox worker: the same code under the desk UI (a background thread) and headless.

Each pass reads what is due, claims it with a lease, calls the agency and records what the
answer means. Every decision comes from ``mppdesk.core.sync_policy``; this module only reads,
calls and records. Each agency endpoint has its own queue, thread and circuit breaker, so one
agency down or misconfigured never delays another.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from mppdesk.core import sync_policy as policy
from mppdesk.core.states import AgencyStatus
from mppdesk.core.sync_policy import Outcome, OutcomeKind
from mppdesk.settings import AgencyEndpoint, Settings
from mppdesk.store import outbox, repo
from mppdesk.store.blobs import BlobStore
from mppdesk.store.database import Store, StoreError
from mppdesk.sync.client import AgencyClient, Answer

log = logging.getLogger(__name__)

FIRST_STATUS_CHECK_S = 5.0
_KNOWN_STATUSES = frozenset(s.value for s in AgencyStatus)
DELIVERED_BATCH = 16  # deliveries recorded per transaction (a crash re-sends: idempotent)


@dataclass(frozen=True)
class _Delivered:
    entry_id: str
    submission_id: str
    agency_ref: str | None
    agency_status: str | None


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
        for key in ("sent", "delivered", "retried", "failed", "paused", "status_updates"):
            setattr(self, key, getattr(self, key) + getattr(other, key))
        for agency, counts in other.per_agency.items():
            bucket = self.per_agency.setdefault(agency, {})
            for key, value in counts.items():
                bucket[key] = bucket.get(key, 0) + value


ClientFactory = Callable[[AgencyEndpoint, str], AgencyClient]


def default_client(endpoint: AgencyEndpoint, desk_id: str) -> AgencyClient:
    return AgencyClient(
        endpoint.base_url,
        token=endpoint.token(),
        desk_id=desk_id,
        connect_timeout=endpoint.connect_timeout_s,
        read_timeout=endpoint.read_timeout_s,
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
        client_factory: ClientFactory = default_client,
        batch_per_agency: int = 128,
        concurrency_per_agency: int = 4,
    ):
        self.store = store
        self.settings = settings
        self.blobs = blobs
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.clock = clock
        self.rand = rand
        self.listener = listener
        self.client_factory = client_factory
        self.batch_per_agency = batch_per_agency
        self.concurrency_per_agency = concurrency_per_agency
        self.health: dict[str, AgencyHealth] = {}
        self._clients: dict[str, AgencyClient] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        # Paused agencies whose probe entry is out: its first delivery resumes the rest.
        self._probing: set[str] = set()
        self._audit_head: str | None = None
        self._wake = threading.Event()

    # --- configuration ------------------------------------------------------------------

    def update_settings(self, settings: Settings) -> None:
        with self._lock:
            self.settings = settings
            for client in self._clients.values():
                client.close()
            self._clients.clear()

    def _client(self, endpoint: AgencyEndpoint) -> AgencyClient:
        with self._lock:
            client = self._clients.get(endpoint.code)
            if client is None:
                client = self.client_factory(endpoint, self.settings.desk.code)
                self._clients[endpoint.code] = client
            client.audit_head = self._audit_head
            return client

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
            for client in self._clients.values():
                client.close()
            self._clients.clear()

    # --- one pass -----------------------------------------------------------------------

    def run_once(self) -> PassReport:
        """Send what is due now and pull statuses back; one agency never waits on another."""
        now = self.clock()
        probed: list[str] = []
        with self.store.read() as session:
            head_id, head_hash = repo.audit_head(session)
            probe = outbox.any_paused_due(session, now)
            candidates = outbox.due_candidates(session, now, self.batch_per_agency)
            polls = outbox.status_poll_candidates(session, now, 200)
        self._audit_head = f"{head_id}:{head_hash}"
        if probe:
            with self.store.write() as session:
                probed = outbox.paused_probe_due(session, now)
            with self.store.read() as session:
                candidates = outbox.due_candidates(session, now, self.batch_per_agency)
        if probed:
            log.info("probing paused agencies: %s", ", ".join(probed))
            with self._lock:
                self._probing.update(probed)
        # An agency whose breaker is open waits for its cool-down without being claimed.
        chosen = policy.due_entries(
            candidates, now, self._breaker_blocked(now), self.batch_per_agency
        )
        by_agency: dict[str, list[str]] = {}
        for entry in chosen:
            by_agency.setdefault(entry.agency, []).append(entry.id)
        for _entry_id, agency, _submission_id in polls:
            by_agency.setdefault(agency, [])
        report = PassReport()
        agencies = sorted(by_agency)
        if not agencies:
            return report
        with ThreadPoolExecutor(max_workers=len(agencies), thread_name_prefix="sync") as pool:
            futures = [
                pool.submit(
                    self._run_agency,
                    agency,
                    by_agency[agency],
                    [(e, s) for e, a, s in polls if a == agency],
                )
                for agency in agencies
            ]
            for future in futures:
                report.merge(future.result())
        return report

    def _run_agency(
        self, agency: str, entry_ids: list[str], polls: list[tuple[str, str]]
    ) -> PassReport:
        report = PassReport()
        endpoint = self.settings.agencies.get(agency)
        if endpoint is not None and endpoint.mode == "manual":
            return report  # delivered by hand: the handover list, not HTTP
        if endpoint is None:
            if entry_ids:
                self._pause_unconfigured(agency, entry_ids, report)
            return report
        try:
            client = self._client(endpoint)
        except ValueError as exc:  # e.g. a base URL the client cannot use
            if entry_ids:
                self._pause_unconfigured(agency, entry_ids, report, reason=str(exc))
            return report
        try:
            if entry_ids:
                self._send_all(agency, client, entry_ids, report)
            if polls:
                self._poll_statuses(agency, client, polls, report)
        except StoreError:
            log.exception("store error while syncing %s", agency)
            raise
        return report

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
        self, agency: str, client: AgencyClient, entry_ids: list[str], report: PassReport
    ) -> None:
        """Claim the agency's due entries in one transaction, then deliver them concurrently."""
        now = self.clock()
        lease_s = self.settings.sync.lease_s
        health = self._health(agency)
        if not policy.breaker_allows(health.breaker, now):
            return
        with self.store.write() as session:
            claimed = outbox.claim_many(session, entry_ids, self.owner, now, lease_s)
        if not claimed:
            return
        if health.breaker.mode is not policy.BreakerMode.CLOSED:
            # The breaker allows one probe: deliver one, release the rest for the next pass.
            probe, rest = claimed[:1], claimed[1:]
            self._release(rest, self._breaker_reopens_at(agency))
            claimed = probe
            health.breaker = policy.breaker_on_send(health.breaker, now)
        with self.store.read() as session:
            jobs = outbox.send_jobs(session, claimed)
        workers = max(1, min(self.concurrency_per_agency, len(claimed)))
        stop_agency = threading.Event()

        def deliver_chunk(chunk: list[str]) -> None:
            done: list[_Delivered] = []
            try:
                for index, entry_id in enumerate(chunk):
                    if stop_agency.is_set() or self._stop.is_set():
                        # Shown to the officer as the next retry: the breaker's reopening, or now.
                        self._release(chunk[index:], self._breaker_reopens_at(agency))
                        return
                    outcome = self._deliver(agency, client, jobs[entry_id], report, done)
                    if len(done) >= DELIVERED_BATCH:
                        self._record_delivered(agency, done, report)
                    if (
                        outcome.kind is OutcomeKind.PAUSED
                        or health.breaker.mode is not policy.BreakerMode.CLOSED
                    ):
                        # Paused, or the breaker opened: the rest of this agency's batch waits.
                        stop_agency.set()
            finally:
                self._record_delivered(agency, done, report)

        chunks = [claimed[i::workers] for i in range(workers)]
        if workers == 1:
            deliver_chunk(chunks[0])
        else:
            with ThreadPoolExecutor(
                max_workers=workers, thread_name_prefix=f"sync-{agency}"
            ) as pool:
                list(pool.map(deliver_chunk, chunks))
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

    def _release(self, entry_ids: Iterable[str], at: datetime | None = None) -> None:
        """Give back leases we will not use this pass, without counting an attempt."""
        now = self.clock()
        with self.store.write() as session:
            for entry_id in entry_ids:
                outbox.release(session, entry_id, self.owner, now, next_attempt_at=at)

    def _deliver(
        self,
        agency: str,
        client: AgencyClient,
        job: outbox.SendJob,
        report: PassReport,
        done: list[_Delivered],
    ) -> Outcome:
        """Deliver one entry. A delivery needing no more calls is added to ``done``, which the
        caller records in one transaction with its neighbours (one fsync for many)."""
        entry_id = job.entry_id
        report.count(agency, "sent")
        posted: Outcome | None = None
        if not job.delivered:
            answer = client.post_submission(job.submission_id, job.payload)
            posted = self._classify(answer)
            self._observe(agency, posted)
            if posted.kind is not OutcomeKind.DELIVERED:
                self._record_setback(agency, job, posted, report)
                return posted
        pending = [a for a in job.attachments if job.acked.get(a[0]) != a[1]]
        if not pending:
            done.append(
                _Delivered(
                    entry_id,
                    job.submission_id,
                    posted.agency_ref if posted else None,
                    posted.agency_status if posted else None,
                )
            )
            return Outcome(OutcomeKind.DELIVERED, "delivered")
        if posted is not None:
            # Attachments follow: record the POST first, so a retry sends only them.
            self._record_delivered(agency, [], report, posted=(entry_id, posted))
        for name, sha256, content_type, _size in pending:
            try:
                data = self.blobs.get(sha256)
            except OSError as exc:
                outcome = Outcome(OutcomeKind.FAILED, "attachment_missing", f"{name}: {exc}")
                self._record_setback(agency, job, outcome, report)
                return outcome
            answer = client.put_attachment(job.submission_id, name, data, content_type, sha256)
            outcome = self._classify(answer)
            self._observe(agency, outcome)
            if outcome.kind is not OutcomeKind.DELIVERED:
                self._record_setback(agency, job, outcome, report)
                return outcome
            with self.store.write() as session:
                outbox.record_attachment_acked(session, entry_id, name, sha256)
        done.append(_Delivered(entry_id, job.submission_id, None, None))
        return Outcome(OutcomeKind.DELIVERED, "delivered")

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
                    session, entry_id, now, outcome.agency_ref, outcome.agency_status
                )
            outbox.record_delivered_many(
                session,
                [(d.entry_id, d.submission_id, d.agency_ref, d.agency_status) for d in done],
                now,
                first_check,
            )
            if resume:
                # The probe went through: the agency's credentials work again.
                resumed = outbox.resume_agency(session, agency, now)
                log.info("%s answers again: %d paused entries resumed", agency, resumed)
        for _ in done:
            report.count(agency, "delivered")
        if done:
            self._notify_outbox(agency, [item.submission_id for item in done])
        done.clear()

    def _classify(self, answer: Answer) -> Outcome:
        return (
            policy.classify(
                answer.status_code,
                answer.body,
                answer.error_kind,
                retry_after=answer.retry_after,
                now=self.clock(),
            )
            if answer.error_kind is None
            else policy.classify(None, None, answer.error_kind, now=self.clock())
        )

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
                outbox.record_retry(
                    session, job.entry_id, self.owner, at or now, outcome.reason, message
                )
                report.count(agency, "retried")
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
        self, agency: str, client: AgencyClient, polls: list[tuple[str, str]], report: PassReport
    ) -> None:
        interval = self.settings.sync.status_poll_interval_s
        changed_ids = []
        for entry_id, submission_id in polls:
            answer = client.get_status(submission_id)
            now = self.clock()
            if answer.status_code == 200 and isinstance(answer.body, dict):
                status = str(answer.body.get("status", ""))
                if status not in _KNOWN_STATUSES:
                    continue
                with self.store.write() as session:
                    changed = outbox.record_status(
                        session,
                        entry_id,
                        status,
                        str(answer.body.get("message") or ""),
                        answer.body.get("agency_ref"),
                        now,
                        now + timedelta(seconds=interval),
                    )
                self._observe(agency, Outcome(OutcomeKind.DELIVERED, "status"))
                if changed:
                    changed_ids.append(submission_id)
                    report.count(agency, "status_updates")
            elif answer.error_kind is not None:
                self._observe(agency, self._classify(answer))
                break  # the agency is unreachable: stop polling it this pass
        if changed_ids:
            self._notify_outbox(agency, changed_ids)

    # --- health of idle agencies ------------------------------------------------------

    def probe_idle(self, max_age_s: float | None = None) -> None:
        """Ask ``/health`` of the agencies not heard from for ``max_age_s`` (default: the
        poll interval), so the desk shows every agency online or offline, not only those
        with something to send. Never counts as a sync."""
        now = self.clock()
        age = self.settings.sync.poll_interval_s if max_age_s is None else max_age_s
        idle = []
        for code, endpoint in sorted(self.settings.agencies.items()):
            if endpoint.mode != "http":
                continue
            contact = self._health(code).last_contact_at
            if contact is None or (now - contact).total_seconds() >= age:
                idle.append(endpoint)
        if not idle:
            return
        with ThreadPoolExecutor(
            max_workers=min(8, len(idle)), thread_name_prefix="sync-health"
        ) as pool:
            list(pool.map(self._probe, idle))

    def _probe(self, endpoint: AgencyEndpoint) -> None:
        try:
            client = self._client(endpoint)
        except ValueError:
            return  # reported when something is sent (the agency is paused then)
        online = client.health()
        health = self._health(endpoint.code)
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
        self._stop.set()
        self._wake.set()

    def wake(self) -> None:
        """Run a pass now instead of waiting ("sync now", a retry-now, a finalized visit)."""
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def seconds_until_next_due(self, cap: float) -> float:
        """How long the loop may wait before something is due (bounded by ``cap``).

        An agency behind an open breaker counts from the breaker's reopening, so the loop
        does not spin on entries it is not going to send.
        """
        now = self.clock()
        with self.store.read() as session:
            due_at = outbox.next_due_by_agency(session)
        waits = [cap]
        for agency, at in due_at.items():
            reopens = self._breaker_reopens_at(agency)
            if reopens is not None:
                at = max(at, reopens)
            waits.append(max(0.0, (at - now).total_seconds()))
        return min(waits)

    def run_forever(self, on_pass: Callable[[PassReport], None] | None = None) -> None:
        """Passes until stop(); waits between passes until something is due."""
        while not self._stop.is_set():
            # Cleared before the pass: a wake() during the pass makes the next one start at once.
            self._wake.clear()
            try:
                report = self.run_once()
                if on_pass is not None:
                    on_pass(report)
                wait = self.seconds_until_next_due(self.settings.sync.poll_interval_s)
            except StoreError as exc:
                log.error("sync pass failed: %s", exc)
                wait = self.settings.sync.poll_interval_s
            self._wake.wait(max(0.05, wait))

    def drain(
        self, timeout_s: float, on_pass: Callable[[PassReport], None] | None = None
    ) -> tuple[bool, PassReport]:
        """Passes until nothing is pending or in flight; (True, report) or (False, …) on timeout.

        Held, paused, failed and manual entries are not waited for.
        """
        deadline = self.clock() + timedelta(seconds=timeout_s)
        total = PassReport()
        manual = [code for code, e in self.settings.agencies.items() if e.mode == "manual"]
        while not self._stop.is_set():
            report = self.run_once()
            total.merge(report)
            if on_pass is not None:
                on_pass(report)
            with self.store.read() as session:
                active = outbox.count_active(session) - outbox.count_active(session, manual)
            if active == 0:
                return True, total
            remaining = (deadline - self.clock()).total_seconds()
            if remaining <= 0:
                return False, total
            wait = self.seconds_until_next_due(min(remaining, self.settings.sync.poll_interval_s))
            self._stop.wait(max(0.01, min(wait, remaining)))
        return False, total

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
