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


def _read_key_file(path: Path) -> bytes:
    mode = path.stat().st_mode
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"{path}: the key file is readable by other accounts; run 'chmod 600 {path}'"
        )
    text = path.read_text(encoding="ascii").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise KeyFileError(f"{path}: not a key file (expected {KEY_BYTES * 2} hex digits)") from None
    if len(key) != KEY_BYTES:
        raise KeyFileError(f"{path}: not a key file (expected {KEY_BYTES * 2} hex digits)")
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


def _from_keyring() -> bytes | None:
    try:
        import keyring
        from keyring.backends.fail import Keyring as FailKeyring

        backend = keyring.get_keyring()
        if isinstance(backend, FailKeyring) or "fail" in type(backend).__module__:
            return None
        value = keyring.get_password(KEYRING_SERVICE, KEYRING_NAME)
        if value is None:
            value = secrets.token_bytes(KEY_BYTES).hex()
            keyring.set_password(KEYRING_SERVICE, KEYRING_NAME, value)
        return bytes.fromhex(value)
    except Exception:  # noqa: BLE001 - no usable keyring here: fall back to the file
        return None


def load_master_key() -> bytes:
    explicit = os.environ.get(KEY_FILE_ENV)
    if explicit:
        path = Path(explicit)
        return _read_key_file(path) if path.exists() else _create_key_file(path)
    from_keyring = _from_keyring()
    if from_keyring is not None:
        return from_keyring
    path = default_key_file()
    return _read_key_file(path) if path.exists() else _create_key_file(path)


def derive_key(master: bytes, purpose: str) -> bytes:
    """A separate 256-bit key per purpose (HKDF-SHA256)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(master)
