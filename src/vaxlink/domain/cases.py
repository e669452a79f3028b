"""The vocabulary of a ward's cases and of the requests between wards: kinds, statuses, how a case was
settled, what became of a register change.

The values are the text stored in `work_case` and `verification_request` (and read by the SQL that builds
cases in bulk): never rename one."""

from __future__ import annotations

from enum import StrEnum


class CaseKind(StrEnum):
    CONFLICT = "conflict"
    UNMATCHED = "unmatched"
    # A citizen's correction request filed online.
    CORRECTION = "correction"
    VERIFICATION = "verification"
    # A change of the register waiting for a second officer.
    REGISTER_CHANGE = "register_change"


class CaseStatus(StrEnum):
    OPEN = "open"
    PENDING_APPROVAL = "pending_approval"
    # The person is being collected as a new resident (a request to another ward may be under way).
    COLLECTION = "collection"
    CLOSED = "closed"


# Statuses that keep a case on the worklist, and the one an officer acts on.
ON_WORKLIST = (CaseStatus.OPEN, CaseStatus.PENDING_APPROVAL, CaseStatus.COLLECTION)
ACTIONABLE = (CaseStatus.OPEN,)


class Resolution(StrEnum):
    """How a closed case was settled."""

    LINKED = "linked"
    HEALTH_WRONG = "health_wrong"
    # A citizen's request handled.
    ANSWERED = "answered"
    # A collected person registered by their own ward.
    REGISTERED = "registered"
    # Confirmed by the ward of permanent residence.
    VERIFIED = "verified"
    APPROVED = "approved"
    REJECTED = "rejected"
    OUTDATED = "outdated"


class ChangeOutcome(StrEnum):
    """What became of a register change: approved, rejected, or outdated (its field changed meanwhile)."""

    APPROVED = "approved"
    REJECTED = "rejected"
    OUTDATED = "outdated"


class RequestStatus(StrEnum):
    """A verification request between wards."""

    OPEN = "open"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
