"""The desk's hub token: a secret, kept where the desk key is kept, never in settings.

With ``MPPDESK_KEY_FILE`` set, or without a usable OS keyring, the token is a file beside the
desk key (mode 600), named after the data dir it belongs to (several desks may share one OS
account and key folder, as the tests and a training room do). Otherwise it is in the OS
keyring under the same name.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from mppdesk.store.keys import KEY_FILE_ENV, KEYRING_SERVICE, KeyFileError, default_key_file


def _name(data_dir: Path) -> str:
    digest = hashlib.sha256(str(Path(data_dir).resolve()).encode("utf-8")).hexdigest()[:16]
    return f"hub-token-{digest}"


def _token_file(data_dir: Path) -> Path:
    explicit = os.environ.get(KEY_FILE_ENV)
    key_file = Path(explicit) if explicit else default_key_file()
    return key_file.parent / _name(data_dir)


def _keyring():
    if os.environ.get(KEY_FILE_ENV):
        return None  # the key lives in a file: so does the token
    try:
        import keyring
        from keyring.backends.fail import Keyring as FailKeyring

        backend = keyring.get_keyring()
        if isinstance(backend, FailKeyring) or "fail" in type(backend).__module__:
            return None
        return keyring
    except Exception:  # noqa: BLE001 - no usable keyring here
        return None


def _check(token: str) -> str:
    token = token.strip()
    if not token or len(token) > 512 or not token.isascii() or not token.isprintable():
        raise KeyFileError("the hub token must be one line of printable ASCII (at most 512)")
    return token


def save_hub_token(data_dir: Path, token: str) -> None:
    token = _check(token)
    ring = _keyring()
    if ring is not None:
        try:
            ring.set_password(KEYRING_SERVICE, _name(data_dir), token)
            return
        except Exception:  # noqa: BLE001 - fall back to the file
            pass
    path = _token_file(data_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(path.name + ".tmp")
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(token + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise KeyFileError(f"{path}: the hub token cannot be written ({exc.strerror})") from None


def load_hub_token(data_dir: Path) -> str | None:
    """The token, or None when this desk has none (not joined, or the token was removed)."""
    ring = _keyring()
    if ring is not None:
        try:
            value = ring.get_password(KEYRING_SERVICE, _name(data_dir))
            if value:
                return value
        except Exception:  # noqa: BLE001 - fall back to the file
            pass
    path = _token_file(data_dir)
    try:
        if path.stat().st_size > 1024:
            return None
        value = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return value or None


def forget_hub_token(data_dir: Path) -> None:
    """Remove the desk's token (a throwaway demo leaves nothing behind)."""
    ring = _keyring()
    if ring is not None:
        try:
            ring.delete_password(KEYRING_SERVICE, _name(data_dir))
        except Exception:  # noqa: BLE001 - not there, or no keyring: the file is tried too
            pass
    _token_file(data_dir).unlink(missing_ok=True)
