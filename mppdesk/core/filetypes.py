"""The attachment types a desk accepts, told by their content, never by their file name.

Agencies receive scans and photos: PDF, JPEG and PNG. A name ending in ``.pdf`` proves
nothing (``/etc/shadow`` renamed is still not a scan), so the first bytes decide.
"""

from __future__ import annotations

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"

# The signature each type starts with. PDF readers tolerate a little junk before %PDF-,
# but a scan written by a scanner or a phone starts with it, so the desk asks for that.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", PDF),
    (b"\xff\xd8\xff", JPEG),
    (b"\x89PNG\r\n\x1a\n", PNG),
)
SNIFF_BYTES = max(len(signature) for signature, _ in _SIGNATURES)
ACCEPTED_LABEL = "PDF, JPEG, PNG"


def sniff_content_type(head: bytes) -> str | None:
    """The content type the first bytes prove, or None for anything the desk does not take."""
    for signature, content_type in _SIGNATURES:
        if head.startswith(signature):
            return content_type
    return None
