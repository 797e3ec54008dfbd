"""The message catalog: both languages complete and in step, look-ups that never crash."""

from __future__ import annotations

import logging
import re
import tomllib

import pytest

from mppdesk.core import messages
from mppdesk.core.messages import Localized, params_of, text


def _raw(lang: str) -> dict[str, str]:
    raw: dict[str, str] = {}
    for path in messages.table_files(lang):
        with path.open("rb") as handle:
            area = tomllib.load(handle)
        twice = area.keys() & raw.keys()
        assert not twice, f"{path.name} defines again: {sorted(twice)}"
        raw.update(area)
    return raw


def test_both_languages_have_the_same_codes():
    indonesian, english = set(messages.table("id")), set(messages.table("en"))
    assert indonesian - english == set(), "codes without English text"
    assert english - indonesian == set(), "codes without Indonesian text"
    assert len(indonesian) > 600  # the tables of every layer are here, not a stub


def test_both_languages_fill_the_same_params():
    differ = {
        code: (sorted(params_of(id_text)), sorted(params_of(messages.table("en")[code])))
        for code, id_text in messages.table("id").items()
        if params_of(id_text) != params_of(messages.table("en")[code])
    }
    assert differ == {}


def test_every_text_formats_with_its_own_params():
    """A slot with a format spec that cannot take a plain value would fail only at run time."""
    for lang in messages.LANGUAGES:
        for code, template in messages.table(lang).items():
            names = params_of(template)
            shown = text(code, lang, **{name: 7 for name in names})
            assert "{" not in shown or not names, f"{lang}:{code} left a slot unfilled"


def test_every_text_says_something_and_codes_are_well_formed():
    for lang in messages.LANGUAGES:
        raw = _raw(lang)
        for code, value in raw.items():
            assert isinstance(value, str), f"{lang}:{code} is a table, not a text"
            assert value.strip(), f"{lang}:{code} is blank"
            assert re.fullmatch(r"[a-z][a-z0-9_]*(\.[a-z0-9_-]+)+", code), code


def test_mnemonics_agree_between_languages():
    """A button label has an Alt+letter in both languages or in neither."""

    def has_mnemonic(value: str) -> bool:
        return "&" in value.replace("&&", "")

    english = messages.table("en")
    mismatched = [
        code
        for code, value in messages.table("id").items()
        if has_mnemonic(value) != has_mnemonic(english[code])
    ]
    assert mismatched == []


def test_text_fills_params_in_each_language():
    assert text("error.password_short", "id", minimum=8) == "Kata sandi minimal 8 karakter"
    assert text("error.password_short", "en", minimum=8) == "Password needs at least 8 characters"
    assert text("error.password_short", "en-GB", minimum=8).startswith("Password")


def test_localized_params_follow_the_language():
    label = Localized("Persyaratan", "Requirements")
    assert text("error.survey_score", "id", element=label).startswith("Persyaratan: pilih")
    assert text("error.survey_score", "en", element=label).startswith("Requirements: choose")


def test_a_missing_code_shows_the_code_and_logs(caplog):
    with caplog.at_level(logging.ERROR, logger="mppdesk.core.messages"):
        assert text("no.such.code", "en", x=1) == "no.such.code"
    assert "no.such.code" in caplog.text


@pytest.mark.parametrize("params", [{}, {"wrong": 1}])
def test_params_that_do_not_fit_never_crash(params, caplog):
    with caplog.at_level(logging.ERROR, logger="mppdesk.core.messages"):
        shown = text("error.password_short", "id", **params)
    assert shown == "Kata sandi minimal {minimum} karakter"
    if params:
        assert "error.password_short" in caplog.text


def test_every_code_the_source_names_is_in_the_catalog():
    """Codes written as literals in mppdesk/ must exist (a typo would show the code)."""
    from pathlib import Path

    import mppdesk

    root = Path(mppdesk.__file__).parent
    literal = re.compile(
        r'"((?:error|auth|fault|check|load|cli|send_error)\.[a-z0-9_.]+[a-z0-9_])"'
    )
    # Other codes where they are used as messages (settings keys and audit events share
    # prefixes such as "backup." and "visit."): DeskError.of / FieldError.of, say, Phrase,
    # Issue.
    used = re.compile(
        r"(?:\.of\(\s*(?:[^,()]*,\s*)?|say\(\s*|Phrase\(\s*|Issue\(\s*[^,()]+,\s*)"
        r'"([a-z][a-z0-9_]*\.[a-z0-9_.]+[a-z0-9_])"'
    )
    named = set()
    for path in root.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        named |= set(literal.findall(source)) | set(used.findall(source))
    assert len(named) > 150
    assert {"backup.target_full", "visit_file.not_object", "hub.not_joined"} <= named
    assert sorted(c for c in named if not messages.has(c)) == []


