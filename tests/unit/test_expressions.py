"""The safe expression language: what compiles, what it computes, and what it refuses."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mppdesk.forms.expressions import (
    FUNCTION_NAMES,
    ExpressionError,
    compile_expression,
    parse_date,
)

TODAY = date(2025, 6, 15)


def ev(source: str, **names):
    return compile_expression(source).evaluate(names, today=TODAY)


# --- compiling -------------------------------------------------------------------------------


def test_names_are_the_free_names_read_and_exclude_called_functions():
    expression = compile_expression("jenis == 'hilang' and age(tanggal_lahir) >= 17")
    assert expression.names == {"jenis", "tanggal_lahir"}


def test_value_is_an_ordinary_name():
    assert compile_expression("len(value) >= 3").names == {"value"}


def test_compile_is_cached():
    assert compile_expression("a + 1") is compile_expression("a + 1")


def test_literal_comparisons_are_collected_for_the_choice_check():
    expression = compile_expression(
        "jenis == 'hilang' or 'rusak' != jenis or alasan in ['a', 'b'] or any_of(x, 'c', 'd')"
        " or contains(pilihan, 'e')"
    )
    assert set(expression.literal_comparisons) == {
        ("jenis", "hilang"),
        ("jenis", "rusak"),
        ("alasan", "a"),
        ("alasan", "b"),
        ("x", "c"),
        ("x", "d"),
        ("pilihan", "e"),
    }


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("a +", "syntax error"),
        ("", "empty expression"),
        ("   ", "empty expression"),
        ("x = 1", "syntax error"),
        ("a; b", "syntax error"),
        ("x.__class__", "attribute access"),
        ("nama.upper()", "attribute access"),
        ("__import__('os')", "unknown function __import__"),
        ("open('/etc/passwd')", "unknown function open"),
        ("eval('1')", "unknown function eval"),
        ("lambda: 1", "lambda"),
        ("[i for i in x]", "comprehensions"),
        ("{'a': 1}", "dict literals"),
        ("{1, 2}", "set literals"),
        ("f'{x}'", "f-strings"),
        ("(y := 1)", "assignment"),
        ("a & b", "bitwise"),
        ("a | b", "bitwise"),
        ("today", "today is a function"),
        ("len", "len is a function"),
        ("foo(1)", "unknown function foo"),
        ("(lambda: 1)()", "only the listed functions"),
        ("_secret", "names starting with _"),
        ("len(*x)", "starred"),
        ("b'abc'", "bytes"),
        ("a" + " + a" * 1500, "longer than"),
    ],
)
def test_disallowed_or_broken_expressions_are_refused_with_the_reason(source, fragment):
    with pytest.raises(ExpressionError) as caught:
        compile_expression(source)
    assert fragment in str(caught.value)


def test_a_non_string_source_is_an_expression_error():
    with pytest.raises(ExpressionError, match="must be text"):
        compile_expression(5)  # type: ignore[arg-type]


def test_deeply_nested_source_is_an_expression_error_not_a_crash():
    with pytest.raises(ExpressionError):
        compile_expression("(" * 500 + "1" + ")" * 500)


# --- evaluating ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "names", "expected"),
    [
        ("1 + 2 * 3", {}, 7),
        ("jumlah * 50000", {"jumlah": 3}, 150000),
        ("10 // 3 + 10 % 3", {}, 4),
        ("2 ** 10", {}, 1024),
        ("-a", {"a": 4}, -4),
        ("a if b else c", {"a": 1, "b": False, "c": 2}, 2),
        ("not x", {"x": None}, True),
        ("x in ['a', 'b']", {"x": "b"}, True),
        ("x not in ('a', 'b')", {"x": "c"}, True),
        ("1 < x <= 3", {"x": 3}, True),
        ("x is None", {}, True),
        ("nik[0:2]", {"nik": "3174010105900001"}, "31"),
        ("anak[0]", {"anak": [{"nama": "a"}]}, {"nama": "a"}),
        ("True and False", {}, False),
    ],
)
def test_operators(source, names, expected):
    assert ev(source, **names) == expected


def test_unknown_names_are_none():
    assert ev("belum_diisi") is None
    assert ev("belum_diisi == 'x'") is False


def test_none_propagates_through_arithmetic_and_ordering_is_false():
    assert ev("a + 1") is None
    assert ev("a * 2 + b", b=1) is None
    assert ev("-a") is None
    assert ev("a > 1") is False
    assert ev("a < 1") is False
    assert ev("1 <= a") is False
    assert ev("a == None") is True
    assert ev("a[0]") is None
    assert ev("'x' in a") is False


def test_dates_compare_with_iso_strings():
    assert ev("tanggal < today()", tanggal="2025-06-14") is True
    assert ev("today() < tanggal", tanggal="2025-06-16") is True
    assert ev("tanggal == date('2025-06-15')", tanggal="2025-06-15") is True
    assert ev("tanggal >= '2025-01-01'", tanggal="2025-06-15") is True  # plain ISO strings
    assert ev("max(a, b)", a="2024-01-01", b=date(2025, 1, 1)) == date(2025, 1, 1)


@pytest.mark.parametrize(
    ("source", "names", "expected"),
    [
        ("today()", {}, TODAY),
        ("age(lahir)", {"lahir": "1990-06-16"}, 34),  # birthday tomorrow
        ("age(lahir)", {"lahir": "1990-06-15"}, 35),  # birthday today
        ("age(lahir)", {"lahir": date(2008, 1, 1)}, 17),
        ("age(lahir)", {"lahir": "15-06-2008"}, 17),  # day-first, as printed on a KTP
        ("age(lahir, '2000-01-01')", {"lahir": "1990-06-15"}, 9),
        ("age(lahir, on='2000-06-15')", {"lahir": "1990-06-15"}, 10),
        ("age(lahir)", {}, None),
        ("days_between(a, b)", {"a": "2025-01-01", "b": "2025-03-01"}, 59),
        ("days_between(a, today())", {"a": "2025-06-20"}, -5),
        ("days_between(a, b)", {"a": "2025-01-01"}, None),
        ("len(x)", {"x": "abc"}, 3),
        ("len(x)", {"x": [1, 2]}, 2),
        ("len(x)", {}, 0),
        ("lower(x)", {"x": "ABC"}, "abc"),
        ("upper(x)", {"x": "abc"}, "ABC"),
        ("upper(x)", {}, None),
        ("contains(x, 'b')", {"x": "abc"}, True),
        ("contains(x, 'z')", {"x": ["a", "b"]}, False),
        ("contains(x, 'a')", {"x": ["a", "b"]}, True),
        ("contains(x, 'a')", {}, False),
        ("any_of(x, 'a', 'b')", {"x": "b"}, True),
        ("any_of(x, 'a', 'b')", {"x": "c"}, False),
        ("any_of(x, 'a', 'b')", {"x": ["c", "a"]}, True),  # a multichoice answer
        ("any_of(x, 'a')", {}, False),
        ("is_empty(x)", {}, True),
        ("is_empty(x)", {"x": "  "}, True),
        ("is_empty(x)", {"x": []}, True),
        ("is_empty(x)", {"x": 0}, False),
        ("is_empty(x)", {"x": False}, False),
        ("int(x)", {"x": "12"}, 12),
        ("int(x)", {"x": 2.9}, 2),
        ("int(x)", {}, None),
        ("str(x)", {"x": 5}, "5"),
        ("str(x)", {}, ""),
        ("str(x)", {"x": True}, "ya"),
        ("round(x)", {"x": 2.5}, 2),
        ("round(x, 1)", {"x": 2.46}, 2.5),
        ("round(x)", {}, None),
        ("min(a, b, c)", {"a": 3, "b": None, "c": 1}, 1),
        ("max(a, b)", {"a": 3, "b": 7}, 7),
        ("max(x)", {"x": [1, 9, 4]}, 9),
        ("min(a, b)", {}, None),
        ("date(x)", {"x": "2025-02-01"}, date(2025, 2, 1)),
        ("date(x)", {}, None),
    ],
)
def test_functions(source, names, expected):
    assert ev(source, **names) == expected


def test_every_documented_function_is_callable():
    calls = {
        "today": "today()",
        "age": "age('2000-01-01')",
        "days_between": "days_between('2000-01-01', '2000-01-02')",
        "len": "len('a')",
        "lower": "lower('A')",
        "upper": "upper('a')",
        "contains": "contains('ab', 'a')",
        "any_of": "any_of('a', 'a')",
        "is_empty": "is_empty('')",
        "int": "int('1')",
        "str": "str(1)",
        "round": "round(1.2)",
        "min": "min(1, 2)",
        "max": "max(1, 2)",
        "date": "date('2000-01-01')",
    }
    assert set(calls) == FUNCTION_NAMES
    for source in calls.values():
        ev(source)


@pytest.mark.parametrize(
    "source",
    [
        "'a' < 1",
        "1 / 0",
        "x + 1",  # text + number
        "len(5)",
        "lower(5)",
        "int('abc')",
        "int('9' * 41)",
        "age('bukan tanggal')",
        "date('2025-02-30')",
        "min(1, 'a')",
        "round(1.5, 'x')",
        "round(1.5, 100)",
        "anak[5]",
        "contains(5, 1)",
        "str([1])",
        "age()",
        "upper('a', 'b')",
        "days_between('2025-01-01', 5)",
    ],
)
def test_runtime_failures_raise_expression_error_only(source):
    with pytest.raises(ExpressionError):
        ev(source, x="teks", anak=[])


@pytest.mark.parametrize(
    "source",
    [
        "2 ** 100000000",
        "(10 ** 6) ** (10 ** 6)",
        "'a' * 10 ** 6",
        "x * 200000",
        "x + x",
        "'%999999999d' % 1",
    ],
)
def test_huge_powers_and_strings_are_refused(source):
    with pytest.raises(ExpressionError):
        ev(source, x="a" * 60000)


def test_evaluation_does_not_keep_names_between_calls():
    expression = compile_expression("a")
    assert expression.evaluate({"a": 1}) == 1
    assert expression.evaluate({}) is None


def test_threads_evaluate_independently():
    expression = compile_expression("a * 2")
    results: dict[int, list[int]] = {}

    def work(n: int) -> None:
        results[n] = [expression.evaluate({"a": n}) for _ in range(300)]

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(values == [n * 2] * 300 for n, values in results.items())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-06-15", date(2025, 6, 15)),
        ("15-06-2025", date(2025, 6, 15)),
        ("15/06/2025", date(2025, 6, 15)),
        ("5-6-2025", date(2025, 6, 5)),
        (" 2025-06-15 ", date(2025, 6, 15)),
        ("", None),
        (None, None),
        (date(2025, 6, 15), date(2025, 6, 15)),
    ],
)
def test_parse_date(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize("text", ["2025-13-01", "2025-02-30", "06-15-2025", "15-06-25", "besok", 5])
def test_parse_date_rejects(text):
    with pytest.raises(ValueError):
        parse_date(text)


_names = st.dictionaries(
    st.sampled_from(["a", "b", "x", "value"]),
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=True),
        st.text(max_size=5),
        st.lists(st.text(max_size=3), max_size=3),
        st.dates().map(date.isoformat),
    ),
)
_sources = st.sampled_from(
    [
        "a + b",
        "a * b",
        "a / b",
        "a ** b",
        "a < b",
        "a == b",
        "a in b",
        "age(a)",
        "days_between(a, b)",
        "len(a)",
        "lower(a)",
        "contains(a, b)",
        "any_of(a, b, 'x')",
        "int(a)",
        "round(a)",
        "min(a, b)",
        "date(a)",
        "a[0]",
        "a[b]",
        "str(a) + str(b)",
        "not a or b",
    ]
)


@settings(max_examples=300, deadline=None)
@given(source=_sources, names=_names)
def test_any_values_give_a_value_or_an_expression_error(source, names):
    try:
        compile_expression(source).evaluate(names, today=TODAY)
    except ExpressionError:
        pass
