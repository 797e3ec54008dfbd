"""The mall's queue at the hub: a ticket is issued (kiosk), called (a counter), served, then
done or a no-show, each step with its time, so waiting time (issued → called) and service
time (called → finished) are true figures, not the desk's guesses.

A step a desk kept while the hub was away arrives later marked ``resent`` with the desk's time;
the hub keeps that time when :func:`judge_claim` believes it, else stamps its own and notes it
(``ticket_clock`` rows the daily report counts); see hub-sync.md, "Resent steps".

Functions over the hub's engine (``HubStore.engine``). Numbering shares the day's counter with
the older ``POST /v1/tickets`` (``hub_ticket_counters``), so a number is never handed out twice.
Calling the next ticket takes the rule of :mod:`mppdesk.core.queue` (priority first, at most
three in a row), the same function a desk uses on its own block. Concurrent calls of one group
are serialized by the group's counter row (``FOR UPDATE`` on PostgreSQL); a call that still
loses a race (SQLite) sees the ticket taken and chooses again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection, Row

from mppdesk.core import queue
from mppdesk.forms.priorities import PriorityCatalogError, priority_codes
from mppdesk.hub import schema as t
from mppdesk.hub.store import MALL_TZ, Desk, HubError, HubStore

GROUP = re.compile(r"^[A-Z][A-Z0-9]{0,3}$")
NUMBER = re.compile(r"^([A-Z][A-Z0-9]{0,3})-(\d{1,5})$")
STATES = ("waiting", "called", "served", "done", "no_show")
# The step a ticket may take from each state (served is optional: done may follow called).
NEXT_FROM = {"served": ("called",), "done": ("called", "served"), "no_show": ("called",)}
DISPLAY_CALLS = 4  # per group: the ticket now called and the few before it
MAX_ATTEMPTS = 8


def _invalid(message: str, field: str) -> HubError:
    return HubError(400, "invalid", message, field=field)


def check_group(value: Any) -> str:
    if not isinstance(value, str) or not GROUP.match(value.strip().upper()):
        raise _invalid("group is a letter then up to 3 letters or digits (F, Z1)", "group")
    return value.strip().upper()


def check_priority(value: Any) -> str | None:
    if value is None or value == "":
        return None
    try:
        codes = priority_codes()
    except PriorityCatalogError as exc:  # the install's file is broken: say so, take nothing
        raise HubError(500, "internal", f"priorities cannot be read: {exc}") from None
    if not isinstance(value, str) or value not in codes:
        raise _invalid(f"priority is one of {', '.join(sorted(codes))} or null", "priority")
    return value


def check_officer(officer: str) -> str:
    """The calling officer (``X-MPP-Officer``, at most 64 characters kept): a call or a step
    of a ticket always names who made it."""
    if not officer:
        raise _invalid("X-MPP-Officer is required", "X-MPP-Officer")
    return officer[:64]


def _label(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 40 or not value.isprintable():
        raise _invalid("label is a printable text of at most 40 characters", "label")
    return value.strip() or None


def parse_number(value: Any) -> tuple[str, int]:
    match = NUMBER.match(value.strip().upper()) if isinstance(value, str) else None
    if match is None:
        raise _invalid("a ticket number looks like F-012", "number")
    return match.group(1), int(match.group(2))


def _stamp(now: datetime | None) -> datetime:
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("the hub's clock must be timezone-aware")
    return now


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def mall_day(now: datetime) -> str:
    return now.astimezone(MALL_TZ).date().isoformat()


class _LostRace(Exception):
    """Another counter called the chosen ticket first: choose again."""


def _ticket(row: Row, **extra: Any) -> dict[str, Any]:
    return {
        "number": f"{row.grp}-{row.seq:03d}",
        "group": row.grp,
        "priority": row.priority,
        "label": row.label,
        "status": row.status or "called",
        "day": row.day,
        "issued_at": row.issued_at,
        "called_at": row.called_at if row.status else row.issued_at,
        "served_at": row.served_at,
        "finished_at": row.finished_at,
        "counter": row.counter or (None if row.status else row.desk),
        **extra,
    }


_COLUMNS = (
    t.tickets.c.grp,
    t.tickets.c.day,
    t.tickets.c.seq,
    t.tickets.c.desk,
    t.tickets.c.priority,
    t.tickets.c.label,
    t.tickets.c.status,
    t.tickets.c.issued_at,
    t.tickets.c.called_at,
    t.tickets.c.served_at,
    t.tickets.c.finished_at,
    t.tickets.c.counter,
)


def _next_seq(store: HubStore, conn: Connection, group: str, day: str) -> int:
    stmt = store._insert(t.ticket_counters)
    return int(
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["grp", "day"], set_={"seq": t.ticket_counters.c.seq + 1}
            ).returning(t.ticket_counters.c.seq),
            {"grp": group, "day": day, "seq": 1},
        ).scalar_one()
    )


def _waiting(conn: Connection, group: str, day: str) -> list[queue.Waiting]:
    rows = conn.execute(
        select(t.tickets.c.seq, t.tickets.c.priority).where(
            t.tickets.c.grp == group, t.tickets.c.day == day, t.tickets.c.status == "waiting"
        )
    ).all()
    return [queue.Waiting(int(r.seq), r.priority) for r in rows]


def _heads(conn: Connection, group: str, day: str) -> list[queue.Waiting]:
    """The oldest waiting priority ticket and the oldest waiting regular one: all the rule
    needs to choose (two index look-ups, however long the line)."""
    c = t.tickets.c
    heads = []
    for kind in (c.priority.is_not(None), c.priority.is_(None)):
        row = conn.execute(
            select(c.seq, c.priority)
            .where(c.day == day, c.grp == group, c.status == "waiting", kind)
            .order_by(c.seq)
            .limit(1)
        ).first()
        if row is not None:
            heads.append(queue.Waiting(int(row.seq), row.priority))
    return heads


def _run(conn: Connection, group: str, day: str) -> int:
    recent = conn.execute(
        select(t.tickets.c.priority)
        .where(
            t.tickets.c.grp == group,
            t.tickets.c.day == day,
            t.tickets.c.status.is_not(None),
            t.tickets.c.called_at.is_not(None),
        )
        .order_by(t.tickets.c.called_at.desc(), t.tickets.c.seq.desc())
        .limit(queue.MAX_PRIORITY_RUN)
    ).all()
    return queue.priority_run(r.priority for r in recent)


def _numbered(group: str, day: str, seq: int) -> tuple[Any, ...]:
    """The where-clause of one ticket: its group, day and number."""
    return t.tickets.c.grp == group, t.tickets.c.day == day, t.tickets.c.seq == seq


def _one(conn: Connection, group: str, day: str, seq: int) -> Row | None:
    return conn.execute(select(*_COLUMNS).where(*_numbered(group, day, seq))).first()


def take(
    store: HubStore,
    desk: Desk,
    group: Any,
    priority: Any = None,
    label: Any = None,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Issue the group's next number (the kiosk); ``ahead`` is how many the rule calls first."""
    group, priority, label = check_group(group), check_priority(priority), _label(label)
    moment = _stamp(now)
    day = mall_day(moment)

    def work(conn: Connection) -> dict[str, Any]:
        seq = _next_seq(store, conn, group, day)
        conn.execute(
            insert(t.tickets).values(
                grp=group, day=day, seq=seq, desk=desk.code, issued_at=_iso(moment),
                priority=priority, label=label, status="waiting",
            )
        )
        ahead = queue.ahead_of(_waiting(conn, group, day), seq, _run(conn, group, day))
        row = _one(conn, group, day, seq)
        assert row is not None
        return _ticket(row, ahead=ahead)

    return store._retrying(work)


