"""Vaccination facts as the sources have them, through the ingest: FHIR's own findings reach the outcome
and health's answer, a subpotent dose does not count, coded vaccines resolve, and the series follows the
ministry's rules (minimum intervals)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from vaxlink.services.figures.status import status_of
from vaxlink.services.reconciliation.answers import export_answer, export_results
from vaxlink.services.reconciliation.dose_ingest import ingest_batch
from vaxlink.services.reconciliation.registry_import import import_register
from vaxlink.storage.db import transaction

REGISTER = """personal_id,full_name,date_of_birth,sex,permanent_ward_code
077090001234,Nguyễn Văn An,1990-03-15,Nam,26560
077190004321,Nguyễn Thị Hòa,1990-07-02,Nữ,26560
"""
EU = "https://ec.europa.eu/health/documents/community-register/html/"
CVX = "http://hl7.org/fhir/sid/cvx"


@pytest.fixture
def registered(settings, engine, tmp_path):
    reg = tmp_path / "reg.csv"
    reg.write_text(REGISTER, encoding="utf-8")
    with transaction(engine) as s:
        import_register(s, settings, reg, rejects_path=tmp_path / "rej.csv")
    return engine


def _patient() -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": "p1",
        "identifier": [{"system": "urn:vn:cccd", "value": "077090001234"}],
        "name": [{"family": "Nguyễn", "given": ["Văn", "An"]}],
        "gender": "male",
        "birthDate": "1990-03-15",
    }


def _imm(iid: str, day: str, coding: dict[str, str], **fields: Any) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "Immunization",
        "id": iid,
        "status": "completed",
        "vaccineCode": {"coding": [coding]},
        "patient": {"reference": "Patient/p1"},
        "occurrenceDateTime": f"{day}T09:00:00+07:00",
        "protocolApplied": [{"doseNumberPositiveInt": 1}],
    }
    res.update(fields)
    return res


def _bundle(path: Path, *resources: dict[str, Any]) -> Path:
    doc = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def _results(engine, tmp_path: Path) -> dict[str, dict[str, str]]:
    out = tmp_path / "result.csv"
    with engine.connect() as conn:
        export_results(conn, out)
    with out.open(encoding="utf-8") as f:
        return {r["record_id"]: r for r in csv.DictReader(f)}


def _citizen_status(engine, personal_id: str):
    with transaction(engine) as s:
        from sqlalchemy import select

        from vaxlink.storage.models import Citizen

        cid = s.scalar(select(Citizen.id).where(Citizen.personal_id == personal_id))
        return status_of(s.connection(), cid)


@pytest.mark.db
def test_fhir_findings_reach_the_outcome_and_the_answer_and_subpotent_doses_do_not_count(
    settings, registered, tmp_path
):
    path = _bundle(
        tmp_path / "b.json",
        _patient(),
        _imm("i1", "2021-08-01", {"system": EU, "code": "EU/1/21/1529"}),
        # A cold-chain break: recorded by health, but no dose of the series.
        _imm("i2", "2021-09-01", {"system": EU, "code": "EU/1/21/1529"}, isSubpotent=True),
        _imm("i3", "2021-09-15", {"system": EU, "code": "EU/1/21/1529"}, performer=[{}]),
        # CVX 210 is Vaxzevria: the second dose of the series.
        _imm("i4", "2021-10-01", {"system": CVX, "code": "210"}),
    )
    with transaction(registered) as s:
        r = ingest_batch(s, settings, path)
    assert r.counts["linked"] == 2 and r.counts["rejected"] == 2 and r.balanced
    got = _results(registered, tmp_path)
    assert got["i2"]["reasons"] == "FHIR_SUBPOTENT"
    assert got["i3"]["reasons"].startswith("FHIR_INVALID: performer")
    assert "malformed" not in got["i3"]["reasons"].lower()
    with registered.connect() as conn:
        export_answer(conn, r.batch_id, tmp_path / "answer.csv")
    with (tmp_path / "answer.csv").open(encoding="utf-8") as f:
        answer = {row["record_id"]: row for row in csv.DictReader(f)}
    assert answer["i3"]["reasons"].startswith("FHIR_INVALID: performer")
    assert answer["i2"]["reasons"] == "FHIR_SUBPOTENT"
    status = _citizen_status(registered, "077090001234")
    # i1 and i4: two distinct days of AstraZeneca 61 days apart; the subpotent dose is not one of them.
    assert status.doses == 2 and status.level.value == "complete"


def _csv(path: Path, rows: list[list[str]]) -> Path:
    header = [
        "record_id",
        "full_name",
        "date_of_birth",
        "sex",
        "id_number",
        "vaccination_date",
        "dose_number",
        "vaccine",
        "dose_kind",
    ]
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(header)
        out.writerows(rows)
    return path


@pytest.mark.db
def test_additional_doses_and_doses_too_close_as_the_ministry_counts_them(settings, registered, tmp_path):
    an = ["Nguyễn Văn An", "15/03/1990", "Nam", "077090001234"]
    hoa = ["Nguyễn Thị Hòa", "02/07/1990", "Nữ", "077190004321"]
    rows = [
        ["a1", *an, "2021-08-01", "1", "AZ", ""],
        ["a2", *an, "2021-09-01", "2", "AZ", ""],
        # Liều bổ sung: part of the primary series, not a booster.
        ["a3", *an, "2022-01-10", "3", "Pfizer", "Liều bổ sung"],
        # AstraZeneca twice one day apart: two doses, no complete series.
        ["h1", *hoa, "2021-08-01", "1", "AZ", ""],
        ["h2", *hoa, "2021-08-02", "2", "AZ", "cơ bản"],
    ]
    with transaction(registered) as s:
        r = ingest_batch(s, settings, _csv(tmp_path / "d.csv", rows))
    assert r.counts["linked"] == 5
    an_status = _citizen_status(registered, "077090001234")
    assert an_status.doses == 3 and an_status.boosters == 0 and an_status.level.value == "complete"
    hoa_status = _citizen_status(registered, "077190004321")
    assert hoa_status.doses == 2 and hoa_status.level.value == "partial"
