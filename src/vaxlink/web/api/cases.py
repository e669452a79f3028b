"""Cases: the worklist, a case side by side with the register, and the actions that settle it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from vaxlink.services.workbench import case_actions, case_view, worklist
from vaxlink.web.api.models import (
    MALFORMED,
    ActionOut,
    CaseKind,
    CaseOut,
    CaseStatus,
    CollectIn,
    Cursor,
    HealthWrongIn,
    LinkIn,
    PassIn,
    ReasonCode,
    WorklistOut,
    problems,
)
from vaxlink.web.i18n import reason_words
from vaxlink.web.params import Acting, CaseReading, Listing, RowId
from vaxlink.web.security import DB, state

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])
PROBLEMS = problems(
    {
        404: "no such case in your jurisdiction",
        409: "someone else settled or changed the case first",
        422: MALFORMED,
    }
)


@router.get("", response_model=WorklistOut, responses=PROBLEMS)
def list_cases(
    session: DB,
    who: Listing,
    kind: CaseKind | None = None,
    status: CaseStatus | None = None,
    reason: Annotated[ReasonCode | None, Query()] = None,
    min_age_days: Annotated[int | None, Query(ge=0, le=3650)] = None,
    cursor: Annotated[Cursor | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Any:
    """The open cases of your jurisdiction, most important and oldest first, with counts per kind."""
    f = worklist.WorkFilter(kind=kind, reason=reason, min_age_days=min_age_days, status=status)
    return worklist.worklist(session, who, f, cursor, limit)


def case_out(view: case_view.CaseView, lang: str = "vi") -> CaseOut:
    out = CaseOut.model_validate(view)
    out.reason_words = [reason_words(r, lang) for r in view.reasons]
    return out


@router.get("/{case_id}", response_model=CaseOut, responses=PROBLEMS)
def get_case(case_id: RowId, session: DB, who: CaseReading) -> Any:
    return case_out(case_view.case_detail(session, who, case_id))


@router.post("/{case_id}/link", response_model=ActionOut, responses=PROBLEMS)
def link(request: Request, case_id: RowId, body: LinkIn, session: DB, who: Acting) -> ActionOut:
    """Link the case's dose record to a citizen of your jurisdiction (the suggestion or one found)."""
    case_actions.link_case(
        session, who, case_id, body.version, body.citizen_id, body.note, settings=state(request).settings
    )
    return ActionOut(case_id=case_id)


@router.post("/{case_id}/health-wrong", response_model=ActionOut, responses=PROBLEMS)
def health_wrong(case_id: RowId, body: HealthWrongIn, session: DB, who: Acting) -> ActionOut:
    """The health record is wrong: the correction goes into the answer for health."""
    fixed = case_actions.declare_health_wrong(session, who, case_id, body.version, body.citizen_id, body.note)
    return ActionOut(case_id=case_id, corrections=fixed)


@router.post("/{case_id}/pass", response_model=ActionOut, responses=PROBLEMS)
def pass_to_ward(case_id: RowId, body: PassIn, session: DB, who: Acting) -> ActionOut:
    case_actions.pass_case(session, who, case_id, body.version, body.ward_code, body.reason)
    return ActionOut(case_id=case_id)


@router.post("/{case_id}/collect", response_model=ActionOut, responses=PROBLEMS)
def collect(case_id: RowId, body: CollectIn, session: DB, who: Acting) -> ActionOut:
    """The person is not in the register: start collecting them as a new resident."""
    case_actions.start_collection(session, who, case_id, body.version, body.note)
    return ActionOut(case_id=case_id)