def call(
    store: HubStore,
    desk: Desk,
    officer: str,
    group: Any,
    *,
    walk_in: bool = False,
    label: Any = None,
    now: datetime | None = None,
) -> dict[str, Any] | None:
    """Call the group's next waiting ticket to ``desk`` by the priority rule.

    Nobody waiting: None, or with ``walk_in`` a number issued and called at once (a desk
    without a kiosk: the person is already at the counter, and their wait is truly zero).
    """
    group, label = check_group(group), _label(label)
    officer = check_officer(officer)
    moment = _stamp(now)
    day, stamp = mall_day(moment), _iso(moment)
    counters = t.ticket_counters

    def work(conn: Connection) -> dict[str, Any] | None:
        lock = select(counters.c.seq).where(counters.c.grp == group, counters.c.day == day)
        conn.execute(store._locked(lock)).first()
        chosen = queue.next_to_call(_heads(conn, group, day), _run(conn, group, day))
        values = {
            "status": "called", "called_at": stamp, "counter": desk.code, "officer": officer,
        }
        if chosen is None:
            if not walk_in:
                return None
            seq = _next_seq(store, conn, group, day)
            conn.execute(
                insert(t.tickets).values(
                    grp=group, day=day, seq=seq, desk=desk.code, issued_at=stamp,
                    label=label, **values,
                )
            )
        else:
            seq = chosen.seq
            done = conn.execute(
                update(t.tickets)
                .where(*_numbered(group, day, seq), t.tickets.c.status == "waiting")
                .values(**values)
            )
            if done.rowcount != 1:
                raise _LostRace
        row = _one(conn, group, day, seq)
        assert row is not None
        return _ticket(row)

    for _attempt in range(MAX_ATTEMPTS):
        try:
            return store._retrying(work)
        except _LostRace:
            continue
    raise HubError(503, "unavailable", "the queue is too busy; call again")


