"""Known faults of the environment, worded for the person at the desk.

A full disk, a damaged store, a key file that cannot be used, a settings file with a bad
value, a folder this account may not write: none of these is a bug, and each gets a plain
Indonesian message (English on request) that says what happened and what to do. The
command line and the desk window both ask ``explain`` first; whatever it does not know is
a bug and goes to a crash report (``mppdesk.desk.crash``).

The words are the message catalog's ``fault.`` codes (``resources/messages/``).
Messages never carry personal data: they are built from file names, setting keys and the
drivers' reasons (which hold no row values), and masked once more on the way out.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass

from mppdesk.core import messages
from mppdesk.core.masking import mask_diagnostic

# What kind of fault, for the exit code: input faults exit 2, the others 1.
ENVIRONMENT = "environment"
INPUT = "input"


@dataclass(frozen=True)
class Fault:
    """What happened (a ``fault.`` message code), the technical detail, and what to do."""

    kind: str
    title: str  # message code: what happened
    detail: str  # the file, key and reason (technical, shown as is)
    action: str = ""  # message code: what to do ("" when the title says it all)

    def message(self, lang: str = "id") -> str:
        title = messages.text(self.title, lang)
        text = f"{title}: {self.detail}" if self.detail else title
        if self.action:
            text += f" — {messages.text(self.action, lang)}"
        return mask_diagnostic(text)


def _with_action(code: str) -> str:
    """The action code of a fault title, when the catalog has one."""
    action = f"{code}.action"
    return action if messages.has(action) else ""


def explain(exc: BaseException) -> Fault | None:
    """The known fault behind ``exc``, or None when it is a bug (crash report)."""
    from mppdesk.forms.catalog import CatalogError
    from mppdesk.settings import SettingsError
    from mppdesk.store.database import StoreError, store_fault
    from mppdesk.store.keys import KeyFileError

    if isinstance(exc, SettingsError):
        return Fault(ENVIRONMENT, "fault.settings", str(exc), "fault.settings.action")
    if isinstance(exc, KeyFileError):
        return Fault(ENVIRONMENT, "fault.key_file", str(exc))
    if isinstance(exc, CatalogError):
        return Fault(ENVIRONMENT, "fault.catalog", str(exc), "fault.catalog.action")
    fault = exc if isinstance(exc, StoreError) else store_fault(exc)
    if fault is not None:
        code = f"fault.store_{fault.reason}"
        if not messages.has(code):
            code = "fault.store_other"
        return Fault(ENVIRONMENT, code, str(fault), _with_action(code))
    if isinstance(exc, OSError):
        return _os_fault(exc)
    return None


def _os_fault(exc: OSError) -> Fault | None:
    where = exc.filename if exc.filename is not None else ""
    where = str(where)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return Fault(
            ENVIRONMENT, "fault.disk_full", where or (exc.strerror or ""), "fault.disk_full.action"
        )
    if exc.errno in (errno.EACCES, errno.EPERM):
        return Fault(ENVIRONMENT, "fault.permission", where, "fault.permission.action")
    if exc.errno == errno.EROFS:
        return Fault(ENVIRONMENT, "fault.read_only", where)
    if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.EISDIR) and where:
        return Fault(INPUT, "fault.no_such_file", f"{where} ({exc.strerror})")
    return None
