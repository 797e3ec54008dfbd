"""``check_catalog`` (the semantic check) and the loader's robustness against any definition."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from forms_catalog_factory import (
    NIK_MALE_1990_05_01,
    choices,
    field,
    label,
    load_collecting,
    service,
    write_catalog,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mppdesk.forms.catalog import (
    Problem,
    builtin_catalog_dirs,
    load_catalog_collecting,
)
from mppdesk.forms.check import check_catalog
from mppdesk.forms.definitions import FieldType
from mppdesk.forms.engine import evaluate

EXAMPLES = int(60 * float(os.environ.get("MPPDESK_SLOW_SCALE", "1")))


def problems_of(tmp_path: Path, *services: dict[str, Any], **kwargs: Any) -> list[Problem]:
    catalog, load_problems = load_collecting(tmp_path, *services, **kwargs)
    assert load_problems == []
    return check_catalog(catalog)


def paths(problems: list[Problem]) -> dict[str, str]:
    return {p.path: p.message for p in problems}


def test_a_sound_catalog_has_no_problems(tmp_path):
    definition = service(
        shared=[
            "nama",
            {"field": "tanggal_lahir", "required": True},
            "kewarganegaraan",
            "no_paspor",
        ],
        fields=[
            field("jenis", "choice", choices=choices("baru", "hilang"), required=True),
            field("no_laporan", show_if="jenis == 'hilang'", required=True),
            field("usia", "integer", compute="age(tanggal_lahir)", constraint="value >= 17"),
            field("scan", "file"),
            field(
                "saksi",
                "group",
                fields=[
                    field("nama_saksi", required=True),
                    field("umur", "integer", constraint="value < usia + 100"),
                ],
            ),
        ],
        requirements=[
            {
                "id": "laporan",
                "label": label("Laporan polisi"),
                "kind": "original",
                "condition": "any_of(jenis, 'hilang')",
                "condition_text": label("jika hilang"),
            }
        ],
        fee={"amount_expr": "10000 if jenis == 'hilang' else 0"},
        sla={"working_days_expr": "3 if usia > 60 else 5"},
        examples=[
            {
                "name": "hilang",
                "applicant": {"nama": "Budi", "tanggal_lahir": date(1990, 5, 1)},
                "answers": {
                    "jenis": "hilang",
                    "no_laporan": "LP/12/2025",
                    "scan": "scan-laporan.pdf",
                    "saksi": [{"nama_saksi": "Ani", "umur": 30}],
                },
                "checklist": {"laporan": "original"},
                "attachments": ["samples/scan-laporan.pdf"],
            }
        ],
    )
    assert (
        problems_of(tmp_path, definition, samples={"samples/scan-laporan.pdf": b"%PDF-1.4"}) == []
    )


def test_the_problem_names_the_service_file(tmp_path):
    directory = write_catalog(tmp_path, [service(fields=[field("a", show_if="a +")])])
    catalog, _ = load_catalog_collecting([directory])
    [problem] = check_catalog(catalog)
    assert problem.file == str(directory / "services" / "uji" / "layanan.yaml")
    assert problem.path == "fields[0].show_if"
    assert "does not compile" in problem.message
    assert str(problem).startswith(f"{problem.file}:fields[0].show_if: ")


@pytest.mark.parametrize(
    ("fields", "path", "fragment"),
    [
        ([field("a", show_if="a +")], "fields[0].show_if", "syntax error"),
        ([field("a", compute="a.b")], "fields[0].compute", "attribute access"),
        ([field("a", required="foo(1)")], "fields[0].required", "unknown function foo"),
        (
            [field("a"), field("b", show_if="c == 1")],
            "fields[1].show_if",
            "'c' is not a field of this service",
        ),
        (
            [field("a", show_if="nama == 'x'")],
            "fields[0].show_if",
            "must be listed under shared_fields",
        ),
        (
            [field("a", show_if="value == 1")],
            "fields[0].show_if",
            "only defined inside a constraint",
        ),
        (
            [field("a", default_expr="value")],
            "fields[0].default_expr",
            "only defined inside a constraint",
        ),
        (
            [
                field("jenis", "choice", choices=choices("baru", "hilang")),
                field("b", show_if="jenis == 'hilng'"),
            ],
            "fields[1].show_if",
            "'hilng' is not a choice of jenis (choices: baru, hilang)",
        ),
        (
            [
                field("pilihan", "multichoice", choices=choices("a", "b")),
                field("b", required="contains(pilihan, 'c')"),
            ],
            "fields[1].required",
            "'c' is not a choice of pilihan",
        ),
        (
            [field("jenis", "choice", choices=choices("a", "b"), constraint="value in ['a', 'z']")],
            "fields[0].constraint",
            "'z' is not a choice of jenis",
        ),
        (
            [field("g", "group", fields=[field("x"), field("y", show_if="z == 1")])],
            "fields[0].fields[1].show_if",
            "'z' is not a field",
        ),
        (
            [field("a", "integer", default="banyak")],
            "fields[0].default",
            "default does not fit",
        ),
        (
            [field("a", "choice", choices=choices("x"), default="y")],
            "fields[0].default",
            "not one of the choices",
        ),
        ([field("a", readonly=True)], "fields[0].readonly", "never has a value"),
        ([field("a", compute="1", default="2")], "fields[0]", "the default is never used"),
        (
            [field("a", show_if="b == 1"), field("b", compute="a")],
            "fields[0]",
            "cycle (a → b → a)",
        ),
        (
            [field("g", "group", fields=[field("x", compute="y"), field("y", compute="x")])],
            "fields[0].fields[0]",
            "cycle",
        ),
        ([{**field("a"), "label": {"id": "  ", "en": "A"}}], "fields[0].label.id", "blank text"),
    ],
)
def test_field_problems(tmp_path, fields, path, fragment):
    found = paths(problems_of(tmp_path, service(fields=fields)))
    assert path in found, found
    assert fragment in found[path]


def test_group_rows_read_their_own_fields_and_the_form(tmp_path):
    definition = service(
        shared=["nama"],
        fields=[
            field("batas", "integer"),
            field(
                "g",
                "group",
                fields=[field("x", "integer"), field("y", show_if="x > batas and nama != ''")],
            ),
        ],
    )
    assert problems_of(tmp_path, definition) == []


@pytest.mark.parametrize(
    ("overrides", "path", "fragment"),
    [
        (
            {
                "requirements": [
                    {
                        "id": "r",
                        "label": label("R"),
                        "kind": "copy",
                        "condition": "ada == True",
                        "condition_text": label("jika ada"),
                    }
                ]
            },
            "requirements[0].condition",
            "'ada' is not a field",
        ),
        ({"fee": {"amount_expr": "jumlah *"}}, "fee.amount_expr", "does not compile"),
        ({"sla": {"working_days_expr": "hari"}}, "sla.working_days_expr", "'hari' is not a field"),
        (
            {"shared": [{"field": "nama", "required": "umur > 17"}]},
            "shared_fields[0].required",
            "'umur' is not a field",
        ),
        (
            {"shared": ["no_paspor"]},
            "shared_fields[0]",
            "no_paspor's show_if reads kewarganegaraan, which this service does not list",
        ),
        ({"name": {"id": "Layanan", "en": " "}}, "name.en", "blank text"),
    ],
)
def test_service_level_problems(tmp_path, overrides, path, fragment):
    found = paths(problems_of(tmp_path, service(**overrides)))
    assert path in found, found
    assert fragment in found[path]


def test_shared_field_definitions_are_checked_in_their_own_file(tmp_path):
    shared = [
        field("nama"),
        field("alias", show_if="nama_panggilan == 'x'"),
        field("kode", constraint="len(value) = 3"),
    ]
    directory = write_catalog(tmp_path, [service()], shared)
    catalog, _ = load_catalog_collecting([directory])
    found = {(p.file, p.path): p.message for p in check_catalog(catalog)}
    shared_file = str(directory / "shared-fields.yaml")
    assert (
        "'nama_panggilan' is not a field of the shared fields"
        in found[(shared_file, "fields[id=alias].show_if")]
    )
    assert "does not compile" in found[(shared_file, "fields[id=kode].constraint")]


# --- examples --------------------------------------------------------------------------------


def example_service(example: dict[str, Any]) -> dict[str, Any]:
    return service(
        shared=[{"field": "nik", "required": True}],
        fields=[field("alasan", required=True), field("bukti", "file")],
        examples=[
            {
                "name": "contoh",
                "applicant": {"nik": NIK_MALE_1990_05_01},
                "answers": {"alasan": "x"},
                **example,
            }
        ],
    )


@pytest.mark.parametrize(
    ("example", "path", "fragment"),
    [
        ({"answers": {}}, "examples[0].answers.alasan", "required: Alasan (en) is required."),
        (
            {"answers": {"alasan": "x", "alsan": "y"}},
            "examples[0].answers.alsan",
            "invalid: 'alsan': unknown field",
        ),
        (
            {"applicant": {"nik": "123"}},
            "examples[0].applicant.nik",
            "invalid: NIK must have 16 digits (3 entered)",
        ),
        (
            {"checklist": {"ktp": "dipinjam"}},
            "examples[0].checklist.ktp",
            "unknown state 'dipinjam'",
        ),
        ({"checklist": {"kk": "copy"}}, "examples[0].checklist.kk", "not a requirement"),
        ({"attachments": ["samples/tidak-ada.pdf"]}, "examples[0].attachments[0]", "not found"),
        (
            {"answers": {"alasan": "x", "bukti": "lain.pdf"}, "attachments": []},
            "examples[0].answers.bukti",
            "'lain.pdf' is not one of this example's attachments",
        ),
    ],
)
def test_examples_must_pass_the_engine(tmp_path, example, path, fragment):
    found = paths(problems_of(tmp_path, example_service(example)))
    assert path in found, found
    assert fragment in found[path]


def test_example_answers_to_hidden_fields_are_problems(tmp_path):
    definition = service(
        shared=["kewarganegaraan", "no_paspor"],
        fields=[
            field("jenis", "choice", choices=choices("baru", "hilang")),
            field("no_laporan", show_if="jenis == 'hilang'"),
            field(
                "saksi",
                "group",
                fields=[field("punya_ktp", "yesno"), field("nik", "nik", show_if="punya_ktp")],
            ),
        ],
        examples=[
            {
                "name": "baru",
                "applicant": {"no_paspor": "A123"},
                "answers": {
                    "jenis": "baru",
                    "no_laporan": "LP/1",
                    "saksi": [{"punya_ktp": False, "nik": NIK_MALE_1990_05_01}],
                },
            }
        ],
    )
    found = paths(problems_of(tmp_path, definition))
    assert set(found) == {
        "examples[0].applicant.no_paspor",
        "examples[0].answers.no_laporan",
        "examples[0].answers.saksi[0].nik",
    }
    assert all("hidden in this example" in message for message in found.values())


def test_example_attachments_found_in_the_catalog_pass(tmp_path):
    definition = example_service(
        {"answers": {"alasan": "x", "bukti": "bukti.pdf"}, "attachments": ["samples/bukti.pdf"]}
    )
    assert problems_of(tmp_path, definition, samples={"samples/bukti.pdf": b"%PDF"}) == []


def test_example_warnings_are_not_problems(tmp_path):
    definition = service(
        shared=["nik", "tanggal_lahir"],
        examples=[
            {
                "name": "beda",
                "applicant": {"nik": NIK_MALE_1990_05_01, "tanggal_lahir": "1991-01-01"},
            }
        ],
    )
    assert problems_of(tmp_path, definition) == []


def test_the_built_in_catalog_passes():
    catalog, load_problems = load_catalog_collecting(builtin_catalog_dirs())
    assert [str(p) for p in load_problems + check_catalog(catalog)] == []
    assert catalog.services


# --- loader robustness -----------------------------------------------------------------------


def write_raw_service(tmp_path: Path, text: str) -> list[Problem]:
    directory = write_catalog(tmp_path, [])
    (directory / "services" / "uji" / "rusak.yaml").write_text(text, encoding="utf-8")
    return load_catalog_collecting([directory])[1]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("id: x\ntanggal: 2024-02-30\n", "YAML value error"),
        ("- " * 3000 + "x\n", "nested too deeply"),
        ("", "the file is empty"),
        ("# only a comment\n", "the file is empty"),
        ("id: [\n", "YAML syntax error"),
        ("just text\n", "valid dictionary"),
    ],
)
def test_broken_service_files_are_problems(tmp_path, text, fragment):
    problems = write_raw_service(tmp_path, text)
    assert any(fragment in p.message for p in problems), problems
    assert all(p.file.endswith("rusak.yaml") for p in problems)


def test_a_service_defined_twice_in_one_directory_is_a_problem(tmp_path):
    directory = write_catalog(tmp_path, [service("sama")])
    copy = directory / "services" / "uji" / "zz-salinan.yaml"
    copy.write_text(
        (directory / "services" / "uji" / "sama.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    problems = load_catalog_collecting([directory])[1]
    assert [(Path(p.file).name, p.path) for p in problems] == [("zz-salinan.yaml", "id")]
    assert "also defined in" in problems[0].message and "sama.yaml" in problems[0].message


def test_a_later_directory_may_override_a_service(tmp_path):
    first = write_catalog(tmp_path, [service("sama")])
    second = write_catalog(tmp_path, [service("sama", fee={"amount": 5})])
    catalog, problems = load_catalog_collecting([first, second])
    assert problems == []
    assert catalog.service("uji/sama").fee.amount == 5


@pytest.mark.parametrize(
    ("rules", "fragment"),
    [
        ({"type": "date", "min": 5}, "must be dates"),
        ({"type": "integer", "min": "2000-01-01"}, "must be numbers"),
        ({"type": "text", "max": 3}, "max_length"),
        ({"type": "integer", "min": 10, "max": 1}, "min is greater than max"),
    ],
)
def test_bounds_must_fit_the_field_type(tmp_path, rules, fragment):
    _, problems = load_collecting(tmp_path, service(fields=[{**field("a"), **rules}]))
    assert any(
        fragment in p.message and p.path.startswith("fields.0") or fragment in p.message
        for p in problems
    )


# --- generated definitions -------------------------------------------------------------------

_IDS = ["a", "b", "c", "g"]
_expressions = st.one_of(
    st.sampled_from(
        [
            "a == 'x'",
            "b > 3",
            "age(c)",
            "value >= 1",
            "len(value) < 5",
            "a +",
            "x.y",
            "__import__('os')",
            "unknown_name",
            "g[0]",
            "today",
            "1 / 0",
            "any_of(a, 'x', 'y')",
            "is_empty(b) or c",
        ]
    ),
    st.sampled_from([1, None, "", "a b c"]),
    st.text(max_size=10),
)
_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8)
)


_RULE_KEYS = ["required", "show_if", "constraint", "compute", "default_expr", "readonly"]


@st.composite
def _field(draw, depth: int = 0) -> dict[str, Any]:
    """A field definition: mostly well-formed, so that the check and the engine get work."""
    kinds = [t.value for t in FieldType]
    kind = draw(st.sampled_from([*kinds, *kinds, "bogus"]))
    definition: dict[str, Any] = {"id": draw(st.sampled_from([*_IDS * 3, "Bad-Id"])), "type": kind}
    definition["label"] = draw(
        st.sampled_from([label("L")] * 8 + [{"id": " ", "en": "L"}, {"id": "L"}])
    )
    sound = draw(st.integers(0, 4)) > 0
    if kind in ("choice", "multichoice") and sound:
        definition["choices"] = choices("x", "y")
    if kind == "region" and sound:
        definition["region_level"] = draw(
            st.sampled_from(["province", "regency", "district", "village"])
        )
    if kind == "group" and sound and depth < 2:
        definition["fields"] = draw(
            st.lists(_field(depth + 1), max_size=3, unique_by=lambda f: f["id"])
        )
    optional = {
        "required": st.one_of(st.booleans(), _expressions),
        "show_if": _expressions,
        "constraint": _expressions,
        "compute": _expressions,
        "default": _scalars,
        "default_expr": _expressions,
        "readonly": st.booleans(),
        "max_length": st.integers(min_value=-1, max_value=10),
        "min": st.one_of(_scalars, st.sampled_from(["2000-01-01"])),
        "max": st.one_of(_scalars, st.dates()),
        "region_level": st.sampled_from(["province", "regency", "district", "village", "kota"]),
        "choices": st.lists(
            st.fixed_dictionaries(
                {"value": st.sampled_from(["x", "y", ""]), "label": st.just(label("C"))}
            ),
            max_size=3,
        ),
        "fields": st.just([label("bukan field")]),
        "min_rows": st.integers(min_value=-1, max_value=3),
        "max_rows": st.integers(min_value=0, max_value=3),
        "constraint_message": st.just(label("pesan")),
    }
    # A sound field gets expression rules only; a wild one any keys, sound or not.
    keys = _RULE_KEYS if sound else sorted(optional)
    for key in draw(st.lists(st.sampled_from(keys), unique=True, max_size=3)):
        if key not in definition:
            definition[key] = draw(optional[key])
    return definition


_answers = st.dictionaries(
    st.sampled_from(_IDS),
    st.one_of(
        _scalars, st.lists(st.dictionaries(st.sampled_from(_IDS), _scalars, max_size=3), max_size=2)
    ),
    max_size=4,
)


@st.composite
def _service(draw) -> dict[str, Any]:
    definition = service(
        fields=draw(st.lists(_field(), max_size=5, unique_by=lambda f: f["id"])),
        shared=draw(
            st.lists(
                st.sampled_from(["nama", "tanggal_lahir", "no_paspor", "tidak_ada"]),
                max_size=3,
                unique=True,
            )
        ),
        requirements=[
            {"id": "r", "label": label("R"), "kind": "copy"}
            | (
                {"condition": draw(_expressions), "condition_text": label("jika")}
                if draw(st.booleans())
                else {}
            )
        ],
        fee=draw(
            st.sampled_from(
                [{"amount": 0}, {"amount_expr": "b * 2"}, {"assessed": True}] * 3 + [{"amount": -1}]
            )
        ),
        sla=draw(
            st.sampled_from(
                [
                    {"working_days": 1},
                    {"working_days_expr": "1 if a else 2"},
                    {"working_days_expr": "a +"},
                ]
            )
        ),
        examples=[
            {
                "name": "contoh",
                "applicant": {},
                "answers": draw(_answers),
                "checklist": {"r": "copy"},
            }
        ],
    )
    if draw(st.integers(0, 4)) == 0:
        definition.pop(draw(st.sampled_from(sorted(definition))))
    return definition


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(definition=_service(), answers=_answers)
def test_generated_definitions_load_or_fail_with_a_problem(tmp_path_factory, definition, answers):
    directory = write_catalog(tmp_path_factory.mktemp("gen"), [definition])
    catalog, problems = load_catalog_collecting([directory])
    assert all(isinstance(p, Problem) and p.message for p in problems)
    for problem in check_catalog(catalog):
        assert isinstance(problem, Problem) and problem.file and problem.message
    for code in catalog.services:
        result = evaluate(catalog, code, {}, answers, {"r": "copy"}, today=date(2025, 6, 15))
        assert all(entry.message is not None for entry in result.entries)


def test_yaml_round_trip_of_the_factory_is_plain_data(tmp_path):
    # The factory writes what a catalog author would: plain YAML, no Python tags.
    directory = write_catalog(tmp_path, [service(fields=[field("a", "date", min="2000-01-01")])])
    text = (directory / "services" / "uji" / "layanan.yaml").read_text(encoding="utf-8")
    assert "!!python" not in text
    assert yaml.safe_load(text)["fields"][0]["min"] == "2000-01-01"
