"""Hostile visit JSON: any document either stores a whole visit or is refused naming fields.

Hypothesis mutates real visits (every leaf may become any JSON value, keys are dropped or
added) and throws arbitrary JSON at the parser; nothing may crash, and a refusal stores nothing.
"""

from __future__ import annotations

import copy
import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mppdesk.desk.errors import InvalidInput
from mppdesk.desk.intake import finalize_visit, parse_visit
from mppdesk.desk.queries import info
from tests.conftest import PASSWORD, cli_json, make_user, run_cli
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


# --- text the visit's one rule refuses (mppdesk.forms.safe_text) --------------------------
# NUL, other control characters, lone surrogates and bidi controls are refused in every text
# value and key of a visit, naming the field: nothing else is needed to know the rule.
BAD_CHARACTERS = st.sampled_from(
    ["\x00", "\x07", "\x1b", "\x85", "\ud800", "\udfff", "\udc00",
     "\u202e", "\u202d", "\u2066", "\u2067", "\u2069", "\u200f", "\u061c"]
)


def _text_leaves(value, path=""):
    """(path as the desk names it, parent, key) of every string value in a visit."""
    if isinstance(value, dict):
        for key, child in value.items():
            child_path = f"{path}.{key}" if path else key
            if isinstance(child, str):
                yield child_path, value, key
            else:
                yield from _text_leaves(child, child_path)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            child_path = f"{path}[{index}]"
            if isinstance(child, str):
                yield child_path, value, index
            else:
                yield from _text_leaves(child, child_path)


@st.composite
def visits_with_bad_text(draw):
    visit = copy.deepcopy(example_visit(draw(st.sampled_from(SERVICES))))  # file names too
    leaves = list(_text_leaves(visit))
    path, parent, key = draw(st.sampled_from(leaves))
    text = parent[key]
    at = draw(st.integers(0, len(text)))
    parent[key] = text[:at] + draw(BAD_CHARACTERS) + text[at:]
    return visit, path


def _refusal_is_printable(errors) -> None:
    """What the CLI would print: it must encode (a lone surrogate in a message would not)."""
    json.dumps([e.as_dict() for e in errors], ensure_ascii=False).encode("utf-8")
    for error in errors:
        f"{error.path}: {error.message}".encode()


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=visits_with_bad_text())
def test_nul_surrogate_and_bidi_in_any_text_field_are_refused_naming_it(runtime, officer, case):
    document, path = case
    before = info(runtime)["counts"]
    with pytest.raises(InvalidInput) as caught:
        finalize_visit(runtime, officer, parse_visit(document))
    assert [e.path for e in caught.value.errors] == [path]
    _refusal_is_printable(caught.value.errors)
    assert info(runtime)["counts"] == before


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bad=BAD_CHARACTERS, code=st.sampled_from(SERVICES))
def test_bad_text_in_a_key_is_refused_and_named_escaped(runtime, officer, bad, code):
    document = example_visit(code)
    document["services"][0]["attachments"] = []
    document["services"][0]["answers"][f"x{bad}y"] = "nilai"
    with pytest.raises(InvalidInput) as caught:
        finalize_visit(runtime, officer, parse_visit(document))
    (error,) = caught.value.errors
    assert error.path == f"services[0].answers.x\\u{ord(bad):04x}y"
    _refusal_is_printable(caught.value.errors)


def test_the_desk_form_path_gets_the_same_rule(runtime, officer):
    """The desk's window builds a VisitRequest without parse_visit: finalize applies the rule."""
    from mppdesk.desk.intake import VisitRequest

    parsed = parse_visit(example_visit("dukcapil/ktp-el"))
    applicant = {**parsed.applicant, "nama": "DEWI \u202eLESTARI"}
    with pytest.raises(InvalidInput) as caught:
        finalize_visit(runtime, officer, VisitRequest(applicant, parsed.services, "A-1"))
    assert [e.path for e in caught.value.errors] == ["applicant.nama"]


# --- the real command on hostile files ----------------------------------------------------


@pytest.fixture
def desk(data_dir, runtime):
    make_user(runtime, "ani", "officer")
    runtime.close()
    return data_dir


def _intake_text(data_dir, tmp_path, text: str):
    visit_file = tmp_path / "visit.json"
    visit_file.write_text(text, encoding="utf-8")
    result = run_cli("intake", "--input", str(visit_file), "--user", "ani", "--password-stdin",
                     "--json", stdin=PASSWORD + "\n", data_dir=data_dir, timeout=60)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def test_cli_visit_nested_ten_thousand_deep_exits_2(desk, tmp_path):
    result = _intake_text(desk, tmp_path, "[" * 10_000 + "]" * 10_000)
    assert result.returncode == 2, result.stderr
    assert "terlalu dalam" in cli_json(result)["errors"][0]["message"]
    deep = {"ticket": "A-1", "applicant": {}, "services": [{"service": "dukcapil/ktp-el",
            "answers": {"keterangan": {}}}]}
    inner = deep["services"][0]["answers"]["keterangan"]
    for _ in range(200):  # deep enough to pass json.loads, too deep for the visit rule
        inner["x"] = {}
        inner = inner["x"]
    result = _intake_text(desk, tmp_path, json.dumps(deep))
    assert result.returncode == 2, result.stderr
    (error,) = cli_json(result)["errors"]
    assert error["path"].startswith("services[0].answers.keterangan.x.x")
    assert "terlalu dalam" in error["message"]


def test_cli_lone_surrogate_in_a_name_exits_2_naming_the_field(desk, tmp_path):
    visit = example_visit("dukcapil/ktp-el")
    visit["services"][0]["attachments"] = []
    text = json.dumps(visit).replace('"DEWI LESTARI"', '"DEWI \\ud800LESTARI"')
    assert "\\ud800" in text
    result = _intake_text(desk, tmp_path, text)
    assert result.returncode == 2, result.stderr
    assert cli_json(result)["errors"] == [
        {
            "path": "applicant.nama",
            "message": "Teks berisi karakter tidak sah (surrogate U+D800)",
            "code": "visit.text_refused",  # the catalog's code travels with the words
        }
    ]
    assert "applicant.nama" in result.stderr
    assert cli_json(run_cli("info", "--json", data_dir=desk))["counts"]["visits"] == 0
