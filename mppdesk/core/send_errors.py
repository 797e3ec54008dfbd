"""What a sync error class means, in words an officer (and a citizen on the phone) follows.

The outbox records a short stable class per failed attempt ("timeout", "http_503",
"unauthorized" …, see ``mppdesk.core.sync_policy``); screens and printouts show this instead
of the agency's raw English message. The words are the message catalog's ``send_error.``
codes (``resources/messages/``).
"""

from __future__ import annotations

from mppdesk.core import messages


def describe_send_error(error_class: str | None, lang: str = "id") -> str:
    """Plain words for an error class; unknown classes keep their code visible."""
    if not error_class:
        return ""
    code = f"send_error.{error_class}"
    if messages.has(code):
        return messages.text(code, lang)
    if error_class.startswith("http_") and error_class[5:].isdigit():
        kind = "send_error.http_5xx" if error_class.startswith("http_5") else "send_error.http_other"
        return messages.text(kind, lang, code=error_class[5:])
    return error_class
