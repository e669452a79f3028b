"""Typed problems. Parsers in the domain return a value or a Problem; they never raise on bad text."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a value could not be used: a stable code for machines, words for people (vi first)."""

    code: str
    message_vi: str
    message_en: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message_en}"


def safe_text(value: object) -> str:
    try:
        return str(value)
    except Exception:  # the object's own __str__ is broken; its type still names it
        return f"<{type(value).__name__}>"


def shown(value: object, limit: int = 40) -> str:
    """A bad value as a problem's words quote it: cut short so that a long cell cannot flood the message."""
    s = safe_text(value)
    return s if len(s) <= limit else s[: limit - 1] + "…"


class VaxlinkError(Exception):
    """An error the operator can act on; the CLI prints it without a traceback."""


class InputError(VaxlinkError):
    """The input file or argument cannot be used as a whole (unreadable, missing required columns...)."""
