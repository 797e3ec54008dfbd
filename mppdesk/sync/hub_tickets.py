"""The hub's queue calls (contract: resources/protocol/hub-sync.md, "The queue's lifecycle"),
each answer checked against the contract before the desk believes it.

A ticket answer names the number asked for (its group), a known state and ISO times; anything
else is ``retry`` (a captive portal, another group's ticket), never a ticket.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from mppdesk.sync.hub_client import RETRY, HubClient, HubResult, classify

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


def set_state(client: HubClient, number: str, state: str, officer: str) -> HubResult:
    answer = client._post(
        f"/v1/tickets/{quote(number, safe='')}/state",
        {"state": state},
        officer=officer,
        client=client._lookup,
    )
    result = classify(answer)
    if result.ok and not (ticket_ok(result.body) and (result.body or {}).get("status") == state):
        return HubResult(RETRY, None, "ticket answer outside the contract")
    return result
