"""The worklist and the case page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from vaxlink.domain.names import fold_name
from vaxlink.services.access.auth import Principal
from vaxlink.services.errors import Invalid
from vaxlink.services.workbench import case_actions, case_view, citizen_search, saved_filters, worklist
from vaxlink.web.i18n import MESSAGES, REASONS, lang_of, message_of
from vaxlink.web.pages.held import held
from vaxlink.web.pages.search_form import Searched, find_citizens
from vaxlink.web.params import (
    Acting,
    CaseReading,
    Done,
    FormText,
    FormVersion,
    HeldToken,
    Listing,
    RowId,
    Searching,
)
from vaxlink.web.render import render
from vaxlink.web.security import DB, state

router = APIRouter(include_in_schema=False)


def reasons_for(words: str, lang: str) -> tuple[str, ...]:
    """The reason codes whose words (as the pages show them) contain what the officer typed."""
    key = fold_name(words)
    i = 1 if lang == "en" else 0
    return tuple(code for code, text in REASONS.items() if key and key in fold_name(text[i]))


def kinds_for(words: str, lang: str) -> tuple[str, ...]:
    """The case kinds whose names (as the worklist shows them) contain what the officer typed."""
    key = fold_name(words)
    i = 1 if lang == "en" else 0
    return tuple(k for k in worklist.KINDS if key and key in fold_name(MESSAGES[f"kind_{k}"][i]))


def parse_also(text: str) -> list[tuple[int, int]]:
    """The same person's other cases a form settles too: "id:version,id:version"."""
    out: list[tuple[int, int]] = []
    for part in (text or "").split(",")[:50]:
        sid, _, ver = part.strip().partition(":")
        if sid.isdigit() and ver.isdigit() and 0 < int(sid) < 2**53 and 0 < int(ver) < 2**31:
            out.append((int(sid), int(ver)))
    return out


# The reasons an officer filters by, in the words the case page shows (matches are not filtered by).
REASON_CODES = tuple(code for code in REASONS if not code.endswith(("_EXACT", "_SAME")))
Also = Annotated[str, Form(max_length=2000, pattern=r"^[0-9:,]*$")]


@dataclass(frozen=True, slots=True)
class OnCase:
    """What an action posted from a case's page carries: the acting officer and their session, the case at
    the version the page showed, and the same person's other cases it settles too."""

    session: Session
    who: Principal
    case_id: int
    version: int
    also: list[tuple[int, int]]


def _on_case(case_id: RowId, session: DB, who: Acting, version: FormVersion, also: Also = "") -> OnCase:
    return OnCase(session, who, case_id, version, parse_also(also))


ActingOnCase = Annotated[OnCase, Depends(_on_case)]


@router.get("/cases")
def worklist_page(
    request: Request,
    session: DB,
    who: Listing,
    kind: Annotated[str | None, Query(pattern=r"^[a-z_]{0,24}$")] = None,
    reason: Annotated[str | None, Query(pattern=r"^[A-Z_]{0,40}$")] = None,
    # Text, not a number: an empty field of the filter form arrives as "".
    min_age_days: Annotated[str | None, Query(pattern=r"^[0-9]{0,4}$")] = None,
    cursor: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{0,200}$")] = None,
    done: Done = None,
    ward: Annotated[str | None, Query(pattern=r"^[0-9]{0,5}$")] = None,
    units: Annotated[str | None, Query(pattern=r"^(legacy|2025)?$")] = None,
    q: Annotated[str | None, Query(max_length=80)] = None,
    mine: Annotated[str | None, Query(pattern=r"^1?$")] = None,
    sort: Annotated[str | None, Query(pattern=r"^(priority|date|name)?$")] = None,
) -> Response:
    words = (q or "").strip()
    f = worklist.WorkFilter(
        kind=kind or None,
        reason=reason or None,
        min_age_days=int(min_age_days or 0) or None,
        ward_code=ward or None,
        ward_units=units or None,
        words=words or None,
        word_reasons=reasons_for(words, lang_of(request)) if words else (),
        word_kinds=kinds_for(words, lang_of(request)) if words else (),
        mine=mine == "1",
        sort=sort or "priority",
        by_person=True,
    )
    wl = worklist.worklist(session, who, f, cursor or None, 50)
    query = saved_filters.clean_query(str(request.url.query))
    return render(
        request,
        "worklist.html",
        {
            "wl": wl,
            "f": f,
            "kinds": worklist.KINDS,
            "done": done,
            "cursor": cursor,
            "reason_codes": REASON_CODES,
            "sorts": worklist.SORTS,
            "query": query,
            "saved": saved_filters.list_filters(session, who),
        },
    )


