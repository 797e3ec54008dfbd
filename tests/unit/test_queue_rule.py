"""The queue's calling rule (priority first, at most three in a row) and the priorities file."""

from __future__ import annotations

import pytest

from mppdesk.core.queue import (
    MAX_PRIORITY_RUN,
    Waiting,
    ahead_of,
    call_order,
    next_to_call,
    priority_run,
)
from mppdesk.forms.priorities import PriorityCatalogError, parse_priorities, shipped_priorities


def order(kinds: str, run: int = 0) -> list[int]:
    """``kinds``: one letter per waiting ticket in issue order, P priority, R regular."""
    waiting = [Waiting(i + 1, "lansia" if k == "P" else None) for i, k in enumerate(kinds)]
    return [w.seq for w in call_order(waiting, run)]


def test_priority_goes_first_oldest_first():
    assert order("RRPRP") == [3, 5, 1, 2, 4]


def test_at_most_three_priority_calls_in_a_row_while_a_regular_waits():
    assert MAX_PRIORITY_RUN == 3
    assert order("RPPPPP") == [2, 3, 4, 1, 5, 6]
    # Only priority tickets waiting: no cap (nobody is passed over).
    assert order("PPPPP") == [1, 2, 3, 4, 5]
    # The run carries over from the calls already made today.
    assert order("RP", run=3) == [1, 2]
    assert order("RP", run=2) == [2, 1]


def test_nobody_waiting_and_ties_of_regulars():
    assert next_to_call([], 0) is None
    assert order("RRR") == [1, 2, 3]
    # Input order does not matter: the sequence does.
    assert next_to_call([Waiting(9, None), Waiting(4, None)], 0) == Waiting(4, None)


def test_priority_run_counts_from_the_newest_call():
    assert priority_run(["lansia", "ibu-hamil", None, "lansia"]) == 2
    assert priority_run([None, "lansia"]) == 0
    assert priority_run([]) == 0


def test_people_ahead_follow_the_rule():
    waiting = [Waiting(1, None), Waiting(2, None), Waiting(3, "lansia"), Waiting(4, "disabilitas"),
               Waiting(5, "ibu-hamil"), Waiting(6, "membawa-balita")]
    assert [ahead_of(waiting, w.seq, 0) for w in waiting] == [3, 5, 0, 1, 2, 4]
    assert ahead_of(waiting, 99, 0) == len(waiting)


def test_the_shipped_priorities_are_the_four_of_the_service_standard():
    codes = [p.code for p in shipped_priorities()]
    assert codes == ["lansia", "disabilitas", "ibu-hamil", "membawa-balita"]
    assert all(p.name_id and p.name_en for p in shipped_priorities())


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("priorities: []", "non-empty list"),
        ("[1, 2]", "non-empty list"),
        ("priorities:\n  - {code: Lansia, name: {id: a, en: b}}", "code must match"),
        ("priorities:\n  - {code: lansia, name: {id: a}}", "'id' and 'en'"),
        ("priorities:\n  - {code: lansia, name: {id: '', en: b}}", "1 to 60"),
        (
            "priorities:\n  - {code: lansia, name: {id: a, en: b}}\n"
            "  - {code: lansia, name: {id: c, en: d}}",
            "appears twice",
        ),
        ("priorities:\n  - {code: lansia, name: {id: a, en: b}, extra: 1}", "'code' and 'name'"),
        ("priorities: [", "not YAML"),
    ],
)
def test_a_broken_priorities_file_is_refused_with_the_entry_named(text, problem):
    with pytest.raises(PriorityCatalogError) as refused:
        parse_priorities(text, "priorities.yaml")
    assert problem in str(refused.value) and "priorities.yaml" in str(refused.value)