def test_the_catalog_format_doc_lists_every_catalog_problem_code_with_its_fix():
    """Issue 11 item 2: each catalog-check code is in docs/catalog-format.md with a fix."""
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "catalog-format.md").read_text(encoding="utf-8")
    rows = {
        m.group(1): m.group(2)
        for m in re.finditer(r"^\| `((?:load|check)\.[a-z0-9_]+)` \|[^|]+\| ([^|]+) \|$", doc, re.M)
    }
    problem_codes = {
        code
        for code in messages.table("en")
        if code.startswith(("load.", "check.")) and not code.startswith("check.where_")
    }
    assert sorted(problem_codes - set(rows)) == []
    assert sorted(set(rows) - problem_codes) == []  # no fix for a code that does not exist
    assert all(len(fix.strip()) > 10 for fix in rows.values())


def test_a_broken_catalog_file_shows_codes_instead_of_crashing(tmp_path, monkeypatch, caplog):
    (tmp_path / "id.toml").write_bytes(b'"a.b" = "unterminated\n')
    (tmp_path / "en.toml").write_bytes(b"\xff\xfe not utf-8")
    monkeypatch.setattr(messages, "messages_dir", lambda: tmp_path)
    messages.table.cache_clear()
    try:
        with caplog.at_level(logging.ERROR, logger="mppdesk.core.messages"):
            assert text("error.password_short", "id", minimum=8) == "error.password_short"
            assert text("error.password_short", "en") == "error.password_short"
        assert "cannot be read" in caplog.text
    finally:
        messages.table.cache_clear()  # the real catalog again for the next test


def test_every_validator_code_is_in_the_catalog():
    """The validators name their codes without the ``validator.`` prefix: check those too."""
    import ast
    from pathlib import Path

    import mppdesk

    source = Path(mppdesk.__file__).parent / "forms" / "validators.py"
    named = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("_fail", "_text", "_label")
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            prefix = "validator.label." if node.func.id == "_label" else "validator."
            named.add(prefix + node.args[0].value)
    assert len(named) > 40
    assert sorted(c for c in named if not messages.has(c)) == []


def test_every_engine_code_is_in_the_catalog():
    """The form engine names its codes without the ``engine.`` prefix: check those too."""
    import ast
    from pathlib import Path

    import mppdesk

    source = Path(mppdesk.__file__).parent / "forms" / "engine.py"
    tree = ast.parse(source.read_text(encoding="utf-8"))
    named = {
        "engine." + node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("_said", "_Invalid")
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }
    assert len(named) > 35
    assert sorted(c for c in named if not messages.has(c)) == []
    kinds = {
        elt.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and any(getattr(t, "id", "") == "_RULE_KINDS" for t in node.targets)
        for elt in ast.walk(node.value)
        if isinstance(elt, ast.Constant)
    }
    assert len(kinds) == 8
    assert sorted(k for k in kinds if not messages.has(f"engine.rule.{k}")) == []


# --- no words outside the catalog (issue 11 item 2) ----------------------------------------

_ID_WORDS = re.compile(
    r"\b(tidak|harus|wajib|belum|sudah|berkas|dengan|untuk|bukan|kunjungan|permohonan|pemohon"
    r"|lampiran|layanan|diisi|ditemukan|terlalu|galat|peringatan|ditolak|boleh|dikenal)\b",
    re.I,
)
_EN_WORDS = re.compile(
    r"\b(not|must|is|are|cannot|the|required|found|unknown|too|warning|error|refused|file|no)\b",
    re.I,
)

# Words that stay outside the catalog for now, each with why; a count may only go down.
# Empty: the form engine's messages moved to ``engine.`` codes (issue 11 item 2).
_ALLOWED_PAIRS: dict[str, int] = {}


def _literal(node) -> str | None:
    import ast

    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)
        )
    return None


def _desk_error_names(trees) -> set[str]:
    """DeskError and every class below it, as the modules define them."""
    import ast

    bases = {
        node.name: {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}
        for tree in trees
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
    }
    found, grew = {"DeskError"}, True
    while grew:
        grew = False
        for name, parents in bases.items():
            if name not in found and parents & found:
                found.add(name)
                grew = True
    return found


