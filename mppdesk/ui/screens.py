"""Every screen the window can show, in one place: a new screen is its module plus one line.

A ``Screen`` names its key, the text code of its menu entry, its shortcut, the operation a
role must be allowed (``mppdesk.core.permissions``), the menu it sits in and a factory. The
window builds its menus, its shortcuts and its pages from ``available(actor)``; a page that
is a ``ChangeListener`` (``mppdesk.ui.notifier``) is followed by the window's notifier, so it
reloads when what it shows changed without any wiring in the window.

Pages (``dialog=False``) are built once per sign-in and kept; dialogs are built each time.
The counter (visit and done pages) is the window's own flow and not listed here.
Factories import their module when first called, so the sign-in screen does not pay for them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QWidget

from mppdesk.core.permissions import Operation
from mppdesk.ui.tasks import TaskRunner

if TYPE_CHECKING:  # the window imports this before sign-in: no store or argon2 yet
    from mppdesk.desk.auth import Actor
    from mppdesk.desk.runtime import Runtime

MENU_SUBMISSIONS = "menu.submissions"
MENU_ADMIN = "menu.admin"
MENU_ORDER = (MENU_SUBMISSIONS, MENU_ADMIN)  # other menus a screen names follow these


@dataclass(frozen=True)
class ScreenContext:
    """What a factory gets: the signed-in session and where to put its widget."""

    runtime: Runtime
    actor: Actor
    tasks: TaskRunner
    parent: QWidget
    show_message: Callable[[str], None]  # a line in the window's status bar


@dataclass(frozen=True)
class Screen:
    key: str  # "submissions"; also the window's ``page_changed`` value
    title: str  # text code of the menu entry (mppdesk.ui.i18n)
    shortcut: str  # "F6"; "" for none
    permission: Operation | None  # None: every signed-in role
    factory: Callable[[ScreenContext], QWidget]
    menu: str = MENU_SUBMISSIONS
    dialog: bool = False
    action_name: str = ""  # the menu action's object name (tests and the tour find it)

    @property
    def action(self) -> str:
        return self.action_name or f"show{self.key[:1].upper()}{self.key[1:]}"

    def allowed(self, actor: Any) -> bool:
        return self.permission is None or bool(actor.may(self.permission))


_SCREENS: dict[str, Screen] = {}


def register(screen: Screen) -> Screen:
    """Add a screen (or replace the one with its key); its shortcut must be free."""
    for other in _SCREENS.values():
        if other.key != screen.key and screen.shortcut and other.shortcut == screen.shortcut:
            raise ValueError(f"shortcut {screen.shortcut} is taken by {other.key}")
    _SCREENS[screen.key] = screen
    return screen


def unregister(key: str) -> None:
    _SCREENS.pop(key, None)


@contextmanager
def registered(screen: Screen) -> Iterator[Screen]:
    """A screen for the length of a ``with`` block (a test's, a plug-in's)."""
    register(screen)
    try:
        yield screen
    finally:
        unregister(screen.key)


def get(key: str) -> Screen | None:
    return _SCREENS.get(key)


def available(actor: Any) -> list[Screen]:
    """The screens this actor may open, in registration order."""
    return [screen for screen in _SCREENS.values() if screen.allowed(actor)]


def menus(actor: Any) -> list[tuple[str, list[Screen]]]:
    """(menu text code, its screens) for this actor, the usual menus first."""
    by_menu: dict[str, list[Screen]] = {}
    for screen in available(actor):
        by_menu.setdefault(screen.menu, []).append(screen)
    order = [*MENU_ORDER, *(m for m in by_menu if m not in MENU_ORDER)]
    return [(menu, by_menu[menu]) for menu in order if menu in by_menu]


# --- the desk's screens -------------------------------------------------------------------


def _submissions(ctx: ScreenContext) -> QWidget:
    from mppdesk.ui.submissions import SubmissionsPage

    return SubmissionsPage(ctx.runtime, ctx.actor, ctx.tasks, ctx.parent)


def _dashboard(ctx: ScreenContext) -> QWidget:
    from mppdesk.ui.dashboard import DashboardPage

    return DashboardPage(ctx.runtime, ctx.actor, ctx.tasks, ctx.parent)


def _collection(ctx: ScreenContext) -> QWidget:
    from mppdesk.ui.collection import CollectionDialog

    return CollectionDialog(ctx.runtime, ctx.actor, ctx.tasks, ctx.parent)


def _users(ctx: ScreenContext) -> QWidget:
    from mppdesk.ui.admin import AddUserDialog

    return AddUserDialog(ctx.runtime, ctx.actor, ctx.tasks, ctx.parent, ctx.show_message)


def _settings(ctx: ScreenContext) -> QWidget:
    from mppdesk.ui.admin import SettingsDialog

    return SettingsDialog(ctx.runtime, ctx.actor, ctx.tasks, ctx.parent, ctx.show_message)


register(Screen("submissions", "action.submissions", "F6", Operation.VIEW_OWN, _submissions))
register(Screen("dashboard", "action.dashboard", "F9", Operation.REPORT, _dashboard))
register(
    Screen("collection", "action.collection", "F7", Operation.COLLECT, _collection, dialog=True)
)
register(
    Screen("users", "action.users", "", Operation.MANAGE_USERS, _users, MENU_ADMIN, True, "users")
)
register(
    Screen(
        "settings",
        "action.settings",
        "",
        Operation.MANAGE_SETTINGS,
        _settings,
        MENU_ADMIN,
        True,
        "settings",
    )
)


def _accounts(ctx: ScreenContext) -> QWidget:
    from mppdesk.ui.admin import AccountsDialog

    return AccountsDialog(ctx.runtime, ctx.actor, ctx.tasks, ctx.parent, ctx.show_message)


register(
    Screen(
        "accounts",
        "accounts.action",
        "",
        Operation.MANAGE_USERS,
        _accounts,
        MENU_ADMIN,
        True,
        "accounts",
    )
)


def _access_log(ctx: ScreenContext) -> QWidget:
    from mppdesk.ui.access_log import AccessLogPage

    return AccessLogPage(ctx.runtime, ctx.actor, ctx.tasks, ctx.parent)


register(
    Screen(
        "access_log",
        "audit.action_menu",
        "",
        Operation.REPORT,
        _access_log,
        action_name="accessLog",
    )
)


def _handover(ctx: ScreenContext) -> QWidget:
    from mppdesk.ui.handover import HandoverPage

    return HandoverPage(ctx.runtime, ctx.actor, ctx.tasks, ctx.parent)


def _info_desk(ctx: ScreenContext) -> QWidget:
    from mppdesk.ui.info_desk import InfoDeskPage

    return InfoDeskPage(ctx.runtime, ctx.actor, ctx.tasks, ctx.parent)


register(Screen("handover", "action.handover", "F12", Operation.INTAKE, _handover))
register(Screen("infodesk", "action.infodesk", "F11", Operation.INTAKE, _info_desk))


def _kiosk(ctx: ScreenContext) -> QWidget:
    from mppdesk.ui.kiosk import KioskPage

    return KioskPage(ctx.runtime, ctx.actor, ctx.tasks, ctx.parent)


register(Screen("kiosk", "tickets.kiosk_action", "", Operation.INTAKE, _kiosk))
