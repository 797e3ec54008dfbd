"""The desk's words in Bahasa Indonesia and English, and Indonesian dates and Rupiah.

The words live in the one message catalog (``resources/messages/``, read by
``mppdesk.core.messages``) that the command line and the printed documents use too; this
module only remembers the window's current language. ``tr(code)`` answers in it;
``set_language`` switches it (the window rebuilds its pages after a switch). Errors of the
desk's operations carry a code and parameters: ``error_text`` words them.

Dates and money use babel with the ``id_ID`` locale in both languages' number style, because
a Rupiah amount is written ``Rp150.000`` on every Indonesian document; babel is imported on
first use so the login screen does not pay for it.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from mppdesk.core import messages

log = logging.getLogger(__name__)

LANGUAGES = ("id", "en")
_language = "id"

# Words added at run time (key: (Bahasa Indonesia, English)), looked up after the catalog:
# a screen a test registers in its own fixtures names itself here. The desk's own words
# belong in resources/messages/, not here.
TEXTS: dict[str, tuple[str, str]] = {}


def set_language(lang: str) -> None:
    global _language
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, got {lang!r}")
    _language = lang


def language() -> str:
    return _language


def has(key: str) -> bool:
    """Whether ``key`` has words (for keys built from data, such as a role or a status)."""
    return messages.has(key) or key in TEXTS


def tr(key: str, **values: Any) -> str:
    """The text of ``key`` in the current language, with ``{name}`` values filled in."""
    pair = TEXTS.get(key)
    if pair is None or messages.has(key):
        return messages.text(key, _language, **values)
    text = pair[1] if _language == "en" else pair[0]
    return text.format(**values) if values else text


def error_text(error: BaseException, *, with_paths: bool = False) -> str:
    """What the person at the desk reads about a failed operation, in the current language.

    The one place the window turns the desk's errors into words: an ``InvalidInput`` lists
    its field errors (one per line, ``path: text`` when ``with_paths``), other desk errors
    say their message; anything else is a background fault.
    """
    from mppdesk.desk.errors import DeskError, InvalidInput

    if isinstance(error, InvalidInput):
        return error.text(_language, with_paths=with_paths)
    if isinstance(error, DeskError):
        return error.text(_language)
    return tr("app.error_detail", message=str(error))


def plain(key: str, **values: Any) -> str:
    """Like ``tr`` without the "&" mnemonic markers (for labels that are not buttons)."""
    return tr(key, **values).replace("&&", "\0").replace("&", "").replace("\0", "&")


def text_of(text: Any) -> str:
    """A catalog ``Text`` (or None) in the current language."""
    if text is None:
        return ""
    return text.get(_language)


# --- formats -------------------------------------------------------------------------------


def format_date(day: date | None, long: bool = True) -> str:
    """29 November 2026 (id) / 29 November 2026 (en); short: 29 Nov 2026."""
    if day is None:
        return ""
    from babel.dates import format_date as babel_date

    locale = "id_ID" if _language == "id" else "en_GB"
    return babel_date(day, format="d MMMM y" if long else "d MMM y", locale=locale)


def format_datetime(moment: datetime | None, tz: Any = None) -> str:
    if moment is None:
        return ""
    if tz is not None:
        moment = moment.astimezone(tz)
    return f"{format_date(moment.date(), long=False)} {moment:%H:%M}"


def format_rupiah(amount: int | None) -> str:
    """Rp150.000 — Indonesian grouping in both languages, as on every receipt."""
    if amount is None:
        return tr("visit.fee_assessed")
    if amount == 0:
        return tr("visit.fee_free")
    from babel.numbers import format_decimal

    return "Rp" + format_decimal(amount, format="#,##0", locale="id_ID")


def format_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"
