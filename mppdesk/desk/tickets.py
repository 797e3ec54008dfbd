"""The queue at a desk: a ticket is taken (the kiosk), called by a counter, served, then done
or a no-show — each step with its time, so waiting time (issued → called) and service time
(called → finished) are true figures.

Where tickets come from: a desk joined to a hub takes and calls them at the hub (one queue for
the mall, shown on the hall's display); a desk not joined, or any desk while its hub does not
answer, numbers from its own block (``F-012`` not joined, ``F-K03-001`` joined but offline) and
calls by the same rule (:mod:`mppdesk.core.queue`: priority first, at most three in a row).
Calling with nobody waiting issues a walk-in ticket and calls it at once (a desk without a
kiosk: the person is already at the counter, their wait truly zero).

Taking a ticket needs no login (a kiosk in the hall); calling, serving and closing one are an
officer's work. Every step is audited with its times, the events a report can be checked by.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mppdesk.core import queue
from mppdesk.core.permissions import Operation
from mppdesk.desk.auth import Actor, require
from mppdesk.desk.counter import service_groups, ticket_prefix
from mppdesk.desk.errors import DeskError, FieldError, InvalidInput
from mppdesk.desk.runtime import Runtime
from mppdesk.forms.priorities import PriorityCatalogError, shipped_priorities
from mppdesk.store import repo
from mppdesk.store import tickets as store_tickets
from mppdesk.store.tickets import TicketRow

log = logging.getLogger(__name__)

KIOSK = "kiosk"  # the audit actor of a ticket taken in the hall
STEPS = ("served", "done", "no_show")


@dataclass(frozen=True)
class QueueTicket:
    """A ticket as the kiosk, the counter and the slip see it."""

    number: str
    group: str  # the ticket letter: F
    label: str  # the catalog group: dukcapil
    priority: str | None
    status: str
    issued_at: datetime
    called_at: datetime | None
    source: str  # hub | desk
    ahead: int | None = None  # at issue: how many the rule calls first

    def as_json(self) -> dict[str, Any]:
        """The command line's shape: ``{"number", "group", "priority", "ahead"}``."""
        return {
            "number": self.number,
            "group": self.group,
            "priority": self.priority,
            "ahead": self.ahead,
        }

    @property
    def wait_s(self) -> float | None:
        if self.called_at is None:
            return None
        return (self.called_at - self.issued_at).total_seconds()


# --- input -------------------------------------------------------------------------------------


def resolve_group(runtime: Runtime, value: str) -> tuple[str, str]:
    """(letter, catalog group) of a group given as its letter (F) or name (dukcapil)."""
    groups = service_groups(runtime.catalog)
    text = (value or "").strip()
    for group in groups:
        letter = ticket_prefix(runtime.catalog, group)
        if text.lower() == group.lower() or text.upper() == letter:
            return letter, group
    known = ", ".join(f"{ticket_prefix(runtime.catalog, g)} ({g})" for g in groups)
    raise InvalidInput([FieldError.of("group", "tickets.group_unknown", group=text[:40], known=known)])


