"""A dose of a number the citizen already has on another day, on a record that carries none of the
citizen's numbers, is left to an officer: most often it is a namesake's, who is not in the register."""

from __future__ import annotations

import pytest

from tests.integration.test_dose_ingest import ingest, results, write_csv
from vaxlink.services.reconciliation.reexamine import reexamine_after_import
from vaxlink.services.reconciliation.registry_import import import_register
from vaxlink.storage.db import transaction

REGISTER = """personal_id,old_id,full_name,date_of_birth,sex,permanent_ward_code,current_ward_code,address,phone,household_id
077086888258,,Phạm Văn Dũng,1986-07-27,Nam,26506,,"Số 12 đường Lê Lợi",0323683044,H1
077194000777,,Trần Thảo Lệ,1994-05-26,Nữ,26539,,"Số 40 đường Hùng Vương",0916229490,H2
"""


def dose(
    rid: str, name: str, born: str, id_number: str, ward: str, day: str, n: str, sex: str = ""
) -> list[str]:
    return [rid, name, born, sex, id_number, "", "", ward, day, n, "AstraZeneca", "", ""]


def dung(rid: str, id_number: str, day: str, n: str) -> list[str]:
    return dose(rid, "Phạm Văn Dũng", "27/07/1986", id_number, "26506", day, n)


def le(rid: str, id_number: str, day: str, n: str) -> list[str]:
    return dose(rid, "Trần Thảo Lệ", "26/05/1994", id_number, "26539", day, n)


@pytest.fixture
def register(settings, engine, tmp_path):
    reg = tmp_path / "reg.csv"
    reg.write_text(REGISTER, encoding="utf-8")
    with transaction(engine) as s:
        import_register(s, settings, reg, rejects_path=tmp_path / "rej.csv")
    return engine


@pytest.mark.db
def test_a_dose_number_the_citizen_has_on_another_day_is_held_without_the_number(
    settings, register, tmp_path
):
    batches = [
        # The resident's own first dose, with the number.
        [dung("a1", "077086888258", "2021-07-01", "1")],
        # Without a number: a first dose two months and a half later (held), then a second dose (linked).
        [dung("b1", "", "2021-09-15", "1")],
        [dung("b2", "", "2021-08-20", "2")],
        # The first dose sent again, the same day, without the number: the same dose, linked.
        [dung("c1", "", "2021-07-01", "1")],
        # Another first dose, on another day, with the resident's number: the number says whose.
        [dung("d1", "077086888258", "2021-10-01", "1")],
        # The second dose's record sent again with its day corrected: its earlier version does not count.
        [dung("b2", "", "2021-08-25", "2")],
        # The resident's number, but the dose's day typed as the birth date: a child's first dose under the
        # parent's identity (held); with the birth date, a second dose is the resident's (linked).
        [dose("f1", "Phạm Văn Dũng", "2021-11-30", "077086888258", "26506", "2021-11-30", "1")],
        [dose("f2", "Phạm Văn Dũng", "27/07/1986", "077086888258", "26506", "2021-12-30", "2")],
        # In one batch: a resident's first dose with the number, and one without it, another day.
        [le("e1", "077194000777", "2021-06-10", "1"), le("e2", "", "2021-11-02", "1")],
        # Her number and birth date, but a man's dose: held, as her first dose is taken.
        [dose("g1", "Trần Thảo Lệ", "26/05/1994", "077194000777", "26539", "2022-01-05", "1", sex="Nam")],
    ]
    for i, rows in enumerate(batches):
        r = ingest(settings, register, write_csv(tmp_path / f"d{i}.csv", rows))
        assert r.balanced
    got = results(register, tmp_path)

    def outcome(rid: str) -> tuple[str, str, bool]:
        row = got[rid]
        return (
            row["outcome"],
            row["personal_id"] or row["candidate_personal_id"],
            "DOSE_NUMBER_TAKEN" in row["reasons"],
        )

    assert outcome("a1") == ("linked", "077086888258", False)
    assert outcome("b1") == ("review", "077086888258", True)
    assert outcome("c1") == ("linked", "077086888258", False)
    assert outcome("d1") == ("linked", "077086888258", False)
    assert outcome("b2") == ("linked", "077086888258", False)
    assert outcome("f1") == ("review", "077086888258", True)
    assert outcome("f2") == ("linked", "077086888258", False)
    assert outcome("e1") == ("linked", "077194000777", False)
    assert outcome("e2") == ("review", "077194000777", True)
    assert outcome("g1") == ("review", "077194000777", True)


@pytest.mark.db
def test_the_records_a_register_change_re_examines_are_held_the_same_way(settings, register, tmp_path):
    # Two first doses months apart under a name the register does not know yet: nobody to link. Then the
    # person is added, and the re-examination finds them for both: they cannot both be the first dose.
    tam = [
        dose("t1", "Lê Văn Tám", "01/01/1980", "", "26554", "2021-08-01", "1"),
        dose("t2", "Lê Văn Tám", "01/01/1980", "", "26554", "2021-11-20", "1"),
        dose("t3", "Lê Văn Tám", "01/01/1980", "", "26554", "2021-09-01", "2"),
    ]
    ingest(settings, register, write_csv(tmp_path / "t.csv", tam))
    assert {r: results(register, tmp_path)[r]["outcome"] for r in ("t1", "t2")} == {
        "t1": "unmatched",
        "t2": "unmatched",
    }
    reg2 = tmp_path / "reg2.csv"
    reg2.write_text(REGISTER + "077080005678,,Lê Văn Tám,1980-01-01,Nam,26554,,,,H3\n", encoding="utf-8")
    with transaction(register) as s:
        imp = import_register(s, settings, reg2, rejects_path=tmp_path / "rej2.csv")
        reexamine_after_import(s, settings, imp.import_id)
    got = results(register, tmp_path)
    for rid in ("t1", "t2"):
        assert got[rid]["outcome"] == "review" and "DOSE_NUMBER_TAKEN" in got[rid]["reasons"]
        assert got[rid]["candidate_personal_id"] == "077080005678"
