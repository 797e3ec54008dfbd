"""The transport port: how an outbox entry reaches its agency, behind one interface.

An agency endpoint names its transport in settings (``[agencies.X] transport = "http"``,
``"manual"``, ``"folder"`` or any name registered here). The sync worker claims entries,
hands each one to the endpoint's transport as a ``Delivery`` and records the ``Outcome`` it
gets back; it never sees an HTTP status, a file or a socket. Each transport classifies its
own results into the policy's plain terms (``mppdesk.core.sync_policy.OutcomeKind``):

- DELIVERED: the agency confirmed it (``agency_ref``, ``agency_status``);
- FAILED: the agency refused the content (``message``, ``fields``);
- RETRY with a reason: try again later with the same bytes (``retry_after_s`` for the
  agency's own wait, ``protocol`` when the agency answered outside its contract, ``waiting``
  when nothing failed but the confirmation is not there yet);
- PAUSED: configuration or credentials; the agency's whole queue waits for a person or the
  next probe;
- CONFLICT, FLAGGED: a supervisor must look.

A transport is built per agency endpoint by the factory registered under its name
(``register_transport``), with a ``TransportContext`` of what the desk lends it; a factory
raises ``ValueError`` for an endpoint it cannot use, and the worker then pauses that agency
with the message. Delivery runs on several threads at once (``[sync]
concurrency_per_agency``), so ``deliver`` must be safe to call concurrently for different
entries. A transport never raises for what the outside does (network, agency, disk): it
classifies. See docs/transports.md.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from mppdesk.core.sync_policy import Outcome, OutcomeKind
from mppdesk.settings import AgencyEndpoint, SyncSettings, register_transport_name

ABORTED = Outcome(OutcomeKind.RETRY, "aborted", "the desk stopped sending")
"""What a transport returns when ``abort()`` (or the context's cancel event) cut it short:
the worker gives the entry back untouched, without counting an attempt."""


@dataclass(frozen=True)
class Attachment:
    """One attachment of a submission, as the frozen payload lists it."""

    name: str
    sha256: str
    content_type: str
    size: int


@dataclass(frozen=True)
class Delivery:
    """One claimed outbox entry: what to deliver and what already went through.

    ``payload`` is the frozen canonical JSON, sent byte for byte. ``posted`` says the
    submission itself was confirmed earlier (only attachments remain); ``acked`` maps the
    attachment names already confirmed to their sha256.
    """

    entry_id: str
    submission_id: str
    agency: str
    payload: bytes
    attachments: tuple[Attachment, ...]
    acked: Mapping[str, str]
    posted: bool
    attempts: int

    def pending_attachments(self) -> list[Attachment]:
        return [a for a in self.attachments if self.acked.get(a.name) != a.sha256]


class AttachmentUnreadable(Exception):
    """This PC cannot read an attachment it must deliver (``Progress.read`` raises it).

    A transport lets it through: the worker flags the entry ``local_fault`` for a person.
    """

    def __init__(self, name: str, cause: BaseException) -> None:
        super().__init__(f"attachment {name!r} unreadable: {cause}")
        self.name = name
        self.cause = cause


class Progress(Protocol):
    """What the worker offers a transport during one delivery."""

    def read(self, attachment: Attachment) -> bytes:
        """The attachment's bytes, checked against its sha256; raises AttachmentUnreadable."""
        ...

    def posted(self, outcome: Outcome) -> None:
        """The submission itself is confirmed (``outcome`` DELIVERED, with the agency's
        reference) and attachments follow: recorded now, so a retry sends only those."""
        ...

    def acked(self, attachment: Attachment) -> None:
        """One attachment is confirmed: recorded now, never sent again."""
        ...


@dataclass(frozen=True)
class TransportContext:
    """What the desk lends every transport it builds."""

    desk_id: str  # the desk's code (X-MPP-Desk, tracking number prefix)
    concurrency: int  # deliveries in flight at once to this agency
    sync: SyncSettings  # answer size cap, backoff cap (bounds Retry-After) ...
    cancel: threading.Event  # set while the worker stops: start nothing new, return ABORTED
    clock: Callable[[], datetime]  # the worker's clock (timezone-aware)


class Transport(ABC):
    """One agency endpoint's way of delivering entries (see the module docstring).

    ``sends`` False (manual) means the worker never hands it an entry: entries wait for a
    person. ``probes_health`` says whether ``health`` is worth asking for idle agencies.
    """

    name: str = ""
    sends: bool = True
    probes_health: bool = True

    @abstractmethod
    def deliver(self, delivery: Delivery, progress: Progress) -> Outcome:
        """Deliver one entry (or find out that it was), classified (module docstring)."""

    def poll_status(self, submission_id: str) -> Outcome:
        """The agency's current status of a delivered submission: DELIVERED with
        ``agency_status`` (and ``message``, ``agency_ref``) when it said so in its own terms;
        CONFLICT ``lost_at_agency`` when it no longer knows it; a RETRY otherwise (``protocol``
        when the answer was outside the contract, ``unreachable`` when there was none)."""
        return Outcome(OutcomeKind.RETRY, "no_status", f"the {self.name} transport has no status")

    def health(self) -> bool | None:
        """Whether the agency looks reachable now; None when the question does not apply."""
        return None

    def note_audit_head(self, head: str | None) -> None:
        """The head of the desk's audit chain ("ID:HASH"), for transports that carry it."""
        return None  # optional: nothing to do by default

    def abort(self) -> None:
        """Cut what is in progress now (the desk is stopping); each call returns ABORTED."""
        return None  # optional: nothing to do by default

    def close(self) -> None:
        """Release what the transport holds (connections, threads)."""
        return None  # optional: nothing to do by default


TransportFactory = Callable[[AgencyEndpoint, TransportContext], Transport]

_registry: dict[str, TransportFactory] = {}
_registry_lock = threading.Lock()


def register_transport(name: str, factory: TransportFactory, *, replace: bool = False) -> None:
    """Make ``[agencies.X] transport = name`` deliver through transports ``factory`` builds.

    Registering must happen before the settings naming it are loaded (they are validated
    against the registered names). An existing name is refused unless ``replace``.
    """
    if not callable(factory):
        raise TypeError("a transport factory must be callable")
    with _registry_lock:
        if name in _registry and not replace:
            raise ValueError(f"transport {name!r} is already registered")
        register_transport_name(name)  # validates the name
        _registry[name] = factory


def unregister_transport(name: str) -> None:
    """Forget a transport registered for a while (a test's own); built-ins stay."""
    if name in _BUILTIN:
        raise ValueError(f"the built-in transport {name!r} cannot be unregistered")
    with _registry_lock:
        _registry.pop(name, None)


def transport_factory(name: str) -> TransportFactory | None:
    with _registry_lock:
        return _registry.get(name)


def registered_transports() -> list[str]:
    with _registry_lock:
        return sorted(_registry)


def transport_sends(name: str) -> bool:
    """Whether the worker hands entries of a transport named so to it (False: manual). A
    name nothing registered counts as sending: its entries are planned, and the worker
    pauses them with a message naming the unknown transport."""
    factory = transport_factory(name)
    return factory is None or bool(getattr(factory, "sends", True))


def transport_probes(name: str) -> bool:
    factory = transport_factory(name)
    return factory is not None and bool(getattr(factory, "probes_health", True))


def _register_builtins() -> None:
    from mppdesk.sync.transports.folder import FolderDropTransport
    from mppdesk.sync.transports.http import HttpTransport
    from mppdesk.sync.transports.manual import ManualTransport

    for transport in (HttpTransport, ManualTransport, FolderDropTransport):
        register_transport(transport.name, transport, replace=True)


_BUILTIN = frozenset({"http", "manual", "folder"})
_register_builtins()
