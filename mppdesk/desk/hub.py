"""The desk in its mall: joining the hub, its status, and what the desk asks the hub.

Replication itself runs in the sync worker's hub lane (``mppdesk.sync.hub_sync``); this
module is what an officer or an admin does with the hub:

- ``join``: check the hub answers this desk's token, then write ``[hub]`` in settings.toml
  and the token where the desk key lives (never in settings).
- ``status``: connected, last push and pull, what is still to push, the catalog's state.
- ``lookup``: a NIK or passport look-up asks the hub first when joined (1.5 s at most), keeps
  the answer in the store, and falls back to the store when the hub cannot answer.
- ``next_ticket``: the mall's number for the group, or offline a number from this desk's own
  block (``F-K03-001``) that no other desk and no hub number can ever equal.
- ``report_login``: each login result goes to the hub, which counts lockouts mall-wide.
- ``mall_daily_report`` / ``mall_review_queue``: supervisors read across desks.

The hub is never a dependency: every call here has a short deadline and a local answer.
"""

from __future__ import annotations

import logging
import threading
import weakref
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from mppdesk.core.permissions import Operation
from mppdesk.core.tracking import TrackingNumberError, normalize_desk_code
from mppdesk.desk.auth import Actor, require
from mppdesk.desk.errors import AuthError, DeskError, PermissionDenied
from mppdesk.desk.runtime import Runtime
from mppdesk.settings import HubSettings, Settings, load_settings, save_settings
from mppdesk.store import access_log, lookups, repo
from mppdesk.store import hub as hub_store
from mppdesk.store.hub_keys import load_hub_token, save_hub_token
from mppdesk.store.views import IDENTITY_KINDS
from mppdesk.sync import hub_client
from mppdesk.sync.hub_client import HubClient, HubConfigError, check_hub_url
from mppdesk.sync.hub_sync import client_for

log = logging.getLogger(__name__)


class HubUnavailable(DeskError):
    """The hub could not answer now (offline, refused, not joined): the desk goes on alone."""


def joined(settings: Settings) -> bool:
    return bool(settings.hub.url)


# --- join and status --------------------------------------------------------------------------


def join(
    data_dir: Path,
    url: str,
    desk: str,
    token: str,
    ca_file: str | None = None,
    timeout_s: float = 10.0,
) -> HubSettings:
    """Enrol this data dir's desk with a hub: the token is tried before anything is written."""
    try:
        url = check_hub_url(url.strip())
        code = normalize_desk_code(desk)
    except (HubConfigError, TrackingNumberError) as exc:
        raise DeskError.of("hub.join_invalid", reason=str(exc)) from None
    token = token.strip()
    if not token:
        raise DeskError.of("hub.join_no_token")
    if ca_file:
        ca_path = Path(ca_file).expanduser().resolve()
        if not ca_path.is_file():
            raise DeskError.of("hub.join_no_ca", path=str(ca_path))
        ca_file = str(ca_path)
    client = HubClient(url, code, token, ca_file=ca_file, timeout_s=timeout_s)
    try:
        result = client.pull(0)
    finally:
        client.close()
    if result.outcome == hub_client.PAUSED:
        raise AuthError.of("hub.token_refused", desk=code, reason=result.code or "unauthorized")
    if not result.ok:
        raise HubUnavailable.of("hub.not_a_hub", url=url, reason=result.message)
    backfilled = _backfill_history(data_dir)
    settings = load_settings(data_dir)
    hub = HubSettings(
        url=url,
        ca_file=ca_file or "",
        timeout_s=settings.hub.timeout_s,
        pull_interval_s=settings.hub.pull_interval_s,
    )
    save_hub_token(data_dir, token)
    save_settings(data_dir, replace(settings, hub=hub, desk=replace(settings.desk, code=code)))
    load_settings(data_dir)  # what was written loads back
    log.info("desk %s joined the hub at %s (%d earlier changes to push)", code, url, backfilled)
    return hub


def _backfill_history(data_dir: Path) -> int:
    """Journal what the store held before it journalled (see ``hub_store.backfill_journal``);
    a data dir without a store yet has nothing to send."""
    from mppdesk.desk.runtime import open_runtime
    from mppdesk.store.database import StoreError

    try:
        runtime = open_runtime(data_dir, create=False)
    except StoreError as exc:
        if exc.reason == "missing":
            return 0
        raise
    try:
        with runtime.store.write() as session:
            return hub_store.backfill_journal(session)
    finally:
        runtime.close()


