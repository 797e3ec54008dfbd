"""The hub key: AES-GCM for personal data at rest, HMAC-SHA256 for look-up by identity number.

The key lives outside the database (``MPPDESK_HUB_KEY_FILE``, else ``hub.key`` in the user
config dir), so a copy of the database alone, or its dump, holds no readable NIK or name.
Two sub-keys are derived from the file's 32 bytes with HKDF so the look-up hash can never be
used as, or reveal, the encryption key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_ENV = "MPPDESK_HUB_KEY_FILE"
_NONCE = 12


class HubKeyError(Exception):
    """The hub key file is missing, unreadable or not a hub key (an environment fault)."""


def default_key_file() -> Path:
    env = os.environ.get(KEY_ENV)
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_config_dir("mppdesk", appauthor=False)) / "hub.key"


def create_key_file(path: Path | None = None) -> Path:
    """Create the key file (0600) when it does not exist yet; an existing one is kept."""
    path = Path(path) if path is not None else default_key_file()
    if path.exists():
        HubKey.load(path)  # refuse to carry on with a file that is not a key
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(base64.b64encode(secrets.token_bytes(32)).decode("ascii") + "\n")
    except OSError as exc:
        raise HubKeyError(f"cannot create the hub key file {path}: {exc.strerror}") from None
    return path


class HubKey:
    """Encrypts and hashes personal data with keys derived from the hub key file."""

    def __init__(self, master: bytes):
        if len(master) != 32:
            raise HubKeyError("the hub key must be 32 bytes")
        self._aead = AESGCM(_derive(master, b"mppdesk-hub aes-gcm v1"))
        self._mac_key = _derive(master, b"mppdesk-hub lookup-hmac v1")

    @classmethod
    def load(cls, path: Path | None = None) -> HubKey:
        path = Path(path) if path is not None else default_key_file()
        try:
            text = path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            raise HubKeyError(
                f"the hub key file {path} does not exist (run `mppdesk hub init` or set {KEY_ENV})"
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or "not a text file"
            raise HubKeyError(f"cannot read the hub key file {path}: {reason}") from None
        try:
            master = base64.b64decode(text, validate=True)
        except ValueError:
            raise HubKeyError(f"the hub key file {path} does not hold a hub key") from None
        if len(master) != 32:
            raise HubKeyError(f"the hub key file {path} does not hold a hub key")
        return cls(master)

    @staticmethod
    def nonces(count: int) -> list[bytes]:
        """``count`` fresh random nonces from one read of the OS generator (a push seals up
        to 500 bodies; one system call each showed in the profile)."""
        pool = secrets.token_bytes(_NONCE * count)
        return [pool[i : i + _NONCE] for i in range(0, _NONCE * count, _NONCE)]

    def encrypt(self, plain: bytes, context: bytes = b"", *, nonce: bytes | None = None) -> bytes:
        """AES-GCM with a random 96-bit nonce stored in front of the ciphertext; ``context``
        (the row's identity) is authenticated, so a body moved to another row fails to open."""
        if nonce is None:
            nonce = secrets.token_bytes(_NONCE)
        elif len(nonce) != _NONCE:
            raise ValueError("a nonce is 12 bytes")
        return nonce + self._aead.encrypt(nonce, plain, context or None)

    def decrypt(self, blob: bytes, context: bytes = b"") -> bytes:
        return self._aead.decrypt(blob[:_NONCE], blob[_NONCE:], context or None)

    def seal_json(self, value: Any, context: bytes = b"", *, nonce: bytes | None = None) -> bytes:
        try:
            plain = orjson.dumps(value)  # the ingest path seals every record: the fast encoder
        except TypeError:  # an integer beyond 64 bits, a non-string key: the json module's way
            plain = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return self.encrypt(plain, context, nonce=nonce)

    def seal_json_many(self, items: list[tuple[Any, bytes]]) -> list[bytes]:
        """``seal_json`` over a push's bodies: one read of the OS generator for all nonces
        (a fresh random one per body, as ever) and no per-call set-up on the hot path."""
        count = len(items)
        pool = secrets.token_bytes(_NONCE * count)
        encrypt = self._aead.encrypt
        dumps = orjson.dumps
        out = []
        start = 0
        for value, context in items:
            nonce = pool[start : start + _NONCE]
            start += _NONCE
            try:
                plain = dumps(value)
            except TypeError:  # as in seal_json: the json module's way
                plain = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
            out.append(nonce + encrypt(nonce, plain, context or None))
        return out

    def open_json(self, blob: bytes | None, context: bytes = b"") -> Any:
        if blob is None:
            return None
        return json.loads(self.decrypt(bytes(blob), context))

    def lookup_hash(self, id_kind: str, id_number: str) -> str:
        """The keyed hash an applicant is found by: the same at every desk, useless without
        the key (a NIK has too few possibilities for a plain hash to hide it)."""
        message = f"{id_kind.strip().lower()}\x00{id_number.strip().upper()}".encode()
        return hmac.new(self._mac_key, message, hashlib.sha256).hexdigest()


def _derive(master: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)
