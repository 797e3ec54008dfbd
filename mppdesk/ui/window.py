"""The desk window: sign-in, the counter, submissions, collection, lock; menus by role.

The window appears at once with the sign-in page; the store and the catalog open in the
background (``open_install``) and the page becomes usable when they are ready. Everything
after sign-in is imported then, so the first paint does not wait for SQLAlchemy, the
catalog or argon2.

Screens other than the counter come from the registry (``mppdesk.ui.screens``): menus,
shortcuts and pages are built from it. What an operation changed reaches the views through
the window's ``ChangeNotifier`` (``mppdesk.ui.notifier``); the window wires no view to another.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

# QAction, QMessageBox and friends are imported where used: PySide builds each class's enums
# on first touch, and the sign-in window should not pay for menus it shows only later.
from PySide6 import QtCore  # QtCore.Qt is touched only after the window is up
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QLabel, QLayout, QMainWindow, QStackedWidget, QStatusBar, QWidget

from mppdesk.core.changes import Changes, Kind
from mppdesk.ui import i18n, screens
from mppdesk.ui.i18n import plain, tr
from mppdesk.ui.idle import IdleWatcher
from mppdesk.ui.login import FAILED, LOGIN, SETUP, LockPage, LoginPage
from mppdesk.ui.notifier import ChangeListener, ChangeNotifier, announce
from mppdesk.ui.tasks import TaskRunner

log = logging.getLogger(__name__)


class DeskWindow(QMainWindow):
    """``signed_in(actor)``, ``locked()`` and ``runtime_ready()`` let tests and the tour follow."""

    runtime_ready = Signal()
    signed_in = Signal(object)
    signed_out = Signal()
    locked = Signal()
    unlocked = Signal()
    page_changed = Signal(str)

    def __init__(
        self,
        *,
        runtime: Any = None,
        demo_accounts: list[tuple[str, str, str, str]] | None = None,
        idle_lock_ms: int | None = None,
        draft_delay_ms: int = 1200,
        start_sync: bool = True,
    ):
        super().__init__()
        self.setObjectName("deskWindow")
        self.setWindowTitle(plain("app.title"))
        self.resize(1360, 860)
        # The window's minimum size is fixed here rather than following every page's layout:
        # pages are swapped all day and a moving minimum makes the window jump.
        self.setMinimumSize(1024, 680)
        self.layout().setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        self.tasks = TaskRunner(self)
        self.tasks.failed.connect(self._task_failed)
        self.notifier = ChangeNotifier(self)
        self.runtime = runtime
        self.actor: Any = None
        self.demo_accounts = demo_accounts or []
        self.idle_lock_ms = idle_lock_ms
        self.draft_delay_ms = draft_delay_ms
        self.start_sync = start_sync
        self.sync_bridge: Any = None
        self.sync_bar: QWidget | None = None
        self.visit_page: Any = None
        self.done_page: Any = None
        self.screen_pages: dict[str, QWidget] = {}  # registered pages built since sign-in
        self.is_locked = False
        self._lock_minutes: int | None = None
        self._ticket_group: str | None = None  # kept from one visit to the next

        self.pages = QStackedWidget()
        self.pages.setObjectName("pages")
        self.setCentralWidget(self.pages)
        self.login_page = LoginPage()
        self.login_page.login_requested.connect(self._login)
        self.login_page.setup_requested.connect(self._setup)
        self.login_page.set_demo_accounts(self.demo_accounts)
        self.pages.addWidget(self.login_page)
        self.lock_page = LockPage()
        self.lock_page.unlock_requested.connect(self._unlock)
        self.lock_page.switch_requested.connect(self.sign_out)
        self.pages.addWidget(self.lock_page)
        self.counter_host = QStackedWidget()
        self.counter_host.setObjectName("pages")
        self.pages.addWidget(self.counter_host)

        status = QStatusBar()
        status.setSizeGripEnabled(False)
        self.user_label = QLabel()
        self.user_label.setObjectName("muted")
        status.addWidget(self.user_label)
        self.setStatusBar(status)

        self.idle = IdleWatcher(idle_lock_ms or 10 * 60_000, self)
        self.idle.idle.connect(lambda: self.lock(idle=True))
        self.menus: list[Any] = []
        self.actions_by_name: dict[str, Any] = {}
        self.notifier.follow(self)  # settings changed: idle lock and language
        if runtime is not None:
            QTimer.singleShot(0, lambda: self.set_runtime(runtime))

    # --- opening the install ------------------------------------------------------------

    def open_install(self, data_dir: Path, db_url: str | None = None) -> None:
        """Open store and catalog in the background; the sign-in page waits meanwhile."""

        self._data_dir = Path(data_dir)

        def work() -> Any:
            from mppdesk.desk.runtime import open_runtime

            return open_runtime(Path(data_dir), db_url)

        self.tasks.run(work, self.set_runtime, self._open_failed)

    def _open_failed(self, error: BaseException) -> None:
        from mppdesk.ui.crash_hook import failure_text

        # A known fault (disk, store, key, settings) in plain words; anything else a crash
        # report with personal data masked. Never the exception's own text.
        data_dir = self.runtime.data_dir if self.runtime is not None else None
        text = failure_text(error, getattr(self, "_data_dir", None) or data_dir)
        log.error("opening the desk failed: %s", text)
        self.login_page.set_mode(FAILED, f"{tr('app.open_failed')}: {text}")

    def set_runtime(self, runtime: Any) -> None:
        self.runtime = runtime
        desk = runtime.settings.desk
        if desk.language != i18n.language() and self.actor is None:
            i18n.set_language(desk.language)
        self.login_page.set_subtitle(desk.code, desk.mpp_name)

        def users() -> bool:
            from mppdesk.desk.auth import has_users

            return has_users(runtime)

        self.tasks.run(users, self._users_known, self._open_failed)
        # Region tables for the address cascade, while the officer signs in.
        self.tasks.run(_preload_regions, None, lambda _e: None, network=True)

    def _users_known(self, any_user: bool) -> None:
        self.login_page.set_mode(LOGIN if any_user else SETUP)
        self.runtime_ready.emit()

    # --- sign in and out ----------------------------------------------------------------

    def _login(self, username: str, password: str) -> None:
        runtime = self.runtime
        self.login_page.set_busy(True)

        def work() -> Any:
            from mppdesk.desk.auth import login

            return login(runtime, username, password)

        self.tasks.run(work, self._signed_in, self._login_failed)

    def _setup(self, username: str, full_name: str, password: str) -> None:
        runtime = self.runtime
        self.login_page.set_busy(True)

        def work() -> Any:
            from mppdesk.desk.auth import add_user, has_users, login, os_actor

            if has_users(runtime):
                raise _AlreadySetUp()
            add_user(runtime, os_actor(), username, "admin", password, full_name)
            return login(runtime, username, password)

        self.tasks.run(work, self._signed_in, self._login_failed)

    def _login_failed(self, error: BaseException) -> None:
        self.login_page.set_busy(False)
        if isinstance(error, _AlreadySetUp):
            self.login_page.set_mode(LOGIN)
            return
        self.login_page.show_message(self._explain(error))
        self.login_page.clear_password()

    @staticmethod
    def _explain(error: BaseException) -> str:
        from mppdesk.desk.errors import AccountLocked, AuthError

        if isinstance(error, AccountLocked):
            return tr("login.locked", until=error.params.get("until", "?"))
        if isinstance(error, AuthError):
            # accounts.*: attempts left, disabled (mppdesk.desk.auth), worded from the code.
            if error.code.startswith("accounts."):
                return i18n.error_text(error)
            return tr("login.wrong")
        return i18n.error_text(error)

    def _signed_in(self, actor: Any) -> None:
        self.actor = actor
        self.login_page.set_busy(False)
        self.login_page.clear_password()
        self.login_page.show_message("")
        self._build_menus()
        self._show_user()
        self._start_sync()
        from mppdesk.ui.backup_schedule import start_backup_schedule

        start_backup_schedule(self)  # [backup] dir: scheduled backup off the PC
        from mppdesk.ui.returns_indicator import show_returns

        show_returns(self)  # returned submissions still owed a correction
        self.pages.setCurrentWidget(self.counter_host)
        minutes = self.runtime.settings.desk.idle_lock_minutes
        self._lock_minutes = None if self.idle_lock_ms else minutes
        self.idle.set_timeout(self.idle_lock_ms or minutes * 60_000)
        self.idle.start()
        self.signed_in.emit(actor)
        from mppdesk.core.permissions import Operation

        if actor.may(Operation.INTAKE):
            self._restore_or_new_visit()
        else:
            self.show_submissions()

    def _restore_or_new_visit(self) -> None:
        from mppdesk.desk.counter import latest_draft

        runtime, actor = self.runtime, self.actor
        self.tasks.run(lambda: latest_draft(runtime, actor), self._draft_loaded)

    def _draft_loaded(self, draft: Any) -> None:
        if draft is None:
            self.new_visit(confirm=False)
            return
        from mppdesk.ui.visit_state import VisitState

        state = VisitState.from_json(draft.state, visit_id=draft.visit_id)
        self._show_visit(state, restored_at=draft.updated_at)

    def sign_out(self) -> None:
        if self.visit_page is not None:
            self.visit_page.close_page()
        self.idle.stop()
        self.is_locked = False
        self.actor = None
        self._clear_menus()
        self._drop_counter_pages()
        self.user_label.setText("")
        self.pages.setCurrentWidget(self.login_page)
        self.login_page.set_mode(LOGIN)
        self.signed_out.emit()

    def _show_user(self) -> None:
        actor = self.actor
        self.user_label.setText(
            tr(
                "status.user",
                name=actor.full_name or actor.username,
                role=plain(f"login.role.{actor.role}"),
                desk=self.runtime.settings.desk.code,
            )
        )

    # --- lock ---------------------------------------------------------------------------

    def lock(self, idle: bool = False) -> None:
        if self.actor is None or self.is_locked:
            return
        if self.visit_page is not None:
            self.visit_page.flush_draft()
        for dialog in self.findChildren(QWidget):
            if dialog.isWindow() and dialog is not self and dialog.isVisible():
                dialog.close()
        self.is_locked = True
        self.idle.stop()
        self.menuBar().setEnabled(False)
        self.lock_page.prepare(
            self.actor.full_name or self.actor.username, idle, self._lock_minutes
        )
        self.pages.setCurrentWidget(self.lock_page)
        self.lock_page.password.setFocus(QtCore.Qt.FocusReason.OtherFocusReason)
        self.locked.emit()

    def _unlock(self, password: str) -> None:
        runtime, username = self.runtime, self.actor.username

        def work() -> Any:
            from mppdesk.desk.auth import login

            return login(runtime, username, password)

        def ok(actor: Any) -> None:
            self.is_locked = False
            self.actor = actor
            self.menuBar().setEnabled(True)
            self.pages.setCurrentWidget(self.counter_host)
            self.idle.start()
            current = self.counter_host.currentWidget()
            if current is not None:
                current.setFocus(QtCore.Qt.FocusReason.OtherFocusReason)
            self.unlocked.emit()

        self.tasks.run(work, ok, lambda e: self.lock_page.show_message(self._explain(e)))

    # --- menus by role ------------------------------------------------------------------

    def _action(
        self, menu: Any, name: str, key: str, slot: Any, shortcut: str = "", hint: str = ""
    ) -> Any:
        from PySide6.QtGui import QAction, QKeySequence

        text = tr(key) + (f"\t{hint}" if hint else "")
        action = QAction(text, self)
        action.setObjectName(name)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(QtCore.Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(slot)
        menu.addAction(action)
        self.addAction(action)
        self.actions_by_name[name] = action
        return action

    def _build_menus(self) -> None:
        from PySide6.QtGui import QActionGroup

        from mppdesk.core.permissions import Operation

        self._clear_menus()
        actor = self.actor
        bar = self.menuBar()
        if actor.may(Operation.INTAKE):
            visit = bar.addMenu(tr("menu.visit"))
            self.menus.append(visit)
            self._action(visit, "nextTicket", "action.next_ticket", self.next_ticket, "F2")
            self._action(visit, "newVisit", "action.new_visit", self.new_visit, "Ctrl+N")
            visit.addSeparator()
            self._action(
                visit,
                "findNik",
                "action.find_nik",
                lambda: self._visit_call("focus_nik"),
                hint="F3",
            )
            self._action(
                visit,
                "addService",
                "action.add_service",
                lambda: self._visit_call("open_service_search"),
                hint="F4",
            )
            self._action(
                visit,
                "finalize",
                "action.finalize",
                lambda: self._visit_call("finalize"),
                hint="Ctrl+Enter",
            )
            self._action(visit, "discard", "action.discard", self.discard_visit)
            visit.addSeparator()
            self._action(visit, "lock", "action.lock", self.lock, "Ctrl+L")
            self._action(visit, "logout", "action.logout", self.sign_out)
            self._action(visit, "quit", "action.quit", self.close, "Ctrl+Q")
        else:
            account = bar.addMenu(tr("menu.visit"))
            self.menus.append(account)
            self._action(account, "lock", "action.lock", self.lock, "Ctrl+L")
            self._action(account, "logout", "action.logout", self.sign_out)
            self._action(account, "quit", "action.quit", self.close, "Ctrl+Q")
        for menu_key, entries in screens.menus(actor):
            menu = bar.addMenu(tr(menu_key))
            self.menus.append(menu)
            if menu_key == screens.MENU_SUBMISSIONS and actor.may(Operation.INTAKE):
                self._action(menu, "showCounter", "action.intake", self.show_counter, "F8")
            for screen in entries:
                self._action(
                    menu,
                    screen.action,
                    screen.title,
                    lambda _c=False, key=screen.key: self.show_screen(key),
                    screen.shortcut,
                )
        view = bar.addMenu(tr("menu.view"))
        self.menus.append(view)
        group = QActionGroup(self)
        for lang, key in (("id", "action.lang_id"), ("en", "action.lang_en")):
            action = self._action(
                view, f"lang_{lang}", key, lambda _c=False, lang=lang: self.set_language(lang)
            )
            action.setCheckable(True)
            action.setChecked(i18n.language() == lang)
            group.addAction(action)
        help_menu = bar.addMenu(tr("menu.help"))
        self.menus.append(help_menu)
        self._action(help_menu, "shortcuts", "action.shortcuts", self.show_shortcuts, "F1")

    def _clear_menus(self) -> None:
        for action in self.actions_by_name.values():
            self.removeAction(action)
            action.deleteLater()
        self.actions_by_name = {}
        self.menuBar().clear()
        self.menus = []

    # --- the counter --------------------------------------------------------------------

    def _visit_call(self, name: str) -> None:
        if self.visit_page is not None and self.counter_host.currentWidget() is self.visit_page:
            getattr(self.visit_page, name)()

    def open_visit(self, state: Any) -> None:
        """Open the counter on a visit prepared elsewhere (a correction from the submissions
        view, mppdesk.desk.corrections); the visit in progress keeps its draft."""
        self._show_visit(state)

    def _show_visit(self, state: Any = None, restored_at: Any = None) -> None:
        from mppdesk.ui.visit import VisitPage

        if self.actor is None:  # signed out meanwhile (a draft arriving late): nothing to show
            return
        old_pages = self._take_visit_pages()
        page = VisitPage(
            self.runtime,
            self.actor,
            self.tasks,
            state=state,
            draft_delay_ms=self.draft_delay_ms,
            restored_at=restored_at,
            ticket_group=self._ticket_group,
        )
        page.finalized.connect(self._visit_finalized)
        self.visit_page = page
        self.counter_host.addWidget(page)
        self.counter_host.setCurrentWidget(page)
        self.page_changed.emit("visit")
        if state is None or state.is_empty:
            page.ticket_edit.setFocus(QtCore.Qt.FocusReason.OtherFocusReason)
        else:
            page.go_step(page.steps.currentRow())
        self._dispose(old_pages)

    def _take_visit_pages(self) -> list[QWidget]:
        """Detach the visit and done pages; dispose of them once the new page has the focus
        (a window whose focus widget vanishes can lose its activation)."""
        pages = []
        for attr in ("visit_page", "done_page"):
            page = getattr(self, attr)
            if page is not None:
                if attr == "visit_page":
                    self._ticket_group = page.group_combo.currentData()
                    page.close_page()
                pages.append(page)
                setattr(self, attr, None)
        return pages

    def _dispose(self, pages: list[QWidget]) -> None:
        for page in pages:
            self.counter_host.removeWidget(page)
            page.deleteLater()

    def _drop_visit_pages(self) -> None:
        self._dispose(self._take_visit_pages())

    def _drop_counter_pages(self) -> None:
        self._drop_visit_pages()
        for key in list(self.screen_pages):
            self._drop_screen_page(key)

    def _drop_screen_page(self, key: str) -> None:
        page = self.screen_pages.pop(key, None)
        if page is not None:
            self.counter_host.removeWidget(page)
            page.deleteLater()

    def new_visit(self, confirm: bool = True) -> None:
        from PySide6.QtWidgets import QMessageBox

        page = self.visit_page
        if page is not None and confirm and not page.state.is_empty and not page._closed:
            answer = QMessageBox.question(
                self,
                plain("action.new_visit"),
                tr("visit.new_confirm"),
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.No,
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
            page.discard()
        self._show_visit()

    def next_ticket(self) -> None:
        """F2: call the next ticket; after a finished visit, start the next one first."""
        if self.actor is None or self.is_locked:
            return
        if self.counter_host.currentWidget() is not self.visit_page or self.visit_page is None:
            if self.done_page is not None or self.visit_page is None:
                self._show_visit()
            else:
                self.show_counter()
        page = self.visit_page
        state = page.state
        page.collect()
        in_progress = bool(state.services) or any(
            v not in (None, "", []) for v in state.applicant.values()
        )
        if in_progress:
            self.new_visit(confirm=True)
            if self.visit_page is page:
                return
            page = self.visit_page
        page.call_next_ticket()

    def discard_visit(self) -> None:
        from PySide6.QtWidgets import QMessageBox

        page = self.visit_page
        if page is None:
            return
        answer = QMessageBox.question(
            self,
            plain("action.discard"),
            tr("visit.discard_confirm"),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer == QMessageBox.StandardButton.Yes:
            page.discard()
            self._show_visit()

    def _visit_finalized(self, done: Any) -> None:
        from mppdesk.ui.done import DonePage

        old_pages = self._take_visit_pages()
        page = DonePage(self.runtime, self.actor, self.tasks, done)
        page.new_visit_requested.connect(lambda: self._show_visit())
        self.done_page = page
        self.counter_host.addWidget(page)
        self.counter_host.setCurrentWidget(page)
        page.focus_first()
        self._dispose(old_pages)
        self.page_changed.emit("done")
        # The submissions view and the dashboard refresh, the sync worker wakes: all of them
        # because they follow the notifier, none because the window knows them.
        announce(page, done.result.changes)

    def show_counter(self) -> None:
        page = self.visit_page or self.done_page
        if page is None:
            self._show_visit()
            return
        self.counter_host.setCurrentWidget(page)
        page.setFocus(QtCore.Qt.FocusReason.OtherFocusReason)
        self.page_changed.emit("visit" if page is self.visit_page else "done")

    # --- registered screens -------------------------------------------------------------

    @property
    def submissions_page(self) -> Any:
        return self.screen_pages.get("submissions")

    @property
    def dashboard_page(self) -> Any:
        return self.screen_pages.get("dashboard")

    def show_screen(self, key: str) -> Any:
        """Show a registered page (built on first use) or open a registered dialog; returns
        the widget, or None when the actor may not or the desk is locked."""
        screen = screens.get(key)
        if screen is None or self.actor is None or self.is_locked:
            return None
        if not screen.allowed(self.actor):
            return None
        from mppdesk.ui.keyboard import give_tab_back

        if screen.dialog:
            dialog = screen.factory(self._screen_context())
            give_tab_back(dialog)
            self._follow(dialog)
            dialog.open()
            return dialog
        page = self.screen_pages.get(key)
        if page is None:
            page = screen.factory(self._screen_context())
            give_tab_back(page)  # tables hand Tab on instead of walking their cells
            self.screen_pages[key] = page
            self.counter_host.addWidget(page)
            self._follow(page)
        self.counter_host.setCurrentWidget(page)
        page.setFocus(QtCore.Qt.FocusReason.OtherFocusReason)
        self.page_changed.emit(key)
        return page

    def _screen_context(self) -> screens.ScreenContext:
        return screens.ScreenContext(
            self.runtime,
            self.actor,
            self.tasks,
            self,
            lambda text: self.statusBar().showMessage(text, 10_000),
        )

    def _follow(self, widget: QWidget) -> None:
        if isinstance(widget, ChangeListener):  # a screen that shows nothing stored needs none
            self.notifier.follow(widget)

    def show_submissions(self) -> Any:
        """F6: the submissions view."""
        return self.show_screen("submissions")

    def show_dashboard(self) -> Any:
        """F9 (supervisors): the day at a glance, review and exports."""
        return self.show_screen("dashboard")

    def show_collection(self) -> Any:
        """F7: record that a citizen collected a product (found by tracking number or QR)."""
        return self.show_screen("collection")

    # --- sync ---------------------------------------------------------------------------

    def _start_sync(self) -> None:
        if self.sync_bridge is not None or not self.start_sync:
            return
        try:
            from mppdesk.ui.status_bar import SyncStatusBar
            from mppdesk.ui.sync_bridge import SyncBridge
        except ImportError:  # pragma: no cover - the sync UI is part of the same package
            log.warning("sync bridge not available")
            return
        self.sync_bridge = SyncBridge(self.runtime, self)
        self.notifier.listen(self.sync_bridge.changed)
        self.notifier.follow(self.sync_bridge)
        self.sync_bar = SyncStatusBar(self.sync_bridge)
        self.statusBar().addPermanentWidget(self.sync_bar)
        self.sync_bridge.start()

    # --- admin and view -----------------------------------------------------------------

    # The window follows its own notifier for the desk's settings: whoever changed them (the
    # settings dialog, later the hub), the idle lock and the language follow.
    def wants(self, changes: Changes) -> bool:
        return changes.touches(Kind.SETTINGS)

    def apply_changes(self, changes: Changes, origin: object | None = None) -> None:
        if self.runtime is None:
            return
        desk = self.runtime.settings.desk
        if not self.idle_lock_ms:
            self._lock_minutes = desk.idle_lock_minutes
            self.idle.set_timeout(desk.idle_lock_minutes * 60_000)
        if desk.language != i18n.language():
            self.set_language(desk.language)

    def set_language(self, lang: str) -> None:
        """Switch the words; the visit in progress is rebuilt from its state, nothing lost."""
        if lang == i18n.language():
            return
        i18n.set_language(lang)
        self.setWindowTitle(plain("app.title"))
        if self.actor is None:
            return
        self._build_menus()
        self._show_user()
        current = self.counter_host.currentWidget()
        if self.visit_page is not None:
            page = self.visit_page
            page.collect()
            state = page.state
            showing = current is page
            self._show_visit(state)
            if not showing and current is not None and current is not self.done_page:
                self.counter_host.setCurrentWidget(current)
        for key, old in list(self.screen_pages.items()):
            del self.screen_pages[key]  # built again in the new words, now or when asked
            if current is old:
                self.show_screen(key)
            self.counter_host.removeWidget(old)
            old.deleteLater()

    def show_shortcuts(self) -> None:
        from PySide6.QtWidgets import QMessageBox

        rows = [
            ("F2", plain("action.next_ticket")),
            ("Ctrl+N", plain("action.new_visit")),
            ("F3", plain("action.find_nik")),
            ("F4", plain("action.add_service")),
            ("Alt+1 … Alt+9, Alt+0", plain("visit.steps")),
            ("Ctrl+PgUp / Ctrl+PgDn", f"{plain('action.prev_step')} / {plain('action.next_step')}"),
            ("Ctrl+O", plain("visit.attach")),
            ("Enter", plain("counter.shortcut.tick")),
            ("0-9", plain("counter.shortcut.date")),
            ("Ctrl+Enter", plain("action.finalize")),
            ("Ctrl+P", plain("done.print_receipt")),
            ("F8", plain("action.intake")),
            *(
                (screen.shortcut, plain(screen.title))
                for screen in screens.available(self.actor)
                if screen.shortcut
            ),
            ("Ctrl+F", plain("counter.shortcut.search")),
            ("F5", plain("counter.shortcut.refresh")),
            ("Alt+…", plain("counter.shortcut.mnemonic")),
            ("Ctrl+L", plain("action.lock")),
            ("F1", plain("counter.shortcut.help")),
            ("Ctrl+Q", plain("action.quit")),
        ]
        text = "\n".join(f"{keys:<24} {what}" for keys, what in rows)
        box = QMessageBox(self)
        box.setWindowTitle(plain("shortcuts.title"))
        box.setText(text)
        box.setStyleSheet("QLabel { font-family: monospace; }")
        box.open()

    # --- errors and shutdown ------------------------------------------------------------

    def _task_failed(self, error: BaseException) -> None:
        from mppdesk.ui.crash_hook import failure_text

        # Never str(error): a store error's text can hold the row it wrote (NIKs, names).
        data_dir = self.runtime.data_dir if self.runtime is not None else None
        text = failure_text(error, getattr(self, "_data_dir", None) or data_dir)
        self.statusBar().showMessage(tr("app.error_detail", message=text), 10_000)

    def shutdown(self) -> None:
        """Save the draft, stop the sync thread, wait for queued store work."""
        if self.visit_page is not None:
            self.visit_page.close_page()
        self.idle.stop()
        if self.sync_bridge is not None:
            self.sync_bridge.stop()
            self.sync_bridge = None
        self.tasks.wait_idle()

    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        self.shutdown()
        super().closeEvent(event)


class _AlreadySetUp(Exception):
    """Another window created the first admin meanwhile: sign in instead."""


def _preload_regions() -> None:
    from mppdesk.forms import indonesia

    indonesia.preload(search_index=True)
