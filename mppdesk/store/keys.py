"""The desk's key material: one secret per OS account, outside the data dir.

The store (SQLCipher) and the attachment files (AES-GCM) are encrypted with keys derived from
it, so no file of the data dir holds personal data in the clear. The secret comes from the key
file named by ``MPPDESK_KEY_FILE``, else from the OS keyring where one works, else from a key
file in the user's configuration folder, created on first use and readable only by its owner.
Losing the secret loses the data: back it up apart from the data dir.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

log = logging.getLogger(__name__)

KEY_FILE_ENV = "MPPDESK_KEY_FILE"
KEYRING_SERVICE = "mppdesk"
KEYRING_NAME = "store-key"
KEY_BYTES = 32


class KeyFileError(Exception):
    """The key file is unusable (shown to the user with what to do)."""


def default_key_file() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir("mppdesk", appauthor=False)) / "desk.key"


_NOT_A_KEY = "not a key file (expected {digits} hex digits on one line)"


def _read_key_file(path: Path) -> bytes:
    """The key in ``path``; every way the file can be unusable is a KeyFileError naming it."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise KeyFileError(f"{path}: the key file does not exist") from None
    except OSError as exc:
        raise KeyFileError(f"{path}: the key file cannot be reached ({exc.strerror})") from None
    if stat.S_ISDIR(info.st_mode):
        raise KeyFileError(
            f"{path}: is a folder, not a key file; point {KEY_FILE_ENV} at the key file itself"
        )
    if not stat.S_ISREG(info.st_mode):
        raise KeyFileError(f"{path}: is not a regular file; the desk key must be a plain file")
    if os.name == "posix" and info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"{path}: the key file is readable by other accounts; run 'chmod 600 {path}'"
        )
    if info.st_size == 0:
        raise KeyFileError(
            f"{path}: the key file is empty; restore it from its backup (a new key cannot "
            "open data written with the old one)"
        )
    if info.st_size > 4096:
        raise KeyFileError(f"{path}: {_NOT_A_KEY.format(digits=KEY_BYTES * 2)}")
    try:
        raw = path.read_bytes()
    except PermissionError:
        raise KeyFileError(
            f"{path}: the key file cannot be read by this account (permission denied); run "
            "the desk as the account that owns it"
        ) from None
    except OSError as exc:
        raise KeyFileError(f"{path}: the key file cannot be read ({exc.strerror})") from None
    try:
        key = bytes.fromhex(raw.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        raise KeyFileError(f"{path}: {_NOT_A_KEY.format(digits=KEY_BYTES * 2)}") from None
    if len(key) != KEY_BYTES:
        raise KeyFileError(f"{path}: {_NOT_A_KEY.format(digits=KEY_BYTES * 2)}")
    return key


def _create_key_file(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_bytes(KEY_BYTES)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key_file(path)  # another process created it first
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key.hex() + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    log.warning("created a new desk key at %s: back it up apart from the data dir", path)
    return key


def _from_keyring(create: bool = True) -> bytes | None:
    try:
        import keyring
        from keyring.backends.fail import Keyring as FailKeyring

        backend = keyring.get_keyring()
        if isinstance(backend, FailKeyring) or "fail" in type(backend).__module__:
            return None
        value = keyring.get_password(KEYRING_SERVICE, KEYRING_NAME)
        if value is None and not create:
            return None
        if value is None:
            value = secrets.token_bytes(KEY_BYTES).hex()
            keyring.set_password(KEYRING_SERVICE, KEYRING_NAME, value)
        return bytes.fromhex(value)
    except Exception:  # noqa: BLE001 - no usable keyring here: fall back to the file
        return None


def load_master_key(create: bool = True) -> bytes:
    """The desk key; ``create=False`` never makes a new one.

    False when data encrypted with a key already exists (a store in the data dir, a backup
    being restored): a fresh key cannot open it and would only turn "key lost" into a
    misleading "wrong password" later.
    """
    explicit = os.environ.get(KEY_FILE_ENV)
    if explicit:
        path = Path(explicit)
        if path.exists() or path.is_symlink():
            return _read_key_file(path)
        return _create_or_refuse(path, create)
    from_keyring = _from_keyring(create)
    if from_keyring is not None:
        return from_keyring
    path = default_key_file()
    return _read_key_file(path) if path.exists() else _create_or_refuse(path, create)


def _create_or_refuse(path: Path, create: bool) -> bytes:
    if not create:
        raise KeyFileError(
            f"{path}: no desk key here, but the data to open was encrypted with one; put that "
            f"desk key (from its backup) at {path}, or set {KEY_FILE_ENV} to where it is. A new "
            "key would not open that data"
        )
    try:
        return _create_key_file(path)
    except OSError as exc:
        raise KeyFileError(
            f"{path}: a new desk key cannot be written there ({exc.strerror}); set "
            f"{KEY_FILE_ENV} to a file in a folder this account can write"
        ) from None


def key_check(master: bytes) -> str:
    """A short public fingerprint of the key, kept in the data dir to tell a wrong key from
    a damaged store (an HKDF output: it reveals nothing about the key)."""
    return derive_key(master, "mppdesk-key-check")[:8].hex()


def derive_key(master: bytes, purpose: str) -> bytes:
    """A separate 256-bit key per purpose (HKDF-SHA256)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(master)