# A resent step's time is the desk's claim: believed within these bounds (hub-sync.md).
CLOCK_SKEW_S = 120  # a desk's clock may run this far ahead of the hub's
CLOCK_NOTE = "ticket_clock"  # hub_records kind of a resent step stamped by the hub's clock
CLOCK_REASONS = ("unparsable", "future", "day", "order")


def _previous(row: Row, state: str) -> str | None:
    """The time of the step ``state`` follows (done after served follows served)."""
    if state == "done" and row.served_at:
        return row.served_at
    return row.called_at


def judge_claim(claim: Any, previous: str | None, day: str, now: datetime) -> tuple[datetime, str | None]:
    """The time a resent step keeps: the desk's ``claim`` when it is an aware ISO time, at
    most ``CLOCK_SKEW_S`` ahead of ``now``, on or after the ticket's ``day`` and not before
    its previous step; otherwise ``now`` with the reason the claim was not believed (a desk's
    clock is a claim from outside, like any other)."""
    moment: datetime | None = None
    if isinstance(claim, str) and len(claim) <= 40:
        try:
            moment = datetime.fromisoformat(claim)
        except ValueError:
            moment = None
    if moment is None or moment.tzinfo is None:
        return now, "unparsable"
    if (moment - now).total_seconds() > CLOCK_SKEW_S:
        return now, "future"
    if mall_day(moment) < day:
        return now, "day"
    if previous is not None and moment < datetime.fromisoformat(previous):
        return now, "order"
    return moment, None


def _live(previous: str | None, now: datetime) -> datetime:
    """A live step's time: the hub's clock, never before the previous step (which may be a
    desk's claim up to ``CLOCK_SKEW_S`` ahead)."""
    if previous is not None:
        return max(now, datetime.fromisoformat(previous))
    return now


def check_day(value: Any, field: str = "day") -> str | None:
    """A ticket day from outside (``YYYY-MM-DD``), None when absent; 400 naming ``field``."""
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date().isoformat()
    except (TypeError, ValueError):
        raise _invalid(f"{field} is YYYY-MM-DD", field) from None


def _note_clock(
    store: HubStore, conn: Connection, desk: Desk, row: Row, state: str, claim: Any,
    reason: str, used: datetime,
) -> None:
    """Keep, beside the ticket, that a resent step got the hub's time and why: a
    ``ticket_clock`` row of ``hub_records`` (no desk can push that kind), one per step, that
    the daily report counts. The desk's claim is sealed like every record body."""
    number = f"{row.grp}-{row.seq:03d}"
    entity = f"{row.day}/{number}/{state}"
    claimed = claim[:64] if isinstance(claim, str) else None
    body = {"number": number, "state": state, "reason": reason, "claimed": claimed,
            "used": _iso(used)}
    conn.execute(
        insert(t.records).values(
            desk=desk.code, kind=CLOCK_NOTE, entity_id=entity, seq=0, local_date=row.day,
            status=reason, created_at=_iso(used), stored_at=_iso(datetime.now(UTC)),
            body_enc=store.key.seal_json(body, f"{desk.code}/{CLOCK_NOTE}/{entity}".encode()),
        )
    )


