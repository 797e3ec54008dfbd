"""Hostile visit JSON: any document either stores a whole visit or is refused naming fields.

Hypothesis mutates real visits (every leaf may become any JSON value, keys are dropped or
added) and throws arbitrary JSON at the parser; nothing may crash, and a refusal stores nothing.
"""

from __future__ import annotations

import copy
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mppdesk.desk.errors import InvalidInput
from mppdesk.desk.intake import finalize_visit, parse_visit
from mppdesk.desk.queries import info
from tests.integration.test_intake import SERVICES, example_visit

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
HOSTILE_TEXT = st.sampled_from([
    "", " ", "<b>x</b>", "<img src=http://127.0.0.1:1/x>", "&amp;", "\x00\x1f", "ـمحمد", "👩‍👩‍👧",
    "x" * 600, "3171" * 4, "1990-13-45", "-1", "9" * 40, "null", "'; DROP TABLE visits; --",
])


def _paths(value, prefix=()):
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))
    yield prefix


@st.composite
def mutated_visits(draw):
    visit = copy.deepcopy(example_visit(draw(st.sampled_from(SERVICES))))
    visit["services"][0]["attachments"] = []
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _paths(visit) if p]
        path = draw(st.sampled_from(paths))
        parent = visit
        for step in path[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["replace", "text", "drop", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(JSON)
        elif action == "text":
            parent[path[-1]] = draw(HOSTILE_TEXT)
        elif action == "drop" and isinstance(parent, dict):
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=10))] = draw(JSON)
    return visit


def _examples(default: int) -> int:
    return max(10, int(default * float(os.environ.get("MPPDESK_SLOW_SCALE", "1"))))


def _check(runtime, actor, document) -> None:
    before = info(runtime)["counts"]
    try:
        finalize_visit(runtime, actor, parse_visit(document))
    except InvalidInput as refused:
        assert refused.errors, "a refusal must say why"
        for error in refused.errors:
            assert error.message
            assert error.path or not isinstance(document, dict), error
        assert info(runtime)["counts"] == before, "a refused visit stored something"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=mutated_visits())
def test_mutated_visits_are_stored_whole_or_refused_by_field(runtime, officer, document):
    _check(runtime, officer, document)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=JSON)
def test_arbitrary_json_is_refused_cleanly(runtime, officer, document):
    _check(runtime, officer, document)


@pytest.mark.slow
def test_many_mutated_visits(runtime, officer):
    @settings(max_examples=_examples(1500), deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(document=mutated_visits())
    def run(document):
        _check(runtime, officer, document)

    run()
