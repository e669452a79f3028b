"""The register: search, a citizen's record, corrections and their approval, the counter lookup."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from vaxlink.domain.cases import ChangeOutcome
from vaxlink.services.access.auth import Principal
from vaxlink.services.workbench import citizen_record, citizen_search, counter, register_changes
from vaxlink.web.api.models import (
    MALFORMED,
    NOT_FOUND,
    ChangeOut,
    CitizenHitOut,
    CitizenOut,
    CorrectIn,
    CorrectionOut,
    CounterIn,
    CounterOut,
    DecideIn,
    SearchIn,
    problems,
)
from vaxlink.web.params import Approving, Correcting, Reading, RowId, Searching
from vaxlink.web.security import DB

router = APIRouter(prefix="/api/v1", tags=["citizens"])
PROBLEMS = problems({404: NOT_FOUND, 409: "changed by someone else first", 422: MALFORMED})


@router.post("/citizens/search", response_model=list[CitizenHitOut], responses=PROBLEMS)
def search(body: SearchIn, session: DB, who: Searching) -> Any:
    """Citizens of your jurisdiction by name (diacritics optional), birth date, number, phone. A POST, so
    that names and numbers never appear in a URL or a log."""
    return citizen_search.search_citizens(session, who, **body.model_dump())


@router.get("/citizens/{citizen_id}", response_model=CitizenOut, responses=PROBLEMS)
def get_citizen(citizen_id: RowId, session: DB, who: Reading) -> Any:
    return citizen_record.citizen_detail(session, who, citizen_id)


@router.post("/citizens/{citizen_id}/corrections", response_model=CorrectionOut, responses=PROBLEMS)
def correct(citizen_id: RowId, body: CorrectIn, session: DB, who: Correcting) -> Any:
    """Correct the register; name, birth date, sex and number wait for a second officer's approval."""
    return register_changes.correct_citizen(
        session,
        who,
        citizen_id,
        body.version,
        body.field,
        body.value,
        body.reason,
        body.evidence,
        body.case_id,
    )


@router.get("/changes", response_model=list[ChangeOut], responses=PROBLEMS)
def changes(session: DB, who: Approving) -> Any:
    return register_changes.pending_changes(session, who)


def _decided(session: DB, who: Principal, change_id: int, body: DecideIn, approve: bool) -> dict[str, Any]:
    outcome = register_changes.decide_change(session, who, change_id, body.version, approve, body.note)
    return {"applied": outcome == ChangeOutcome.APPROVED, "change_id": change_id, "outcome": outcome}


@router.post("/changes/{change_id}/approve", response_model=CorrectionOut, responses=PROBLEMS)
def approve(change_id: RowId, body: DecideIn, session: DB, who: Approving) -> Any:
    return _decided(session, who, change_id, body, True)


@router.post("/changes/{change_id}/reject", response_model=CorrectionOut, responses=PROBLEMS)
def reject(change_id: RowId, body: DecideIn, session: DB, who: Approving) -> Any:
    return _decided(session, who, change_id, body, False)


@router.post("/counter/lookup", response_model=CounterOut, responses=PROBLEMS)
def counter_lookup(body: CounterIn, session: DB, who: Reading) -> Any:
    """The citizen at the counter, by the chip card's QR text or a number (in the body, never the URL)."""
    return counter.lookup(session, who, body.text)
