"""Account administration: unlock, disable/enable, password reset, attempts left (desk + CLI)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from mppdesk.core import lockout
from mppdesk.core.messages import text
from mppdesk.desk.auth import (
    AccountDisabled,
    list_accounts,
    login,
    os_actor,
    reset_password,
    set_user_active,
    unlock_user,
)
from mppdesk.desk.errors import AccountLocked, AuthError, InvalidInput, PermissionDenied
from mppdesk.store import repo
from tests.conftest import PASSWORD, cli_json, make_user, run_cli


def _clocked(runtime) -> dict:
    clock = {"now": datetime.now(UTC) + timedelta(hours=1)}  # after the fixture's real login
    runtime.clock = lambda: clock["now"]
    return clock


def _admin_and_locked_ani(runtime):
    """The admin ``kepala``, and the officer ``ani`` locked out by wrong passwords."""
    make_user(runtime, "ani", "officer")
    admin = make_user(runtime, "kepala", "admin")
    _clocked(runtime)
    _fail_until_locked(runtime, "ani")
    return admin


def _fail_until_locked(runtime, username: str) -> list[AuthError]:
    refusals = []
    for _ in range(lockout.MAX_FAILURES):
        with pytest.raises(AuthError) as refused:
            login(runtime, username, "salah-sandi")
        refusals.append(refused.value)
    return refusals


def test_each_failure_says_how_many_attempts_are_left_and_the_last_says_locked(runtime):
    make_user(runtime, "ani", "officer")
    _clocked(runtime)
    refusals = _fail_until_locked(runtime, "ani")
    assert [r.params.get("left") for r in refusals[:-1]] == [4, 3, 2, 1]
    assert all(r.code == "accounts.bad_credentials_left" for r in refusals[:-1])
    assert "Sisa 1 kali" in str(refusals[3])
    assert isinstance(refusals[-1], AccountLocked) and "dikunci sampai" in str(refusals[-1])
    # An unknown name reads exactly the same, count for count.
    unknown = _fail_until_locked(runtime, "tidak-ada")
    assert [str(r) for r in unknown] == [str(r) for r in refusals]


def test_an_admin_unlock_lets_a_locked_officer_in_at_once_with_full_attempts(runtime):
    admin = _admin_and_locked_ani(runtime)
    with pytest.raises(AccountLocked):
        login(runtime, "ani", PASSWORD)
    [ani] = [a for a in list_accounts(runtime, admin) if a.username == "ani"]
    assert ani.locked and ani.active
    unlock_user(runtime, admin, "ani")
    assert not [a for a in list_accounts(runtime, admin) if a.username == "ani"][0].locked
    # The failures before the unlock no longer count: a typo now leaves 4 tries, not a lock.
    with pytest.raises(AuthError) as typo:
        login(runtime, "ani", "salah-lagi")
    assert typo.value.params["left"] == 4
    assert login(runtime, "ani", PASSWORD).username == "ani"
    with runtime.store.read() as session:
        unlocked = [e for e in repo.audit_events(session) if e.action == "user.unlocked"]
    assert [(e.actor, e.object_id, e.details) for e in unlocked] == [
        ("kepala", "ani", {"was_locked": True})
    ]


def test_a_disabled_account_cannot_sign_in_and_only_its_password_learns_why(runtime):
    make_user(runtime, "ani", "officer")
    admin = make_user(runtime, "kepala", "admin")
    set_user_active(runtime, admin, "ani", False)
    with pytest.raises(AccountDisabled) as disabled:
        login(runtime, "ani", PASSWORD)
    assert disabled.value.code == "accounts.disabled"
    with pytest.raises(AuthError) as wrong:
        login(runtime, "ani", "salah-sandi")
    assert not isinstance(wrong.value, AccountDisabled)  # a guesser learns nothing more
    set_user_active(runtime, admin, "ani", True)
    assert login(runtime, "ani", PASSWORD).username == "ani"
    with runtime.store.read() as session:
        actions = [e.action for e in repo.audit_events(session)]
    assert actions.count("user.disabled") == 1 and actions.count("user.enabled") == 1
    assert "login.refused_disabled" in actions


def test_an_admin_cannot_disable_themself_or_the_last_admin(runtime):
    admin = make_user(runtime, "kepala", "admin")
    with pytest.raises(InvalidInput) as own:
        set_user_active(runtime, admin, "kepala", False)
    assert own.value.errors[0].code == "accounts.self_disable"
    with pytest.raises(InvalidInput) as last:
        set_user_active(runtime, os_actor(), "kepala", False)
    assert last.value.errors[0].code == "accounts.last_admin"
    make_user(runtime, "wakil", "admin")
    set_user_active(runtime, os_actor(), "kepala", False)  # another admin remains
    with pytest.raises(AccountDisabled):
        login(runtime, "kepala", PASSWORD)


def test_reset_password_replaces_the_old_one_and_lifts_the_lock(runtime):
    admin = _admin_and_locked_ani(runtime)
    with pytest.raises(InvalidInput):
        reset_password(runtime, admin, "ani", "pendek")
    reset_password(runtime, admin, "ani", "sandi-baru-ani-2")
    with pytest.raises(AuthError):
        login(runtime, "ani", PASSWORD)
    assert login(runtime, "ani", "sandi-baru-ani-2").username == "ani"


def test_officers_and_supervisors_may_not_manage_accounts(runtime):
    officer = make_user(runtime, "ani", "officer")
    supervisor = make_user(runtime, "sari", "supervisor")
    for actor in (officer, supervisor):
        with pytest.raises(PermissionDenied):
            unlock_user(runtime, actor, "ani")
        with pytest.raises(PermissionDenied):
            list_accounts(runtime, actor)


def test_cli_user_list_unlock_disable_reset_password(tmp_path, data_dir):
    assert run_cli("init", data_dir=data_dir).returncode == 0
    for name, role in (("budi", "officer"), ("kepala", "admin")):
        added = run_cli("user", "add", name, "--role", role, "--password-stdin",
                        stdin=PASSWORD + "\n", data_dir=data_dir)
        assert added.returncode == 0, added.stderr
    visit = tmp_path / "v.json"
    visit.write_text("{}")

    def intake(password: str):
        return run_cli("intake", "--input", str(visit), "--user", "budi", "--password-stdin",
                       "--json", "--lang", "en", stdin=password + "\n", data_dir=data_dir)

    first = intake("salah-sandi")
    assert first.returncode == 4
    assert cli_json(first)["error"] == text("accounts.bad_credentials_left", "en", left=4)
    for _ in range(4):
        assert intake("salah-sandi").returncode == 4
    listed = cli_json(run_cli("user", "list", "--json", data_dir=data_dir))
    budi = next(row for row in listed if row["username"] == "budi")
    assert budi["locked"] is True and budi["active"] is True and budi["locked_until"]
    assert set(budi) == {"username", "full_name", "role", "active", "locked", "locked_until",
                         "last_login_at"}

    unlocked = run_cli("user", "unlock", "budi", data_dir=data_dir, env={"MPPDESK_LANG": "en"})
    assert unlocked.returncode == 0 and "Account budi unlocked." in unlocked.stderr
    assert intake(PASSWORD).returncode == 2  # signed in; "{}" is not a visit

    assert run_cli("user", "disable", "budi", data_dir=data_dir).returncode == 0
    refused = intake(PASSWORD)
    assert refused.returncode == 4
    assert json.loads(refused.stdout)["code"] == "accounts.disabled"
    listed = cli_json(run_cli("user", "list", "--json", data_dir=data_dir))
    assert next(r for r in listed if r["username"] == "budi")["active"] is False

    assert run_cli("user", "enable", "budi", data_dir=data_dir).returncode == 0
    reset = run_cli("user", "reset-password", "budi", "--password-stdin",
                    stdin="sandi-baru-budi\n", data_dir=data_dir)
    assert reset.returncode == 0, reset.stderr
    assert intake(PASSWORD).returncode == 4
    assert intake("sandi-baru-budi").returncode == 2

    short = run_cli("user", "reset-password", "budi", "--password-stdin", stdin="pendek\n",
                    data_dir=data_dir)
    assert short.returncode == 2
    unknown = run_cli("user", "unlock", "siapa", data_dir=data_dir)
    assert unknown.returncode == 2 and "siapa" in unknown.stderr
    last_admin = run_cli("user", "disable", "kepala", data_dir=data_dir)
    assert last_admin.returncode == 2

    verify = run_cli("audit", "verify", "--json", data_dir=data_dir)
    assert cli_json(verify)["ok"] is True