@dataclass(frozen=True)
class HubStatus:
    joined: bool
    url: str
    desk: str
    connected: bool
    last_push: str | None
    last_pull: str | None
    pending: int
    acked: int
    last_error: dict[str, Any] | None
    catalog: dict[str, Any] | None
    catalog_error: dict[str, Any] | None
    cursor: int = 0  # the pull cursor: it moves only when a pull brought something
    refused_reviews: tuple[dict[str, Any], ...] = ()  # hub approvals refused here, newest first

    def as_dict(self) -> dict[str, Any]:
        return {
            "joined": self.joined,
            "url": self.url,
            "desk": self.desk,
            "connected": self.connected,
            "last_push": self.last_push,
            "last_pull": self.last_pull,
            "pending": self.pending,
            "acked": self.acked,
            "last_error": self.last_error,
            "catalog": self.catalog,
            "catalog_error": self.catalog_error,
            "refused_reviews": list(self.refused_reviews),
        }


def status(runtime: Runtime, *, probe: bool = True) -> HubStatus:
    """What the desk knows of its hub; ``probe`` asks the hub now whether it answers."""
    with runtime.store.read() as session:
        state = hub_store.all_state(session)
        pending = hub_store.pending_count(session)
    connected = False
    if probe and joined(runtime.settings):
        client = _client(runtime)
        if client is not None:
            try:
                connected = client.pull(int(state.get(hub_store.CURSOR) or 0)).ok
            finally:
                client.close()
    last_push = state.get(hub_store.LAST_PUSH) or {}
    last_pull = state.get(hub_store.LAST_PULL) or {}
    return HubStatus(
        joined=joined(runtime.settings),
        url=runtime.settings.hub.url,
        desk=runtime.settings.desk.code,
        connected=connected,
        last_push=last_push.get("at"),
        last_pull=last_pull.get("at"),
        pending=pending,
        acked=int(state.get(hub_store.ACKED) or 0),
        last_error=state.get(hub_store.LAST_ERROR),
        catalog=state.get(hub_store.CATALOG),
        catalog_error=state.get(hub_store.CATALOG_ERROR),
        cursor=int(state.get(hub_store.CURSOR) or 0),
        refused_reviews=tuple(
            e for e in state.get(hub_store.REFUSED_REVIEWS) or () if isinstance(e, dict)
        ),
    )


def _client(runtime: Runtime, *, quick: bool = False) -> HubClient | None:
    """A client for one call (closed by the caller), or None when not joined / no token."""
    try:
        client = client_for(runtime.settings, runtime.store)
    except (HubConfigError, ValueError) as exc:
        log.error("hub not usable: %s", exc)
        return None
    return client


_kept_lock = threading.Lock()
_kept: dict[int, tuple[tuple[str, ...], HubClient]] = {}


def _kept_client(runtime: Runtime) -> HubClient | None:
    """The store's kept client for the calls an officer waits on (look-up, ticket, login).

    Its keep-alive connection and deadline watchdog stay up between calls, which spares
    each look-up a new connection (over TLS, a handshake) and a thread start and join: about
    half of a look-up's time on a loaded PC. A new one when the hub, desk, CA or token
    change; closed when the store object goes away (or at exit). Never closed by callers.
    """
    settings, store = runtime.settings, runtime.store
    if not settings.hub.url or store.data_dir is None:
        return None
    token = load_hub_token(store.data_dir)
    if not token:
        return None
    identity = (settings.hub.url, settings.desk.code, settings.hub.ca_file, token)
    with _kept_lock:
        kept = _kept.get(id(store))
        if kept is not None and kept[0] == identity:
            return kept[1]
        client = _client(runtime)
        if client is None:
            return None
        if kept is not None:
            kept[1].close()
        else:
            weakref.finalize(store, _drop_kept, id(store))
        _kept[id(store)] = (identity, client)
        return client


def _drop_kept(key: int) -> None:
    with _kept_lock:
        kept = _kept.pop(key, None)
    if kept is not None:
        kept[1].close()


# --- look-up --------------------------------------------------------------------------------


@dataclass(frozen=True)
class MallApplicant:
    """An applicant as the counter pre-fills them: from this store or from the hub."""

    source: str  # local | hub
    id_kind: str
    id_number: str
    name: str
    profile: dict[str, Any]
    hub_version: int | None = None
    conflicts: tuple[dict[str, Any], ...] = ()
    cached: bool = False  # the hub's earlier answer, kept here (the hub did not answer now)
    applicant_id: str | None = None
    desk: str = ""  # the desk that last changed the hub's record, when the hub says

    def as_dict(self) -> dict[str, Any]:
        return {
            "id_kind": self.id_kind,
            "id_number": self.id_number,
            "name": self.name,
            "profile": self.profile,
            "hub_version": self.hub_version,
            "conflicts": list(self.conflicts),
            "cached": self.cached,
            "applicant_id": self.applicant_id,
        }


