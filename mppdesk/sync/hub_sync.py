"""The hub lane: push the desk's journal to the mall hub, pull what the mall decided.

One thread per desk process, beside the agency lanes of the sync worker. It pushes journal
entries in sequence order, in batches of at most 500, and forgets them only once the hub
acknowledged them (``acked``); every other answer is retried with backoff, a revoked token
pauses the lane, a refused batch (broken audit chain) stops it loudly, and a sequence gap
resynchronises to the hub's ``expected``. The journal is watched every ``WATCH_S`` so a
visit finalized in any process of this desk reaches the hub within a fraction of a second;
``wake()`` shortens even that.

Pulled items are applied here, each page with its new cursor in one transaction: accounts,
holidays, review decisions for this desk's submissions, agency endpoints (never tokens), and
catalog overrides (hash and catalog check first; the previous overrides stay when either
fails, and the failure is recorded for ``hub status`` and the status bar).
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mppdesk.settings import AgencyEndpoint, Settings, SettingsError, load_settings, save_settings
from mppdesk.store import hub as journal
from mppdesk.store.database import Store, StoreError
from mppdesk.store.hub_keys import load_hub_token
from mppdesk.sync import hub_client
from mppdesk.sync.hub_client import HubClient, HubResult

log = logging.getLogger(__name__)

WATCH_S = 0.2  # how often the journal is looked at for new entries
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 60.0
PAUSED_PROBE_S = 60.0  # a revoked or unknown token: ask again after this
REFUSED_PROBE_S = 300.0  # a refused batch (broken chain): an admin must act at the hub
MAX_CATALOG_FILES = 2000
MAX_CATALOG_BYTES = 16 << 20


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class DrainReport:
    pushed: int = 0
    pulled: int = 0
    pending: int = 0
    ok: bool = True
    messages: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {"pushed": self.pushed, "pending": self.pending, "pulled": self.pulled}


def client_for(settings: Settings, store: Store) -> HubClient | None:
    """The desk's hub client, or None when the desk has not joined a hub (or lost its token)."""
    if not settings.hub.url or store.data_dir is None:
        return None
    token = load_hub_token(store.data_dir)
    if not token:
        return None
    return HubClient(
        settings.hub.url,
        settings.desk.code,
        token,
        ca_file=settings.hub.ca_file or None,
        timeout_s=settings.hub.timeout_s,
    )


