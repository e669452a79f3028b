"""Request and response bodies of the API. Text fields refuse NUL characters and unpaired surrogates
(neither can be stored), and every number has bounds, so that bad input is a 422, never a 500."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from vaxlink.services.audit import log
from vaxlink.services.workbench import case_view, citizen_search, counter, register_changes


def _storable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("not valid Unicode text") from None
    return value


Storable = AfterValidator(_storable)


Id = Annotated[int, Field(ge=1, le=2**53)]
Version = Annotated[int, Field(ge=1, le=2**31 - 1)]
Note = Annotated[str, Field(max_length=400), Storable]
Reason = Annotated[str, Field(min_length=1, max_length=400), Storable]
Short = Annotated[str, Field(max_length=200), Storable]
Value = Annotated[str, Field(min_length=1, max_length=400), Storable]
Scanned = Annotated[str, Field(min_length=1, max_length=1000), Storable]
WardCode = Annotated[str, Field(pattern=r"^[0-9]{5}$")]
CaseKind = Literal["conflict", "unmatched", "correction", "verification", "register_change"]
CaseStatus = Literal["open", "pending_approval", "collection"]
ReasonCode = Annotated[str, Field(pattern=r"^[A-Z_]{1,40}$")]
Cursor = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,200}$")]
Field_ = Literal["full_name", "birth_date", "sex", "personal_id", "phone", "address"]


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# A service's own dataclass answers where the API shows all of it; the models below leave out or add
# fields on purpose (tests/unit/test_response_mirrors.py lists how each differs from its dataclass).
FieldRowOut = case_view.FieldRow
DoseOut = case_view.DoseView
CitizenHitOut = citizen_search.CitizenHit
ChangeOut = register_changes.ChangeView
CardDifferenceOut = counter.CardDifference
FindingOut = log.Finding


class ProblemOut(BaseModel):
    type: str
    title: str
    status: int
    code: str
    detail: str


NOT_FOUND = "not found in your jurisdiction"
MALFORMED = "malformed or unacceptable input"


def problems(described: dict[int, str], *, typed: bool = True) -> dict[int | str, dict[str, Any]]:
    """The error answers a router documents: 401 and 403 (every route needs a principal), then those
    described; `typed` gives each the problem body's schema."""
    every = {401: "no valid credentials", 403: "not allowed", **described}
    return {
        code: {"model": ProblemOut, "description": text} if typed else {"description": text}
        for code, text in every.items()
    }


class WorkItemOut(Out):
    id: int
    kind: str
    status: str
    priority: int
    ward_code: str | None
    created_at: datetime
    due_at: datetime | None
    reasons: list[str]
    health_name: str | None
    version: int
    overdue: bool


class WorklistOut(Out):
    items: list[WorkItemOut]
    counts: dict[str, int]
    total: int
    next_cursor: str | None
    incoming_verifications: int


class CandidateOut(Out):
    citizen_id: int
    weight: float | None
    levels: dict[str, str]
    full_name: str
    birth: str
    sex: str
    personal_id: str
    ward_code: str
    version: int
    rows: list[FieldRowOut]
    weights: dict[str, float] = {}


class CaseOut(Out):
    id: int
    kind: str
    status: str
    priority: int
    ward_code: str | None
    ward_units: str
    created_at: datetime
    due_at: datetime | None
    closed_at: datetime | None
    resolution: str | None
    resolution_note: str | None
    version: int
    reasons: list[str]
    reason_words: list[str] = []
    blame: str | None
    score: float | None
    outcome: str | None
    health: dict[str, Any] | None
    candidates: list[CandidateOut]
    hidden_candidates: int
    details: dict[str, Any]
    citizen_id: int | None


class LinkIn(BaseModel):
    version: Version
    citizen_id: Id
    note: Note | None = None


class HealthWrongIn(BaseModel):
    version: Version
    citizen_id: Id | None = None
    note: Reason


class PassIn(BaseModel):
    version: Version
    ward_code: WardCode
    reason: Reason


class CollectIn(BaseModel):
    version: Version
    note: Note | None = None


class ActionOut(BaseModel):
    ok: bool = True
    case_id: int
    corrections: dict[str, str] = {}


class SearchIn(BaseModel):
    name: Short | None = None
    birth_date: Short | None = None
    personal_id: Short | None = None
    phone: Short | None = None


class CitizenOut(Out):
    citizen: CitizenHitOut
    address: str | None
    phone: str | None
    permanent_ward_code: str
    aliases: list[tuple[str, str]]
    status: str
    doses: list[DoseOut]
    open_cases: list[WorkItemOut]
    history: list[dict[str, Any]]
    pending_changes: list[int]


class CorrectIn(BaseModel):
    version: Version
    field: Field_
    value: Value
    reason: Reason
    evidence: Reason
    case_id: Id | None = None


class CorrectionOut(Out):
    applied: bool
    change_id: int | None
    # For a decision on a waiting change: approved, rejected, or outdated (its field changed meanwhile).
    outcome: Literal["approved", "rejected", "outdated"] | None = None


class DecideIn(BaseModel):
    version: Version
    note: Note | None = None


class CounterIn(BaseModel):
    text: Scanned


class CounterOut(Out):
    view: CitizenOut
    from_card: bool
    differences: list[CardDifferenceOut]
    candidate_cases: list[WorkItemOut]


class MeOut(BaseModel):
    username: str
    display_name: str
    role: str
    scope: str
    permissions: list[str]


class UserOut(Out):
    id: int
    username: str
    display_name: str
    role: str
    scope_level: str
    scope_code: str | None
    active: bool


class AuditVerifyOut(Out):
    events: int
    head_id: int | None
    head_hash: str | None
    ok: bool
    findings: list[FindingOut]
