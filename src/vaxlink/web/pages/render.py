"""Rendering a page: the template, the words of the reader's language, the session's CSRF token."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from vaxlink.web.i18n import LANG_COOKIE, LANGS, lang_of, reason_words, translator

templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")


def _date(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y")
    return "" if value is None else str(value)


templates.env.filters["vndate"] = _date


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    lang = lang_of(request)
    principal = getattr(request.state, "principal", None)
    ctx = {
        "t": translator(lang),
        "lang": lang,
        "other_lang": "en" if lang == "vi" else "vi",
        "reason_words": lambda code: reason_words(code, lang),
        "principal": principal,
        "csrf": principal.csrf_token if principal is not None else "",
        "path": request.url.path,
        **context,
    }
    response = templates.TemplateResponse(request, name, ctx, status_code=status)
    asked = request.query_params.get("lang")
    if asked in LANGS:
        response.set_cookie(LANG_COOKIE, asked, max_age=365 * 86400, samesite="lax", httponly=True)
    return response
