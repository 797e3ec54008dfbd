"""The data dir is private to the OS account that runs the desk: folders 700, files 600.

Whatever ``encrypt`` says: with ``encrypt = false`` the store holds NIKs in the clear, and
even encrypted, attachment names, backups and crash reports are nobody else's business.
The folder's own mode is what protects everything in it, so a looser data dir found on
start-up (an install from before this rule, a copy made by hand) is tightened, with a
warning; the files of the desk's own making are tightened too. A folder that is not the
desk's own (shared, sticky like /tmp, owned by another account) is never changed: a warning
says what to do instead.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)

DIR_MODE = 0o700
FILE_MODE = 0o600
# The files and folders of the desk's own making, tightened when found looser.
_OWN_FILES = (
    "mppdesk.sqlite",
    "mppdesk.sqlite-wal",
    "mppdesk.sqlite-shm",
    "mppdesk.sqlite.created",
    "settings.toml",
)
_OWN_FOLDERS = ("attachments", "backups", "crash", "logs", "catalog")


def _loose(mode: int) -> bool:
    return bool(mode & (stat.S_IRWXG | stat.S_IRWXO))


def secure_data_dir(data_dir: Path) -> None:
    """Create ``data_dir`` as 700, or tighten it (and the desk's files in it) when looser."""
    data_dir = Path(data_dir)
    if os.name != "posix":
        data_dir.mkdir(parents=True, exist_ok=True)
        return
    try:
        data_dir.mkdir(parents=True, mode=DIR_MODE)
        return
    except FileExistsError:
        pass
    info = data_dir.stat()
    if not _loose(info.st_mode):
        _tighten(data_dir / name for name in _OWN_FILES)  # a store made 644 by an old version
        return
    ours = info.st_uid == os.geteuid() and not info.st_mode & stat.S_ISVTX
    names = {entry.name for entry in data_dir.iterdir()}
    empty = not names
    # The desk's own folder: its store is there, or nothing but the desk's own names (a
    # settings file written before 'mppdesk init'); never a home folder or a shared one.
    holds_desk = "mppdesk.sqlite" in names or names <= set(_OWN_FILES) | set(_OWN_FOLDERS)
    if not (ours and holds_desk):
        log.warning(
            "the data dir %s can be read by other accounts (mode %o) and is not the desk's own "
            "folder, so it was left as it is; use a folder of its own (mode 700) as data dir",
            data_dir,
            stat.S_IMODE(info.st_mode),
        )
        return
    os.chmod(data_dir, DIR_MODE)
    if empty:  # a folder made for the desk by hand (mkdir with the usual umask)
        return
    changed = _tighten_contents(data_dir)
    log.warning(
        "the data dir %s was readable by other accounts (mode %o): now 700, %d file(s) 600",
        data_dir,
        stat.S_IMODE(info.st_mode),
        changed,
    )


def _tighten_contents(data_dir: Path) -> int:
    paths = [data_dir / name for name in _OWN_FILES]
    for folder in _OWN_FOLDERS:
        root = data_dir / folder
        if root.is_dir() and not root.is_symlink():
            paths.append(root)
            paths.extend(root.rglob("*"))
    return _tighten(paths)


def _tighten(paths: Iterable[Path]) -> int:
    """chmod 700/600 whatever of ``paths`` is looser (symlinks left alone); how many."""
    changed = 0
    for path in paths:
        try:
            info = path.lstat()
        except OSError:
            continue
        if stat.S_ISLNK(info.st_mode) or not _loose(info.st_mode):
            continue
        try:
            os.chmod(path, DIR_MODE if stat.S_ISDIR(info.st_mode) else FILE_MODE)
            changed += 1
        except OSError as exc:
            log.warning("cannot make %s private: %s", path, exc)
    return changed


def write_private_text(path: Path, text: str) -> Path:
    """Write a new file readable only by its owner, in a folder only its owner can enter."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path
