"""What the matcher (or an officer) decided about a dose record: the outcomes stored in `match_result`.

A dose counts for its citizen when it is linked, by the matcher or by an officer who confirmed it; records in
review or unmatched wait on an officer's desk. The values are stored text: never rename one."""

from __future__ import annotations

from enum import StrEnum


class MatchOutcome(StrEnum):
    LINKED = "linked"
    # Linked by an officer (a case settled, a request between wards confirmed): never re-decided by a run.
    CONFIRMED = "confirmed"
    REVIEW = "review"
    UNMATCHED = "unmatched"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"


# The dose belongs to the citizen: what status, certificates, flags and figures count.
LINKED_OUTCOMES = (MatchOutcome.LINKED, MatchOutcome.CONFIRMED)
# The record waits for an officer.
WAITING_OUTCOMES = (MatchOutcome.REVIEW, MatchOutcome.UNMATCHED)


def sql_list(outcomes: tuple[MatchOutcome, ...]) -> str:
    """The outcomes as an SQL list literal, `('linked', 'confirmed')`, for set-based queries."""
    return "(" + ", ".join(f"'{o.value}'" for o in outcomes) + ")"


LINKED_SQL = sql_list(LINKED_OUTCOMES)