def set_state(
    store: HubStore,
    desk: Desk,
    officer: str,
    number: Any,
    state: Any,
    *,
    day: str | None = None,
    at: Any = None,
    resent: bool = False,
    now: datetime | None = None,
) -> dict[str, Any]:
    """One step of a called ticket: ``served`` (the person came), ``done`` (visit finished)
    or ``no_show`` (called and never came).

    A live step takes the hub's clock. A ``resent`` step (the desk kept it while the hub was
    away) takes the desk's time ``at`` when :func:`judge_claim` believes it, else the hub's
    clock, noted (``ticket_clock``) so the report says how many times are the hub's."""
    if state not in NEXT_FROM:
        raise _invalid("state is served, done or no_show", "state")
    group, seq = parse_number(number)
    moment = _stamp(now)
    day = check_day(day) or mall_day(moment)
    column = "served_at" if state == "served" else "finished_at"

    def work(conn: Connection) -> dict[str, Any]:
        before = conn.execute(
            store._locked(select(*_COLUMNS).where(*_numbered(group, day, seq)))
        ).first()
        if before is None:
            raise HubError(404, "not_found", "no ticket with this number today")
        previous = _previous(before, state)
        reason = None
        if resent:
            used, reason = judge_claim(at, previous, day, moment)
        else:
            used = _live(previous, moment)
        changed = conn.execute(
            update(t.tickets)
            .where(*_numbered(group, day, seq), t.tickets.c.status.in_(NEXT_FROM[state]))
            .values(status=state, **{column: _iso(used)})
        )
        row = _one(conn, group, day, seq)
        assert row is not None
        if changed.rowcount != 1:
            raise _invalid(
                f"the ticket is {row.status or 'called (older numbering)'}, not "
                f"{' or '.join(NEXT_FROM[state])}",
                "state",
            )
        if reason is not None:
            _note_clock(store, conn, desk, row, state, at, reason, used)
        return _ticket(row, clock="desk" if resent and reason is None else "hub")

    check_officer(officer)
    return store._retrying(work)


@dataclass(frozen=True)
class DayTimes:
    """The day's tickets in seconds: waits (issued → called) and services (called → done)."""

    waits: list[float]
    services: list[float]
    counts: dict[str, int]


