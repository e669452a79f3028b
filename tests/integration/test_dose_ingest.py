"""Dose ingest: every row ends in one counted outcome; re-ingest is a no-op; versions; crash safety;
re-examination after a register change; the exported result and health's answer."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from vaxlink.domain.errors import InputError
from vaxlink.services.reconciliation import dose_ingest
from vaxlink.services.reconciliation.answers import export_answer, export_results
from vaxlink.services.reconciliation.dose_ingest import ingest_batch
from vaxlink.services.reconciliation.reexamine import reexamine_after_import
from vaxlink.services.reconciliation.registry_import import import_register
from vaxlink.storage.db import transaction
from vaxlink.storage.models import Case, Citizen, DoseRecord, MatchResult

REGISTER = """personal_id,old_id,full_name,date_of_birth,sex,permanent_ward_code,current_ward_code,address,phone,household_id
077090001234,273456789,Nguyễn Văn An,1990-03-15,Nam,26560,,,0901000001,H1
077190004321,,Nguyễn Thị Hòa,1990-07-02,Nữ,26560,26554,,0901000001,H1
077203000111,,Trần Minh Khôi,2003,Nam,26554,,,,H2
"""
HEADER = [
    "record_id",
    "full_name",
    "date_of_birth",
    "sex",
    "id_number",
    "phone",
    "address",
    "ward_code",
    "vaccination_date",
    "dose_number",
    "vaccine",
    "lot_number",
    "site",
]
DOSES = [
    [
        "r1",
        "NGUYEN VAN AN",
        "15/03/1990",
        "Nam",
        "77090001234",
        "",
        "",
        "26560",
        "2021-08-01",
        "1",
        "AZ",
        "A1",
        "Trạm Y tế",
    ],
    [
        "r2",
        "Nguyễn Văn An",
        "15/03/1990",
        "Nam",
        "273456789",
        "",
        "",
        "26560",
        "2021-09-01",
        "2",
        "AstraZeneca",
        "A2",
        "",
    ],
    [
        "r3",
        "Trần Minh Khôi",
        "12/12/2003",
        "Nam",
        "077203000111",
        "",
        "",
        "",
        "2021-10-01",
        "1",
        "Pfizer",
        "",
        "",
    ],
    ["r4", "Lê Văn Tám", "01/01/1980", "Nam", "", "", "", "26554", "2021-10-01", "1", "Pfizer", "", ""],
    ["r5", "", "01/01/1980", "Nam", "", "", "", "", "2021-10-01", "1", "Pfizer", "", ""],
    ["r6", "Lê Văn Tám", "01/01/1980", "Nam", "", "", "", "", "2031-10-01", "1", "Pfizer", "", ""],
    ["r7", "Lê Văn Tám", "01/01/1980", "Nam", "", "", "", "", "2021-10-01", "1", "Thuốc lạ", "", ""],
    ["r8", "Nguyễn Văn An", "15/03/1990", "Nam", "077090001234", "", "", "", "2021-08-01", "1", "AZ", "", ""],
]


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture
def with_register(settings, engine, tmp_path):
    reg = tmp_path / "reg.csv"
    reg.write_text(REGISTER, encoding="utf-8")
    with transaction(engine) as s:
        import_register(s, settings, reg, rejects_path=tmp_path / "rej.csv")
    return engine


def ingest(settings, engine, path: Path, **kw):
    with transaction(engine) as s:
        return ingest_batch(s, settings, path, **kw)


def results(engine, tmp_path: Path) -> dict[str, dict[str, str]]:
    out = tmp_path / "result.csv"
    with engine.connect() as conn:
        export_results(conn, out)
    with out.open(encoding="utf-8") as f:
        return {r["record_id"]: r for r in csv.DictReader(f)}


@pytest.mark.db
def test_every_row_gets_one_outcome_and_the_counts_add_up(settings, with_register, tmp_path):
    r = ingest(settings, with_register, write_csv(tmp_path / "d.csv", DOSES))
    assert r.rows == 8 and r.balanced
    assert r.counts["rejected"] == 3
    assert r.reasons == {"MISSING_NAME": 1, "VACCINATION_DATE_FUTURE": 1, "UNKNOWN_VACCINE": 1}
    assert r.unknown_vaccines == {"Thuốc lạ": 1}
    got = results(with_register, tmp_path)
    assert set(got) == {f"r{i}" for i in range(1, 9)}
    assert got["r1"]["outcome"] == "linked" and got["r1"]["personal_id"] == "077090001234"
    assert set(got["r1"]["reasons"].split(";")) == {"ID_LOST_ZERO", "NAME_DIACRITICS"}
    assert got["r2"]["reasons"] == "ID_OLD_CMND"
    assert got["r4"]["outcome"] == "unmatched" and got["r4"]["ward_code"] == "26554"
    assert got["r5"]["outcome"] == "rejected" and got["r5"]["reasons"] == "MISSING_NAME"
    # r1 and r8 are the same first dose of the same person, entered twice.
    with transaction(with_register) as s:
        flags = dict(
            s.execute(
                select(DoseRecord.record_id, MatchResult.flags).join(
                    MatchResult, MatchResult.dose_record_id == DoseRecord.id
                )
            ).all()
        )
    assert flags["r1"] == flags["r8"] == "DOSE_DUPLICATE" and flags["r2"] == ""


@pytest.mark.db
def test_a_value_longer_than_a_record_keeps_is_refused_not_cut(settings, with_register, tmp_path):
    long_site = [*DOSES[7][:12], "Trạm " * 50]  # 250 characters: a site name holds 200
    long_id = ["r" * 81, *DOSES[7][1:]]  # a record id holds 80: cut, two ids would become one
    r = ingest(settings, with_register, write_csv(tmp_path / "d.csv", [DOSES[0], long_site, long_id]))
    assert r.rows == 3 and r.balanced and r.counts["rejected"] == 2
    assert r.reasons == {"TOO_LONG": 2}
    assert results(with_register, tmp_path)["r1"]["outcome"] == "linked"


@pytest.mark.db
def test_a_birth_year_written_with_two_digits_is_read_on_the_day_of_the_dose(
    settings, with_register, tmp_path
):
    """15/03/90 on a dose of 2021 is 15 March 1990. An impossible day, or no day of the dose to read it on, is
    no birth date: the record is matched on the rest, and not linked on a name alone."""
    rows = [
        [
            "t1",
            "Nguyễn Văn An",
            "15/03/90",
            "Nam",
            "",
            "0901000001",
            "",
            "26560",
            "2021-08-01",
            "1",
            "AZ",
            "",
            "",
        ],
        ["t2", "Nguyễn Thị Hòa", "02-07-90", "Nữ", "", "", "", "26554", "01/09/2021", "1", "AZ", "", ""],
        ["t3", "Nguyễn Văn An", "31/02/90", "Nam", "", "", "", "26560", "2021-08-01", "1", "AZ", "", ""],
        ["t4", "Nguyễn Văn An", "15/03/90", "Nam", "", "", "", "26560", "", "1", "AZ", "", ""],
    ]
    r = ingest(settings, with_register, write_csv(tmp_path / "d.csv", rows))
    assert r.rows == 4 and r.balanced
    got = results(with_register, tmp_path)
    assert (got["t1"]["outcome"], got["t1"]["personal_id"]) == ("linked", "077090001234"), got["t1"]
    assert (got["t2"]["outcome"], got["t2"]["personal_id"]) == ("linked", "077190004321"), got["t2"]
    assert got["t3"]["outcome"] in ("review", "unmatched"), got["t3"]
    assert (got["t4"]["outcome"], got["t4"]["reasons"]) == ("rejected", "MISSING_VACCINATION_DATE")


@pytest.mark.db
def test_a_record_without_a_birth_date_is_matched_on_its_number_and_name(settings, with_register, tmp_path):
    """A blank or unreadable birth date refuses nothing: the number and the name link the dose, and the answer
    tells health the date is missing; without a number the record waits for an officer or a collection."""
    rows = [
        ["b1", "Nguyễn Văn An", "", "Nam", "077090001234", "", "", "26560", "2021-08-01", "1", "AZ", "", ""],
        [
            "b2",
            "Nguyễn Văn An",
            "không rõ",
            "Nam",
            "077090001234",
            "",
            "",
            "26560",
            "2021-09-01",
            "2",
            "AZ",
            "",
            "",
        ],
        ["b3", "Nguyễn Văn An", "", "Nam", "", "", "", "26560", "2021-08-01", "1", "AZ", "", ""],
    ]
    r = ingest(settings, with_register, write_csv(tmp_path / "d.csv", rows))
    assert r.rows == 3 and r.balanced and r.counts["rejected"] == 0
    got = results(with_register, tmp_path)
    for rid in ("b1", "b2"):
        assert (got[rid]["outcome"], got[rid]["personal_id"]) == ("linked", "077090001234"), got[rid]
        assert "DOB_MISSING" in got[rid]["reasons"].split(";"), got[rid]
    assert got["b3"]["outcome"] in ("review", "unmatched"), got["b3"]


@pytest.mark.db
def test_the_same_file_again_is_a_no_op(settings, with_register, tmp_path):
    path = write_csv(tmp_path / "d.csv", DOSES)
    first = ingest(settings, with_register, path)
    again = ingest(settings, with_register, path)
    assert again.already_ingested and again.batch_id == first.batch_id and again.counts == first.counts
    with transaction(with_register) as s:
        assert s.scalar(select(func.count()).select_from(DoseRecord)) == 8


@pytest.mark.db
def test_a_later_row_with_the_same_record_id_is_a_new_version(settings, with_register, tmp_path):
    ingest(settings, with_register, write_csv(tmp_path / "d1.csv", DOSES), source="his")
    fixed = [
        [
            "r4",
            "Nguyễn Thị Hòa",
            "02/07/1990",
            "Nữ",
            "077190004321",
            "",
            "",
            "",
            "2021-10-01",
            "1",
            "Pfizer",
            "",
            "",
        ],
        [
            "r9",
            "Trần Minh Khôi",
            "12/12/2003",
            "Nam",
            "077203000111",
            "",
            "",
            "",
            "2021-11-01",
            "2",
            "Pfizer",
            "",
            "",
        ],
        [
            "r9",
            "Trần Minh Khôi",
            "12/12/2003",
            "Nam",
            "077203000111",
            "",
            "",
            "",
            "2021-11-02",
            "2",
            "Pfizer",
            "",
            "",
        ],
    ]
    r = ingest(settings, with_register, write_csv(tmp_path / "d2.csv", fixed), source="his")
    assert r.counts["superseded"] == 1 and r.counts["linked"] == 2 and r.balanced
    got = results(with_register, tmp_path)
    assert got["r4"]["outcome"] == "linked" and got["r4"]["version"] == "2"
    assert got["r9"]["version"] == "2"
    with transaction(with_register) as s:
        versions = s.scalars(select(DoseRecord.version).where(DoseRecord.record_id == "r4")).all()
        assert sorted(versions) == [1, 2]
        # The unmatched case of r4's first version is settled by the new version.
        statuses = s.execute(
            select(Case.status, Case.resolution)
            .join(DoseRecord, DoseRecord.id == Case.dose_record_id)
            .where(DoseRecord.record_id == "r4")
        ).all()
    assert statuses == [("closed", "superseded")]


@pytest.mark.db
def test_a_run_killed_part_way_leaves_nothing_and_the_rerun_finishes_once(
    settings, with_register, tmp_path, monkeypatch
):
    path = write_csv(tmp_path / "d.csv", DOSES)

    def crash(*_a, **_k):
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(dose_ingest, "store_staged_matches", crash)
    with pytest.raises(KeyboardInterrupt):
        ingest(settings, with_register, path)
    monkeypatch.undo()
    with transaction(with_register) as s:
        assert s.scalar(select(func.count()).select_from(DoseRecord)) == 0
    r = ingest(settings, with_register, path)
    assert not r.already_ingested and r.balanced
    with transaction(with_register) as s:
        assert s.scalar(select(func.count()).select_from(DoseRecord)) == 8
        assert s.scalar(select(func.count()).select_from(MatchResult)) == 8


@pytest.mark.db
def test_a_register_change_reexamines_the_records_it_can_affect(settings, with_register, tmp_path):
    ingest(settings, with_register, write_csv(tmp_path / "d.csv", DOSES))
    reg2 = tmp_path / "reg2.csv"
    reg2.write_text(REGISTER + "077080005678,,Lê Văn Tám,1980-01-01,Nam,26554,,,,H3\n", encoding="utf-8")
    with transaction(with_register) as s:
        imp = import_register(s, settings, reg2, rejects_path=tmp_path / "rej2.csv")
        again = reexamine_after_import(s, settings, imp.import_id)
    assert imp.imported == 1
    assert again.outcomes.get("linked", 0) >= 1
    got = results(with_register, tmp_path)
    assert got["r4"]["outcome"] == "linked" and got["r4"]["personal_id"] == "077080005678"
    with transaction(with_register) as s:
        case = s.execute(
            select(Case.status, Case.resolution)
            .join(DoseRecord, DoseRecord.id == Case.dose_record_id)
            .where(DoseRecord.record_id == "r4")
        ).one()
    assert tuple(case) == ("closed", "auto_linked")


@pytest.mark.db
def test_jsonl_and_xlsx_give_the_same_outcomes_as_csv(settings, with_register, tmp_path):
    csv_r = ingest(settings, with_register, write_csv(tmp_path / "d.csv", DOSES), source="csv")
    # Records of their own in each format: records identical to stored ones would change nothing.
    jl_rows = [[f"jl-{row[0]}", *row[1:]] for row in DOSES]
    jl = tmp_path / "d.jsonl"
    jl.write_text(
        "\n".join(json.dumps(dict(zip(HEADER, row, strict=True)), ensure_ascii=False) for row in jl_rows),
        encoding="utf-8",
    )
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(
        [
            "Mã bản ghi",
            "Họ và tên",
            "Ngày sinh",
            "Giới tính",
            "Số CMND/CCCD",
            "Số điện thoại",
            "Địa chỉ",
            "Mã xã",
            "Ngày tiêm",
            "Mũi tiêm",
            "Tên vắc xin",
            "Số lô",
            "Cơ sở tiêm",
        ]
    )
    for row in DOSES:
        ws.append([f"x-{row[0]}"] + [v or None for v in row[1:]])
    wb.save(tmp_path / "d.xlsx")
    for path, source in ((jl, "jsonl"), (tmp_path / "d.xlsx", "xlsx")):
        r = ingest(settings, with_register, path, source=source)
        assert r.counts == csv_r.counts, source


@pytest.mark.db
def test_health_gets_its_answer_with_the_corrections(settings, with_register, tmp_path):
    r = ingest(settings, with_register, write_csv(tmp_path / "d.csv", DOSES))
    with with_register.connect() as conn:
        export_answer(conn, r.batch_id, tmp_path / "answer.csv")
        export_answer(conn, r.batch_id, tmp_path / "answer.xlsx")
    with (tmp_path / "answer.csv").open(encoding="utf-8") as f:
        answer = {row["record_id"]: row for row in csv.DictReader(f)}
    assert answer["r1"]["verified"] == "Đúng, cần sửa"
    assert answer["r1"]["correct_full_name"] == "Nguyễn Văn An"
    assert answer["r1"]["correct_id_number"] == "077090001234"
    assert answer["r8"]["verified"] == "Đúng"
    assert answer["r4"]["verified"] == "Chưa xác minh" and answer["r5"]["verified"] == "Không dùng được"
    assert openpyxl.load_workbook(tmp_path / "answer.xlsx").active.max_row == 9


@pytest.mark.db
def test_a_file_without_required_columns_is_refused_whole(settings, with_register, tmp_path):
    with pytest.raises(InputError, match="vaccination_date"):
        ingest(
            settings, with_register, write_csv(tmp_path / "d.csv", [["x", "A"]], ["record_id", "full_name"])
        )


@pytest.mark.db
def test_a_record_in_doubt_opens_a_case_with_its_ranked_candidates(settings, engine, tmp_path):
    twins = (
        REGISTER + "077205000103,,Nguyễn Văn Hưng,2005-06-15,Nam,26560,,,0901000001,H1\n"
        "077205000104,,Nguyễn Văn Hùng,2005-06-15,Nam,26560,,,0901000001,H1\n"
    )
    reg = tmp_path / "reg.csv"
    reg.write_text(twins, encoding="utf-8")
    with transaction(engine) as s:
        import_register(s, settings, reg, rejects_path=tmp_path / "rej.csv")
    doses = [
        [
            "t1",
            "NGUYEN VAN HUNG",
            "15/06/2005",
            "Nam",
            "",
            "0901000001",
            "",
            "",
            "2021-10-01",
            "1",
            "Pfizer",
            "",
            "",
        ]
    ]
    r = ingest(settings, engine, write_csv(tmp_path / "d.csv", doses))
    assert r.counts["review"] == 1
    with transaction(engine) as s:
        case = s.scalars(select(Case)).one()
        ids = {c.personal_id: c.id for c in s.scalars(select(Citizen))}
    assert case.kind == "conflict" and case.status == "open" and case.ward_code == "26560"
    ranked = case.details["candidates"]
    assert {c["citizen_id"] for c in ranked} == {ids["077205000103"], ids["077205000104"]}
    assert all(c["name"] == "NAME_DIACRITICS" and c["dob"] == "DOB_EXACT" for c in ranked)
    # The waterfall: each field's part and the prior add up to the candidate's weight; the twins share a
    # phone (the household's) and differ in nothing the record says.
    for c in ranked:
        parts = c["weights"]
        assert set(parts) == {"prior", "id", "name", "dob", "sex", "ward", "address", "phone"}
        assert sum(parts.values()) == pytest.approx(c["weight"], abs=0.05)
        assert c["phone"] == "PHONE_SAME" and parts["phone"] > 0 and parts["id"] == 0.0
    assert ranked[0]["weight"] == ranked[1]["weight"]


@pytest.mark.db
def test_a_later_batch_judges_dose_sequences_with_the_doses_already_linked(settings, with_register, tmp_path):
    # Batch 1: dose 2 of An on 1 October. Batch 2: dose 1 of An on 20 September (too close to dose 2) and
    # dose 3 on 1 September (a higher number given before doses 1 and 2). The earlier record's flags change too.
    an = ["Nguyễn Văn An", "15/03/1990", "Nam", "077090001234", "", "", ""]
    ingest(
        settings,
        with_register,
        write_csv(tmp_path / "d1.csv", [["a2", *an, "2021-10-01", "2", "Pfizer", "", ""]]),
    )
    second = [
        ["a1", *an, "2021-09-20", "1", "Pfizer", "", ""],
        ["a3", *an, "2021-09-01", "3", "Pfizer", "", ""],
    ]
    ingest(settings, with_register, write_csv(tmp_path / "d2.csv", second))
    with transaction(with_register) as s:
        flags = dict(
            s.execute(
                select(DoseRecord.record_id, MatchResult.flags).join(
                    MatchResult, MatchResult.dose_record_id == DoseRecord.id
                )
            ).all()
        )
    assert flags["a3"] == ""
    assert set(flags["a1"].split(";")) == {"DOSE_ORDER"}
    assert set(flags["a2"].split(";")) == {"DOSE_ORDER", "DOSE_INTERVAL"}


@pytest.mark.db
def test_a_batch_is_idempotent_by_content_whatever_its_name_or_source(settings, with_register, tmp_path):
    first = ingest(settings, with_register, write_csv(tmp_path / "d.csv", DOSES), source="his")
    with transaction(with_register) as s:
        records = s.scalar(select(func.count()).select_from(DoseRecord))
        cases = s.scalar(select(func.count()).select_from(Case))
    # The same file under another name and source label: nothing new.
    again = ingest(settings, with_register, write_csv(tmp_path / "copy.csv", DOSES), source="his-resent")
    assert again.already_ingested and again.batch_id == first.batch_id
    # The same records in another file, with one new record: only the new one is stored and matched.
    new_row = [
        "r9",
        "Nguyễn Thị Hòa",
        "02/07/1990",
        "Nữ",
        "077190004321",
        "",
        "",
        "",
        "2021-10-05",
        "1",
        "AZ",
        "",
        "",
    ]
    more = ingest(
        settings, with_register, write_csv(tmp_path / "more.csv", [*DOSES, new_row]), source="upload"
    )
    assert more.counts["unchanged"] == 8 and more.counts["linked"] == 1 and more.balanced
    with transaction(with_register) as s:
        assert s.scalar(select(func.count()).select_from(DoseRecord)) == records + 1
        assert s.scalar(select(func.count()).select_from(Case)) == cases