class HubLane:
    """Push and pull for one desk; ``run`` in a thread, ``stop`` from any thread."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        client: HubClient,
        *,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.store = store
        self.settings = settings
        self.client = client
        self.clock = clock
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._failures = 0
        self._push_not_before = 0.0  # monotonic: backoff after a failed push
        self._next_pull = 0.0
        self.connected: bool | None = None  # None: not tried yet
        self._bills_checked = False  # bills stored before they were replicated: journalled

    # --- life cycle -----------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self.run, name="hub-lane", daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        self.client.abort()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)
        self.client.close()

    def wake(self) -> None:
        """Push now (a visit was finalized) instead of at the next look at the journal."""
        self._wake.set()

    def run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                if time.monotonic() >= self._push_not_before:
                    self._push_available(deadline=None)
                if time.monotonic() >= self._next_pull:
                    self._next_pull = time.monotonic() + self.settings.hub.pull_interval_s
                    self.pull_all(deadline=time.monotonic() + self.settings.hub.timeout_s * 3)
            except StoreError as exc:
                log.error("hub lane: the store failed: %s", exc)
            except Exception:  # noqa: BLE001 - the lane must outlive one bad item
                log.exception("hub lane: unexpected error")
            self._wake.wait(WATCH_S)

    # --- push -----------------------------------------------------------------------------

    def _push_available(self, deadline: float | None) -> tuple[int, bool]:
        """Push batches until the journal is empty, a push fails or the deadline passes;
        (records acknowledged, True when the journal emptied)."""
        pushed = 0
        batch_size = journal.MAX_BATCH
        if not self._bills_checked:
            with self.store.write() as session:
                journal.journal_billing_history(session)
            self._bills_checked = True
        while not self._stop.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                return pushed, False
            with self.store.read() as session:
                entries = journal.journal_batch(session, batch_size)
                if not entries:
                    return pushed, True
                records = journal.records(session, entries)
            result = self.client.push(records)
            first, last = entries[0].seq, entries[-1].seq
            if result.ok:
                acked = int(result.body["acked"])  # type: ignore[index]
                self._record_ack(acked, acked - first + 1)
                pushed += max(0, acked - first + 1)
                self._failures = 0
                self.connected = True
                if acked < last:  # the hub stored part of the batch: go on from there
                    continue
                batch_size = journal.MAX_BATCH
                continue
            if result.outcome == hub_client.GAP and result.expected is not None:
                self.connected = True
                if self._resync(result.expected, first, last):
                    continue
                return pushed, False  # refused: the same push would get the same answer
            if result.outcome == hub_client.REFUSED and result.code == "too_large" and len(entries) > 1:
                batch_size = max(1, len(entries) // 2)
                continue
            self._setback(result)
            return pushed, False
        return pushed, False

    def _record_ack(self, acked: int, pushed: int) -> None:
        with self.store.write() as session:
            journal.record_acked(session, acked, pushed, self.clock())

    def _resync(self, expected: int, first: int, last: int) -> bool:
        """The hub expects ``expected`` next. Ahead of what we sent: it has those already
        (an ack lost on the way back), True: go on from there. Behind: it lost entries this
        desk no longer holds, False: the lane is set back as refused."""
        if expected > first:
            log.warning("hub already holds up to %d; resuming from there", expected - 1)
            self._record_ack(expected - 1, 0)
            return True
        message = (
            f"the hub expects sequence {expected}, but this desk's journal starts at {first}: "
            "the hub lost records this desk already handed over (restored from a backup?)"
        )
        log.error("%s", message)
        self._setback(HubResult(hub_client.REFUSED, None, message, "sequence_gap"))
        return False

    def _setback(self, result: HubResult) -> None:
        self.connected = result.outcome != hub_client.RETRY  # paused, refused: it answered
        if result.outcome == hub_client.PAUSED:
            wait = PAUSED_PROBE_S
        elif result.outcome == hub_client.REFUSED:
            wait = REFUSED_PROBE_S
        else:
            self._failures += 1
            wait = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** min(self._failures - 1, 16))
            if result.retry_after_s is not None:
                wait = max(wait, result.retry_after_s)
        self._push_not_before = time.monotonic() + wait
        log.info("hub push %s: %s (next try in %.1f s)", result.outcome, result.message, wait)
        try:
            with self.store.write() as session:
                journal.record_error(session, result.outcome, result.message, self.clock())
        except StoreError:
            pass

    # --- pull -----------------------------------------------------------------------------

    def pull_all(self, deadline: float) -> int:
        """Pull pages until the hub has nothing more (or the deadline); items applied."""
        applied = 0
        while not self._stop.is_set() and time.monotonic() < deadline:
            with self.store.read() as session:
                cursor = int(journal.get_state(session, journal.CURSOR) or 0)
            result = self.client.pull(cursor)
            if not result.ok:
                if result.outcome != hub_client.RETRY:
                    with self.store.write() as session:
                        journal.record_error(session, result.outcome, result.message, self.clock())
                self.connected = False if result.outcome == hub_client.RETRY else self.connected
                return applied
            self.connected = True
            body = result.body or {}
            applied += self.apply_page(body["items"], int(body["cursor"]))
            if not body.get("more"):
                return applied
        return applied

    def apply_page(self, items: list[dict[str, Any]], cursor: int) -> int:
        """Apply one pulled page and store its cursor; items the desk cannot use are logged
        and skipped (the cursor moves on: the hub would send them again unchanged)."""
        data_dir = self.store.data_dir
        catalog_items = [i for i in items if i.get("kind") == "catalog"]
        agency_items = [i for i in items if i.get("kind") == "agency"]
        now = self.clock()
        catalog_outcome = None
        if catalog_items and data_dir is not None:
            catalog_outcome = apply_catalog(data_dir, catalog_items[-1].get("body") or {})
        if agency_items and data_dir is not None:
            self.settings = apply_agencies(data_dir, [i.get("body") or {} for i in agency_items])
        applied = 0
        with self.store.write() as session:
            for item in items:
                kind, body = item.get("kind"), item.get("body")
                if not isinstance(body, dict):
                    continue
                if kind == "user":
                    ok = journal.upsert_officer(session, body)
                elif kind == "holidays":
                    ok = journal.store_holidays(session, body)
                elif kind == "review":
                    outcome = journal.apply_review(session, body, self.settings.desk.code, now)
                    if outcome in journal.REVIEW_REFUSALS:
                        # Recorded and shown by apply_review; the item was used, not lost.
                        log.warning(
                            "hub approval of submission %s refused here (%s)",
                            body.get("submission_id"),
                            outcome,
                        )
                    ok = outcome != journal.REVIEW_UNUSABLE
                elif kind in ("catalog", "agency"):
                    ok = True
                else:
                    ok = False
                if not ok:
                    log.warning("hub item of kind %r not applied (not usable here)", kind)
                applied += int(ok)
            if catalog_outcome is not None:
                name, value = catalog_outcome
                journal.set_state(session, name, value)
                if name == journal.CATALOG:
                    journal.set_state(session, journal.CATALOG_ERROR, None)
            journal.set_state(session, journal.CURSOR, int(cursor))
            journal.set_state(session, journal.LAST_PULL, {"at": journal.iso(now), "pulled": len(items)})
        return applied

    # --- drain (mppdesk sync --drain) -------------------------------------------------------

    def drain(self, timeout_s: float) -> DrainReport:
        """Push until the journal is empty (or the deadline), then one pull."""
        deadline = time.monotonic() + max(0.0, timeout_s)
        report = DrainReport()
        while time.monotonic() < deadline and not self._stop.is_set():
            pushed, emptied = self._push_available(deadline)
            report.pushed += pushed
            if emptied:
                break
            if self._push_not_before >= deadline:
                break  # the next try falls after the deadline: waiting for it changes nothing
            wait = self._push_not_before - time.monotonic()
            if wait > 0:
                self._wake.wait(wait)
        report.pulled = self.pull_all(deadline + 5.0)
        if report.pulled and report.pushed >= 0 and time.monotonic() < deadline + 5.0:
            # What the pull changed here (a released submission) goes back up at once.
            pushed, _ = self._push_available(deadline + 5.0)
            report.pushed += pushed
        with self.store.read() as session:
            report.pending = journal.pending_count(session)
        report.ok = report.pending == 0
        return report


def start_lane(store: Store, settings: Settings, clock: Callable[[], datetime] = _utcnow) -> HubLane | None:
    """Start the hub lane of a joined desk (None when not joined); the caller stops it."""
    try:
        client = client_for(settings, store)
    except (hub_client.HubConfigError, ValueError) as exc:
        log.error("hub lane not started: %s", exc)
        return None
    if client is None:
        return None
    lane = HubLane(store, settings, client, clock=clock)
    lane.start()
    return lane


# --- pulled things that live in files -------------------------------------------------------


def apply_catalog(data_dir: Path, body: dict[str, Any]) -> tuple[str, Any]:
    """Check the published overrides (hash, paths, catalog check) and put them in place of
    ``<data dir>/catalog``; on any failure the previous overrides stay. Returns the hub state
    to record: (CATALOG, {...}) or (CATALOG_ERROR, {...})."""
    from mppdesk.forms.catalog import builtin_catalog_dirs, load_catalog_collecting
    from mppdesk.forms.check import check_catalog

    now = journal.iso(_utcnow())
    sha, files = body.get("sha256"), body.get("files")

    def failed(problems: list[str]) -> tuple[str, Any]:
        log.error("catalog from the hub not used: %s", "; ".join(problems[:5]))
        return journal.CATALOG_ERROR, {"sha256": str(sha)[:64], "problems": problems[:20], "at": now}

    if not isinstance(sha, str) or not isinstance(files, dict):
        return failed(["the catalog item has no sha256 or files"])
    if len(files) > MAX_CATALOG_FILES or sum(len(str(v)) for v in files.values()) > MAX_CATALOG_BYTES:
        return failed(["the catalog is larger than a desk accepts"])
    for path, text in files.items():
        parts = Path(str(path)).parts
        if (
            not isinstance(text, str)
            or not parts
            or Path(str(path)).is_absolute()
            or any(p in ("..", ".", "") for p in parts)
            or "\\" in str(path)
            or not str(path).endswith((".yaml", ".yml"))
        ):
            return failed([f"{str(path)[:100]}: not a catalog file path"])
    if journal.canonical_files_sha(files) != sha:
        return failed(["the catalog's content does not match its sha256 (changed on the way)"])
    target = data_dir / "catalog"
    marker = target / ".hub-sha256"
    try:
        if marker.read_text(encoding="ascii").strip() == sha:
            return journal.CATALOG, {"sha256": sha, "applied_at": now}
    except OSError:
        pass
    incoming = data_dir / "catalog.incoming"
    shutil.rmtree(incoming, ignore_errors=True)
    try:
        for path, text in files.items():
            destination = incoming / path
            destination.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            destination.write_text(text, encoding="utf-8")
        dirs = builtin_catalog_dirs(None) + [incoming]
        catalog, problems = load_catalog_collecting(dirs)
        messages = [str(p) for p in problems]
        if not problems:
            messages = [str(p) for p in check_catalog(catalog)]
        if messages:
            return failed([m.replace(str(incoming), "catalog") for m in messages])
        (incoming / ".hub-sha256").write_text(sha + "\n", encoding="ascii")
        previous = data_dir / "catalog.previous"
        shutil.rmtree(previous, ignore_errors=True)
        if target.exists():
            target.rename(previous)
        incoming.rename(target)
    except OSError as exc:
        return failed([f"the catalog could not be written: {exc.strerror or exc}"])
    finally:
        shutil.rmtree(incoming, ignore_errors=True)
    log.info("catalog overrides %s from the hub in use", sha[:12])
    return journal.CATALOG, {"sha256": sha, "applied_at": now}


_AGENCY_KEYS = {"base_url", "mode", "connect_timeout_s", "read_timeout_s", "deadline_s"}


def apply_agencies(data_dir: Path, bodies: list[dict[str, Any]]) -> Settings:
    """Agency endpoints as the hub publishes them, into settings.toml; the desk's own token
    source (token_env, token_keyring) and CA file stay. A body that would not load is left
    out (each change is checked in a scratch copy before the real file changes)."""
    settings = load_settings(data_dir)
    for body in bodies:
        code = body.get("agency")
        if not isinstance(code, str) or any(k in body for k in ("token", "token_env")):
            continue
        current = settings.agencies.get(code) or AgencyEndpoint(code=code)
        values = {k: body[k] for k in _AGENCY_KEYS if k in body}
        try:
            candidate = settings.with_agency(replace(current, **values))
        except TypeError:
            continue
        import tempfile

        with tempfile.TemporaryDirectory(prefix="mppdesk-settings-") as scratch:
            save_settings(Path(scratch), candidate)  # checked before the real file changes
            try:
                load_settings(Path(scratch))
            except SettingsError as exc:
                log.error("agency %s from the hub not used: %s", code, exc)
                continue
        save_settings(data_dir, candidate)
        settings = load_settings(data_dir)
    return settings
