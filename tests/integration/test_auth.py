"""Officer accounts: argon2id, lockout, the same message for unknown user and wrong password."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mppdesk.desk.auth import HASHER, add_user, login, os_actor
from mppdesk.desk.errors import AuthError, InvalidInput
from mppdesk.store import repo
from tests.conftest import PASSWORD, make_user, run_cli


def test_hash_parameters_meet_owasp(runtime):
    make_user(runtime, "ani", "officer")
    with runtime.store.read() as session:
        stored = repo.get_officer(session, "ani").password_hash
    assert stored.startswith("$argon2id$")
    assert "m=19456,t=2,p=1" in stored
    assert HASHER.memory_cost >= 19 * 1024 and HASHER.time_cost >= 2


def test_unknown_user_and_wrong_password_get_the_same_message(runtime):
    make_user(runtime, "ani", "officer")
    with pytest.raises(AuthError) as wrong:
        login(runtime, "ani", "salah-sandi")
    with pytest.raises(AuthError) as unknown:
        login(runtime, "tidak-ada", "salah-sandi")
    assert str(wrong.value) == str(unknown.value)


def test_lockout_after_five_failures_within_fifteen_minutes(runtime):
    make_user(runtime, "ani", "officer")
    start = datetime.now(UTC) + timedelta(hours=1)  # after the fixture's real login
    clock = {"now": start}
    runtime.clock = lambda: clock["now"]
    for minute in range(5):
        clock["now"] = start + timedelta(minutes=minute)
        with pytest.raises(AuthError, match="salah"):
            login(runtime, "ani", "salah-sandi")
    clock["now"] = start + timedelta(minutes=5)
    with pytest.raises(AuthError, match="terkunci"):
        login(runtime, "ani", PASSWORD)  # even the right password is refused while locked
    clock["now"] = start + timedelta(minutes=25)
    assert login(runtime, "ani", PASSWORD).username == "ani"
    with runtime.store.read() as session:
        actions = [e.action for e in repo.audit_events(session)]
    assert actions.count("login.locked") == 1
    assert "login.refused_locked" in actions


def test_failures_spread_over_more_than_the_window_do_not_lock(runtime):
    make_user(runtime, "ani", "officer")
    start = datetime.now(UTC) + timedelta(hours=1)  # after the fixture's real login
    clock = {"now": start}
    runtime.clock = lambda: clock["now"]
    for i in range(6):
        clock["now"] = start + timedelta(minutes=5 * i)
        with pytest.raises(AuthError, match="salah"):
            login(runtime, "ani", "salah-sandi")
    assert login(runtime, "ani", PASSWORD).role == "officer"


def test_user_add_refuses_bad_input(runtime):
    with pytest.raises(InvalidInput) as caught:
        add_user(runtime, os_actor(), "A B", "king", "short")
    assert {e.path for e in caught.value.errors} == {"username", "role", "password"}
    make_user(runtime, "ani", "officer")
    with pytest.raises(InvalidInput, match="sudah ada"):
        add_user(runtime, os_actor(), "ani", "officer", "another-password")


def test_cli_user_add_and_locked_login_exit_4(tmp_path, data_dir):
    assert run_cli("init", data_dir=data_dir).returncode == 0
    result = run_cli("user", "add", "budi", "--role", "officer", "--password-stdin",
                     stdin=PASSWORD + "\n", data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    visit = tmp_path / "v.json"
    visit.write_text("{}")
    for _ in range(5):
        result = run_cli("intake", "--input", str(visit), "--user", "budi", "--password-stdin",
                         stdin="salah-sandi\n", data_dir=data_dir)
        assert result.returncode == 4
    result = run_cli("intake", "--input", str(visit), "--user", "budi", "--password-stdin",
                     stdin=PASSWORD + "\n", data_dir=data_dir)
    assert result.returncode == 4
    assert "terkunci" in result.stderr


def test_a_success_stamped_while_the_clock_was_ahead_does_not_switch_lockout_off(runtime):
    """Issue 10 item 8: only failures after the newest success counted, by time; a success at
    a clock a day ahead then hid every failure after the clock was corrected."""
    make_user(runtime, "ani", "officer")
    corrected = datetime.now(UTC) + timedelta(hours=1)  # after the fixture's real login
    clock = {"now": corrected + timedelta(days=1)}
    runtime.clock = lambda: clock["now"]
    assert login(runtime, "ani", PASSWORD).username == "ani"  # stamped a day ahead
    for minute in range(5):
        clock["now"] = corrected + timedelta(minutes=minute)  # the clock was put right
        with pytest.raises(AuthError, match="salah"):
            login(runtime, "ani", "salah-sandi")
    clock["now"] = corrected + timedelta(minutes=5)
    with pytest.raises(AuthError, match="terkunci"):
        login(runtime, "ani", PASSWORD)


def test_a_success_recorded_after_failures_resets_the_count(runtime):
    """Recording order, not time, decides: a success recorded last (even stamped earlier,
    by a clock set back) ends the run of failures before it."""
    make_user(runtime, "ani", "officer")
    start = datetime.now(UTC) + timedelta(hours=1)
    clock = {"now": start}
    runtime.clock = lambda: clock["now"]
    for minute in range(4):
        clock["now"] = start + timedelta(minutes=minute)
        with pytest.raises(AuthError, match="salah"):
            login(runtime, "ani", "salah-sandi")
    clock["now"] = start - timedelta(minutes=30)  # the clock was set back
    assert login(runtime, "ani", PASSWORD).username == "ani"
    clock["now"] = start + timedelta(minutes=5)
    with pytest.raises(AuthError, match="salah"):
        login(runtime, "ani", "salah-sandi")  # the fifth failure in the window, but after a success
    assert login(runtime, "ani", PASSWORD).username == "ani"


def test_a_lock_set_while_the_clock_was_ahead_lasts_at_most_the_lock_period(runtime):
    make_user(runtime, "ani", "officer")
    corrected = datetime.now(UTC) + timedelta(hours=1)
    clock = {"now": corrected + timedelta(days=1)}
    runtime.clock = lambda: clock["now"]
    for _ in range(5):
        with pytest.raises(AuthError, match="salah"):
            login(runtime, "ani", "salah-sandi")  # locked until a day + 15 min from now
    clock["now"] = corrected
    with pytest.raises(AuthError, match="terkunci"):
        login(runtime, "ani", PASSWORD)
    clock["now"] = corrected + timedelta(minutes=16)
    assert login(runtime, "ani", PASSWORD).username == "ani"
