"""Verification between wards, as pages: the ward's boxes (asked of it, sent by it, cases waiting to be
sent), the request form, one request with its answer, the supervisors' list of overdue requests."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from vaxlink.services.access.auth import Principal
from vaxlink.services.errors import Invalid
from vaxlink.services.workbench import collection, ward_request_boxes, ward_requests
from vaxlink.web.i18n import message_of
from vaxlink.web.params import (
    Answering,
    Assigning,
    CaseReading,
    Done,
    FormText,
    FormVersion,
    Listing,
    RowId,
    Sending,
)
from vaxlink.web.render import render
from vaxlink.web.security import DB, state

router = APIRouter(include_in_schema=False)


@router.get("/verification")
def inbox(request: Request, session: DB, who: Listing, done: Done = None) -> Response:
    incoming = ward_request_boxes.list_requests(session, who, "incoming")
    outgoing = ward_request_boxes.list_requests(session, who, "outgoing")
    waiting = collection.cases_awaiting_collection(session, who)
    return render(
        request,
        "verification.html",
        {"incoming": incoming, "outgoing": outgoing, "waiting": waiting, "done": done},
    )


@router.get("/verification/overdue")
def overdue(request: Request, session: DB, who: Listing, done: Done = None) -> Response:
    items = ward_request_boxes.list_requests(session, who, "overdue")
    return render(request, "verification_overdue.html", {"items": items, "done": done})


FIELD_OF = {
    "BAD_NAME": "full_name",
    "BAD_DATE": "birth_date",
    "BAD_SEX": "sex",
    "BAD_ID": "personal_id",
    "BAD_PHONE": "phone",
    "UNKNOWN_WARD": "permanent_ward_code",
    "OTHER_WARD": "permanent_ward_code",
}


def _new_page(
    request: Request,
    who: Principal,
    case: object,
    person: ward_requests.Person,
    error: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    own = who.scope.code if who.scope.level.value == "ward" else None
    return render(
        request,
        "verification_new.html",
        {"case": case, "p": person, "error": error, "own_ward": own},
        status=status,
    )


@router.get("/verification/new")
def new_form(
    request: Request, session: DB, who: Sending, case_id: Annotated[int | None, Query(ge=1, le=2**53)] = None
) -> Response:
    case, person = None, ward_requests.Person("", "", "", "")
    if case_id is not None:
        case, person = collection.collection_person(session, who, case_id)
    return _new_page(request, who, case, person)


@router.post("/verification/new")
def send(
    request: Request,
    session: DB,
    who: Sending,
    full_name: Annotated[str, Form(max_length=200)] = "",
    birth_date: Annotated[str, Form(max_length=40)] = "",
    sex: Annotated[str, Form(max_length=10)] = "",
    permanent_ward_code: Annotated[str, Form(max_length=10)] = "",
    personal_id: Annotated[str, Form(max_length=40)] = "",
    phone: Annotated[str, Form(max_length=40)] = "",
    address: FormText = "",
    birth_province: Annotated[str, Form(max_length=4)] = "",
    case_id: Annotated[int | None, Form(ge=1, le=2**53)] = None,
    case_version: Annotated[int | None, Form(ge=1, le=2**31 - 1)] = None,
) -> Response:
    person = ward_requests.Person(
        full_name,
        birth_date,
        sex,
        permanent_ward_code.strip(),
        personal_id or None,
        phone or None,
        address or None,
    )
    own = who.scope.code if who.scope.level.value == "ward" else None
    try:
        if own is not None and person.permanent_ward_code == own:
            province = birth_province.strip()
            if province and not (len(province) == 2 and province.isdigit()):
                raise Invalid("Mã tỉnh cần 2 chữ số", "the province code has 2 digits", "BAD_PROVINCE")
            citizen_id = collection.register_own_resident(
                session,
                who,
                person,
                birth_province=province or None,
                case_id=case_id,
                case_version=case_version,
            )
            return RedirectResponse(f"/citizens/{citizen_id}?done=registered", status_code=303)
        rid = ward_requests.send_request(session, who, person, case_id=case_id, case_version=case_version)
    except Invalid as e:
        case = None
        if case_id is not None:
            case, _ = collection.collection_person(session, who, case_id)
        message = message_of(request, e)
        where = FIELD_OF.get(e.code or "", "birth_province" if e.code == "BAD_PROVINCE" else "full_name")
        return _new_page(request, who, case, person, {"field": where, "text": message}, 422)
    return RedirectResponse(f"/verification/{rid}?done=sent", status_code=303)


@router.get("/verification/{request_id}")
def detail(request: Request, request_id: RowId, session: DB, who: CaseReading, done: Done = None) -> Response:
    view = ward_request_boxes.request_detail(session, who, request_id)
    return render(request, "verification_request.html", {"r": view, "done": done})


@router.post("/verification/{request_id}/answer")
def answer(
    request: Request,
    request_id: RowId,
    session: DB,
    who: Answering,
    version: FormVersion,
    decision: Annotated[str, Form(pattern="^(confirm|reject|new)$")],
    citizen_id: Annotated[int | None, Form(ge=1, le=2**53)] = None,
    birth_province: Annotated[str, Form(pattern=r"^[0-9]{0,2}$")] = "",
    reason: FormText = "",
) -> Response:
    ward_requests.answer_request(
        session,
        state(request).settings,
        who,
        request_id,
        version,
        confirm=decision != "reject",
        citizen_id=citizen_id if decision == "confirm" else None,
        create_new=decision == "new",
        birth_province=birth_province or None,
        reason=reason,
    )
    return RedirectResponse(f"/verification/{request_id}?done=answered", status_code=303)


@router.post("/verification/{request_id}/escalate")
def escalate(
    request_id: RowId, session: DB, who: Assigning, version: FormVersion, note: FormText = ""
) -> Response:
    ward_request_boxes.escalate(session, who, request_id, version, note or None)
    return RedirectResponse("/verification/overdue?done=escalated", status_code=303)
