"""One notifier fans out what each operation changed; every view decides whether to reload.

The model is Anki's ``OpChanges`` and ``operation_did_execute``: an operation returns a
``Changes`` (``mppdesk.core.changes``), whoever ran it hands it to the window's
``ChangeNotifier``, and each following view answers ``wants(changes)``. A view that wants it
reloads at once when it is on screen; a hidden one only remembers that it is stale and reloads
when it is shown again, so switching pages never re-reads what did not change and a page not
looked at costs nothing.

Nobody wires view to view: a dialog announces through ``announce(self, changes)``, which finds
the notifier among its ancestors (the window owns it), and the window follows each screen it
builds. The sync bridge is a source (its ``changed`` signal) and a follower (outbox changes
made elsewhere wake the worker).
"""

from __future__ import annotations

import logging
from typing import Any, Protocol, runtime_checkable

from PySide6.QtCore import QEvent, QObject, Qt, Signal, SignalInstance
from PySide6.QtWidgets import QWidget

from mppdesk.core.changes import NOTHING, Changes

log = logging.getLogger(__name__)

NOTIFIER_NAME = "changeNotifier"


@runtime_checkable
class ChangeListener(Protocol):
    """What a view declares: which changes concern it, and what it does about them."""

    def wants(self, changes: Changes) -> bool: ...

    def apply_changes(self, changes: Changes, origin: object | None) -> None: ...


class ChangeNotifier(QObject):
    """``changed(Changes, origin)`` on the GUI thread, once per operation that changed
    something. ``follow(view)`` subscribes a ``ChangeListener``."""

    changed = Signal(object, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(NOTIFIER_NAME)

    def notify(self, changes: Changes, origin: object | None = None) -> None:
        if not changes:
            return
        log.debug("changed: %r (from %s)", changes, type(origin).__name__)
        self.changed.emit(changes, origin)

    def follow(self, listener: QObject) -> None:
        """Deliver what ``listener`` wants for as long as it lives; a hidden widget gets it
        when shown. Following twice is following once."""
        if not isinstance(listener, ChangeListener):
            raise TypeError(f"{type(listener).__name__} declares no wants()/apply_changes()")
        for follower in listener.findChildren(
            _Follower, options=Qt.FindChildOption.FindDirectChildrenOnly
        ):
            if follower.notifier is self:
                return
        _Follower(self, listener)

    def stale(self, listener: QObject) -> Changes:
        """What a hidden listener will reload for when shown (``NOTHING`` when up to date)."""
        for follower in listener.findChildren(
            _Follower, options=Qt.FindChildOption.FindDirectChildrenOnly
        ):
            if follower.notifier is self:
                return follower.stale
        return NOTHING

    def listen(self, source: SignalInstance) -> None:
        """Pass on every ``Changes`` a source emits (the sync bridge's ``changed``), with
        the emitting object as the origin; the link ends with either of them."""
        source.connect(self._relay)

    def _relay(self, changes: Changes) -> None:
        self.notify(changes, self.sender())

    @staticmethod
    def of(obj: QObject | None) -> ChangeNotifier | None:
        """The notifier of the window ``obj`` lives in (None outside any)."""
        while obj is not None:
            if isinstance(obj, ChangeNotifier):
                return obj
            found = obj.findChild(
                ChangeNotifier, NOTIFIER_NAME, Qt.FindChildOption.FindDirectChildrenOnly
            )
            if found is not None:
                return found
            obj = obj.parent()
        return None


def announce(source: QObject, changes: Changes) -> bool:
    """Tell the views what ``source`` (a dialog, a page) just changed; False when there is
    no notifier above it (a widget shown on its own) or nothing changed."""
    notifier = ChangeNotifier.of(source)
    if notifier is None or not changes:
        return False
    notifier.notify(changes, source)
    return True


class _Follower(QObject):
    """Lives as the listener's child (and dies with it): filters, defers while hidden."""

    def __init__(self, notifier: ChangeNotifier, listener: Any) -> None:
        super().__init__(listener)
        self.notifier = notifier
        self._listener = listener
        self._stale: Changes = NOTHING
        self._stale_origin: object | None = None
        notifier.changed.connect(self._changed)

    @property
    def stale(self) -> Changes:
        return self._stale

    def _hidden(self) -> bool:
        return isinstance(self._listener, QWidget) and not self._listener.isVisible()

    def _changed(self, changes: Changes, origin: object | None) -> None:
        if not self._listener.wants(changes):
            return
        if self._hidden():
            # Several operations while hidden: one reload on show, of everything they touched.
            # The show is watched only while stale: no Python call for every event otherwise.
            if not self._stale:
                self._listener.installEventFilter(self)
            self._stale_origin = origin if not self._stale else None
            self._stale = self._stale | changes
            return
        self._listener.apply_changes(changes, origin)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.Show and self._stale and watched is self._listener:
            self._listener.removeEventFilter(self)
            changes, origin = self._stale, self._stale_origin
            self._stale, self._stale_origin = NOTHING, None
            self._listener.apply_changes(changes, origin)
        return False