def _seconds(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def _fold(rows: list[Row]) -> DayTimes:
    """The one definition of the queue's figures (the stats route and the daily report)."""
    waits: list[float] = []
    services: list[float] = []
    counts = dict.fromkeys(STATES, 0)
    for row in rows:
        status = row.status or "called"
        counts[status] += 1
        if row.status is None:
            continue  # issued when called: no wait known
        wait = _seconds(row.issued_at, row.called_at)
        if wait is not None:
            waits.append(wait)
        if status == "done":
            service = _seconds(row.called_at, row.finished_at)
            if service is not None:
                services.append(service)
    return DayTimes(waits, services, counts)


def day_times(store: HubStore, day: str) -> DayTimes:
    return _fold(_day_rows(store, day))


def _day_rows(store: HubStore, day: str, columns: tuple[Any, ...] = _COLUMNS) -> list[Row]:
    with store.engine.connect() as conn:
        return list(conn.execute(select(*columns).where(t.tickets.c.day == day)).all())


# What the figures read of a ticket: the daily report fetches these alone (a busy mall's day
# is thousands of rows, and the report is read often).
_TIMES = tuple(
    t.tickets.c[name]
    for name in ("grp", "label", "status", "issued_at", "called_at", "finished_at")
)


def _merged(parts: list[DayTimes]) -> DayTimes:
    """Several groups' figures as one: the raw times are kept, so mean and p90 stay exact."""
    counts = dict.fromkeys(STATES, 0)
    for part in parts:
        for state, n in part.counts.items():
            counts[state] = counts.get(state, 0) + n
    return DayTimes(
        [w for part in parts for w in part.waits],
        [s for part in parts for s in part.services],
        counts,
    )


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def _p90(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, -(-len(ordered) * 9 // 10) - 1)], 1)


def figures(times: DayTimes) -> dict[str, Any]:
    """Counts per state, mean and nearest-rank p90 of waits and service times (seconds)."""
    return {
        "counts": times.counts,
        "wait_s": {"n": len(times.waits), "mean": _mean(times.waits), "p90": _p90(times.waits)},
        "service_s": {
            "n": len(times.services), "mean": _mean(times.services), "p90": _p90(times.services)
        },
    }


def stats(store: HubStore, officer: str | None, day: Any) -> dict[str, Any]:
    """The day's queue figures for a supervisor: counts per state, mean and p90 of the waits
    and service times (nearest-rank p90), in seconds."""
    store.require_role(officer, ("supervisor", "admin"))
    day = check_day(day, "date")
    if day is None:
        raise _invalid("date is YYYY-MM-DD", "date")
    return {"date": day, **figures(day_times(store, day))}


def daily_figures(store: HubStore, day: str) -> dict[str, Any]:
    """The queue's part of the mall's daily report: :func:`figures` per ticket group and for
    the whole mall, and how many resent steps kept the hub's clock instead of the desk's
    (``hub_clock``: by reason, see :func:`judge_claim`). Two index reads of one day."""
    rows = _day_rows(store, day, _TIMES)
    by_group: dict[str, list[Row]] = {}
    labels: dict[str, str] = {}
    for row in rows:
        by_group.setdefault(row.grp, []).append(row)
        if row.label and row.grp not in labels:
            labels[row.grp] = row.label
    r = t.records.c
    with store.engine.connect() as conn:
        notes = conn.execute(
            select(r.status, func.count())
            .where(r.kind == CLOCK_NOTE, r.local_date == day)
            .group_by(r.status)
        ).all()
    reasons = {str(reason): int(n) for reason, n in notes}
    folded = {grp: _fold(by_group[grp]) for grp in sorted(by_group)}  # each row parsed once
    return {
        "groups": {
            grp: {"label": labels.get(grp), **figures(times)} for grp, times in folded.items()
        },
        "all": figures(_merged(list(folded.values()))),
        "hub_clock": {"steps": sum(reasons.values()), "by_reason": reasons},
    }


def display_state(store: HubStore, *, now: datetime | None = None) -> dict[str, Any]:
    """What the waiting-room screen shows: per group the tickets called last (the newest
    first, with the counter to go to) and how many still wait. Numbers and desks only: no
    name, no NIK, nothing about the person."""
    day = mall_day(_stamp(now))
    c = t.tickets.c
    with store.engine.connect() as conn:
        called = conn.execute(
            select(c.grp, c.seq, c.label, c.counter, c.desk, c.called_at, c.status)
            .where(c.day == day, c.status.in_(("called", "served")), c.called_at.is_not(None))
            .order_by(c.called_at.desc(), c.seq.desc())
            .limit(500)
        ).all()
        waiting = conn.execute(
            select(c.grp, func.count(), func.max(c.label))
            .where(c.day == day, c.status == "waiting")
            .group_by(c.grp)
        ).all()
    groups: dict[str, dict[str, Any]] = {}
    for row in called:
        entry = groups.setdefault(row.grp, {"group": row.grp, "label": row.label, "calls": []})
        entry["label"] = entry["label"] or row.label
        if len(entry["calls"]) < DISPLAY_CALLS:
            entry["calls"].append(
                {
                    "number": f"{row.grp}-{row.seq:03d}",
                    "counter": row.counter or row.desk,
                    "at": row.called_at,
                }
            )
    counts = {row[0]: int(row[1]) for row in waiting}
    for grp, _count, label in waiting:
        groups.setdefault(grp, {"group": grp, "label": label, "calls": []})
    latest = max((row.called_at for row in called), default=None)
    return {
        "day": day,
        "latest": latest,
        "groups": [
            {**groups[g], "waiting": counts.get(g, 0)} for g in sorted(groups)
        ],
    }
