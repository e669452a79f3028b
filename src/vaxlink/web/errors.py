"""Errors as answers: `application/problem+json` on the API, a small page (or the login page) for people.

Malformed input is a 4xx, never a 500; a refusal says as little as a missing record does.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from vaxlink.services.errors import NotFound, ServiceError
from vaxlink.web.i18n import lang_of, message_of, translator
from vaxlink.web.render import render
from vaxlink.web.security import Denied

log = logging.getLogger("vaxlink.web")
PROBLEM = "application/problem+json"
TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
}


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def problem(status: int, code: str, detail: str, **extra: Any) -> JSONResponse:
    body = {
        "type": "about:blank",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "code": code,
        "detail": detail,
    }
    body.update(extra)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _page(request: Request, status: int, key: str, detail: str = "") -> Response:
    return render(
        request, "error.html", {"status": status, "message_key": key, "detail": detail}, status=status
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(Denied)
    async def denied(request: Request, exc: Denied) -> Response:
        if is_api(request):
            detail = "authentication required" if exc.status == 401 else "not allowed"
            return problem(exc.status, exc.code, detail)
        if exc.status == 401:
            return RedirectResponse("/login?next=" + quote(request.url.path, safe="/"), status_code=303)
        return _page(request, exc.status, "forbidden")

    @app.exception_handler(ServiceError)
    async def case_error(request: Request, exc: ServiceError) -> Response:
        if is_api(request):
            return problem(exc.status, exc.code, exc.message_en, detail_vi=exc.message_vi)
        if isinstance(exc, NotFound):
            return _page(request, 404, "not_found")
        key = "conflict" if exc.status == 409 else "error"
        return _page(request, exc.status, key, message_of(request, exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        # Echo where the input is wrong, never the input itself (it may be personal data).
        errors = [
            {"loc": [str(x) for x in e.get("loc", ())], "type": e.get("type", "")} for e in exc.errors()
        ]
        if is_api(request):
            return problem(422, "VALIDATION", "the request is malformed", errors=errors)
        t = translator(lang_of(request))
        return _page(request, 422, "error", t("error"))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if is_api(request) or exc.status_code in (405,):
            return problem(exc.status_code, "HTTP", str(exc.detail) if exc.status_code < 500 else "error")
        return _page(request, exc.status_code, "not_found" if exc.status_code == 404 else "error")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        # The type only: the message of a database error may quote the values of the row.
        log.error(
            "unexpected error on %s %s: %s",
            request.method,
            request.scope.get("route") and getattr(request.scope["route"], "path", "?"),
            type(exc).__name__,
        )
        return problem(500, "INTERNAL", "internal error")


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "code", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string"},
        "detail": {"type": "string"},
        "detail_vi": {"type": "string"},
    },
}


def document_problems(app: FastAPI) -> None:
    """The OpenAPI document says what the API answers: every refusal is `application/problem+json` (one
    schema, `Problem`), and an operation taking parameters or a body may answer 400 (a body that cannot
    be parsed) and 422 (one that breaks the rules)."""
    from fastapi.openapi.utils import get_openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        content = {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
        for operations in schema.get("paths", {}).values():
            for op in operations.values():
                responses = op.setdefault("responses", {})
                if "requestBody" in op or op.get("parameters"):
                    responses.setdefault("400", {"description": "Bad Request"})
                    responses.setdefault("422", {"description": "Unprocessable Content"})
                for code, answer in responses.items():
                    if code[:1] in ("4", "5"):
                        answer["content"] = content
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
