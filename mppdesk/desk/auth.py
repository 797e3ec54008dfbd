"""Officers: accounts, argon2id password hashes, login with lockout, permission checks."""

from __future__ import annotations

import getpass
import logging
import re
from dataclasses import dataclass

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
        else:
            refusal = _check_password(session, officer, username, password, now)
            if refusal is None:
                actor = Actor(
                    username=officer.username, role=officer.role, full_name=officer.full_name
                )
    if runtime.settings.hub.url and not isinstance(refusal, AccountLocked):
        # Joined to the mall hub: a lockout counts across every desk of the mall.
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


def _check_password(session, officer, username: str, password: str, now) -> AuthError | None:
    stored_hash = officer.password_hash if officer is not None and officer.active else _dummy()
    try:
        HASHER.verify(stored_hash, password)
        ok = officer is not None and officer.active
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    repo.record_login_attempt(session, username, ok, now)
    if not ok:
        # The attempt just recorded is flushed and counted; failures count from the latest
        # success by recording order, so a success stamped by a clock that was ahead does
        # not hide the failures made after the clock was corrected.
        attempts = repo.recent_login_attempts(session, username, lockout.RECENT_ATTEMPTS)
        failures = [
            at for at in lockout.failures_since_success(attempts) if now - at <= lockout.WINDOW
        ]
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
        return AuthError.of("auth.bad_credentials")
    if HASHER.check_needs_rehash(officer.password_hash):
        officer.password_hash = HASHER.hash(password)
    officer.last_login_at = now
    officer.locked_until = None
    repo.append_audit(
        session, actor=username, action="login.ok", object_type="officer", object_id=username
    )
    return None
