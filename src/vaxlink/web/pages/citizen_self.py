"""Citizen self-service (public): ID number and date of birth, a one-time code by SMS, then one's own status,
doses and certificate (PDF or PNG).

The pages say the same whether or not a number is in the register. Passes live in the browser as
signed, short-lived, SameSite=Strict cookies; nothing personal is put in a URL.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from vaxlink.credentials import codes
from vaxlink.credentials.pdf import render_certificate_pdf
from vaxlink.domain.audit_actions import AuditAction
from vaxlink.domain.status import StatusLevel
from vaxlink.domain.vaccines import vaccine_by_code
from vaxlink.services.access import limits as limits_store
from vaxlink.services.access import otp
from vaxlink.services.audit import log as audit
from vaxlink.services.certificates import issuance as certs
from vaxlink.services.errors import NotEligible
from vaxlink.services.figures.status import status_of
from vaxlink.services.lookup.answer import STATUS_WORDS
from vaxlink.storage.models import Citizen
from vaxlink.web.i18n import CATALOG, lang_of, translator
from vaxlink.web.pages.held import app_kept
from vaxlink.web.render import render
from vaxlink.web.security import DB, Public, client_address, form_token_repeated, state

router = APIRouter(include_in_schema=False)
CHALLENGE_COOKIE = "vaxlink_self_challenge"
SELF_COOKIE = "vaxlink_self"
CSRF_COOKIE = "vaxlink_self_csrf"
# Codes asked from one address: a family at one phone may ask a few times, a script may not.
STARTS_PER_ADDRESS = 10
START_WINDOW_SECONDS = 900

WORDS = CATALOG["self_service"]


def _master(request: Request) -> bytes:
    return state(request).audit_key


def _cookie(response: Response, request: Request, name: str, value: str, seconds: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=seconds,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/self",
    )


def _page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = render(
        request,
        name,
        {"w": translator(lang_of(request), WORDS), "self_csrf": token, **context},
        status=status,
    )
    _cookie(response, request, CSRF_COOKIE, token, 3600)
    return response


def _csrf_ok(request: Request, presented: str) -> bool:
    return form_token_repeated(request, CSRF_COOKIE, presented)


def _citizen_of(request: Request, session: Any) -> tuple[int, str] | None:
    """(citizen id, pass nonce) of a live self-service pass that was not signed out."""
    found = otp.unsign(_master(request), "citizen", request.cookies.get(SELF_COOKIE))
    if found is None or otp.pass_ended(session, found[1]):
        return None
    return found


@router.get("/self", dependencies=[Public])
def start_form(request: Request) -> Response:
    return _page(request, "self_start.html", {"error": None})


@router.post("/self", dependencies=[Public])
def start(
    request: Request,
    session: DB,
    personal_id: Annotated[str, Form(max_length=40)],
    date_of_birth: Annotated[str, Form(max_length=20)],
    self_csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    if not _csrf_ok(request, self_csrf):
        return _page(request, "self_start.html", {"error": "expired"}, status=403)
    client = client_address(request)
    # Every request counts against the address, whatever its outcome (in the database: every server
    # process shares the count).
    if limits_store.hit(session, f"self:addr:{client}", START_WINDOW_SECONDS) > STARTS_PER_ADDRESS:
        return _page(request, "self_start.html", {"error": "too_many"}, status=429)
    started = otp.start(session, _master(request), personal_id, date_of_birth, client)
    if started.challenge_id is None:
        return _page(request, "self_start.html", {"error": "too_many"}, status=429)
    response = _page(request, "self_code.html", {"error": None})
    token = otp.sign(_master(request), "challenge", started.challenge_id, int(otp.LIFETIME.total_seconds()))
    _cookie(response, request, CHALLENGE_COOKIE, token, int(otp.LIFETIME.total_seconds()))
    return response


@router.post("/self/code", dependencies=[Public])
def confirm(
    request: Request,
    session: DB,
    code: Annotated[str, Form(max_length=12)],
    self_csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    challenge = otp.unsign(_master(request), "challenge", request.cookies.get(CHALLENGE_COOKIE))
    if challenge is None or not _csrf_ok(request, self_csrf):
        return _page(request, "self_start.html", {"error": "expired"}, status=403)
    citizen_id = otp.check(session, _master(request), challenge[0], code)
    if citizen_id is None:
        return _page(request, "self_code.html", {"error": "bad_code"}, status=422)
    response = RedirectResponse("/self/status", status_code=303)
    _cookie(
        response,
        request,
        SELF_COOKIE,
        otp.sign(_master(request), "citizen", citizen_id, otp.PASS_SECONDS),
        otp.PASS_SECONDS,
    )
    response.delete_cookie(CHALLENGE_COOKIE, path="/self")
    return response


@router.get("/self/status", dependencies=[Public])
def status_page(request: Request, session: DB) -> Response:
    found = _citizen_of(request, session)
    if found is None:
        return RedirectResponse("/self", status_code=303)
    citizen = session.get(Citizen, found[0])
    if citizen is None:
        return RedirectResponse("/self", status_code=303)
    status = status_of(session.connection(), citizen.id)
    i = 1 if lang_of(request) == "en" else 0
    doses = []
    for _, day, product in certs.linked_doses(session, citizen.id):
        v = vaccine_by_code(product)
        doses.append({"date": day, "vaccine": v.name if v else product})
    audit.record(
        session,
        actor=f"citizen:{citizen.id}",
        action=AuditAction.SELF_STATUS_VIEWED,
        resource_type="citizen",
        resource_id=citizen.id,
    )
    return _page(
        request,
        "self_status.html",
        {
            "name": citizen.full_name,
            "status_text": STATUS_WORDS[status.level][i],
            "eligible": status.level is not StatusLevel.NONE,
            "last_dose": status.last_dose_date,
            "doses": doses,
        },
    )


class _Issued:
    """Certificates issued to self-service passes, so that the PDF and the PNG of one visit are one
    certificate (the signed code is not stored in the database)."""

    def __init__(self, size: int = 1000) -> None:
        self.size = size
        self._items: OrderedDict[str, tuple[str, dict[str, Any], Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[str, dict[str, Any], Any] | None:
        with self._lock:
            return self._items.get(key)

    def put(self, key: str, value: tuple[str, dict[str, Any], Any]) -> None:
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)


def _issued(request: Request) -> _Issued:
    return app_kept(request, "vx_self_issued", _Issued)


@router.post("/self/certificate", dependencies=[Public])
def certificate(
    request: Request,
    session: DB,
    fmt: Annotated[str, Form(pattern="^(pdf|png)$")],
    self_csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    found = _citizen_of(request, session)
    if found is None or not _csrf_ok(request, self_csrf):
        return RedirectResponse("/self", status_code=303)
    citizen_id, nonce = found
    cache = _issued(request)
    key = f"{citizen_id}:{nonce}"
    held = cache.get(key)
    if held is None:
        try:
            issued = certs.issue_for_citizen(
                session, state(request).settings, citizen_id, actor=f"citizen:{citizen_id}"
            )
        except NotEligible:
            return _page(request, "self_start.html", {"error": "no_certificate"}, status=422)
        held = (issued.certificate.hc1, issued.certificate.payload, issued.certificate.expires_at)
        cache.put(key, held)
    hc1, payload, expires_at = held
    if fmt == "pdf":
        body, media, name = render_certificate_pdf(hc1, payload, expires_at), "application/pdf", "pdf"
    else:
        body, media, name = codes.qr_png(hc1, scale=6), "image/png", "png"
    return Response(
        body,
        media_type=media,
        headers={"content-disposition": f'attachment; filename="chung-nhan-tiem-chung.{name}"'},
    )


@router.post("/self/logout", dependencies=[Public])
def sign_out(request: Request, session: DB) -> Response:
    found = otp.unsign(_master(request), "citizen", request.cookies.get(SELF_COOKIE))
    if found is not None:
        otp.end_pass(session, found[1])
    response = RedirectResponse("/self", status_code=303)
    response.delete_cookie(SELF_COOKIE, path="/self")
    return response
