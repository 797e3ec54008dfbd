"""The hub's queue calls (contract: resources/protocol/hub-sync.md, "The queue's lifecycle"),
each answer checked against the contract before the desk believes it.

A ticket step the hub did not take (down, an answer outside the contract) stays on the desk
as unsent (``queue_tickets.hub_state`` behind ``status``); ``send_unsent`` sends such steps
in their order once the hub answers again, each with the time this desk took it and marked
``resent``, so the hub's waits and service times are the desk's, not the arrival's.

A ticket answer names the number asked for (its group), a known state and ISO times; anything
else is ``retry`` (a captive portal, another group's ticket), never a ticket.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from urllib.parse import quote

from mppdesk.store import tickets as store_tickets
from mppdesk.store.database import Store
from mppdesk.sync.hub_client import REFUSED, RETRY, HubClient, HubResult, classify

log = logging.getLogger(__name__)

STATES = ("waiting", "called", "served", "done", "no_show")


def _time(value: Any, required: bool) -> bool:
    if value is None:
        return not required
    if not isinstance(value, str) or len(value) > 40:
        return False
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


def ticket_ok(body: Any, group: str | None = None) -> bool:
    """Whether ``body`` is a ticket of the contract (of ``group`` when given)."""
    if not isinstance(body, dict):
        return False
    number, grp = body.get("number"), body.get("group")
    if not isinstance(number, str) or not isinstance(grp, str) or len(number) > 32:
        return False
    if not number.startswith(f"{grp}-") or (group is not None and grp != group):
        return False
    priority = body.get("priority")
    if priority is not None and (not isinstance(priority, str) or len(priority) > 24):
        return False
    return (
        body.get("status") in STATES
        and _time(body.get("issued_at"), True)
        and _time(body.get("called_at"), body.get("status") != "waiting")
    )


def take(client: HubClient, group: str, priority: str | None, label: str) -> HubResult:
    answer = client._post(
        "/v1/tickets/take",
        {"group": group, "priority": priority, "label": label},
        client=client._lookup,
    )
    result = classify(answer)
    if result.ok:
        body = result.body or {}
        ahead = body.get("ahead")
        if (
            not ticket_ok(body, group)
            or body.get("status") != "waiting"
            or isinstance(ahead, bool)
            or not isinstance(ahead, int)
            or ahead < 0
        ):
            return HubResult(RETRY, None, "ticket answer outside the contract")
    return result


def call(
    client: HubClient, group: str, officer: str, *, walk_in: bool, label: str
) -> HubResult:
    answer = client._post(
        "/v1/tickets/call",
        {"group": group, "walk_in": walk_in, "label": label},
        officer=officer,
        client=client._lookup,
    )
    result = classify(answer)
    if result.ok:
        body = result.body or {}
        ticket = body.get("ticket", ...)
        if ticket is ... or (ticket is None and walk_in):
            return HubResult(RETRY, None, "call answer outside the contract")
        if ticket is not None and not (ticket_ok(ticket, group) and ticket["status"] == "called"):
            return HubResult(RETRY, None, "call answer outside the contract")
    return result


def set_state(
    client: HubClient,
    number: str,
    state: str,
    officer: str,
    *,
    at: datetime | None = None,
    resent: bool = False,
    day: str | None = None,
) -> HubResult:
    """One step at the hub. ``at`` is when this desk took it (aware); with ``resent`` (the
    hub was away when it happened) the hub keeps that time if it believes it."""
    payload: dict[str, Any] = {"state": state}
    if at is not None:
        payload["at"] = at.isoformat()
    if resent:
        payload["resent"] = True
    if day is not None:
        payload["day"] = day
    answer = client._post(
        f"/v1/tickets/{quote(number, safe='')}/state",
        payload,
        officer=officer,
        client=client._lookup,
    )
    result = classify(answer)
    if result.ok and not (ticket_ok(result.body) and (result.body or {}).get("status") == state):
        return HubResult(RETRY, None, "ticket answer outside the contract")
    return result


def send_unsent(
    client: HubClient,
    store: Store,
    limit: int = 200,
    live: tuple[str, str, str] | None = None,
) -> tuple[int, bool]:
    """Send the hub the ticket steps it has not acknowledged, each ticket's steps in order;
    returns (steps the hub now holds, whether every unsent step was settled).

    Each step goes with the time this desk took it. ``live`` (local date, number, state) is
    the step just taken, sent as it happens (the hub stamps it with its own clock); every
    other step is ``resent``: the hub was away, so it keeps the desk's time if it believes it.

    Idempotent: a step the hub already holds (its earlier answer was lost) is refused by the
    hub as a step from the wrong state, which settles it just the same; any other refusal
    (the ticket unknown at the hub, say after the hub's day ended) is permanent, so it is
    logged and settled rather than retried forever. No answer, an answer outside the
    contract or a paused token stops the round: the steps stay for the next one.
    """
    with store.read() as session:
        pending = store_tickets.unsent_steps(session, limit)
    settled = 0
    for ticket in pending:
        times = ticket.times or (None,) * len(ticket.steps)
        for state, at in zip(ticket.steps, times, strict=True):
            resent = live != (ticket.local_date, ticket.number, state)
            result = set_state(
                client, ticket.number, state, ticket.officer or "desk",
                at=at, resent=resent, day=ticket.local_date,
            )
            if result.ok:
                settled += 1
                if resent and (result.body or {}).get("clock") == "hub":
                    log.warning(
                        "hub stamped ticket %s step %s with its own clock: this desk's time "
                        "was not believed (clock ahead, or before the previous step)",
                        ticket.number, state,
                    )
            elif result.outcome == REFUSED:
                log.warning(
                    "hub refused ticket %s step %s (%s): settled as the hub's word",
                    ticket.number, state, result.code or result.message,
                )
            else:
                return settled, False
            with store.write() as session:
                store_tickets.mark_sent(session, ticket.local_date, ticket.number, state)
    return settled, len(pending) < limit
