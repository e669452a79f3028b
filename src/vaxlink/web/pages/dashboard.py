"""The supervisors' dashboard pages (headline, coverage with drill-down in either structure, doses, backlog)
and the coverage table's downloads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from vaxlink.services.access.auth import Principal
from vaxlink.services.errors import NotFound
from vaxlink.services.figures.dashboard import coverage_rows, dashboard_at, unit_and_view
from vaxlink.services.figures.downloads import FORMATS, download_name, render_download
from vaxlink.web.i18n import coverage_words, lang_of, translator
from vaxlink.web.params import StatsReading, UnitPath, ViewQuery
from vaxlink.web.render import render
from vaxlink.web.security import DB

router = APIRouter(include_in_schema=False)
CHART_WORDS = ("at_least_one_dose", "primary_complete", "booster", "records", "linked")
FormatPath = Annotated[str, Path(pattern=r"^(csv|xlsx|json)$")]
SuppressQuery = Annotated[int, Query(ge=0, le=1000, description="hide counts from 1 to N - 1")]
# A download for people (vi: Vietnamese headers and words) or the contract (en: its names and codes).
DownloadLang = Annotated[str, Query(pattern="^(vi|en)$")]


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
    request: Request, session: DB, who: Principal, path: tuple[str, str, str] | None, units: str | None
) -> Response:
    # Every number is rendered as a table; the charts (Chart.js, vendored) draw the same numbers from JSON
    # embedded in the page, so that the page works without scripts and costs no extra request.
    v = dashboard_at(session, who.scope, path, units)
    t = translator(lang_of(request))
    data = {**v.chart_data(), "words": {k: t(k) for k in CHART_WORDS}}
    return render(request, "dashboard.html", {"v": v, "data": data, "number": number, "share": share})


@dataclass(frozen=True)
class Download:
    fmt: str
    units: str | None
    suppress: int
    lang: str


async def download_asked(
    fmt: FormatPath, units: ViewQuery = None, suppress: SuppressQuery = 0, lang: DownloadLang = "vi"
) -> Download:
    """The download a URL asks for: /coverage.{fmt}?units=&suppress=&lang=."""
    return Download(fmt, units, suppress, lang)


Asked = Annotated[Download, Depends(download_asked)]


def _download(
    session: Session, who: Principal, path: tuple[str, str, str] | None, asked: Download
) -> Response:
    unit, view = unit_and_view(session, who.scope, path, asked.units)
    if asked.fmt not in FORMATS:
        raise NotFound("format")
    rows = coverage_rows(session, unit, view, suppress=asked.suppress)
    body, media = render_download(rows, asked.fmt, coverage_words(asked.lang))
    name = download_name(unit, view, asked.fmt)
    return Response(body, media_type=media, headers={"content-disposition": f'attachment; filename="{name}"'})


@router.get("/dashboard")
def own_dashboard(request: Request, session: DB, who: StatsReading, units: ViewQuery = None) -> Response:
    return _page(request, session, who, None, units)


@router.get("/dashboard/coverage.{fmt}")
def own_download(session: DB, who: StatsReading, asked: Asked) -> Response:
    return _download(session, who, None, asked)


@router.get("/dashboard/{unit_units}/{level}/{code}")
def unit_dashboard(
    request: Request, session: DB, who: StatsReading, path: UnitPath, units: ViewQuery = None
) -> Response:
    return _page(request, session, who, path, units)


@router.get("/dashboard/{unit_units}/{level}/{code}/coverage.{fmt}")
def unit_download(session: DB, who: StatsReading, path: UnitPath, asked: Asked) -> Response:
    return _download(session, who, path, asked)