@router.post("/cases/filters")
def save_filter(
    session: DB, who: Listing, name: Annotated[str, Form(max_length=40)] = "", query: FormText = ""
) -> Response:
    saved = saved_filters.save_filter(session, who, name, query)
    return RedirectResponse(f"/cases?{saved.query}" if saved.query else "/cases", status_code=303)


@router.post("/cases/filters/{filter_id}/delete")
def delete_filter(filter_id: RowId, session: DB, who: Listing) -> Response:
    saved_filters.delete_filter(session, who, filter_id)
    return RedirectResponse("/cases", status_code=303)


def _case_page(
    request: Request,
    session: DB,
    who: Principal,
    case_id: int,
    hits: list[citizen_search.CitizenHit] | None = None,
    searched: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    view = case_view.case_detail(session, who, case_id)
    return render(
        request,
        "case.html",
        {"c": view, "hits": hits, "searched": searched or {}, "error": error, "form": {}},
        status=status,
    )


@router.get("/cases/{case_id}")
def case_page(
    request: Request, case_id: RowId, session: DB, who: CaseReading, found: HeldToken = None
) -> Response:
    kept = held(request).get(who.username, found)
    if kept is not None and kept[0] == case_id:
        return _case_page(request, session, who, case_id, kept[1], kept[2], kept[3])
    return _case_page(request, session, who, case_id)


@router.post("/cases/{case_id}/search")
def case_search(
    request: Request, case_id: RowId, session: DB, who: Searching, searched: Searched
) -> Response:
    # The case first: out of the jurisdiction, the search is not even run.
    case_view.case_detail(session, who, case_id)
    kept: tuple[int, list[citizen_search.CitizenHit] | None, dict[str, str], str | None]
    try:
        kept = (case_id, find_citizens(session, who, searched), searched, None)
    except Invalid as e:
        # Back on the case's page with what was typed and the message (the page shows the case's record,
        # so it is an ordinary page, reached by POST-redirect-GET like the results).
        kept = (case_id, None, searched, message_of(request, e))
    token = held(request).put(who.username, kept)
    return RedirectResponse(f"/cases/{case_id}?found={token}", status_code=303)


@router.post("/cases/{case_id}/take")
def take(on: ActingOnCase) -> Response:
    case_actions.take_case(on.session, on.who, on.case_id, on.version, also=on.also)
    return RedirectResponse(f"/cases/{on.case_id}", status_code=303)


@router.post("/cases/{case_id}/close")
def close_request(
    case_id: RowId, session: DB, who: Acting, version: FormVersion, note: FormText = ""
) -> Response:
    case_actions.close_request(session, who, case_id, version, note)
    return _back("answered")


def _back(done: str) -> Response:
    return RedirectResponse(f"/cases?done={done}", status_code=303)


@router.post("/cases/{case_id}/link")
def link(
    request: Request, on: ActingOnCase, citizen_id: Annotated[int, Form(ge=1, le=2**53)], note: FormText = ""
) -> Response:
    case_actions.link_case(
        on.session,
        on.who,
        on.case_id,
        on.version,
        citizen_id,
        note or None,
        settings=state(request).settings,
        also=on.also,
    )
    return _back("linked")


@router.post("/cases/{case_id}/health-wrong")
def health_wrong(
    on: ActingOnCase, note: FormText, citizen_id: Annotated[int | None, Form(ge=1, le=2**53)] = None
) -> Response:
    case_actions.declare_health_wrong(
        on.session, on.who, on.case_id, on.version, citizen_id, note, also=on.also
    )
    return _back("health_wrong")


@router.post("/cases/{case_id}/pass")
def pass_to_ward(
    on: ActingOnCase, ward_code: Annotated[str, Form(pattern=r"^[0-9]{5}$")], reason: FormText
) -> Response:
    case_actions.pass_case(on.session, on.who, on.case_id, on.version, ward_code, reason, also=on.also)
    return _back("passed")


@router.post("/cases/{case_id}/collect")
def collect(case_id: RowId, session: DB, who: Acting, version: FormVersion, note: FormText = "") -> Response:
    case_actions.start_collection(session, who, case_id, version, note or None)
    return _back("collection")
