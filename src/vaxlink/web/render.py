"""Rendering a page: the template, the words of the reader's language, the session's CSRF token."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from vaxlink.web.i18n import LANG_COOKIE, LANGS, lang_of, reason_words, translator

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?")


def _local(value: datetime) -> datetime:
    # Stored times are UTC (naive ones from SQLite included); officers read Vietnam's time.
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(VIETNAM)


def _date(value: Any) -> str:
    """dd/mm/yyyy for a date, a time (in Vietnam's time zone) or an ISO text; mm/yyyy and yyyy kept."""
    if isinstance(value, datetime):
        return _local(value).strftime("%d/%m/%Y")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, str):
        m = _ISO_DATE.match(value)
        if m:
            local = datetime.fromisoformat(value) if "T" in value else None
            if local is not None:
                return _local(local).strftime("%d/%m/%Y")
            return f"{m[3]}/{m[2]}/{m[1]}" if m[3] else f"{m[2]}/{m[1]}"
    return "" if value is None else str(value)


def _time(value: Any) -> str:
    """dd/mm/yyyy HH:MM in Vietnam's time zone."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if isinstance(value, datetime):
        return _local(value).strftime("%d/%m/%Y %H:%M")
    return _date(value)


def unit_name(units: str | None, level: str, code: str | None) -> str:
    """A unit by its name ("Phường Phước Trung"), its code only when the lists do not know it."""
    if not code:
        return ""
    from vaxlink.domain.admin_units import Level, Structure, admin_units

    try:
        u = admin_units().unit(Structure(units or "legacy"), Level(level), code)
    except ValueError:
        u = None
    return u.name if u is not None else code


def scope_name(scope: Any, lang: str = "vi") -> str:
    if scope is None:
        return ""
    level = getattr(scope.level, "value", str(scope.level))
    if level == "country":
        return "Toàn quốc" if lang == "vi" else "Whole country"
    return unit_name(scope.units, level, scope.code)


def _number(value: Any) -> str:
    """A count as Vietnamese write it: 12.345 (a dot between thousands)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return "" if value is None else str(value)
    return f"{value:,}".replace(",", ".")


templates.env.filters["vndate"] = _date
templates.env.filters["vnnum"] = _number
templates.env.filters["vntime"] = _time
templates.env.globals["unit_name"] = unit_name


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    lang = lang_of(request)
    principal = getattr(request.state, "principal", None)
    ctx = {
        "t": translator(lang),
        "lang": lang,
        "other_lang": "en" if lang == "vi" else "vi",
        "reason_words": lambda code: reason_words(code, lang),
        "principal": principal,
        "scope_name": scope_name(principal.scope, lang) if principal is not None else "",
        "csrf": principal.csrf_token if principal is not None else "",
        "path": request.url.path,
        **context,
    }
    response = templates.TemplateResponse(request, name, ctx, status_code=status)
    asked = request.query_params.get("lang")
    if asked in LANGS:
        response.set_cookie(LANG_COOKIE, asked, max_age=365 * 86400, samesite="lax", httponly=True)
    return response
