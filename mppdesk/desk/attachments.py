"""Reading an attachment file the officer (or a visit file) names, and nothing else.

A path from outside can point anywhere: ``/etc/shadow``, a symlink to it, ``/proc/self/environ``
(with tokens in it), ``/dev/zero`` (endless), a FIFO (a read that never returns), a socket or a
directory. Only a regular file inside the base folder is read — the folder the officer chose
in the desk's file picker, or the visit file's folder for ``mppdesk intake`` — and symlinks may
not lead out of it. The file is opened without blocking and without following a final symlink,
checked with ``fstat`` on the open descriptor (so a swap after the check is caught), read with
a size cap, and its type is proven by its first bytes (PDF, JPEG, PNG).

UI and CLI both call :func:`read_attachment`; the per-visit count and total are checked by the
intake itself (``mppdesk.desk.intake``), where all of a visit's files are known.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from mppdesk.core.filetypes import ACCEPTED_LABEL, sniff_content_type

# Kernel-provided trees: their "regular files" are generated on read (environment, memory).
_SPECIAL_TREES = ("/proc", "/sys")
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class AttachmentInput:
    name: str
    data: bytes
    content_type: str


class AttachmentRefused(Exception):
    """The named file is not something the desk may attach; the message says why."""

    def __init__(self, message: str, message_en: str, *, too_large: bool = False):
        super().__init__(message_en)
        self.message = message
        self.message_en = message_en
        self.too_large = too_large  # over the size allowed: the caller may name its own limit


def _kind(mode: int) -> tuple[str, str]:
    if stat.S_ISDIR(mode):
        return "folder", "a folder"
    if stat.S_ISFIFO(mode):
        return "pipe (FIFO)", "a pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "soket", "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "perangkat", "a device"
    return "bukan berkas biasa", "not a regular file"


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def resolve_attachment_path(name: str, base_dir: Path | None) -> Path:
    """The real path ``name`` denotes, refused when it leaves ``base_dir`` or is kernel-made.

    ``base_dir`` None is for callers in code that chose the file themselves (the demo, tests):
    the file's own folder is then the base, and every other check still applies.
    """
    if not isinstance(name, str) or not name or "\x00" in name:
        raise AttachmentRefused("Lampiran harus nama berkas", "An attachment must be a file name")
    path = Path(name)
    if not path.is_absolute():
        path = (base_dir if base_dir is not None else Path.cwd()) / path
    real = os.path.realpath(path)
    if base_dir is not None and not _inside(real, os.path.realpath(base_dir)):
        raise AttachmentRefused(
            f"Berkas di luar folder kunjungan (atau tautan keluar darinya): {name}",
            f"File outside the visit's folder (or a link leading out of it): {name}",
        )
    if any(_inside(real, tree) for tree in _SPECIAL_TREES):
        raise AttachmentRefused(
            f"Berkas sistem tidak dapat dilampirkan: {name}",
            f"A system file cannot be attached: {name}",
        )
    return Path(real)


def read_attachment(name: str, base_dir: Path | None, *, max_bytes: int) -> AttachmentInput:
    """Read one attachment file safely (see the module docstring); raises AttachmentRefused."""
    real = resolve_attachment_path(name, base_dir)
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(real, flags)
    except FileNotFoundError:
        raise AttachmentRefused(
            f"Berkas tidak ditemukan: {name}", f"File not found: {name}"
        ) from None
    except OSError as exc:
        raise AttachmentRefused(
            f"Berkas tidak dapat dibuka: {name} ({exc.strerror})",
            f"Cannot open file: {name} ({exc.strerror})",
        ) from None
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):
            kind_id, kind_en = _kind(opened.st_mode)
            raise AttachmentRefused(
                f"Bukan berkas biasa ({kind_id}): {name}", f"Not a regular file ({kind_en}): {name}"
            )
        try:
            listed = os.lstat(real)
        except OSError:
            listed = None
        if listed is None or (listed.st_dev, listed.st_ino) != (opened.st_dev, opened.st_ino):
            raise AttachmentRefused(
                f"Berkas berubah saat dibaca: {name}", f"The file changed while it was read: {name}"
            )
        if opened.st_size > max_bytes:
            raise _too_big(name, opened.st_size, max_bytes)
        data = _read_capped(fd, max_bytes, name)
    finally:
        os.close(fd)
    if not data:
        raise AttachmentRefused(f"Berkas kosong: {name}", f"Empty file: {name}")
    content_type = sniff_content_type(data[:16])
    if content_type is None:
        raise AttachmentRefused(
            f"Jenis berkas tidak diterima (hanya {ACCEPTED_LABEL}): {name}",
            f"File type not accepted (only {ACCEPTED_LABEL}): {name}",
        )
    # The name the officer gave (a link's own name), not where the link leads.
    return AttachmentInput(name=Path(name).name, data=data, content_type=content_type)


def _too_big(name: str, size: int, limit: int) -> AttachmentRefused:
    return AttachmentRefused(
        f"Berkas terlalu besar ({size} byte, maks. {limit}): {name}",
        f"File too large ({size} bytes, max. {limit}): {name}",
        too_large=True,
    )


def _read_capped(fd: int, max_bytes: int, name: str) -> bytes:
    """At most ``max_bytes``: a file that grows past its stat size is refused, not slurped."""
    chunks: list[bytes] = []
    total = 0
    while True:
        try:
            chunk = os.read(fd, min(_CHUNK, max_bytes + 1 - total))
        except OSError as exc:
            raise AttachmentRefused(
                f"Berkas tidak dapat dibaca: {name} ({exc.strerror})",
                f"Cannot read file: {name} ({exc.strerror})",
            ) from None
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > max_bytes:
            raise _too_big(name, total, max_bytes)
