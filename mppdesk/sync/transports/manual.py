"""The manual transport: an agency without any API, served by a handover (serah terima).

Nothing is sent. The worker never hands it an entry (``sends`` False): the desk prints the
handover list (berita acara serah terima berkas) and the entry is done when an officer
records who received the files (``mppdesk.desk.documents``).
"""

from __future__ import annotations

from mppdesk.core.sync_policy import Outcome, OutcomeKind
from mppdesk.settings import AgencyEndpoint
from mppdesk.sync.transports import Delivery, Progress, Transport, TransportContext


class ManualTransport(Transport):
    name = "manual"
    sends = False
    probes_health = False

    def __init__(self, endpoint: AgencyEndpoint, context: TransportContext) -> None:
        self.agency = endpoint.code

    def deliver(self, delivery: Delivery, progress: Progress) -> Outcome:
        """Never called by the worker; should anyone call it, the entry keeps waiting for a
        person without an attempt burnt."""
        return Outcome(
            OutcomeKind.RETRY,
            "handover",
            f"{self.agency} receives its files by hand (handover list), not from this desk",
            waiting=True,
        )
