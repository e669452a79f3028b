"""Why an input row was rejected: one vocabulary of codes with words for people (Vietnamese, English), kept in
data/rejection_reasons.toml."""

from __future__ import annotations

from vaxlink.domain.words import read_words

REJECTION_REASONS = read_words("vaxlink.domain", "data", "rejection_reasons.toml")["rejection_reasons"]


def reason_code(reason: str) -> str:
    """The code of a stored reason: "FHIR_INVALID: performer.0.actor: Field required" → "FHIR_INVALID"."""
    return reason.split(":", 1)[0].strip()


def describe(code: str) -> str:
    """Vietnamese / English" words for a code (a detail after "CODE:" is kept); the code itself when it is
    not known."""
    key, _, detail = code.partition(":")
    vi, en = REJECTION_REASONS.get(key.strip(), (code, code))
    if detail and key.strip() in REJECTION_REASONS:
        return f"{vi} ({detail.strip()}) / {en} ({detail.strip()})"
    return f"{vi} / {en}"
