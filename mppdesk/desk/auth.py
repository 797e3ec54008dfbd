"""Officers: accounts, argon2id password hashes, login with lockout, permission checks."""

from __future__ import annotations

import getpass
import logging
import re
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from mppdesk.core import lockout
from mppdesk.core.changes import Changes, Kind
from mppdesk.core.permissions import Operation, allowed
from mppdesk.core.states import Role
from mppdesk.desk.errors import (
    AccountLocked,
    AuthError,
    FieldError,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from mppdesk.desk.runtime import Runtime
from mppdesk.store import repo

log = logging.getLogger(__name__)

# OWASP's argon2id minimum: 19 MiB, 2 iterations, parallelism 1.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_dummy_hash: str | None = None


def _dummy() -> str:
    """A hash to verify against for unknown names, so their login takes as long as a real one."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = HASHER.hash("mppdesk-no-such-user")
    return _dummy_hash


_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
MIN_PASSWORD_LENGTH = 8


class AccountDisabled(AuthError):
    """The account was disabled by an admin (the CLI exits 4; the window says so)."""


@dataclass(frozen=True)
class Actor:
    """Who is acting: an officer after login, or the OS account for data-dir administration."""

    username: str
    role: str
    full_name: str = ""

    def may(self, operation: Operation) -> bool:
        return allowed(self.role, operation)


def os_actor() -> Actor:
    """The OS account that owns the data dir: administration without an officer login."""
    try:
        name = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in this environment
        name = "unknown"
    return Actor(username=f"os:{name}", role=Role.ADMIN, full_name=name)


def require(actor: Actor, operation: Operation) -> None:
    if not actor.may(operation):
        raise PermissionDenied.of(
            "error.permission_role", role=actor.role, operation=str(operation)
        )


def add_user(
    runtime: Runtime, actor: Actor, username: str, role: str, password: str, full_name: str = ""
) -> Changes:
    require(actor, Operation.MANAGE_USERS)
    errors = []
    if not _USERNAME.match(username):
        errors.append(FieldError.of("username", "error.username_invalid"))
    if role not in {r.value for r in Role}:
        errors.append(FieldError.of("role", "error.role_invalid"))
    if len(password) < MIN_PASSWORD_LENGTH:
        errors.append(
            FieldError.of("password", "error.password_short", minimum=MIN_PASSWORD_LENGTH)
        )
    if errors:
        raise InvalidInput(errors)
    password_hash = HASHER.hash(password)
    with runtime.store.write() as session:
        if repo.get_officer(session, username) is not None:
            raise InvalidInput([FieldError.of("username", "error.user_exists", user=username)])
        repo.add_officer(session, username, role, password_hash, full_name)
        repo.append_audit(
            session,
            actor=actor.username,
            action="user.added",
            object_type="officer",
            object_id=username,
            details={"role": role},
        )
    return Changes.of(Kind.USERS)


def has_users(runtime: Runtime) -> bool:
    with runtime.store.read() as session:
        return repo.count_officers(session) > 0


def login(runtime: Runtime, username: str, password: str) -> Actor:
    """Check the password; lock the name after too many failures in a short window.

    Unknown names and wrong passwords get the same message and take the same time.
    """
    now = runtime.now()
    refusal: AuthError | None = None
    locked_before = False
    with runtime.store.write() as session:
        officer = repo.get_officer(session, username)
        lock_end = lockout.effective_lock_end(
            officer.locked_until if officer is not None else None, now
        )
        if officer is not None and lock_end is not None:
            officer.locked_until = lock_end  # a lock set by a clock that was ahead is cut
            local = lock_end.astimezone(runtime.tz)
            repo.append_audit(
                session,
                actor=username,
                action="login.refused_locked",
                object_type="officer",
                object_id=username,
            )
            refusal = AccountLocked.of("auth.locked", until=f"{local:%H:%M}")
            locked_before = True
        else:
            refusal = _check_password(session, officer, username, password, now, runtime.tz)
            if refusal is None:
                actor = Actor(
                    username=officer.username, role=officer.role, full_name=officer.full_name
                )
    if runtime.settings.hub.url and not locked_before and not isinstance(refusal, AccountDisabled):
        # Joined to the mall hub: a lockout counts across every desk of the mall (the failure
        # that locks here too, so the other desks lock).
        refusal = _mall_lockout(runtime, username, refusal is None, now) or refusal
    # The refusal is raised after its audit event and the failed attempt are committed.
    if refusal is not None:
        raise refusal
    return actor


def _mall_lockout(runtime: Runtime, username: str, ok: bool, now) -> AuthError | None:
    """Report the result to the hub; its mall-wide lock, kept here too, refuses the login."""
    from mppdesk.desk.hub import report_login

    until = report_login(runtime, username, ok, now)
    if until is None or until <= now:
        return None
    until = min(until, lockout.locked_until(now))  # never longer than a lock of our own
    with runtime.store.write() as session:
        officer = repo.get_officer(session, username)
        if officer is not None:
            officer.locked_until = until
        repo.append_audit(
            session,
            actor=username,
            action="login.locked_mall",
            object_type="officer",
            object_id=username,
        )
    return AccountLocked.of("auth.locked", until=f"{until.astimezone(runtime.tz):%H:%M}")


def _check_password(
    session, officer, username: str, password: str, now, tz
) -> AuthError | None:
    # A disabled account's own hash is verified too: "disabled" is said only to someone who
    # knows its password (anyone else reads "wrong name or password"), and the time taken
    # is the same either way.
    stored_hash = officer.password_hash if officer is not None else _dummy()
    try:
        HASHER.verify(stored_hash, password)
        ok = officer is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if ok and not officer.active:
        repo.record_login_attempt(session, username, False, now)
        repo.append_audit(
            session,
            actor=username,
            action="login.refused_disabled",
            object_type="officer",
            object_id=username,
        )
        return AccountDisabled.of("accounts.disabled")
    repo.record_login_attempt(session, username, ok, now)
    if not ok:
        # The attempt just recorded is flushed and counted; failures count from the latest
        # success by recording order, so a success stamped by a clock that was ahead does
        # not hide the failures made after the clock was corrected.
        attempts = repo.recent_login_attempts(session, username, lockout.RECENT_ATTEMPTS)
        failures = [
            at for at in lockout.failures_since_success(attempts) if now - at <= lockout.WINDOW
        ]
        left = lockout.attempts_left(failures, now)
        if officer is not None and lockout.should_lock(failures, now):
            officer.locked_until = lockout.locked_until(now)
            repo.append_audit(
                session,
                actor=username,
                action="login.locked",
                object_type="officer",
                object_id=username,
                details={"failures": len(failures)},
            )
        else:
            repo.append_audit(
                session,
                actor=username,
                action="login.failed",
                object_type="officer",
                object_id=username,
            )
        if left == 0:
            # Unknown names read the same as a locked account: nothing tells them apart.
            until = lockout.locked_until(now)
            if officer is not None and officer.locked_until is not None:
                until = officer.locked_until
            return AccountLocked.of(
                "accounts.locked_now",
                failures=lockout.MAX_FAILURES,
                until=f"{until.astimezone(tz):%H:%M}",
            )
        return AuthError.of("accounts.bad_credentials_left", left=left)
    if HASHER.check_needs_rehash(officer.password_hash):
        officer.password_hash = HASHER.hash(password)
    officer.last_login_at = now
    officer.locked_until = None
    repo.append_audit(
        session, actor=username, action="login.ok", object_type="officer", object_id=username
    )
    return None


# --- account administration (admins in the window, the data dir's OS account in the CLI) ---


@dataclass(frozen=True)
class Account:
    """One officer account as the admin screen and ``user list`` show it (never the hash)."""

    username: str
    full_name: str
    role: str
    active: bool
    locked_until: datetime | None  # when a lock in force ends; None when not locked
    last_login_at: datetime | None

    @property
    def locked(self) -> bool:
        return self.locked_until is not None

    def as_dict(self, tz) -> dict[str, object]:
        def local(value: datetime | None) -> str | None:
            return value.astimezone(tz).isoformat(timespec="seconds") if value else None

        return {
            "username": self.username,
            "full_name": self.full_name,
            "role": self.role,
            "active": self.active,
            "locked": self.locked,
            "locked_until": local(self.locked_until),
            "last_login_at": local(self.last_login_at),
        }


def list_accounts(runtime: Runtime, actor: Actor) -> list[Account]:
    """Every account with whether it is disabled or locked right now (by this desk's clock)."""
    require(actor, Operation.MANAGE_USERS)
    now = runtime.now()
    with runtime.store.read() as session:
        return [
            Account(
                username=o.username,
                full_name=o.full_name,
                role=o.role,
                active=bool(o.active),
                locked_until=lockout.effective_lock_end(o.locked_until, now),
                last_login_at=o.last_login_at,
            )
            for o in repo.list_officers(session)
        ]


def _account(session, username: str):
    officer = repo.get_officer(session, username)
    if officer is None:
        raise NotFound.of("accounts.user_unknown", user=username)
    return officer


def _reset_failures(session, officer, now: datetime) -> None:
    """Lift a lock and forget the failures before now (``lockout``: a reset point)."""
    officer.locked_until = None
    repo.record_login_attempt(session, officer.username, True, now)


def unlock_user(runtime: Runtime, actor: Actor, username: str) -> Changes:
    """Lift a lockout now, so a locked-out officer does not wait out the lock period."""
    require(actor, Operation.MANAGE_USERS)
    now = runtime.now()
    with runtime.store.write() as session:
        officer = _account(session, username)
        was_locked = lockout.effective_lock_end(officer.locked_until, now) is not None
        _reset_failures(session, officer, now)
        repo.append_audit(
            session,
            actor=actor.username,
            action="user.unlocked",
            object_type="officer",
            object_id=username,
            details={"was_locked": was_locked},
        )
    return Changes.of(Kind.USERS)


def set_user_active(runtime: Runtime, actor: Actor, username: str, active: bool) -> Changes:
    """Disable an account (it can no longer sign in) or enable it again.

    Refused for the acting admin's own account and for the last active admin: a desk
    nobody can administer needs the OS account to repair it.
    """
    require(actor, Operation.MANAGE_USERS)
    now = runtime.now()
    with runtime.store.write() as session:
        officer = _account(session, username)
        if not active:
            if username == actor.username:
                raise InvalidInput([FieldError.of("username", "accounts.self_disable")])
            if officer.role == Role.ADMIN and officer.active:
                admins = [
                    o for o in repo.list_officers(session) if o.role == Role.ADMIN and o.active
                ]
                if len(admins) <= 1:
                    raise InvalidInput([FieldError.of("username", "accounts.last_admin")])
        changed = bool(officer.active) != active
        officer.active = active
        if active:
            _reset_failures(session, officer, now)
        repo.append_audit(
            session,
            actor=actor.username,
            action="user.enabled" if active else "user.disabled",
            object_type="officer",
            object_id=username,
            details={"changed": changed},
        )
    return Changes.of(Kind.USERS)


def reset_password(runtime: Runtime, actor: Actor, username: str, password: str) -> Changes:
    """Give an account a new password (the officer forgot it); this also lifts a lock."""
    require(actor, Operation.MANAGE_USERS)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            [FieldError.of("password", "error.password_short", minimum=MIN_PASSWORD_LENGTH)]
        )
    password_hash = HASHER.hash(password)  # outside the write transaction: it takes a while
    now = runtime.now()
    with runtime.store.write() as session:
        officer = _account(session, username)
        officer.password_hash = password_hash
        _reset_failures(session, officer, now)
        repo.append_audit(
            session,
            actor=actor.username,
            action="user.password_reset",
            object_type="officer",
            object_id=username,
        )
    return Changes.of(Kind.USERS)
