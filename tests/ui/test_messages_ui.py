"""The window words the desk's errors from their codes, in the language it shows.

Issue 11 item 2: an error carries a code and parameters; the window renders it through one
function in Bahasa Indonesia or English, and a locked account is known by its type, never by
matching words in a message.
"""

from __future__ import annotations

import pytest

from mppdesk.core.messages import text
from mppdesk.desk.auth import login
from mppdesk.desk.errors import AccountLocked, AuthError, FieldError, InvalidInput
from mppdesk.store import repo
from mppdesk.ui import i18n
from mppdesk.ui.window import DeskWindow
from tests.conftest import PASSWORD, make_user
from tests.ui.desk_ui import open_window, sign_in, sign_in_to_visit


@pytest.fixture
def english():
    """The window in English for one test, Indonesian again afterwards."""
    i18n.set_language("en")
    yield
    i18n.set_language("id")


def test_an_error_code_is_worded_in_both_languages_in_the_users_dialog(qtbot, runtime):
    from mppdesk.ui.admin import AddUserDialog

    make_user(runtime, "kepala", "admin")
    window = open_window(qtbot, runtime)
    sign_in_to_visit(qtbot, window, "kepala", PASSWORD)
    window.actions_by_name["users"].trigger()
    dialog = window.findChild(AddUserDialog)
    qtbot.waitUntil(dialog.isVisible)
    dialog.username.setText("dewi")
    dialog.password.setText("pendek")
    dialog.ok.click()
    qtbot.waitUntil(dialog.message.isVisible)
    assert dialog.message.text() == "Kata sandi minimal 8 karakter"
    assert dialog.message.text() == text("error.password_short", "id", minimum=8)

    dialog.message.clear()
    i18n.set_language("en")
    try:
        dialog.ok.click()  # the same refusal, now read in English
        qtbot.waitUntil(lambda: dialog.message.text() != "")
        assert dialog.message.text() == "Password needs at least 8 characters"
    finally:
        i18n.set_language("id")
    dialog.reject()


def _lock(runtime, username: str) -> str:
    """Fail the password until the account locks; the HH:MM it is locked until."""
    for _ in range(10):
        try:
            login(runtime, username, "salah-sandi")
        except AccountLocked as locked:
            return locked.params["until"]
        except AuthError:
            continue
    raise AssertionError("the account never locked")


def test_a_locked_account_is_explained_in_english_from_its_code(qtbot, runtime, english):
    """The desk is set to English; the lock comes from the store, through the sign-in task."""
    from mppdesk.desk.auth import os_actor
    from mppdesk.desk.counter import update_desk_preferences

    update_desk_preferences(
        runtime,
        os_actor(),
        language="en",
        idle_lock_minutes=runtime.settings.desk.idle_lock_minutes,
    )
    make_user(runtime, "ani", "officer")
    until = _lock(runtime, "ani")
    with runtime.store.read() as session:
        stored = repo.get_officer(session, "ani").locked_until.astimezone(runtime.tz)
    assert until == f"{stored:%H:%M}"

    window = open_window(qtbot, runtime)
    assert i18n.language() == "en"  # the desk's setting
    page = window.login_page
    sign_in(qtbot, window, "ani", PASSWORD)
    expected = i18n.tr("login.locked", until=until)
    qtbot.waitUntil(lambda: page.message.text() == expected)
    assert expected.startswith("This account is locked") and until in expected
    assert window.actor is None


def test_the_window_knows_a_locked_account_by_its_type_not_its_words():
    locked = AccountLocked.of("auth.locked", until="09:41")
    assert "09:41" in DeskWindow._explain(locked)
    assert DeskWindow._explain(locked) == i18n.tr("login.locked", until="09:41")
    # Words that say "locked" in a plain refusal no longer make it a lock.
    worded = AuthError("Akun terkunci sampai 10:00 (Account locked until 10:00)")
    assert DeskWindow._explain(worded) == i18n.tr("login.wrong")


def test_error_text_is_the_one_rendering_of_invalid_input(english):
    error = InvalidInput(
        [
            FieldError.of("password", "error.password_short", minimum=8),
            FieldError("proxy.nik", "NIK harus 16 digit", "A NIK is 16 digits"),
        ]
    )
    assert i18n.error_text(error) == (
        "Password needs at least 8 characters\nA NIK is 16 digits"
    )
    assert i18n.error_text(error, with_paths=True).splitlines()[0] == (
        "password: Password needs at least 8 characters"
    )
    i18n.set_language("id")
    assert i18n.error_text(error).splitlines() == [
        "Kata sandi minimal 8 karakter",
        "NIK harus 16 digit",
    ]
