"""Making user values printable.

The documents never put a user value into reportlab's markup-parsing Paragraph (see
:mod:`mppdesk.printing.textblock`), so ``<img src=…>`` or ``&`` in a name is printed as
typed. What remains is what no printer can show: control and format characters (bidi
overrides, zero-width marks, NUL, escape sequences) are removed and line breaks become
spaces, and an absurdly long value is cut.
"""

from __future__ import annotations

import unicodedata

# A value longer than this is cut with an ellipsis: a name pasted by mistake (a whole
# document) must not make a receipt metres long. Well above any real name or address.
MAX_VALUE_LENGTH = 1000

_WHITESPACE = frozenset("\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\u2028\u2029")
# Other (Cc), format (Cf: bidi overrides, zero-width marks), surrogate (Cs), private use
# (Co) and unassigned (Cn): nothing a counter should print.
_DROP = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


def clean(value: object) -> str:
    """The printable text of a user value: no control characters, one line, bounded length."""
    text = "" if value is None else str(value)
    if not text.isprintable():
        out = []
        for ch in text:
            if ch in _WHITESPACE:
                out.append(" ")
            elif unicodedata.category(ch) not in _DROP:
                out.append(ch)
        text = "".join(out)
    if len(text) > MAX_VALUE_LENGTH:
        text = text[: MAX_VALUE_LENGTH - 1] + "…"
    return text
