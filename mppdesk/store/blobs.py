"""Attachment files, named by the SHA-256 of their content under the data dir.

Writing the same bytes twice stores them once. A file is written to a temporary name,
flushed and fsynced, then renamed, so a crash never leaves a partial file under a hash name.
With a key, each file is sealed with AES-256-GCM (a fresh nonce per file; the hash name is
bound as associated data, so a file moved under another name fails to open).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from pathlib import Path

_MAGIC = b"MPB1"
_NONCE = 12


class BlobStore:
    def __init__(self, root: Path, key: bytes | None = None):
        self.root = Path(root)
        self._aead = None
        if key is not None:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            self._aead = AESGCM(key)

    @property
    def encrypted(self) -> bool:
        return self._aead is not None

    def path_for(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def _seal(self, digest: str, data: bytes) -> bytes:
        if self._aead is None:
            return data
        nonce = secrets.token_bytes(_NONCE)
        return _MAGIC + nonce + self._aead.encrypt(nonce, data, digest.encode())

    def _open(self, digest: str, stored: bytes) -> bytes:
        if self._aead is None:
            return stored
        if not stored.startswith(_MAGIC):
            raise OSError(f"attachment {digest} is not sealed with the desk key")
        nonce = stored[len(_MAGIC) : len(_MAGIC) + _NONCE]
        from cryptography.exceptions import InvalidTag

        try:
            return self._aead.decrypt(nonce, stored[len(_MAGIC) + _NONCE :], digest.encode())
        except InvalidTag:
            raise OSError(f"attachment {digest} is damaged or sealed with another key") from None

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        target = self.path_for(digest)
        if target.exists():
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{digest}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        try:
            with open(tmp, "wb") as handle:
                handle.write(self._seal(digest, data))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        finally:
            # A write that failed (disk full, file size limit) must not leave its partial
            # temp file behind: on a full disk that file is what keeps the disk full.
            with contextlib.suppress(OSError):  # never hide the write's own error
                tmp.unlink(missing_ok=True)
        return digest

    def get(self, sha256: str) -> bytes:
        data = self._open(sha256, self.path_for(sha256).read_bytes())
        if hashlib.sha256(data).hexdigest() != sha256:
            raise OSError(f"attachment {sha256} is damaged (hash mismatch)")
        return data

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).exists()
