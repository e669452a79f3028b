"""The supervisors' dashboard: headline numbers, coverage per unit with drill-down in either structure,
doses per day and per vaccine, the backlog per ward, and the coverage table's downloads.

Every number is rendered server-side as a table; the charts (Chart.js, vendored) draw the same numbers
from JSON embedded in the page, so the page works without scripts and costs no extra request.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from vaxlink.domain.permissions import Permission
from vaxlink.services.access.auth import Principal
from vaxlink.web.api.stats import (
    CodePath,
    DownloadLang,
    LevelPath,
    SuppressQuery,
    UnitsPath,
    ViewQuery,
    dashboard_view,
    download_response,
    unit_and_view,
)
from vaxlink.web.i18n import lang_of, translator
from vaxlink.web.pages.render import render
from vaxlink.web.security import DB, require

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(require(Permission.STATS_READ))]
CHART_WORDS = ("at_least_one_dose", "primary_complete", "booster", "records", "linked")
FormatPath = Annotated[str, Path(pattern=r"^(csv|xlsx|json)$")]


def number(value: int | None, lang: str, suppress: int = 0) -> str:
    """1.234.567 in Vietnamese, 1,234,567 in English; a suppressed count as "<N"."""
    if value is None:
        return f"<{suppress}" if suppress > 1 else "—"
    text = f"{value:,}"
    return text.replace(",", ".") if lang == "vi" else text


def share(part: int | None, whole: int | None, lang: str) -> str:
    if part is None or not whole:
        return "—"
    text = f"{100 * part / whole:.1f}%"
    return text.replace(".", ",") if lang == "vi" else text


def _page(
    request: Request, session: DB, who: Principal, path: tuple[str, str, str] | None, units: Any
) -> Response:
    unit, view = unit_and_view(session, who, path, units)
    v = dashboard_view(session, who.scope, unit, view)
    t = translator(lang_of(request))
    data = {**v.chart_data(), "words": {k: t(k) for k in CHART_WORDS}}
    return render(request, "dashboard.html", {"v": v, "data": data, "number": number, "share": share})


@router.get("/dashboard")
def own_dashboard(request: Request, session: DB, who: Reader, units: ViewQuery = None) -> Response:
    return _page(request, session, who, None, units)


@router.get("/dashboard/coverage.{fmt}")
def own_download(
    session: DB,
    who: Reader,
    fmt: FormatPath,
    units: ViewQuery = None,
    suppress: SuppressQuery = 0,
    lang: DownloadLang = "vi",
) -> Response:
    unit, view = unit_and_view(session, who, None, units)
    return download_response(session, unit, view, fmt, suppress, lang)


@router.get("/dashboard/{unit_units}/{level}/{code}")
def unit_dashboard(
    request: Request,
    session: DB,
    who: Reader,
    unit_units: UnitsPath,
    level: LevelPath,
    code: CodePath,
    units: ViewQuery = None,
) -> Response:
    return _page(request, session, who, (unit_units, level, code), units)


@router.get("/dashboard/{unit_units}/{level}/{code}/coverage.{fmt}")
def unit_download(
    session: DB,
    who: Reader,
    unit_units: UnitsPath,
    level: LevelPath,
    code: CodePath,
    fmt: FormatPath,
    units: ViewQuery = None,
    suppress: SuppressQuery = 0,
    lang: DownloadLang = "vi",
) -> Response:
    unit, view = unit_and_view(session, who, (unit_units, level, code), units)
    return download_response(session, unit, view, fmt, suppress, lang)
