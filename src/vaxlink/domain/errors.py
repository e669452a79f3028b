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


class VaxlinkError(Exception):
    """An error the operator can act on; the CLI prints it without a traceback."""


class InputError(VaxlinkError):
    """The input file or argument cannot be used as a whole (unreadable, missing required columns...)."""
