"""Known faults of the environment, worded for the person at the desk.

A full disk, a damaged store, a key file that cannot be used, a settings file with a bad
value, a folder this account may not write: none of these is a bug, and each gets a plain
Indonesian message (English on request) that says what happened and what to do. The
command line and the desk window both ask ``explain`` first; whatever it does not know is
a bug and goes to a crash report (``mppdesk.desk.crash``).

Messages never carry personal data: they are built from file names, setting keys and the
drivers' reasons (which hold no row values), and masked once more on the way out.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass

from mppdesk.core.masking import mask_diagnostic

# What kind of fault, for the exit code: input faults exit 2, the others 1.
ENVIRONMENT = "environment"
INPUT = "input"


@dataclass(frozen=True)
class Fault:
    kind: str
    title_id: str  # what happened, in Indonesian
    title_en: str
    detail: str  # the file, key and reason (technical, shown as is)
    action_id: str = ""  # what to do
    action_en: str = ""

    def message(self, lang: str = "id") -> str:
        title, action = (
            (self.title_en, self.action_en) if lang == "en" else (self.title_id, self.action_id)
        )
        text = f"{title}: {self.detail}" if self.detail else title
        if action:
            text += f" — {action}"
        return mask_diagnostic(text)


_STORE_TITLES = {
    "disk_full": (
        "disk penuh, data tidak dapat ditulis",
        "the disk is full, nothing can be written",
        "kosongkan ruang disk lalu ulangi; data yang sudah tersimpan tetap utuh",
        "free disk space and try again; what was stored is intact",
    ),
    "damaged": (
        "berkas penyimpanan rusak",
        "the store file is damaged",
        "pulihkan dari cadangan ('mppdesk restore'); jangan buat penyimpanan baru di sini",
        "restore it from a backup ('mppdesk restore'); do not create a new store here",
    ),
    "unreadable": (
        "berkas penyimpanan rusak atau kunci desk tidak cocok",
        "the store file is damaged or the desk key does not match it",
        "pastikan MPPDESK_KEY_FILE menunjuk kunci desk ini, atau pulihkan dari cadangan",
        "check that MPPDESK_KEY_FILE names this desk's key, or restore from a backup",
    ),
    "key_mismatch": (
        "kunci desk tidak cocok dengan penyimpanan",
        "the desk key does not match the store",
        "",
        "",
    ),
    "missing": ("penyimpanan tidak ada atau kosong", "the store is missing or empty", "", ""),
    "busy": (
        "penyimpanan sedang dipakai program lain",
        "the store is in use by another program",
        "tutup program lain yang memakai data desk ini lalu ulangi",
        "close the other program using this desk's data and try again",
    ),
    "readonly": (
        "penyimpanan tidak dapat ditulis",
        "the store cannot be written",
        "periksa izin folder data dan ruang disk",
        "check the data folder's permissions and free space",
    ),
    "permission": (
        "penyimpanan tidak dapat dibuka",
        "the store cannot be opened",
        "periksa izin folder data",
        "check the data folder's permissions",
    ),
    "newer": (
        "penyimpanan ditulis oleh MPP Desk yang lebih baru",
        "the store was written by a newer MPP Desk",
        "",
        "",
    ),
    "io": (
        "disk gagal membaca atau menulis penyimpanan",
        "the disk failed to read or write the store",
        "periksa disk; pulihkan dari cadangan bila berulang",
        "check the disk; restore from a backup if it repeats",
    ),
    "lost": ("sambungan ke penyimpanan terputus", "the connection to the store was lost", "", ""),
}


def explain(exc: BaseException) -> Fault | None:
    """The known fault behind ``exc``, or None when it is a bug (crash report)."""
    from mppdesk.forms.catalog import CatalogError
    from mppdesk.settings import SettingsError
    from mppdesk.store.database import StoreError, store_fault
    from mppdesk.store.keys import KeyFileError

    if isinstance(exc, SettingsError):
        return Fault(
            ENVIRONMENT,
            "pengaturan tidak dapat dipakai",
            "the settings cannot be used",
            str(exc),
            "perbaiki nilai itu di berkas pengaturan",
            "correct that value in the settings file",
        )
    if isinstance(exc, KeyFileError):
        return Fault(ENVIRONMENT, "kunci desk bermasalah", "the desk key has a problem", str(exc))
    if isinstance(exc, CatalogError):
        return Fault(
            ENVIRONMENT,
            "katalog bermasalah",
            "the catalog has problems",
            str(exc),
            "jalankan 'mppdesk catalog check'",
            "run 'mppdesk catalog check'",
        )
    fault = exc if isinstance(exc, StoreError) else store_fault(exc)
    if fault is not None:
        title_id, title_en, action_id, action_en = _STORE_TITLES.get(
            fault.reason, ("penyimpanan bermasalah", "the store has a problem", "", "")
        )
        return Fault(ENVIRONMENT, title_id, title_en, str(fault), action_id, action_en)
    if isinstance(exc, OSError):
        return _os_fault(exc)
    return None


def _os_fault(exc: OSError) -> Fault | None:
    where = exc.filename if exc.filename is not None else ""
    where = str(where)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return Fault(
            ENVIRONMENT,
            "disk penuh, data tidak dapat ditulis",
            "the disk is full, nothing can be written",
            where or (exc.strerror or ""),
            "kosongkan ruang disk lalu ulangi; data yang sudah tersimpan tetap utuh",
            "free disk space and try again; what was stored is intact",
        )
    if exc.errno in (errno.EACCES, errno.EPERM):
        return Fault(
            ENVIRONMENT,
            "izin ditolak",
            "permission denied",
            where,
            "jalankan sebagai akun pemilik folder data, atau perbaiki izinnya",
            "run as the account that owns the data folder, or correct its permissions",
        )
    if exc.errno == errno.EROFS:
        return Fault(
            ENVIRONMENT,
            "sistem berkas hanya-baca",
            "the file system is read-only",
            where,
        )
    if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.EISDIR) and where:
        return Fault(
            INPUT,
            "berkas atau folder tidak ada atau salah jenis",
            "no such file or folder, or the wrong kind",
            f"{where} ({exc.strerror})",
        )
    return None
