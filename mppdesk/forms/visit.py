"""One visit as plain data, whoever typed it: the headless visit file, the desk's draft, the hub.

These are the inputs of the visit plan (:mod:`mppdesk.forms.plan`). They hold values only — no
store, no files — so the same visit can be checked while the officer types, planned before the
write, and planned again by another program.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from mppdesk.core.canonical import sha256_hex
from mppdesk.core.filetypes import JPEG, PDF, PNG, sniff_content_type

IDENTITY_FIELDS = (("nik", "nik"), ("no_kitas", "kitas"), ("no_paspor", "paspor"))
PROXY_KEYS = frozenset({"nama", "nik", "hubungan", "no_hp", "no_surat_kuasa"})


@dataclass(frozen=True)
class AttachmentInput:
    """A file the visit brings, with its bytes (read by the desk or the visit file's reader)."""

    name: str
    data: bytes
    content_type: str

    @property
    def size(self) -> int:
        return len(self.data)

    @cached_property
    def sha256(self) -> str:
        return sha256_hex(self.data)

    def proven_type(self) -> str | None:
        """The type its first bytes prove (PDF, JPEG, PNG), None for anything else."""
        return sniff_content_type(self.data[:16])


@dataclass(frozen=True)
class AttachedFile:
    """A file already in the content-addressed store, its type proven when it was attached.

    The desk's draft holds these: checking a visit while the officer types never reads files.
    """

    name: str
    sha256: str
    size: int
    content_type: str

    def proven_type(self) -> str | None:
        """The type recorded when it was attached, if the desk accepts it at all."""
        return self.content_type if self.content_type in (PDF, JPEG, PNG) else None


@dataclass(frozen=True)
class ServiceRequest:
    service: str
    answers: Mapping[str, Any] = field(default_factory=dict)
    checklist: Mapping[str, str] = field(default_factory=dict)
    attachments: Sequence[AttachmentInput | AttachedFile] = ()
    supersedes: str | None = None


@dataclass(frozen=True)
class VisitRequest:
    applicant: Mapping[str, Any]
    services: Sequence[ServiceRequest]
    ticket: str = ""
    proxy: Mapping[str, Any] | None = None
    ticket_at: datetime | None = None
    started_at: datetime | None = None


def identity_of(applicant: Mapping[str, Any]) -> tuple[str, str] | None:
    """(kind, number) keying the applicant: NIK for citizens, KITAS/KITAP or passport else."""
    for field_id, kind in IDENTITY_FIELDS:
        value = applicant.get(field_id)
        if isinstance(value, str) and value.strip():
            return kind, value
    return None
