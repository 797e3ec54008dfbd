"""Every message a person reads, by code, in Bahasa Indonesia and English.

One table per language in ``resources/messages/`` (``id.toml``, ``en.toml``, plus area files in
``id/`` and ``en/``): the UI, the
command line, the printed documents and the desk's errors all look their words up here, so a
message is reviewed, corrected or translated in one place, and an error travels as a code
with parameters instead of text that a screen would have to pick apart.

TOML because the standard library reads it (``tomllib``): core stays stdlib-only, and every
layer can afford the look-up. Each file is read once, on the first message in its language
(about 10 ms for some 860 messages on a loaded 2-core machine); a look-up is then a dict
access and a ``str.format_map`` (0.5-4 µs).

A code missing from the table, or parameters that do not fit its text, never crash a screen
or a command: the code itself is shown (a person can report it) and the fault is logged.
Bahasa Indonesia is the desk's first language: a code missing only in English falls back
to the Indonesian text.
"""

from __future__ import annotations

import logging
import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from mppdesk.paths import resources_dir

log = logging.getLogger(__name__)

LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"


@dataclass(frozen=True)
class Localized:
    """A parameter that is itself worded in both languages (a survey element's label, a
    catalog name): ``text`` picks the side of the message's language."""

    id: str
    en: str

    def get(self, lang: str) -> str:
        return self.en if lang == "en" and self.en else self.id


@dataclass(frozen=True)
class Phrase:
    """A parameter that is another message of the catalog (a reason inside an error)."""

    code: str
    params: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def get(self, lang: str) -> str:
        return text(self.code, lang, **self.params)


def messages_dir() -> Path:
    return resources_dir() / "messages"


def language_of(lang: str | None) -> str:
    """``lang`` when it is one of the desk's languages, else Indonesian ("en-GB" is English)."""
    if lang and str(lang).lower().startswith("en"):
        return "en"
    return DEFAULT_LANGUAGE


def table_files(lang: str) -> list[Path]:
    """The files of one language: ``{lang}.toml``, then the area files in ``{lang}/`` by name.

    Areas (tickets, billing, accounts…) keep their words in a file of their own, so two people
    adding messages to different areas never edit the same file.
    """
    lang = language_of(lang)
    return [messages_dir() / f"{lang}.toml", *sorted((messages_dir() / lang).glob("*.toml"))]


@cache
def table(lang: str) -> Mapping[str, str]:
    """The whole table of one language: code → text with ``{param}`` slots."""
    flat: dict[str, str] = {}
    for path in table_files(lang):
        try:
            with path.open("rb") as handle:
                raw = tomllib.load(handle)
        except (OSError, ValueError) as exc:  # TOMLDecodeError and UnicodeDecodeError are ValueErrors
            # A broken install must still show codes (and a crash line), not crash again.
            log.error("message catalog %s cannot be read: %s", path, exc)
            continue
        area: dict[str, str] = {}
        _flatten(raw, "", area)
        for code in area.keys() & flat.keys():
            log.error("message %s is defined twice (again in %s); the first stays", code, path)
        flat.update({code: value for code, value in area.items() if code not in flat})
    return flat


def _flatten(node: Mapping[str, Any], prefix: str, out: dict[str, str]) -> None:
    for key, value in node.items():
        code = f"{prefix}{key}"
        if isinstance(value, Mapping):
            _flatten(value, f"{code}.", out)
        else:
            out[code] = str(value)


def has(code: str) -> bool:
    return code in table(DEFAULT_LANGUAGE)


def text(code: str, lang: str | None = DEFAULT_LANGUAGE, /, **params: Any) -> str:
    """The message ``code`` in ``lang`` with its ``{param}`` slots filled in.

    Never raises: an unknown code comes back as the code, and parameters that do not fit
    leave the text unfilled, both logged, so a missing word is a visible defect, not a crash.
    """
    template = table(language_of(lang)).get(code)
    if template is None:
        template = table(DEFAULT_LANGUAGE).get(code)
        if template is None:
            log.error("message code %r is not in the catalog", code)
            return code
        log.warning("message code %r has no %s text", code, lang)
    if not params:
        return template
    lang = language_of(lang)
    try:
        return template.format_map({k: _in_language(v, lang) for k, v in params.items()})
    except (KeyError, IndexError, ValueError, TypeError, AttributeError) as exc:
        log.error("message %r does not fit its parameters %s: %r", code, sorted(params), exc)
        return template


def _in_language(value: Any, lang: str) -> Any:
    """Bilingual parameters (``Localized``, ``Phrase``, a catalog ``Text``) in ``lang``."""
    if isinstance(value, Localized | Phrase):
        return value.get(lang)
    if not isinstance(value, str) and hasattr(value, "id") and hasattr(value, "en"):
        english = getattr(value, "en", "")
        return english if lang == "en" and english else getattr(value, "id", "")
    return value


def params_of(template: str) -> frozenset[str]:
    """The names of a text's ``{param}`` slots (``{n}`` in "Halaman {n}" → {"n"})."""
    names = set()
    for _literal, slot, _spec, _conversion in string.Formatter().parse(template):
        if slot is not None:
            names.add(slot.split(".")[0].split("[")[0])
    return frozenset(names)