def _words_outside_the_catalog(sources: dict[str, str]) -> list[tuple[str, int, str]]:
    """Bilingual literal pairs (a call's, a tuple's or an ``x if id else y``'s neighbouring
    texts, Indonesian then English) and desk errors raised with text instead of a code."""
    import ast

    trees = {name: ast.parse(text) for name, text in sources.items()}
    errors = _desk_error_names(trees.values())
    found = []
    for name, tree in trees.items():
        for node in ast.walk(tree):
            groups = []
            if isinstance(node, ast.Call):
                groups.append(node.args)
                func = node.func
                called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                if called in errors and node.args and _literal(node.args[0]) is not None:
                    found.append((name, node.lineno, f"{called} raised with text"))
            elif isinstance(node, ast.Tuple | ast.List):
                groups.append(node.elts)
            elif isinstance(node, ast.IfExp):
                groups.append([node.body, node.orelse])
            for args in groups:
                for first, second in zip(args, args[1:], strict=False):
                    one, two = _literal(first), _literal(second)
                    if (
                        one
                        and two
                        and _ID_WORDS.search(one)
                        and _EN_WORDS.search(two)
                        and not _ID_WORDS.search(two)
                    ):
                        found.append((name, first.lineno, f"pair {one[:40]!r} / {two[:40]!r}"))
    return found


def test_the_scan_finds_words_outside_the_catalog():
    """The scan below can fail: each shape it looks for is caught in a sample."""
    sample = {
        "sample.py": (
            "class BackupError(DeskError):\n    pass\n"
            "raise BackupError(f'the target {x} is full')\n"
            "FieldError('a', 'Kunci tidak dikenal', 'Unknown key')\n"
            "label = 'peringatan' if lang == 'id' else 'warning'\n"
            "pair = (f'{x} belum diisi', f'{x} is empty')\n"
            "ok = BackupError.of('backup.target_full', target=x)\n"
        )
    }
    assert [(line, what.split()[0]) for _, line, what in _words_outside_the_catalog(sample)] == [
        (3, "BackupError"),
        (4, "pair"),
        (5, "pair"),
        (6, "pair"),
    ]


def test_no_words_outside_the_catalog_in_desk_cli_and_forms():
    """Issue 11 item 2: an error carries a code and parameters; no layer words it in two
    languages on its own (the allow-list above says what is left, and why)."""
    from collections import Counter
    from pathlib import Path

    import mppdesk

    root = Path(mppdesk.__file__).parent
    sources = {
        path.relative_to(root.parent).as_posix(): path.read_text(encoding="utf-8")
        for folder in ("desk", "cli", "forms")
        for path in sorted((root / folder).rglob("*.py"))
    }
    found = _words_outside_the_catalog(sources)
    per_file = Counter(name for name, _, _ in found)
    over = {name: count for name, count in per_file.items() if count > _ALLOWED_PAIRS.get(name, 0)}
    assert over == {}, [f for f in found if f[0] in over]


def test_the_desk_side_of_the_hub_raises_codes_not_english(tmp_path):
    """Refused before anything is written or sent: the error is a code with parameters."""
    from mppdesk.desk.errors import DeskError
    from mppdesk.desk.hub import join

    with pytest.raises(DeskError) as no_token:
        join(tmp_path, "http://127.0.0.1:9", "K01", "  ")
    assert no_token.value.code == "hub.join_no_token"
    assert no_token.value.text("en") == "cannot join the hub: no token on standard input"
    assert no_token.value.text("id").startswith("tidak dapat bergabung ke hub")
    with pytest.raises(DeskError) as no_ca:
        join(tmp_path, "http://127.0.0.1:9", "K01", "token", str(tmp_path / "none.pem"))
    assert (no_ca.value.code, no_ca.value.params) == (
        "hub.join_no_ca",
        {"path": str((tmp_path / "none.pem").resolve())},
    )
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_area_files_join_the_table_and_a_code_defined_twice_keeps_the_first(
    tmp_path, monkeypatch, caplog
):
    (tmp_path / "id").mkdir()
    (tmp_path / "id.toml").write_text('"a.one" = "satu"\n', encoding="utf-8")
    (tmp_path / "id" / "b_area.toml").write_text('"a.two" = "dua"\n', encoding="utf-8")
    (tmp_path / "id" / "c_area.toml").write_text('"a.one" = "lain"\n', encoding="utf-8")
    monkeypatch.setattr(messages, "messages_dir", lambda: tmp_path)
    messages.table.cache_clear()
    try:
        with caplog.at_level(logging.ERROR, logger="mppdesk.core.messages"):
            assert text("a.two", "id") == "dua"
            assert text("a.one", "id") == "satu"
        assert "defined twice" in caplog.text
    finally:
        messages.table.cache_clear()