def lookup(
    runtime: Runtime, actor: Actor, id_number: str, id_kind: str = "nik"
) -> MallApplicant | None:
    """The applicant by (kind, number): the hub's record when joined and it answers, else
    this store's, else the hub's last answer kept here. Every look-up is audited here (and
    at the hub, which audits who asked for whom from which desk)."""
    require(actor, Operation.INTAKE)
    number = (id_number or "").strip()
    if not number:
        raise DeskError.of("hub.no_identity_number")
    return _lookup(runtime, actor, number, id_kind, 0)[0]


def lookup_record(runtime: Runtime, actor: Actor, number: str, id_kind: str, changes: int):
    """``counter.lookup_applicant`` of a joined desk: the hub's shared fields pre-filled,
    with this store's history of the applicant when it has one."""
    from mppdesk.desk.counter import ProfileChange

    found, history = _lookup(runtime, actor, number, id_kind, changes)
    if found is None:
        return None
    return _record_type()(
        source=found.source,
        source_desk=found.desk,
        cached=found.cached,
        applicant_id=found.applicant_id or "",
        id_kind=found.id_kind,
        id_number=found.id_number,
        name=found.name,
        profile=dict(found.profile),
        updated_at=runtime.now(),
        changes=tuple(
            ProfileChange(
                field=row.field,
                old=(row.old_value or {}).get("v"),
                new=(row.new_value or {}).get("v"),
                changed_at=row.changed_at,
                officer=row.officer,
            )
            for row in history
        ),
    )


@cache
def _record_type() -> type:
    """``counter.ApplicantRecord`` that also says where the shared fields came from (the
    counter page says "Data dari MPP" for ``source == "hub"``)."""
    from mppdesk.desk.counter import ApplicantRecord

    @dataclass(frozen=True)
    class MallApplicantRecord(ApplicantRecord):
        source: str = "local"  # local | hub
        source_desk: str = ""  # the desk that last changed the hub's record, when known
        cached: bool = False  # the hub's earlier answer, kept here (the hub did not answer)

    return MallApplicantRecord


def _lookup(
    runtime: Runtime, actor: Actor, number: str, id_kind: str, changes: int
) -> tuple[MallApplicant | None, list]:
    # One hub request whatever the number: the hub answers a passport with the foreigner
    # keyed by their KITAS/KITAP (or the reverse), and this store's row of that person, if
    # any, is the one under the key the hub answered with.
    answer = _ask_hub(runtime, actor, id_kind, number) if joined(runtime.settings) else None
    key_kind, key_number = _answered_key(answer) or (id_kind, number)
    local = lookups.view_applicant(
        runtime.store,
        key_kind,
        key_number,
        changes=changes,
        actor=actor.username,
        action="applicant.viewed",
        details={"desk": runtime.settings.desk.code, "source": "hub" if answer else "local"},
    )
    history = local[1] if local is not None else []
    local_id = local[0].id if local is not None else None
    if answer is not None:
        # The hub's answer is kept for offline look-ups; with the audit of a look-up this
        # store could not answer, in one durable write.
        _audit_hub_view(runtime, actor, answer, cached=False, audit=local is None, keep=True)
        return _from_hub(answer, applicant_id=local_id), history
    if local is not None:
        applicant = local[0]
        return MallApplicant(
            "local",
            applicant.id_kind,
            applicant.id_number,
            applicant.name,
            dict(applicant.profile),
            applicant_id=applicant.id,
        ), history
    if joined(runtime.settings):
        with runtime.store.read() as session:
            cached = hub_store.cached_applicant(session, id_kind, number)
        if cached is not None:
            _audit_hub_view(runtime, actor, cached, cached=True)
            return replace(_from_hub(cached), cached=True), history
    return None, history


def _audit_hub_view(
    runtime: Runtime,
    actor: Actor,
    applicant: dict[str, Any],
    cached: bool,
    *,
    audit: bool = True,
    keep: bool = False,
) -> None:
    """The look-up of an applicant this store does not hold, audited as the store's own are
    (by the hub's id, never the identity number); ``keep`` also caches the hub's answer."""
    hub_id = applicant.get("id")
    with runtime.store.write() as session:
        if keep:
            hub_store.cache_applicant(session, applicant, runtime.now())
        if not audit:
            return
        number = applicant.get("id_number")
        access_log.append_access(
            session,
            actor=actor.username,
            action="applicant.viewed",
            object_type="applicant",
            object_id=str(hub_id)[:64] if isinstance(hub_id, str | int) else "",
            details={"desk": runtime.settings.desk.code, "source": "hub", "cached": cached},
            numbers=[number] if isinstance(number, str) else [],
            at=runtime.now(),
        )


def _ask_hub(runtime: Runtime, actor: Actor, id_kind: str, number: str) -> dict[str, Any] | None:
    client = _kept_client(runtime)
    if client is None:
        return None
    result = client.lookup(id_kind, number, actor.username)
    if not result.ok:
        log.info("hub look-up not answered (%s): the store answers", result.outcome)
        return None
    body = result.body or {}
    if body.get("found") is not True:
        return None
    return dict(body["applicant"])


