"""Signing in and out."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from vaxlink.domain.permissions import Permission
from vaxlink.services.access import auth
from vaxlink.services.access.auth import Principal
from vaxlink.web.params import SessionReading
from vaxlink.web.render import render
from vaxlink.web.security import COOKIE, DB, Public, client_address, form_token_repeated, state

router = APIRouter(include_in_schema=False)
LOGIN_CSRF = "vaxlink_login_csrf"


def _safe_next(target: str | None) -> str:
    # Only a path of this site: never an absolute URL (an open redirect).
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _login_page(
    request: Request, error: str | None = None, status: int = 200, next_path: str = "/", retry: int = 0
) -> Response:
    token = secrets.token_urlsafe(24)
    context = {"error": error, "login_csrf": token, "next": next_path, "retry": retry}
    response = render(request, "login.html", context, status=status)
    response.set_cookie(
        LOGIN_CSRF, token, httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )
    return response


@router.get("/login", dependencies=[Public])
def login_form(request: Request, next: str | None = None) -> Response:
    return _login_page(request, next_path=_safe_next(next))


@router.post("/login", dependencies=[Public])
def login_submit(
    request: Request,
    session: DB,
    username: Annotated[str, Form(max_length=60)],
    password: Annotated[str, Form(max_length=200)],
    login_csrf: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=200)] = "/",
) -> Response:
    if not form_token_repeated(request, LOGIN_CSRF, login_csrf):
        return _login_page(request, "login_failed", status=403)
    st = state(request)
    result = auth.login(session, st.settings, username, password, client_address(request), st.login_limits)
    if not result.ok or result.token is None:
        key = {"throttled": "login_throttled"}.get(result.reason, "login_failed")
        response = _login_page(
            request, key, 429 if result.retry_after else 401, _safe_next(next), result.retry_after
        )
        if result.retry_after:
            response.headers["retry-after"] = str(result.retry_after)
        return response
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE, result.token, httponly=True, samesite="lax", secure=request.url.scheme == "https", path="/"
    )
    response.delete_cookie(LOGIN_CSRF)
    return response


@router.post("/logout")
def logout(session: DB, who: SessionReading) -> Response:
    auth.logout(session, who)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


# Where each role's work starts: the first of these pages the user may open.
LANDING = (
    (Permission.CASE_LIST, "/cases"),
    (Permission.BATCH_UPLOAD, "/batches"),
    (Permission.LOOKUP_STATUS, "/verify"),
    (Permission.STATS_READ, "/dashboard"),
)


def landing(who: Principal) -> str:
    return next((path for permission, path in LANDING if who.can(permission)), "/api/v1/me")


@router.get("/")
def home(who: SessionReading) -> Response:
    return RedirectResponse(landing(who), status_code=303)