def check_priority(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    try:
        codes = [p.code for p in shipped_priorities()]
    except PriorityCatalogError as exc:
        raise DeskError.of("tickets.priorities_broken", reason=str(exc)) from None
    if value not in codes:
        raise InvalidInput(
            [
                FieldError.of(
                    "priority", "tickets.priority_unknown", priority=value[:40], known=", ".join(codes)
                )
            ]
        )
    return value


# --- hub ------------------------------------------------------------------------------------


def _hub_client(runtime: Runtime):  # type: ignore[no-untyped-def]
    if not runtime.settings.hub.url:
        return None
    from mppdesk.desk.hub import _client

    return _client(runtime)


def _parse_time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _from_hub(body: dict[str, Any], label: str, ahead: int | None = None) -> QueueTicket:
    issued = _parse_time(body["issued_at"])
    assert issued is not None  # hub_tickets.ticket_ok checked it
    return QueueTicket(
        number=body["number"],
        group=body["group"],
        label=label,
        priority=body.get("priority"),
        status=body["status"],
        issued_at=issued,
        called_at=_parse_time(body.get("called_at")),
        source="hub",
        ahead=ahead,
    )


def _from_row(row: TicketRow, ahead: int | None = None) -> QueueTicket:
    return QueueTicket(
        row.number, row.group, row.label, row.priority, row.status, row.issued_at,
        row.called_at, row.source, ahead,
    )


def _ask_hub(runtime: Runtime, ask: Callable[[Any, Any], Any]) -> Any | None:
    """``ask(hub_tickets, client)`` of a joined desk's hub, then (on an answer) the ticket
    steps the hub has not had yet; None when the desk is not joined. A refusal raises: the
    hub said no, and this desk's block must not say yes instead."""
    client = _hub_client(runtime)
    if client is None:
        return None
    from mppdesk.sync import hub_tickets
    from mppdesk.sync.hub_client import REFUSED

    try:
        result = ask(hub_tickets, client)
        if result.ok:
            _send_unsent(runtime, client)
    finally:
        client.close()
    if result.outcome == REFUSED:
        raise DeskError.of("tickets.hub_refused", reason=result.message or result.code)
    return result


def _local_day(runtime: Runtime, now: datetime | None = None) -> str:
    """The desk's local date (ISO) of ``now`` (default: the runtime's clock now)."""
    return (now or runtime.now()).astimezone(runtime.tz).date().isoformat()


# --- take -------------------------------------------------------------------------------------


def take(runtime: Runtime, group: str, priority: str | None = None) -> QueueTicket:
    """Issue a ticket for ``group`` (letter or name) with an optional priority category."""
    letter, label = resolve_group(runtime, group)
    priority = check_priority(priority)
    result = _ask_hub(runtime, lambda hub, client: hub.take(client, letter, priority, label))
    if result is not None and result.ok:
        body = result.body or {}
        ticket = _from_hub(body, label, ahead=int(body["ahead"]))
        _audit(runtime, KIOSK, "ticket.issued", ticket)
        return ticket
    if result is not None:
        log.info("hub did not issue a ticket (%s): this desk's block", result.outcome)
    return _take_from_block(runtime, letter, label, priority)


def _block_number(runtime: Runtime, session: Any, letter: str, label: str, day: str) -> tuple[str, int]:
    """The next number of this desk's own block: ``F-012`` on a desk of its own, ``F-K03-001``
    on a joined desk while its hub is away (the desk code keeps it apart from the hub's)."""
    compact = day.replace("-", "")
    if runtime.settings.hub.url:
        from mppdesk.desk.hub import offline_ticket_number

        seq = repo.next_sequence(session, f"ticket-offline:{label}:{compact}")
        return offline_ticket_number(letter, runtime.settings.desk.code, seq), seq
    seq = repo.next_sequence(session, f"ticket:{label}:{compact}")
    return f"{letter}-{seq:03d}", seq


def _take_from_block(
    runtime: Runtime, letter: str, label: str, priority: str | None
) -> QueueTicket:
    now = runtime.now()
    day = _local_day(runtime, now)
    with runtime.store.write() as session:
        number, seq = _block_number(runtime, session, letter, label, day)
        row = store_tickets.add(
            session, number=number, group=letter, label=label, local_date=day, seq=seq,
            priority=priority, source="desk", status="waiting", issued_at=now,
        )
        waiting = store_tickets.waiting(session, day, letter)
        run = store_tickets.priority_run(session, day, letter)
        ahead = queue.ahead_of(list(waiting.values()), waiting[number].seq, run)
        ticket = _from_row(row, ahead)
        _audit(runtime, KIOSK, "ticket.issued", ticket, session=session)
    return ticket


# --- call -------------------------------------------------------------------------------------


def call_next(
    runtime: Runtime, actor: Actor, group: str, *, walk_in: bool = True
) -> QueueTicket | None:
    """Call the group's next ticket to this counter by the rule ("panggil berikutnya").

    Joined: the hub's queue first; then tickets this desk issued from its own block while the
    hub was away. Nobody waiting: a walk-in ticket (``walk_in``), or None.
    """
    require(actor, Operation.INTAKE)
    letter, label = resolve_group(runtime, group)
    with runtime.store.read() as session:
        local_waiting = bool(store_tickets.waiting(session, _local_day(runtime), letter))
    result = _ask_hub(
        runtime,
        lambda hub, client: hub.call(
            client, letter, actor.username, walk_in=walk_in and not local_waiting, label=label
        ),
    )
    if result is not None and result.ok:
        body = (result.body or {}).get("ticket")
        if body is not None:
            return _keep_hub_call(runtime, actor, body, label)
    elif result is not None:
        log.info("hub did not call a ticket (%s): this desk's block", result.outcome)
    return _call_from_block(runtime, actor, letter, label, walk_in=walk_in)


def _keep_hub_call(runtime: Runtime, actor: Actor, body: dict[str, Any], label: str) -> QueueTicket:
    """Keep the hub's ticket this desk called, with the hub's stamps (report, finish)."""
    ticket = _from_hub(body, label)
    with runtime.store.write() as session:
        day = str(body.get("day") or _local_day(runtime))
        if store_tickets.find(session, day, ticket.number) is None:
            store_tickets.add(
                session, number=ticket.number, group=ticket.group, label=label, local_date=day,
                seq=int(ticket.number.rsplit("-", 1)[-1]), priority=ticket.priority,
                source="hub", status="called", issued_at=ticket.issued_at,
                called_at=ticket.called_at, officer=actor.username, hub_state="called",
            )
        _audit(runtime, actor.username, "ticket.called", ticket, session=session)
    return ticket


def _call_from_block(
    runtime: Runtime, actor: Actor, letter: str, label: str, *, walk_in: bool
) -> QueueTicket | None:
    now = runtime.now()
    day = _local_day(runtime, now)
    with runtime.store.write() as session:
        waiting = store_tickets.waiting(session, day, letter)
        chosen = queue.next_to_call(
            list(waiting.values()), store_tickets.priority_run(session, day, letter)
        )
        if chosen is not None:
            number = next(n for n, w in waiting.items() if w is chosen)
            row = store_tickets.call(session, day, number, now, actor.username)
            if row is None:  # cannot happen inside SQLite's one writer; say so if it does
                raise DeskError.of("tickets.call_lost")
        elif walk_in:
            number, seq = _block_number(runtime, session, letter, label, day)
            row = store_tickets.add(
                session, number=number, group=letter, label=label, local_date=day, seq=seq,
                priority=None, source="desk", status="called", issued_at=now, called_at=now,
                officer=actor.username,
            )
        else:
            return None
        ticket = _from_row(row)
        _audit(runtime, actor.username, "ticket.called", ticket, session=session)
    return ticket


# --- served, done, no-show -------------------------------------------------------------------------


def step(runtime: Runtime, actor: Actor, number: str, state: str) -> QueueTicket:
    """One step of a ticket this desk called: served, done (the visit finished) or no_show.

    Stored here first; a hub ticket's step then goes to the hub with any earlier step it
    missed. The hub not answering keeps the step unsent on this desk (``hub_state``): it goes
    with the next ticket call that reaches the hub, in order (``hub_tickets.send_unsent``).
    """
    require(actor, Operation.INTAKE)
    if state not in STEPS:
        raise InvalidInput([FieldError.of("state", "tickets.state_unknown", state=str(state)[:20])])
    now = runtime.now()
    with runtime.store.write() as session:
        row = _find_recent(session, runtime, number)
        if row is None:
            raise InvalidInput([FieldError.of("number", "tickets.not_found", number=number[:32])])
        after, moved = store_tickets.step(session, row.local_date, row.number, state, now)
        assert after is not None
        if not moved:
            raise InvalidInput(
                [FieldError.of("number", "tickets.wrong_state", number=row.number, status=row.status)]
            )
        ticket = _from_row(after)
        _audit(runtime, actor.username, f"ticket.{state}", ticket, session=session, at=now)
    if after.source == "hub":
        client = _hub_client(runtime)
        if client is not None:
            try:
                _send_unsent(runtime, client, live=(after.local_date, after.number, state))
            finally:
                client.close()
    return ticket


def _send_unsent(
    runtime: Runtime, client: Any, live: tuple[str, str, str] | None = None
) -> None:
    """Hub ticket steps the hub has not acknowledged, sent in order with the times this desk
    took them; ``live`` is the step just taken (the hub's clock stamps it), every other one
    is a resend (the hub keeps this desk's time when it believes it). What the hub does not
    take stays for the next call that reaches it (never lost, never this desk's figures)."""
    from mppdesk.sync import hub_tickets

    settled, complete = hub_tickets.send_unsent(client, runtime.store, live=live)
    if not complete:
        log.warning("hub did not take every ticket step (%d sent): kept for later", settled)


def _find_recent(session: Any, runtime: Runtime, number: str) -> TicketRow | None:
    """The ticket ``number`` of today (or of yesterday at the hub's day boundary)."""
    from datetime import timedelta

    today = runtime.now().astimezone(runtime.tz).date()
    for day in (today, today - timedelta(days=1)):
        row = store_tickets.find(session, day.isoformat(), number.strip().upper())
        if row is not None:
            return row
    return None


# --- audit ------------------------------------------------------------------------------------


def _audit(
    runtime: Runtime,
    actor: str,
    action: str,
    ticket: QueueTicket,
    *,
    session: Any = None,
    at: datetime | None = None,
) -> None:
    if session is None:
        with runtime.store.write() as own:
            _audit(runtime, actor, action, ticket, session=own, at=at)
        return
    details = {
        "group": ticket.group,
        "label": ticket.label,
        "priority": ticket.priority,
        "source": ticket.source,
        "desk": runtime.settings.desk.code,
        "issued_at": ticket.issued_at.isoformat(),
        "called_at": ticket.called_at.isoformat() if ticket.called_at else None,
    }
    repo.append_audit(
        session, actor=actor, action=action, object_type="ticket",
        object_id=ticket.number, details=details, at=at,
    )


# --- the slip ----------------------------------------------------------------------------------


def group_name(runtime: Runtime, label: str) -> str:
    """The group as a person reads it: the agency's short name when the group is an agency."""
    agency = runtime.catalog.agencies.get(label)
    if agency is not None:
        return agency.short_name
    family = sorted(a.short_name for code, a in runtime.catalog.agencies.items()
                    if code.startswith(label + "-"))
    if family:  # bpjs: "BPJS Kesehatan", "BPJS Ketenagakerjaan" → "BPJS"
        return family[0].split()[0]
    return label.replace("-", " ").title()


def priority_name(code: str | None, lang: str) -> str | None:
    if not code:
        return None
    for priority in shipped_priorities():
        if priority.code == code:
            return priority.name(lang)
    return code


def slip_layout(runtime: Runtime, asked: str | None = None) -> str:
    """The roll a ticket slip prints on: the one asked, else the settings' paper (A4, which
    is no roll, prints on 80 mm)."""
    layout = asked or runtime.settings.printing.paper
    return layout if layout in ("80mm", "58mm") else "80mm"


def slip(
    runtime: Runtime, ticket: QueueTicket, layout: str, lang: str = "id", *, output: str = "pdf"
) -> bytes:
    """The ticket slip (58/80 mm) as PDF, or ESC/POS bytes with ``output="escpos"``."""
    from mppdesk.printing.ticket_slip import TicketSlipView, render_ticket_slip, ticket_slip_escpos

    view = TicketSlipView(
        mpp_name=runtime.settings.desk.mpp_name,
        number=ticket.number,
        group_name=group_name(runtime, ticket.label),
        priority_name=priority_name(ticket.priority, lang),
        issued_at=ticket.issued_at,
        ahead=ticket.ahead or 0,
        tz_label=runtime.settings.desk.timezone_label,
    )
    if output == "escpos":
        return ticket_slip_escpos(view, layout, lang)
    return render_ticket_slip(view, layout, lang)


def close_for_visit(runtime: Runtime, actor: Actor, number: str) -> QueueTicket | None:
    """The visit of ``number`` is finalized: its ticket is done (service ends now).

    Called after the visit is stored, so it never fails the visit: a typed number this desk
    never called, or one already closed, is left as it is.
    """
    number = (number or "").strip()
    if not number:
        return None
    try:
        return step(runtime, actor, number, "done")
    except InvalidInput:
        return None  # not a ticket this desk called today, or already closed
    except DeskError as exc:
        log.warning("ticket %s not closed: %s", number, exc.code or "error")
        return None


def print_slip(runtime: Runtime, ticket: QueueTicket, lang: str = "id") -> bool:
    """Print the slip on the settings' receipt printer (CUPS); False when none is named.

    Raises the printer's error: the caller shows it beside the number already issued.
    """
    from mppdesk.printing.os_print import submit_pdf

    printer = runtime.settings.printing.receipt_printer or None
    if printer is None:
        return False
    layout = slip_layout(runtime)
    submit_pdf(slip(runtime, ticket, layout, lang), printer, title=f"ticket {ticket.number}")
    return True


def mark_served(runtime: Runtime, actor: Actor, number: str) -> QueueTicket | None:
    """The person of a called ticket came to the counter (its served stamp). Quiet: a typed
    number this desk never called, or one already past it, is left as it is."""
    try:
        return step(runtime, actor, number, "served")
    except InvalidInput:
        return None