def _answered_key(applicant: dict[str, Any] | None) -> tuple[str, str] | None:
    """The (kind, number) the hub's answer is keyed by, when it is a well-formed one."""
    if applicant is None:
        return None
    kind, number = applicant.get("id_kind"), applicant.get("id_number")
    if kind not in IDENTITY_KINDS or not isinstance(number, str) or not 0 < len(number) <= 64:
        return None
    return kind, number


def _from_hub(applicant: dict[str, Any], applicant_id: str | None = None) -> MallApplicant:
    version = applicant.get("version")
    conflicts = applicant.get("conflicts") or []
    profile = applicant.get("profile") or {}
    desk = applicant.get("desk")
    return MallApplicant(
        "hub",
        str(applicant["id_kind"]),
        str(applicant["id_number"]),
        str(applicant.get("name") or profile.get("nama") or ""),
        dict(profile) if isinstance(profile, dict) else {},
        version if isinstance(version, int) and not isinstance(version, bool) else None,
        tuple(c for c in conflicts if isinstance(c, dict)) if isinstance(conflicts, list) else (),
        applicant_id=applicant_id,
        desk=desk[:16] if isinstance(desk, str) else "",
    )


# --- tickets --------------------------------------------------------------------------------


def hub_ticket(runtime: Runtime, actor: Actor, prefix: str) -> str | None:
    """The mall's next number for the group (``F-012``), or None when the hub cannot answer."""
    client = _kept_client(runtime)
    if client is None:
        return None
    result = client.ticket(prefix, actor.username)
    if not result.ok:
        log.info("hub ticket not answered (%s): numbered from this desk's block", result.outcome)
        return None
    return str((result.body or {})["number"])


def offline_ticket_number(prefix: str, desk: str, sequence: int) -> str:
    """A number of this desk's own block: the desk code in it keeps it apart from the hub's
    numbers and from every other desk's (``F-K03-001``)."""
    return f"{prefix}-{desk}-{sequence:03d}"


# --- lockout --------------------------------------------------------------------------------


def report_login(runtime: Runtime, username: str, ok: bool, at: datetime) -> datetime | None:
    """Tell the hub one login result; the mall-wide lock end it answers, or None (not
    locked, not joined, or the hub did not answer: the desk's own count stands)."""
    if not joined(runtime.settings):
        return None
    client = _kept_client(runtime)
    if client is None:
        return None
    result = client.login_result(username, ok, hub_store.iso(at))
    if not result.ok:
        return None
    value = (result.body or {}).get("locked_until")
    if not value:
        return None
    try:
        until = datetime.fromisoformat(value)
    except ValueError:
        return None
    return until if until.tzinfo is not None else None


# --- mall scope -------------------------------------------------------------------------------


def mall_daily_report(runtime: Runtime, actor: Actor, day: str) -> dict[str, Any]:
    require(actor, Operation.REPORT)
    return _mall_read(runtime, actor, lambda c: c.daily_report(day, actor.username))


def mall_review_queue(runtime: Runtime, actor: Actor) -> dict[str, Any]:
    require(actor, Operation.REVIEW)
    return _mall_read(runtime, actor, lambda c: c.review_queue(actor.username))


def _mall_read(runtime: Runtime, actor: Actor, call) -> dict[str, Any]:
    if not joined(runtime.settings):
        raise HubUnavailable.of("hub.not_joined")
    client = _client(runtime)
    if client is None:
        raise HubUnavailable.of("hub.no_token")
    try:
        result = call(client)
    finally:
        client.close()
    if result.outcome == hub_client.PAUSED:
        raise AuthError.of("hub.desk_refused", reason=result.code)
    if result.outcome == hub_client.REFUSED and result.code in hub_store.REVIEW_REFUSALS:
        # The hub refused an approval (issue 12): said as the desk says it locally.
        raise PermissionDenied.of(f"hubreview.{result.code}")
    if result.outcome == hub_client.REFUSED:
        raise AuthError.of("hub.refused", reason=result.message)
    if not result.ok:
        raise HubUnavailable.of("hub.unavailable", reason=result.message)
    with runtime.store.write() as session:
        repo.append_audit(
            session,
            actor=actor.username,
            action="hub.mall_read",
            object_type="hub",
            object_id=runtime.settings.desk.code,
        )
    return dict(result.body or {})


def mall_decide(
    runtime: Runtime, actor: Actor, submission_id: str, decision: str, reason: str | None
) -> dict[str, Any]:
    """A supervisor's decision on any desk's submission, recorded at the hub; the owning
    desk applies it on its next pull (releasing a held submission to its outbox)."""
    require(actor, Operation.REVIEW)
    return _mall_read(
        runtime, actor, lambda c: c.review(submission_id, decision, reason, actor.username)
    )
