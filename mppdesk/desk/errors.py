"""Errors the desk's operations raise; the CLI maps them to exit codes, the UI to messages."""

from __future__ import annotations

from dataclasses import dataclass


class DeskError(Exception):
    """A known failure with a message meant for the person at the desk."""


class AuthError(DeskError):
    """Wrong password, unknown user or locked account (the CLI exits 4)."""


class PermissionDenied(DeskError):
    """The role may not do this (the CLI exits 4)."""


class NotFound(DeskError):
    pass


@dataclass(frozen=True)
class FieldError:
    path: str  # e.g. "applicant.nik", "services[1].answers.alasan"
    message: str
    message_en: str = ""

    def as_dict(self, lang: str = "id") -> dict[str, str]:
        return {
            "path": self.path,
            "message": self.message_en if lang == "en" and self.message_en else self.message,
        }


class InvalidInput(DeskError):
    """The input cannot be stored; nothing was written (the CLI exits 2)."""

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(f"{e.path}: {e.message}" for e in errors[:5]))
