"""``Changes``: what an operation changed, merged with ``|``, read by views to decide a reload."""

from __future__ import annotations

import pickle

import pytest

from mppdesk.core.changes import NOTHING, Changes, Kind


def test_nothing_is_falsy_and_the_identity_of_merge():
    assert not NOTHING and NOTHING.empty and Changes() == NOTHING
    review = Changes.of(Kind.REVIEW)
    assert (NOTHING | review) is review and (review | NOTHING) is review
    assert Changes.merged([]) == NOTHING
    assert not Changes.of(submission_ids=[])  # no ids named, no kind: nothing changed


def test_submission_ids_imply_the_kind_and_merge_as_a_union():
    first = Changes.of(Kind.OUTBOX, submission_ids=["s1"])
    second = Changes.of(Kind.REVIEW, submission_ids=["s2", "s1"])
    both = first | second
    assert both.kinds == {"outbox", "review", "submissions"}
    assert both.submission_ids == {"s1", "s2"} and both.ids_known
    assert both.outbox and both.review and both.submissions and not both.visits
    assert Changes.merged([first, second]) == both == second | first


def test_unknown_ids_win_over_known_ones():
    unknown = Changes.of(Kind.SUBMISSIONS)
    assert unknown.submission_ids is None and not unknown.ids_known
    known = Changes.of(submission_ids=["s1"])
    assert (known | unknown).submission_ids is None
    assert (unknown | known).submission_ids is None
    # A change that names no submissions keeps the other side's ids as they are.
    assert (known | Changes.of(Kind.SURVEY)).submission_ids == {"s1"}
    assert (Changes.of(Kind.SURVEY) | unknown).submission_ids is None


def test_ids_without_the_kind_are_dropped():
    assert Changes(frozenset({"survey"}), frozenset({"s1"})).submission_ids == frozenset()
    assert not Changes.of(Kind.SURVEY).ids_known


def test_touches_and_only_are_what_a_view_asks():
    changes = Changes.of(Kind.COLLECTION, submission_ids=["s9"])
    assert changes.touches(Kind.COLLECTION)
    assert changes.touches(Kind.VISITS, Kind.SUBMISSIONS)
    assert changes.touches({Kind.SURVEY, Kind.COLLECTION})
    assert not changes.touches(Kind.SURVEY, {Kind.USERS, Kind.CATALOG})
    assert changes.only(Kind.COLLECTION, Kind.SUBMISSIONS, Kind.OUTBOX)
    assert not changes.only(Kind.COLLECTION)
    assert not NOTHING.only(Kind.OUTBOX)


def test_a_kind_of_its_own_needs_no_edit_here():
    tickets = Changes.of("hub.tickets")
    assert tickets.touches("hub.tickets") and not tickets.hub
    assert (tickets | Changes.of(Kind.HUB)).kinds == {"hub", "hub.tickets"}
    for bad in ("", "Hub", "hub tickets", "hub.", "1x", ".hub"):
        with pytest.raises(ValueError):
            Changes.of(bad)


def test_frozen_hashable_and_crosses_threads_as_a_value():
    changes = Changes.of(Kind.VISITS, Kind.OUTBOX, submission_ids=["a", "b"])
    with pytest.raises(AttributeError):
        changes.kinds = frozenset()  # type: ignore[misc]
    assert hash(changes) == hash(Changes.of(Kind.OUTBOX, Kind.VISITS, submission_ids=["b", "a"]))
    assert pickle.loads(pickle.dumps(changes)) == changes
    assert "submissions: 2" in repr(changes) and repr(NOTHING) == "Changes(nothing)"
    with pytest.raises(TypeError):
        _ = changes | {"visits"}  # type: ignore[operator]
