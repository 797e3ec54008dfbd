"""Errors the desk's operations raise; the CLI maps them to exit codes, the UI to messages.

An error carries a message code of the catalog (``resources/messages/``) and its parameters,
never words a screen would have to pick apart: the window, the command line and the logs
each word it in their own language with ``text(lang)``. ``str(error)`` is the Indonesian
text, for logs and tracebacks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Self

from mppdesk.core import messages


class DeskError(Exception):
    """A known failure with a message meant for the person at the desk.

    Raised as ``NotFound.of("error.visit_not_found", visit=visit_id)``; a plain message
    (``DeskError("…")``) remains for errors not yet in the catalog and shows as given.
    """

    def __init__(
        self, message: str = "", *, code: str = "", params: Mapping[str, Any] | None = None
    ) -> None:
        self.code = code
        self.params: dict[str, Any] = dict(params or {})
        super().__init__(message or (messages.text(code, "id", **self.params) if code else ""))

    @classmethod
    def of(cls, code: str, /, **params: Any) -> Self:
        return cls(code=code, params=params)

    def text(self, lang: str = "id") -> str:
        if self.code:
            return messages.text(self.code, lang, **self.params)
        return str(self)


class AuthError(DeskError):
    """Wrong password, unknown user or locked account (the CLI exits 4)."""


class AccountLocked(AuthError):
    """Too many failed attempts: the account is locked until ``params["until"]`` (HH:MM)."""


class PermissionDenied(DeskError):
    """The role may not do this (the CLI exits 4)."""


class NotFound(DeskError):
    pass


@dataclass(frozen=True)
class FieldError:
    """One refused entry: where (``path``) and why (a catalog ``code`` with ``params``).

    ``FieldError.of(path, code, **params)`` is the usual form. ``message``/``message_en``
    are filled from the catalog; given directly, they carry words that already come in both
    languages from elsewhere (the form engine's validators).
    """

    path: str  # e.g. "applicant.nik", "services[1].answers.alasan"
    message: str = ""
    message_en: str = ""
    code: str = ""
    params: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if self.code:
            object.__setattr__(self, "message", messages.text(self.code, "id", **self.params))
            object.__setattr__(self, "message_en", messages.text(self.code, "en", **self.params))

    @classmethod
    def of(cls, path: str, code: str, /, **params: Any) -> FieldError:
        return cls(path, code=code, params=params)

    def text(self, lang: str = "id") -> str:
        if self.code:
            return messages.text(self.code, lang, **self.params)
        return self.message_en if lang == "en" and self.message_en else self.message

    def as_dict(self, lang: str = "id") -> dict[str, str]:
        out = {"path": self.path, "message": self.text(lang)}
        if self.code:
            out["code"] = self.code
        return out


class InvalidInput(DeskError):
    """The input cannot be stored; nothing was written (the CLI exits 2)."""

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(f"{e.path}: {e.message}" for e in errors[:5]))

    def text(self, lang: str = "id", *, with_paths: bool = False) -> str:
        """One line per refused entry."""
        if with_paths:
            return "\n".join(f"{e.path}: {e.text(lang)}" for e in self.errors)
        return "\n".join(e.text(lang) for e in self.errors)
