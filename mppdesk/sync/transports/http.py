"""The HTTP transport: the agency sync protocol (resources/protocol/agency-sync.md).

The wire is ``mppdesk.sync.client.AgencyClient`` (deadline per exchange, answer size cap,
abort, verified TLS, the environment's proxy, error kinds); what its answers mean is
``mppdesk.core.sync_policy.classify`` (status codes, protocol schemas, Retry-After capped by
the backoff cap). This module puts the two together behind the transport port: POST the
frozen payload, then PUT each attachment not yet acknowledged, each step recorded as it is
confirmed, so a retry never repeats what the agency already holds.
"""

from __future__ import annotations

from mppdesk.core import sync_policy as policy
from mppdesk.core.billing import with_billing
from mppdesk.core.sync_policy import Outcome, OutcomeKind
from mppdesk.settings import AgencyEndpoint
from mppdesk.sync.client import AgencyClient, Answer
from mppdesk.sync.transports import (
    ABORTED,
    Delivery,
    Progress,
    Transport,
    TransportContext,
)


class HttpTransport(Transport):
    """One agency base URL over a kept-alive connection pool sized to the concurrency."""

    name = "http"

    def __init__(self, endpoint: AgencyEndpoint, context: TransportContext) -> None:
        # ValueError for a base URL the client cannot use: the worker pauses the agency.
        self.client = AgencyClient(
            endpoint.base_url,
            token=endpoint.token(),
            desk_id=context.desk_id,
            connect_timeout=endpoint.connect_timeout_s,
            read_timeout=endpoint.read_timeout_s,
            ca_bundle=endpoint.ca_file,
            deadline_s=endpoint.deadline_s,
            max_answer_bytes=context.sync.max_answer_bytes,
            max_connections=context.concurrency,
        )
        self.client.cancel = context.cancel
        self.context = context

    def __repr__(self) -> str:
        return f"HttpTransport({self.client!r})"

    def deliver(self, delivery: Delivery, progress: Progress) -> Outcome:
        sid = delivery.submission_id
        posted: Outcome | None = None
        if not delivery.posted:
            answer = self.client.post_submission(sid, delivery.payload)
            if answer.error_kind == "aborted":
                return ABORTED
            posted = self.classify(answer, policy.Expected("post", sid))
            posted = with_billing(posted, answer.body, status=False)
            if posted.kind is not OutcomeKind.DELIVERED:
                return posted
        pending = delivery.pending_attachments()
        if not pending:
            assert posted is not None or delivery.posted
            return posted if posted is not None else Outcome(OutcomeKind.DELIVERED, "delivered")
        if posted is not None:
            progress.posted(posted)  # attachments follow: a retry sends only them
        for attachment in pending:
            data = progress.read(attachment)
            answer = self.client.put_attachment(
                sid, attachment.name, data, attachment.content_type, attachment.sha256
            )
            if answer.error_kind == "aborted":
                return ABORTED
            expected = policy.Expected("put", sid, attachment.name, attachment.sha256, len(data))
            outcome = self.classify(answer, expected)
            if outcome.kind is not OutcomeKind.DELIVERED:
                return outcome
            progress.acked(attachment)
        return Outcome(OutcomeKind.DELIVERED, "delivered")

    def poll_status(self, submission_id: str) -> Outcome:
        answer = self.client.get_status(submission_id)
        if answer.error_kind == "aborted":
            return ABORTED
        if answer.error_kind is not None:
            return self.classify(answer)
        judged = policy.status_answer(
            answer.status_code,
            answer.body,
            submission_id,
            body_problem=answer.body_problem,
            detail=answer.detail,
        )
        return with_billing(judged, answer.body, status=True)

    def classify(self, answer: Answer, expect: policy.Expected | None = None) -> Outcome:
        """What one answer (or network error) means, in the policy's terms."""
        now = self.context.clock()
        if answer.error_kind is not None:
            return policy.classify(None, None, answer.error_kind, now=now)
        return policy.classify(
            answer.status_code,
            answer.body,
            None,
            retry_after=answer.retry_after,
            now=now,
            retry_after_cap_s=min(policy.RETRY_AFTER_CAP_S, self.context.sync.backoff_cap_s),
            expect=expect,
            body_problem=answer.body_problem,
            detail=answer.detail,
        )

    def health(self) -> bool | None:
        return self.client.health()

    def note_audit_head(self, head: str | None) -> None:
        self.client.audit_head = head

    def abort(self) -> None:
        self.client.abort()

    def close(self) -> None:
        self.client.close()
