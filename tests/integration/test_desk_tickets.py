"""The queue at a desk: its own block (not joined), a joined desk over a real hub on loopback
(and while that hub is down), the daily report's waiting and service times against the same
figures recomputed from the ticket events in the audit log, bad input, and the command line."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from mppdesk.desk import hub as desk_hub
from mppdesk.desk import tickets
from mppdesk.desk.errors import InvalidInput
from mppdesk.desk.intake import finalize_visit, parse_visit
from mppdesk.desk.reports import Period, load_dashboard
from mppdesk.desk.runtime import open_runtime
from mppdesk.store.models import AuditEvent, QueueTicket
from tests.conftest import PASSWORD, cli_json, make_user, run_cli
from tests.example_visits import KTP, example_visit
from tests.hub_fixtures import HASHER, Hub

WIB = ZoneInfo("Asia/Jakarta")
DAY = date(2026, 12, 3)


class Clock:
    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def at(self, minutes: float) -> datetime:
        self.now = datetime(2026, 12, 3, 8, 0, tzinfo=WIB).astimezone(UTC) + timedelta(
            minutes=minutes
        )
        return self.now


@pytest.fixture
def clock(runtime):
    clock = Clock(datetime(2026, 12, 3, 1, 0, tzinfo=UTC))
    runtime.clock = clock
    return clock


def _finalize(runtime, actor, ticket: tickets.QueueTicket):
    """A visit served on ``ticket`` as the counter page stores it (issued → called → now)."""
    request = replace(
        parse_visit(example_visit(KTP, ticket=ticket.number)),
        ticket_at=ticket.issued_at,
        started_at=ticket.called_at,
    )
    result = finalize_visit(runtime, actor, request)
    tickets.close_for_visit(runtime, actor, ticket.number)
    return result


def test_own_block_priority_no_show_and_true_times(runtime, officer, clock):
    clock.at(0)
    a1 = tickets.take(runtime, "F")
    clock.at(1)
    p1 = tickets.take(runtime, "dukcapil", "lansia")
    clock.at(2)
    a2 = tickets.take(runtime, "F")
    assert [t.number for t in (a1, p1, a2)] == ["F-001", "F-002", "F-003"]
    assert [t.ahead for t in (a1, p1, a2)] == [0, 0, 2]
    assert p1.as_json() == {"number": "F-002", "group": "F", "priority": "lansia", "ahead": 0}
    clock.at(5)
    first = tickets.call_next(runtime, officer, "F")
    assert first.number == "F-002" and first.wait_s == 240.0
    clock.at(6)
    second = tickets.call_next(runtime, officer, "F")
    assert second.number == "F-001" and second.wait_s == 360.0
    clock.at(8)
    gone = tickets.step(runtime, officer, "F-001", "no_show")
    assert gone.status == "no_show"
    clock.at(9)
    third = tickets.call_next(runtime, officer, "F")
    assert third.number == "F-003" and third.wait_s == 420.0
    clock.at(21)
    _finalize(runtime, officer, first)  # service 16 min
    clock.at(25)
    _finalize(runtime, officer, third)  # service 16 min
    # Nobody waits: without walk-in, nothing; with it, a ticket issued and called at once.
    assert tickets.call_next(runtime, officer, "F", walk_in=False) is None
    walk_in = tickets.call_next(runtime, officer, "F")
    assert walk_in.number == "F-004" and walk_in.wait_s == 0.0
    with runtime.store.read() as session:
        states = {q.number: q.status for q in session.query(QueueTicket)}
    assert states == {"F-001": "no_show", "F-002": "done", "F-003": "done", "F-004": "called"}
    # A no-show cannot be served afterwards; nothing moves.
    with pytest.raises(InvalidInput) as refused:
        tickets.step(runtime, officer, "F-001", "done")
    assert refused.value.errors[0].code == "tickets.wrong_state"


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def test_daily_report_times_agree_with_the_ticket_events(runtime, officer, supervisor, clock):
    """The dashboard's waiting and service times, recomputed from the audit log's ticket
    events alone (issued/called stamps of ``ticket.called``, the time of ``ticket.done``)."""
    plan = [  # (minute taken, priority); then called in the rule's order, one every 4 minutes
        (0, None), (1, None), (2, "lansia"), (3, None), (4, "ibu-hamil"), (5, None),
    ]
    for minute, priority in plan:
        clock.at(minute)
        tickets.take(runtime, "F", priority)
    called = []
    for i in range(len(plan)):
        clock.at(10 + 4 * i)
        called.append(tickets.call_next(runtime, officer, "F", walk_in=False))
    assert [t.number for t in called] == ["F-003", "F-005", "F-001", "F-002", "F-004", "F-006"]
    clock.at(40)
    tickets.step(runtime, officer, called[2].number, "no_show")
    for i, ticket in enumerate(called):
        if i == 2:
            continue
        clock.at(42 + 3 * i)
        _finalize(runtime, officer, ticket)
    dash = load_dashboard(runtime, supervisor, Period(DAY, DAY))
    with runtime.store.read() as session:
        events = session.query(AuditEvent).filter(AuditEvent.object_type == "ticket").all()
        called_at = {
            e.object_id: (
                datetime.fromisoformat(e.details["issued_at"]),
                datetime.fromisoformat(e.details["called_at"]),
            )
            for e in events
            if e.action == "ticket.called"
        }
        done_at = {e.object_id: e.at for e in events if e.action == "ticket.done"}
        no_shows = [e.object_id for e in events if e.action == "ticket.no_show"]
    waits = [(c - i).total_seconds() for n, (i, c) in called_at.items() if n in done_at]
    services = [(done_at[n] - called_at[n][1]).total_seconds() for n in done_at]
    timing = dash.intake.timing
    assert timing.waits == len(waits) == 5 and timing.services == len(services) == 5
    assert timing.wait_avg_s == pytest.approx(sum(waits) / len(waits))
    assert timing.wait_p90_s == pytest.approx(_p90(waits))
    assert timing.service_avg_s == pytest.approx(sum(services) / len(services))
    assert timing.service_p90_s == pytest.approx(_p90(services))
    assert all(w > 0 for w in waits)  # never zero or negative again
    assert dash.intake.queue.get("no_show") == len(no_shows) == 1


def test_unknown_group_or_priority_is_refused_and_nothing_is_issued(runtime, officer):
    for group, priority, path in (("ZZ", None, "group"), ("F", "vip", "priority")):
        with pytest.raises(InvalidInput) as refused:
            tickets.take(runtime, group, priority)
        error = refused.value.errors[0]
        assert error.path == path and ("lansia" in error.text() or "dukcapil" in error.text())
    with pytest.raises(InvalidInput):
        tickets.call_next(runtime, officer, "nope")
    with runtime.store.read() as session:
        assert session.query(QueueTicket).count() == 0
    assert tickets.take(runtime, "F").number == "F-001"  # the refusals took no number


# --- a joined desk -------------------------------------------------------------------------------


@pytest.fixture
def hub(tmp_path):
    running = Hub(tmp_path)
    running.store.add_user("ani", "officer", HASHER.hash(PASSWORD), "Ani")
    yield running
    running.stop()


def _joined(tmp_path, hub, code: str):
    data_dir = tmp_path / code
    data_dir.mkdir()
    open_runtime(data_dir).close()
    desk_hub.join(data_dir, hub.url, code, hub.store.add_desk(code))
    runtime = open_runtime(data_dir)
    return runtime, make_user(runtime, "ani", "officer")


def test_joined_desks_share_the_hub_queue_and_fall_back_to_their_block(tmp_path, hub):
    kiosk, _ = _joined(tmp_path, hub, "K01")
    counter, ani = _joined(tmp_path, hub, "K03")
    try:
        regular = tickets.take(kiosk, "F")
        lansia = tickets.take(kiosk, "F", "lansia")
        assert (regular.number, regular.source, lansia.ahead) == ("F-001", "hub", 0)
        called = tickets.call_next(counter, ani, "F")
        assert called.number == "F-002" and called.source == "hub" and called.wait_s >= 0
        tickets.step(counter, ani, "F-002", "done")
        state = hub.store  # the hub has the step too
        from mppdesk.hub import tickets as hub_tickets

        day = hub_tickets.mall_day(datetime.now(UTC))
        assert hub_tickets.day_times(state, day).counts["done"] == 1
        # The hub goes away: the kiosk issues from its own block, the counter calls it.
        hub.stop()
        offline = tickets.take(counter, "F")
        assert offline.number == "F-K03-001" and offline.source == "desk"
        assert tickets.call_next(counter, ani, "F").number == "F-K03-001"
        # Back again: the hub's queue is called from the counter as before.
        hub.start()
        assert tickets.call_next(counter, ani, "F").number == "F-001"
    finally:
        kiosk.close()
        counter.close()


# --- the command line -----------------------------------------------------------------------------


def test_command_line_take_and_call(runtime, officer, tmp_path):
    data_dir = runtime.data_dir
    runtime.close()
    taken = run_cli("ticket", "take", "--group", "F", "--json", data_dir=data_dir)
    assert taken.returncode == 0, taken.stderr
    assert cli_json(taken) == {"number": "F-001", "group": "F", "priority": None, "ahead": 0}
    slip = tmp_path / "slip.pdf"
    priority = run_cli(
        "ticket", "take", "--group", "dukcapil", "--priority", "lansia", "--json",
        "--format", "58mm", "-o", str(slip), data_dir=data_dir,
    )
    assert cli_json(priority) == {"number": "F-002", "group": "F", "priority": "lansia", "ahead": 0}
    assert slip.read_bytes().startswith(b"%PDF")
    bad = run_cli("ticket", "take", "--group", "F", "--priority", "vip", "--json", data_dir=data_dir)
    assert bad.returncode == 2 and cli_json(bad)["errors"][0]["path"] == "priority"
    assert "Traceback" not in bad.stderr
    call = run_cli(
        "ticket", "call", "--group", "F", "--user", "ani", "--password-stdin", "--json",
        stdin=PASSWORD + "\n", data_dir=data_dir,
    )
    assert call.returncode == 0, call.stderr
    assert cli_json(call)["number"] == "F-002"  # lansia first


def test_command_line_slip_to_a_thermal_printer_and_a_bad_target(runtime, tmp_path):
    data_dir = runtime.data_dir
    runtime.close()
    raw = tmp_path / "printer.bin"
    thermal = run_cli(
        "ticket", "take", "--group", "F", "--json", "--to", f"file:{raw}", data_dir=data_dir,
    )
    assert thermal.returncode == 0, thermal.stderr
    assert cli_json(thermal)["number"] == "F-001"  # stdout stays one JSON document
    assert raw.read_bytes().startswith(b"\x1b@") and b"F-001" in raw.read_bytes()
    wrong = run_cli("ticket", "take", "--group", "F", "--to", "ftp://x", data_dir=data_dir)
    assert wrong.returncode == 2 and wrong.stderr.startswith("--to:"), wrong.stderr
    listed = run_cli("ticket", "take", "--group", "F", "--json", data_dir=data_dir)
    assert cli_json(listed)["number"] == "F-002"  # the refused target issued nothing


@pytest.mark.parametrize("layout", ["58mm", "80mm"])
def test_the_slip_shows_number_group_time_and_people_ahead(runtime, clock, layout):
    import io

    from pypdf import PdfReader

    clock.at(65)  # 09:05 WIB
    tickets.take(runtime, "F")
    ticket = tickets.take(runtime, "dukcapil", "lansia")
    ticket = replace(ticket, ahead=3)  # as if three priority tickets waited before it
    text = PdfReader(io.BytesIO(tickets.slip(runtime, ticket, layout))).pages[0].extract_text()
    for expected in ("F-002", "Dukcapil", "09.05", "Di depan", "3 orang", "Lansia"):
        assert expected in text, (expected, text)
    width_mm = float(PdfReader(io.BytesIO(tickets.slip(runtime, ticket, layout))).pages[0]
                     .mediabox.width) / 72 * 25.4
    assert round(width_mm) == int(layout[:2])
    escpos = tickets.slip(runtime, ticket, layout, "en", output="escpos")
    assert b"F-002" in escpos and b"Ahead: 3 people" in escpos


def _hub_ticket(hub, number: str):
    """The hub's own copy of ticket ``number`` today (status and its step stamps)."""
    from sqlalchemy import select

    from mppdesk.hub import schema
    from mppdesk.hub import tickets as hub_queue

    group, seq = hub_queue.parse_number(number)
    day = hub_queue.mall_day(datetime.now(UTC))
    table = schema.tickets
    with hub.store.engine.connect() as conn:
        return conn.execute(
            select(table.c.status, table.c.served_at, table.c.finished_at).where(
                table.c.grp == group, table.c.day == day, table.c.seq == seq
            )
        ).one()


