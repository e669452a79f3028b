"""Verification between wards: send a request to the ward of permanent residence, read the boxes, answer,
escalate an overdue request; and new residents: register a person without a number, print the notice."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from vaxlink.services.workbench import new_residents, ward_request_boxes, ward_requests
from vaxlink.web.api.models import (
    MALFORMED,
    NOT_FOUND,
    CitizenHitOut,
    Id,
    Note,
    Out,
    Short,
    Version,
    WardCode,
    problems,
)
from vaxlink.web.params import Answering, Assigning, CaseReading, Correcting, Listing, Reading, RowId, Sending
from vaxlink.web.security import DB, state

router = APIRouter(prefix="/api/v1", tags=["verification"])
PROBLEMS = problems({404: NOT_FOUND, 409: "answered or changed by someone else first", 422: MALFORMED})
Name = Annotated[str, Field(min_length=1, max_length=200)]
BirthDate = Annotated[str, Field(min_length=1, max_length=40)]
SexText = Annotated[str, Field(min_length=1, max_length=10)]
Province = Annotated[str, Field(pattern=r"^[0-9]{2}$")]


class _Named(BaseModel):
    """Who a person is, as a ward enters them: name, birth date, sex and ward of permanent residence."""

    full_name: Name
    birth_date: BirthDate
    sex: SexText
    permanent_ward_code: WardCode


class PersonIn(_Named):
    personal_id: Short | None = None
    phone: Short | None = None
    address: Note | None = None


class SendIn(BaseModel):
    person: PersonIn
    case_id: Id | None = None
    case_version: Version | None = None


class SentOut(BaseModel):
    request_id: int


class RequestOut(Out):
    id: int
    status: str
    from_ward_code: str
    to_ward_code: str
    from_ward_name: str | None
    to_ward_name: str | None
    units: str
    person: dict[str, Any]
    case_id: int | None
    citizen_id: int | None
    created_at: datetime
    created_by: str
    due_at: datetime
    overdue: bool
    escalated_at: datetime | None
    answered_at: datetime | None
    answered_by: str | None
    answer_reason: str | None
    version: int
    incoming: bool
    outgoing: bool
    suggestions: list[CitizenHitOut]


class AnswerIn(BaseModel):
    version: Version
    decision: Literal["confirm", "reject"]
    citizen_id: Id | None = None
    create_new: bool = False
    birth_province: Province | None = None
    reason: Note | None = None


class AnswerOut(Out):
    request_id: int
    status: str
    citizen_id: int | None
    linked_dose_records: list[int]


class EscalateIn(BaseModel):
    version: Version
    note: Note | None = None


class NewResidentIn(_Named):
    birth_province: Province | None = None
    phone: Short | None = None
    address: Note | None = None
    # A second officer's confirmation that the person differs from the entries a first officer's attempt
    # was refused for (409 SAME_PERSON).
    confirm_other_person: bool = False


class NewResidentOut(BaseModel):
    citizen_id: int
    personal_id: str


def person_of(body: PersonIn) -> ward_requests.Person:
    return ward_requests.Person(**body.model_dump())


@router.post("/verification-requests", response_model=SentOut, responses=PROBLEMS)
def send(body: SendIn, session: DB, who: Sending) -> SentOut:
    """Ask the ward of permanent residence to confirm a collected person (from a case in collection, or
    from the counter without one). Personal data travels in the body only."""
    rid = ward_requests.send_request(
        session, who, person_of(body.person), case_id=body.case_id, case_version=body.case_version
    )
    return SentOut(request_id=rid)


@router.get("/verification-requests", response_model=list[RequestOut], responses=PROBLEMS)
def list_requests(
    session: DB,
    who: Listing,
    box: Annotated[Literal["incoming", "outgoing", "overdue", "all"], Query()] = "all",
    only_open: bool = False,
) -> Any:
    """Requests asked of your ward, sent by it, or (for supervisors) overdue in your jurisdiction."""
    return ward_request_boxes.list_requests(session, who, box, only_open=only_open)


@router.get("/verification-requests/{request_id}", response_model=RequestOut, responses=PROBLEMS)
def get_request(request_id: RowId, session: DB, who: CaseReading) -> Any:
    return ward_request_boxes.request_detail(session, who, request_id)


@router.post("/verification-requests/{request_id}/answer", response_model=AnswerOut, responses=PROBLEMS)
def answer(request: Request, request_id: RowId, body: AnswerIn, session: DB, who: Answering) -> Any:
    """Confirm (an existing citizen, or `create_new` to enter the person in the register) or reject with a
    reason. Only the ward of permanent residence answers; of two answers at once, one gets 409."""
    return ward_requests.answer_request(
        session,
        state(request).settings,
        who,
        request_id,
        body.version,
        confirm=body.decision == "confirm",
        citizen_id=body.citizen_id,
        create_new=body.create_new,
        birth_province=body.birth_province,
        reason=body.reason,
    )


@router.post("/verification-requests/{request_id}/escalate", response_model=SentOut, responses=PROBLEMS)
def escalate(request_id: RowId, body: EscalateIn, session: DB, who: Assigning) -> SentOut:
    ward_request_boxes.escalate(session, who, request_id, body.version, body.note)
    return SentOut(request_id=request_id)


@router.post("/residents", response_model=NewResidentOut, responses=PROBLEMS)
def register_resident(body: NewResidentIn, session: DB, who: Correcting) -> NewResidentOut:
    """Enter a person of your ward who has no number in the register: a new number is issued."""
    c = new_residents.register_in_ward(
        session,
        who,
        new_residents.NewPerson(**body.model_dump(exclude={"confirm_other_person"}), current_ward_code=""),
        confirm_other_person=body.confirm_other_person,
    )
    return NewResidentOut(citizen_id=c.id, personal_id=c.personal_id)


notice_router = APIRouter(include_in_schema=False)


@notice_router.get("/citizens/{citizen_id}/notice.pdf")
def id_notice(citizen_id: RowId, session: DB, who: Reading) -> Response:
    """The printable notice of the citizen's number (Vietnamese), with a Code 128 barcode and a QR code."""
    return Response(
        new_residents.id_notice(session, who, citizen_id),
        media_type="application/pdf",
        headers={"content-disposition": 'inline; filename="thong-bao-so-dinh-danh.pdf"'},
    )
