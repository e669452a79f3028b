"""The supervisors' dashboard and its JSON, on SQLite and PostgreSQL: the numbers a page shows are the
statistics of the reader's jurisdiction; a unit outside it is a 404; drill-down province → district → ward
in both structures; the downloads parse and equal the figures; Vietnamese first, English on request."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date
from html.parser import HTMLParser
from typing import Any

import openpyxl
import pytest
from sqlalchemy import Engine, select

from tests.integration.web import world as w
from vaxlink.domain.admin_units import Level, Structure
from vaxlink.services.access.auth import open_session
from vaxlink.services.audit.log import bind_key
from vaxlink.services.figures.refresh import refresh_statistics
from vaxlink.services.figures.stats import (
    Jurisdiction,
    coverage,
    doses_by_vaccine,
    doses_series,
    headline,
)
from vaxlink.services.figures.status import refresh_status
from vaxlink.settings import Settings
from vaxlink.storage.db import transaction
from vaxlink.storage.models import AdminUnitRow, Citizen, DoseRecord, MatchResult
from vaxlink.storage.stats_models import StatsWardMap

pytestmark = pytest.mark.db
DISTRICT = Jurisdiction(Structure.LEGACY, Level.DISTRICT, w.DISTRICT)
PROVINCE = Jurisdiction(Structure.LEGACY, Level.PROVINCE, w.PROVINCE)
HEADLINE_KEYS = ("residents", "at_least_one_dose", "primary_complete", "booster", "unvaccinated")
RECONCILIATION_KEYS = (
    "dose_records",
    "linked_records",
    "review_records",
    "unmatched_records",
    "cases_open",
    "verification_open",
)


class Tables(HTMLParser):
    """The tables of a page by id: each row's attributes and the text of its cells; and every link."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tables: dict[str, list[tuple[dict[str, str], list[str]]]] = {}
        self.links: list[str] = []
        self._table: str | None = None
        self._row: tuple[dict[str, str], list[str]] | None = None
        self._cell: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "table" and a.get("id"):
            self._table = a["id"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self._row = (a, [])
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "a":
            self.links.append(a.get("href", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row[1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def count(text: str) -> int:
    return int(text.replace(".", "").replace(",", ""))


def add_linked_dose(session: Any, batch_id: int, citizen: Citizen, n: int, day: date) -> None:
    d = DoseRecord(
        batch_id=batch_id,
        source="test",
        record_id=f"L{citizen.id}-{n}",
        version=1,
        is_latest=True,
        line_no=1000 + n,
        full_name=citizen.full_name,
        date_of_birth=citizen.birth_date.strftime("%d/%m/%Y") if citizen.birth_date else "",
        sex="Nam" if citizen.sex == "M" else "Nữ",
        id_number=citizen.personal_id,
        ward_code=citizen.current_ward_code,
        vaccination_date=day,
        dose_number=n,
        vaccine="Comirnaty",
        vaccine_code="EU/1/20/1528",
    )
    session.add(d)
    session.flush()
    session.add(
        MatchResult(
            dose_record_id=d.id,
            outcome="linked",
            citizen_id=citizen.id,
            score=30.0,
            reasons="ID_EXACT",
            flags="",
            ward_code=citizen.current_ward_code,
            ward_units="legacy",
            version=1,
        )
    )


@pytest.fixture
def figures(app, world: w.World, engine: Engine, web_settings: Settings) -> w.World:
    """The small world with some people vaccinated (two doses and a booster in ward A, one dose in
    ward B, none in C) and the statistics refreshed, as after an ingest."""
    key = app.state.vx.audit_key
    with transaction(engine) as s:
        bind_key(s, key)
        for ward, doses in ((w.WARD_A, 3), (w.WARD_A, 2), (w.WARD_B, 1), (w.WARD_B, 0), (w.WARD_C, 1)):
            c = w.add_citizen(s, ward, "Võ Thị Hoa", born=date(1985, 6, 1), sex="F")
            for n in range(1, doses + 1):
                add_linked_dose(s, world.batch_id, c, n, date(2021, 7 + n, 10 + n))
        s.flush()
        conn = s.connection()
        refresh_status(conn)
        refresh_statistics(conn)
    # A province supervisor, which the shared world does not have.
    with transaction(engine) as s:
        bind_key(s, key)
        u = w.add_user(s, "supervisor_province", "supervisor", "province", w.PROVINCE)
        raw, us = open_session(s, web_settings, u)
        world.actors[("supervisor", "province")] = w.Actor(
            u.username, "supervisor", "province", cookie=raw, csrf=us.csrf_secret
        )
    return world


def as_user(world: w.World, relation: str, role: str = "supervisor") -> dict[str, str]:
    return w.cookie_headers(world.actors[(role, relation)])


def page(client: Any, url: str, headers: dict[str, str]) -> Tables:
    r = client.get(url, headers=headers)
    assert r.status_code == 200, (url, r.status_code)
    assert r.headers["content-type"].startswith("text/html")
    return Tables(r.text)


def other_district(engine: Engine) -> str:
    with engine.connect() as c:
        code = c.scalar(
            select(AdminUnitRow.code)
            .where(
                AdminUnitRow.structure == "legacy",
                AdminUnitRow.level == "district",
                AdminUnitRow.province_code == w.PROVINCE,
                AdminUnitRow.code != w.DISTRICT,
            )
            .order_by(AdminUnitRow.code)
        )
    assert code is not None
    return code


def test_headline_and_coverage_equal_the_statistics_of_the_jurisdiction(client, figures, engine):
    t = page(client, "/dashboard", as_user(figures, "parent_district"))
    with engine.connect() as conn:
        h = headline(conn, DISTRICT)
        cov = coverage(conn, Level.WARD, Structure.LEGACY, within=DISTRICT)
    shown = {row[0]["data-key"]: count(row[1][1]) for row in t.tables["headline"] if "data-key" in row[0]}
    assert shown == {k: getattr(h, k) for k in HEADLINE_KEYS}
    # Three people in each ward of the district; two vaccinated in A, one in B.
    assert (h.residents, h.at_least_one_dose, h.booster) == (6, 3, 1)
    recon = {row[0]["data-key"]: count(row[1][1]) for row in t.tables["reconciliation"]}
    assert {k: recon[k] for k in RECONCILIATION_KEYS} == {k: getattr(h, k) for k in RECONCILIATION_KEYS}
    rows = {r[0]["data-unit"]: r[1] for r in t.tables["coverage"] if "data-unit" in r[0]}
    assert set(rows) == {f.unit_code for f in cov} == {w.WARD_A, w.WARD_B}
    for f in cov:
        cells = rows[f.unit_code]
        assert f.unit_name in cells[1]
        assert [count(cells[i]) for i in (2, 3, 5, 7, 9)] == [
            f.residents,
            f.at_least_one_dose,
            f.primary_complete,
            f.booster,
            f.unvaccinated,
        ]
    # Ward C (another province) appears nowhere, not even as a figure.
    assert w.WARD_C not in client.get("/dashboard", headers=as_user(figures, "parent_district")).text


def test_a_unit_outside_the_jurisdiction_is_not_found(client, figures, engine):
    me = as_user(figures, "parent_district")
    elsewhere = other_district(engine)
    for url in (
        f"/dashboard/legacy/district/{elsewhere}",
        f"/dashboard/legacy/province/{w.PROVINCE}",
        f"/dashboard/legacy/ward/{w.WARD_C}",
        f"/dashboard/legacy/district/{elsewhere}/coverage.csv",
        "/dashboard/legacy/ward/99999",
        "/dashboard/2025/district/748",  # the 2025 structure has no districts
    ):
        assert client.get(url, headers=me).status_code == 404, url
    token = {"authorization": f"Bearer {figures.actors[('supervisor', 'parent_district')].token}"}
    r = client.get(f"/api/v1/stats/legacy/district/{elsewhere}", headers=token)
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
    assert client.get(f"/dashboard/legacy/ward/{w.WARD_A}", headers=me).status_code == 200
    assert client.get(f"/dashboard/legacy/district/{w.DISTRICT}", headers=me).status_code == 200


def test_a_unit_of_the_other_structure_only_when_wholly_within(client, figures, engine):
    me = as_user(figures, "parent_district")
    with engine.connect() as c:
        new_ward = c.scalar(select(StatsWardMap.new_ward_code).where(StatsWardMap.src_ward_code == w.WARD_A))
        districts = set(
            c.scalars(select(StatsWardMap.legacy_district_code).where(StatsWardMap.new_ward_code == new_ward))
        )
    assert new_ward is not None
    inside = districts == {w.DISTRICT}
    r = client.get(f"/dashboard/2025/ward/{new_ward}", headers=me)
    assert r.status_code == (200 if inside else 404)
    t = page(client, "/dashboard?units=2025", me)
    with engine.connect() as conn:
        cov = coverage(conn, Level.WARD, Structure.CURRENT, within=DISTRICT)
    rows = {r[0]["data-unit"]: r[1] for r in t.tables["coverage"] if "data-unit" in r[0]}
    assert set(rows) == {f.unit_code or "" for f in cov}
    assert sum(count(r[2]) for r in rows.values()) == 6
    assert (f"/dashboard/2025/ward/{new_ward}?units=2025" in t.links) == inside


def test_drill_down_province_district_ward(client, figures, engine):
    me = as_user(figures, "province")
    top = page(client, "/dashboard", me)
    with engine.connect() as conn:
        districts = coverage(conn, Level.DISTRICT, Structure.LEGACY, within=PROVINCE)
        ward_a = headline(conn, Jurisdiction(Structure.LEGACY, Level.WARD, w.WARD_A))
    assert {r[0]["data-unit"] for r in top.tables["coverage"] if "data-unit" in r[0]} == {
        f.unit_code for f in districts
    }
    district_link = f"/dashboard/legacy/district/{w.DISTRICT}?units=legacy"
    assert district_link in top.links
    middle = page(client, district_link, me)
    ward_link = f"/dashboard/legacy/ward/{w.WARD_A}?units=legacy"
    assert ward_link in middle.links
    assert "/dashboard?units=legacy" in middle.links  # back to the province
    leaf = page(client, ward_link, me)
    shown = {r[0]["data-key"]: count(r[1][1]) for r in leaf.tables["headline"] if "data-key" in r[0]}
    assert shown == {k: getattr(ward_a, k) for k in HEADLINE_KEYS}
    assert f"/dashboard/legacy/district/{w.DISTRICT}?units=legacy" in leaf.links
    # Doses per vaccine and per month, as tables.
    assert leaf.tables["vaccines"][1][1][0].startswith("Comirnaty")
    assert sum(count(r[1][1]) for r in leaf.tables["doses-by-month"][1:]) == ward_a.dose_records


def test_backlog_rows_link_into_the_worklist(client, figures):
    t = page(client, "/dashboard", as_user(figures, "parent_district"))
    rows = {r[0]["data-ward"]: r[1] for r in t.tables["backlog"] if "data-ward" in r[0]}
    assert set(rows) == {w.WARD_A, w.WARD_B}
    assert count(rows[w.WARD_A][2]) == 1  # one record in review, its case open
    assert count(rows[w.WARD_A][4]) == 1
    assert f"/cases?ward={w.WARD_A}&units=legacy" in t.links
    assert f"/cases?kind=conflict&ward={w.WARD_A}&units=legacy" in t.links
    # Following a row shows that ward's cases only.
    me = as_user(figures, "parent_district")

    def case_links(url: str) -> set[str]:
        return {link for link in page(client, url, me).links if re.fullmatch(r"/cases/\d+", link)}

    every = case_links("/cases")
    a, b = (
        case_links(f"/cases?ward={w.WARD_A}&units=legacy"),
        case_links(f"/cases?ward={w.WARD_B}&units=legacy"),
    )
    assert a and not (a & b) and a | b == every


def test_downloads_parse_and_equal_the_figures(client, figures, engine):
    me = as_user(figures, "parent_district")
    with engine.connect() as conn:
        cov = {f.unit_code: f for f in coverage(conn, Level.WARD, Structure.LEGACY, within=DISTRICT)}
    r = client.get("/dashboard/coverage.csv", headers=me)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    # For people: Vietnamese headers and words; for programs (lang=en): the contract's names and codes.
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert {x["Mã đơn vị"]: int(x["Tiêm ít nhất 1 mũi"]) for x in rows} == {
        c: f.at_least_one_dose for c, f in cov.items()
    }
    assert {x["Cấp"] for x in rows} == {"Phường/xã"}
    r = client.get("/dashboard/coverage.csv?lang=en", headers=me)
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert {x["unit_code"]: int(x["at_least_one_dose"]) for x in rows} == {
        c: f.at_least_one_dose for c, f in cov.items()
    }
    assert {x["level"] for x in rows} == {"ward"}
    r = client.get("/dashboard/coverage.json", headers=me)
    assert {x["unit_code"]: x["residents"] for x in r.json()} == {c: f.residents for c, f in cov.items()}
    r = client.get(f"/dashboard/legacy/district/{w.DISTRICT}/coverage.xlsx", headers=me)
    sheet = openpyxl.load_workbook(io.BytesIO(r.content), read_only=True).worksheets[0]
    values = list(sheet.values)
    header = list(values[0])
    got = {v[header.index("Mã đơn vị")]: v[header.index("Đã tiêm nhắc lại")] for v in values[1:]}
    assert got == {c: f.booster for c, f in cov.items()}
    # Suppression: counts from 1 to 4 become empty, zeros stay.
    r = client.get("/dashboard/coverage.json?suppress=5", headers=me)
    suppressed = {x["unit_code"]: x for x in r.json()}
    assert suppressed[w.WARD_A]["residents"] is None
    assert all(x["review_records"] in (None, 0) for x in suppressed.values())
    assert client.get("/dashboard/coverage.pdf", headers=me).status_code in (404, 422)


def test_api_gives_the_same_numbers(client, figures, engine):
    token = {"authorization": f"Bearer {figures.actors[('supervisor', 'parent_district')].token}"}
    body = client.get("/api/v1/stats?units=legacy", headers=token).json()
    with engine.connect() as conn:
        h = headline(conn, DISTRICT)
    assert body["unit"]["code"] == w.DISTRICT and body["level"] == "ward"
    assert body["headline"]["at_least_one_dose"] == h.at_least_one_dose
    assert sum(d["records"] for d in body["doses_per_day"]) == h.dose_records
    with engine.connect() as conn:
        series = doses_series(conn, DISTRICT)
        per_vaccine = doses_by_vaccine(conn, DISTRICT)
    assert [(d["day"], d["records"], d["linked"]) for d in body["doses_per_day"]] == [
        (p.day.isoformat(), p.records, p.linked) for p in series
    ]
    assert {v["vaccine_code"]: v["records"] for v in body["doses_per_vaccine"]} == per_vaccine
    body = client.get(f"/api/v1/stats/legacy/ward/{w.WARD_A}", headers=token).json()
    assert body["unit"]["name"] and body["coverage"][0]["unit_code"] == w.WARD_A


def test_vietnamese_first_english_on_request_and_charts_fed_inline(client, figures, engine):
    me = as_user(figures, "parent_district")
    vi = client.get("/dashboard", headers=me).text
    assert "Bảng theo dõi tiêm chủng" in vi and "Tiêm ít nhất 1 mũi" in vi
    assert '<a href="/dashboard"' in vi  # the navigation link
    assert "/static/vendor/chart.umd.min.js" in vi and "cdn" not in vi.lower()
    data = json.loads(vi.split('id="dashboard-data">', 1)[1].split("</script>", 1)[0])
    assert data["coverage"]["labels"] and data["words"]["booster"] == "Đã tiêm nhắc lại"
    # One point per day, days without doses included, so that the time axis is even.
    days = [date.fromisoformat(d) for d in data["doses"]["days"]]
    assert len(days) == (days[-1] - days[0]).days + 1 > 3
    with engine.connect() as conn:
        assert sum(data["doses"]["records"]) == headline(conn, DISTRICT).dose_records
    en = client.get("/dashboard?lang=en", headers=me).text
    assert "Vaccination dashboard" in en and "At least one dose" in en


def test_others_have_no_dashboard(client, figures):
    officer = as_user(figures, "own_ward", "ward_officer")
    assert client.get("/dashboard", headers=officer).status_code == 403
    assert 'href="/dashboard"' not in client.get("/cases", headers=officer).text
    assert client.get("/dashboard").status_code == 303  # to the sign-in page