def test_steps_the_hub_missed_are_kept_and_sent_in_order_when_it_answers_again(tmp_path, hub):
    """Issue 14 gap: a hub ticket's served and done steps taken while the hub is down stay
    unsent on the desk; the next ticket call that reaches the hub sends them, in order, and
    sending them again (an answer lost on the way back) changes nothing at the hub."""
    from mppdesk.store import tickets as store_tickets
    from mppdesk.sync import hub_tickets as sync_tickets

    counter, ani = _joined(tmp_path, hub, "K03")
    try:
        tickets.take(counter, "F")
        tickets.take(counter, "F")
        first = tickets.call_next(counter, ani, "F")
        assert (first.number, first.source) == ("F-001", "hub")
        with counter.store.read() as session:
            assert store_tickets.unsent_steps(session) == []  # the hub holds the call

        hub.stop()
        tickets.step(counter, ani, "F-001", "served")
        tickets.step(counter, ani, "F-001", "done")
        with counter.store.read() as session:
            (unsent,) = store_tickets.unsent_steps(session)
            row = session.query(QueueTicket).filter_by(number="F-001").one()
        assert (unsent.number, unsent.steps) == ("F-001", ("served", "done"))
        assert (row.status, row.hub_state) == ("done", "called")  # the desk's copy moved on

        hub.start()
        assert _hub_ticket(hub, "F-001").status == "called"  # a step behind, until ...
        second = tickets.call_next(counter, ani, "F")  # ... the next call reaches the hub
        assert second.number == "F-002"
        status, served_at, finished_at = _hub_ticket(hub, "F-001")
        assert status == "done" and served_at is not None and finished_at is not None
        assert served_at <= finished_at  # served went first
        with counter.store.read() as session:
            assert store_tickets.unsent_steps(session) == []

        # The hub's answers were lost: the desk sends both again; the hub keeps what it has.
        with counter.store.write() as session:
            store_tickets.mark_sent(session, _first_day(counter), "F-001", "called")
        client = desk_hub._client(counter)
        try:
            assert sync_tickets.send_unsent(client, counter.store) == (0, True)
        finally:
            client.close()
        assert tuple(_hub_ticket(hub, "F-001")) == (status, served_at, finished_at)
        with counter.store.read() as session:
            assert store_tickets.unsent_steps(session) == []
    finally:
        counter.close()


def _first_day(runtime) -> str:
    with runtime.store.read() as session:
        return session.query(QueueTicket).filter_by(number="F-001").one().local_date
