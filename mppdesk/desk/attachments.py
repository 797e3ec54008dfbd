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
from pathlib import Path
from typing import Any

from mppdesk.core import messages
from mppdesk.core.filetypes import ACCEPTED_LABEL, sniff_content_type
from mppdesk.core.messages import Phrase
from mppdesk.forms.visit import AttachmentInput  # the visit's file, as the plan reads it

# Kernel-provided trees: their "regular files" are generated on read (environment, memory).
_SPECIAL_TREES = ("/proc", "/sys")
_CHUNK = 1024 * 1024


class AttachmentRefused(Exception):
    """The named file is not something the desk may attach: an ``attachment.`` message code
    and its parameters say why (``message``/``message_en`` are its two texts)."""

    def __init__(self, code: str, /, *, too_large: bool = False, **params: Any) -> None:
        self.code = code
        self.params = params
        self.message = messages.text(code, "id", **params)
        self.message_en = messages.text(code, "en", **params)
        super().__init__(self.message_en)
        self.too_large = too_large  # over the size allowed: the caller may name its own limit


def _kind(mode: int) -> Phrase:
    if stat.S_ISDIR(mode):
        return Phrase("attachment.kind.folder")
    if stat.S_ISFIFO(mode):
        return Phrase("attachment.kind.pipe")
    if stat.S_ISSOCK(mode):
        return Phrase("attachment.kind.socket")
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return Phrase("attachment.kind.device")
    return Phrase("attachment.kind.other")


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def resolve_attachment_path(name: str, base_dir: Path | None) -> Path:
    """The real path ``name`` denotes, refused when it leaves ``base_dir`` or is kernel-made.

    ``base_dir`` None is for callers in code that chose the file themselves (the demo, tests):
    the file's own folder is then the base, and every other check still applies.
    """
    if not isinstance(name, str) or not name or "\x00" in name:
        raise AttachmentRefused("attachment.not_a_name")
    path = Path(name)
    if not path.is_absolute():
        path = (base_dir if base_dir is not None else Path.cwd()) / path
    real = os.path.realpath(path)
    if base_dir is not None and not _inside(real, os.path.realpath(base_dir)):
        raise AttachmentRefused("attachment.outside_folder", name=name)
    if any(_inside(real, tree) for tree in _SPECIAL_TREES):
        raise AttachmentRefused("attachment.system_file", name=name)
    return Path(real)


def read_attachment(name: str, base_dir: Path | None, *, max_bytes: int) -> AttachmentInput:
    """Read one attachment file safely (see the module docstring); raises AttachmentRefused."""
    real = resolve_attachment_path(name, base_dir)
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(real, flags)
    except FileNotFoundError:
        raise AttachmentRefused("attachment.not_found", name=name) from None
    except OSError as exc:
        raise AttachmentRefused("attachment.cannot_open", name=name, reason=exc.strerror) from None
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):
            raise AttachmentRefused(
                "attachment.not_regular", kind=_kind(opened.st_mode), name=name
            )
        try:
            listed = os.lstat(real)
        except OSError:
            listed = None
        if listed is None or (listed.st_dev, listed.st_ino) != (opened.st_dev, opened.st_ino):
            raise AttachmentRefused("attachment.changed", name=name)
        if opened.st_size > max_bytes:
            raise _too_big(name, opened.st_size, max_bytes)
        data = _read_capped(fd, max_bytes, name)
    finally:
        os.close(fd)
    if not data:
        raise AttachmentRefused("attachment.empty", name=name)
    content_type = sniff_content_type(data[:16])
    if content_type is None:
        raise AttachmentRefused("attachment.type", accepted=ACCEPTED_LABEL, name=name)
    # The name the officer gave (a link's own name), not where the link leads.
    return AttachmentInput(name=Path(name).name, data=data, content_type=content_type)


def _too_big(name: str, size: int, limit: int) -> AttachmentRefused:
    return AttachmentRefused("attachment.too_large", too_large=True, size=size, limit=limit, name=name)


def _read_capped(fd: int, max_bytes: int, name: str) -> bytes:
    """At most ``max_bytes``: a file that grows past its stat size is refused, not slurped."""
    chunks: list[bytes] = []
    total = 0
    while True:
        try:
            chunk = os.read(fd, min(_CHUNK, max_bytes + 1 - total))
        except OSError as exc:
            raise AttachmentRefused("attachment.cannot_read", name=name, reason=exc.strerror) from None
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > max_bytes:
            raise _too_big(name, total, max_bytes)
