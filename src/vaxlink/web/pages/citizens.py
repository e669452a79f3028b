"""Citizens: search, a citizen's record and its corrections, approvals, the counter."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from vaxlink.domain.permissions import Permission
from vaxlink.services import cases, counter, register
from vaxlink.services.auth import Principal
from vaxlink.web.pages.render import render
from vaxlink.web.security import DB, require

router = APIRouter(include_in_schema=False)
RowId = Annotated[int, Path(ge=1, le=2**53)]
Version = Annotated[int, Form(ge=1, le=2**31 - 1)]
Text = Annotated[str, Form(max_length=400)]


@router.get("/citizens/search")
def search_form(
    request: Request, who: Annotated[Principal, Depends(require(Permission.CITIZEN_SEARCH))]
) -> Response:
    return render(request, "search.html", {"hits": None, "searched": {}})


@router.post("/citizens/search")
def search(
    request: Request,
    session: DB,
    who: Annotated[Principal, Depends(require(Permission.CITIZEN_SEARCH))],
    name: Annotated[str, Form(max_length=200)] = "",
    birth_date: Annotated[str, Form(max_length=40)] = "",
    personal_id: Annotated[str, Form(max_length=40)] = "",
    phone: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    hits = register.search_citizens(
        session, who, name=name, birth_date=birth_date, personal_id=personal_id, phone=phone
    )
    searched = {"name": name, "birth_date": birth_date, "personal_id": personal_id, "phone": phone}
    return render(request, "search.html", {"hits": hits, "searched": searched})


@router.get("/citizens/{citizen_id}")
def citizen_page(
    request: Request,
    citizen_id: RowId,
    session: DB,
    who: Annotated[Principal, Depends(require(Permission.CITIZEN_READ))],
    done: Annotated[str | None, Query(pattern=r"^[a-z_]{0,24}$")] = None,
) -> Response:
    view = register.citizen_detail(session, who, citizen_id)
    return render(request, "citizen.html", {"v": view, "done": done, "card": None, "maybe": []})


@router.post("/citizens/{citizen_id}/correct")
def correct(
    citizen_id: RowId,
    session: DB,
    who: Annotated[Principal, Depends(require(Permission.CITIZEN_CORRECT))],
    version: Version,
    field: Annotated[str, Form(pattern=r"^[a-z_]{1,20}$")],
    value: Text,
    reason: Text,
    evidence: Text,
) -> Response:
    r = register.correct_citizen(session, who, citizen_id, version, field, value, reason, evidence)
    return RedirectResponse(
        f"/citizens/{citizen_id}?done={'saved' if r.applied else 'pending_saved'}", status_code=303
    )


@router.get("/changes")
def changes_page(
    request: Request, session: DB, who: Annotated[Principal, Depends(require(Permission.CHANGE_APPROVE))]
) -> Response:
    return render(request, "changes.html", {"changes": register.pending_changes(session, who)})


@router.post("/changes/{change_id}/approve")
def approve(
    change_id: RowId,
    session: DB,
    who: Annotated[Principal, Depends(require(Permission.CHANGE_APPROVE))],
    version: Version,
    note: Text = "",
) -> Response:
    register.decide_change(session, who, change_id, version, True, note or None)
    return RedirectResponse("/changes", status_code=303)


@router.post("/changes/{change_id}/reject")
def reject(
    change_id: RowId,
    session: DB,
    who: Annotated[Principal, Depends(require(Permission.CHANGE_APPROVE))],
    version: Version,
    note: Text = "",
) -> Response:
    register.decide_change(session, who, change_id, version, False, note or None)
    return RedirectResponse("/changes", status_code=303)


@router.get("/counter")
def counter_form(
    request: Request, who: Annotated[Principal, Depends(require(Permission.CITIZEN_READ))]
) -> Response:
    return render(request, "counter.html", {"error": None})


@router.post("/counter")
def counter_lookup(
    request: Request,
    session: DB,
    who: Annotated[Principal, Depends(require(Permission.CITIZEN_READ))],
    text: Annotated[str, Form(max_length=1000)],
) -> Response:
    try:
        r = counter.lookup(session, who, text)
    except cases.Invalid as e:
        message = e.message_en if request.cookies.get("lang") == "en" else e.message_vi
        return render(request, "counter.html", {"error": message}, status=422)
    return render(request, "citizen.html", {"v": r.view, "done": None, "card": r, "maybe": r.candidate_cases})
