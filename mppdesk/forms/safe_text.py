"""The one rule for text that comes in with a visit (a visit file or the desk's form).

A value is stored and printed exactly as typed, with three exceptions refused in every text
value and every key, whatever the field:

* NUL and the other C0/C1 control characters (tab, line feed and carriage return excepted):
  nothing typed at a counter contains them, and NUL truncates text in C libraries;
* lone UTF-16 surrogates (a JSON ``"\\ud800"``): not text at all, they cannot be encoded to
  UTF-8, so the store, the agency payload and the terminal would fail on them later;
* bidirectional formatting controls (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069):
  they reorder what a receipt or a supervisor's screen shows ("Trojan Source"), so a name or
  NIK could display as something else than what is stored.

One rule for every field keeps it predictable: the officer never has to know which field
allows what. Nesting is bounded too, so a hostile document cannot exhaust the recursion of the
code that reads it later.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from mppdesk.core.messages import Phrase

MAX_DEPTH = 32

BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_ALLOWED_CONTROLS = frozenset("\t\n\r")
# Every refused character in one class: the common case (nothing refused) is one C-level scan
# instead of a Python loop over each character, which finalize pays for every value.
_REFUSED = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff"
    + "".join(sorted(BIDI_CONTROLS))
    + "]"
)


def text_problem(text: str) -> tuple[str, dict[str, Any]] | None:
    """Why ``text`` cannot be accepted, as a message code and its parameters, or None when
    it can."""
    found = _REFUSED.search(text)
    if found is None:
        return None
    for ch in text[found.start() :]:
        code = ord(ch)
        if 0xD800 <= code <= 0xDFFF:
            return "text.surrogate", {"char": f"U+{code:04X}"}
        if (code < 0x20 or 0x7F <= code <= 0x9F) and ch not in _ALLOWED_CONTROLS:
            return "text.control", {"char": f"U+{code:04X}"}
        if ch in BIDI_CONTROLS:
            return "text.bidi", {"char": f"U+{code:04X}"}
    return None


def shown_key(key: str) -> str:
    """A key as it may appear in an error path: unsafe characters written as escapes."""
    if not key:
        return '""'
    if text_problem(key) is None:
        return key
    return "".join(
        f"\\u{ord(ch):04x}" if text_problem(ch) is not None else ch for ch in key
    )


def text_problems(value: Any, path: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(path, message code, its parameters) for every refused string in a JSON-like value.

    Walks dicts (keys and values) and lists without recursion; a value nested deeper than
    MAX_DEPTH is reported once at the path where the limit is crossed and not walked further.
    """
    stack: list[tuple[Any, str, int]] = [(value, path, 0)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem is not None:
                yield where, problem[0], problem[1]
            continue
        if not isinstance(item, dict | list | tuple):
            continue
        if depth >= MAX_DEPTH:
            yield where, "text.too_deep", {"max": MAX_DEPTH}
            continue
        if isinstance(item, dict):
            children = []
            for key, child in item.items():
                key_text = key if isinstance(key, str) else str(key)
                child_path = f"{where}.{shown_key(key_text)}" if where else shown_key(key_text)
                problem = text_problem(key_text)
                if problem is not None:
                    yield child_path, "text.key_name", {"problem": Phrase(*problem)}
                    continue
                children.append((child, child_path, depth + 1))
            stack.extend(reversed(children))
        else:
            stack.extend(
                (child, f"{where}[{index}]", depth + 1)
                for index, child in reversed(list(enumerate(item)))
            )
