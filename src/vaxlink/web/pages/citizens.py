"""Citizens: search, a citizen's record and its corrections, approvals, the counter."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from vaxlink.domain.audit_actions import AuditAction
from vaxlink.services.access.auth import Principal
from vaxlink.services.errors import Invalid, NotFound
from vaxlink.services.workbench import citizen_record, counter, register_changes
from vaxlink.services.workbench.casework import display_names
from vaxlink.web.i18n import lang_of, message_of
from vaxlink.web.pages.held import held
from vaxlink.web.pages.search_form import Searched, find_citizens
from vaxlink.web.params import (
    Approving,
    Correcting,
    Done,
    FormText,
    FormVersion,
    HeldToken,
    Reading,
    RowId,
    Searching,
)
from vaxlink.web.render import render
from vaxlink.web.security import DB, _record_denial

router = APIRouter(include_in_schema=False)


@router.get("/citizens/search")
def search_form(request: Request, who: Searching, q: HeldToken = None) -> Response:
    found = held(request).get(who.username, q)
    if found is None:
        return render(request, "search.html", {"hits": None, "searched": {}, "error": None})
    hits, searched, error = found
    return render(request, "search.html", {"hits": hits, "searched": searched, "error": error})


@router.post("/citizens/search")
def search(request: Request, session: DB, who: Searching, searched: Searched) -> Response:
    try:
        hits = find_citizens(session, who, searched)
    except Invalid as e:
        where = {"BAD_DATE": "birth_date", "BAD_ID": "personal_id"}.get(e.code or "", "name")
        error = {"field": where, "text": message_of(request, e)}
        return render(
            request, "search.html", {"hits": None, "searched": searched, "error": error}, status=422
        )
    token = held(request).put(who.username, (hits, searched, None))
    return RedirectResponse(f"/citizens/search?q={token}", status_code=303)


def _citizen_page(
    request: Request,
    view: citizen_record.CitizenView,
    *,
    done: str | None = None,
    card: object = None,
    maybe: object = (),
    form: dict[str, str] | None = None,
    error: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "citizen.html",
        {"v": view, "done": done, "card": card, "maybe": maybe, "form": form or {}, "error": error},
        status=status,
    )


@router.get("/citizens/{citizen_id}")
def citizen_page(
    request: Request, citizen_id: RowId, session: DB, who: Reading, done: Done = None, e: HeldToken = None
) -> Response:
    view = citizen_record.citizen_detail(session, who, citizen_id)
    kept = held(request).get(who.username, e)
    if kept is not None and kept[0] == citizen_id:
        return _citizen_page(request, view, form=kept[1], error=kept[2])
    return _citizen_page(request, view, done=done)


@router.post("/citizens/{citizen_id}/correct")
def correct(
    request: Request,
    citizen_id: RowId,
    session: DB,
    who: Correcting,
    version: FormVersion,
    field: Annotated[str, Form(pattern=r"^[a-z_]{1,20}$")],
    value: FormText = "",
    reason: FormText = "",
    evidence: FormText = "",
) -> Response:
    try:
        r = register_changes.correct_citizen(
            session, who, citizen_id, version, field, value, reason, evidence
        )
    except Invalid as e:
        # The form comes back with what was typed and the message beside the field (POST-redirect-GET:
        # the URL carries a token only).
        where = {"REASON_REQUIRED": "reason" if not reason.strip() else "evidence", "BAD_FIELD": "field"}
        form = {"field": field, "value": value, "reason": reason, "evidence": evidence}
        error = {"field": where.get(e.code or "", "value"), "text": message_of(request, e)}
        token = held(request).put(who.username, (citizen_id, form, error))
        return RedirectResponse(f"/citizens/{citizen_id}?e={token}#correct", status_code=303)
    return RedirectResponse(
        f"/citizens/{citizen_id}?done={'saved' if r.applied else 'pending_saved'}", status_code=303
    )


@router.get("/changes")
def changes_page(request: Request, session: DB, who: Approving, done: Done = None) -> Response:
    changes = register_changes.pending_changes(session, who)
    mine = register_changes.my_requests(session, who)
    names = display_names(
        session,
        [getattr(x, "requested_by", None) for x in changes] + [getattr(x, "decided_by", None) for x in mine],
    )
    return render(request, "changes.html", {"changes": changes, "mine": mine, "done": done, "names": names})


def _decided(session: DB, who: Principal, change_id: int, version: int, approve: bool, note: str) -> Response:
    outcome = register_changes.decide_change(session, who, change_id, version, approve, note or None)
    return RedirectResponse(f"/changes?done={outcome}", status_code=303)


@router.post("/changes/{change_id}/approve")
def approve(
    change_id: RowId, session: DB, who: Approving, version: FormVersion, note: FormText = ""
) -> Response:
    return _decided(session, who, change_id, version, True, note)


@router.post("/changes/{change_id}/reject")
def reject(
    change_id: RowId, session: DB, who: Approving, version: FormVersion, note: FormText = ""
) -> Response:
    return _decided(session, who, change_id, version, False, note)


@router.get("/counter")
def counter_form(request: Request, session: DB, who: Reading, found: HeldToken = None) -> Response:
    r = held(request).get(who.username, found)
    if r is None:
        return render(request, "counter.html", {"error": None, "text": ""})
    # The record as it is now, with the card read at the counter beside it.
    view = citizen_record.citizen_detail(
        session, who, r.view.citizen.id, action=AuditAction.COUNTER_LOOKUP_VIEWED
    )
    return _citizen_page(request, view, card=r, maybe=r.candidate_cases)


@router.post("/counter")
def counter_lookup(
    request: Request, session: DB, who: Reading, text: Annotated[str, Form(max_length=1000)] = ""
) -> Response:
    try:
        r = counter.lookup(session, who, text)
    except Invalid as e:
        return render(request, "counter.html", {"error": message_of(request, e), "text": text}, status=422)
    except NotFound:
        # As for any record out of reach: nothing kept but the one `access_denied` event.
        session.rollback()
        _record_denial(session, request, 404, "NOT_FOUND")
        message = (
            "No citizen of your jurisdiction has this number"
            if lang_of(request) == "en"
            else "Không có công dân nào trong địa bàn mang số này"
        )
        return render(request, "counter.html", {"error": message, "text": text}, status=404)
    token = held(request).put(who.username, r)
    return RedirectResponse(f"/counter?found={token}", status_code=303)
