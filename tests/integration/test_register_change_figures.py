"""A register change moves dose links (re-examination): each citizen's status and the statistics move with
them, in the same transaction. The figures kept along the way equal the same figures recomputed from
scratch, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select, text

from tests.figures import differences, differing_cells, from_scratch, kept
from vaxlink.services.figures.status import status_of
from vaxlink.services.reconciliation.dose_ingest import ingest_batch
from vaxlink.services.reconciliation.reexamine import reexamine_after_import
from vaxlink.services.reconciliation.registry_import import import_register
from vaxlink.storage.db import transaction
from vaxlink.storage.models import Citizen

HEADER = "personal_id,old_id,full_name,date_of_birth,sex,permanent_ward_code,current_ward_code,address,phone,household_id\n"
# The register first has An's day and month of birth swapped; the next snapshot corrects it and adds Tám.
AN = "077090001234,,Nguyễn Văn An,{dob},Nam,26560,,,,H1\n"
KHOI = "077203000111,,Trần Minh Khôi,2003-05-04,Nam,26554,,,,H2\n"
TAM = "077080005678,,Lê Văn Tám,1980-01-01,Nam,26554,,,,H3\n"
DOSES = [
    [
        "record_id",
        "full_name",
        "date_of_birth",
        "sex",
        "id_number",
        "ward_code",
        "vaccination_date",
        "dose_number",
        "vaccine",
    ],
    # Linked to An as first registered, by name and birth date (no number); with his date of birth
    # corrected, they no longer are.
    ["r1", "Nguyễn Văn An", "15/03/1990", "Nam", "", "26560", "2021-08-01", "1", "AZ"],
    ["r2", "Nguyễn An", "15/03/1990", "Nam", "", "26560", "2021-09-01", "2", "AZ"],
    # In doubt until the register is corrected, linked to An after. (With An's number too, the number and
    # the name would have linked it before: a birth date alone does not stand against both.)
    ["r3", "Nguyễn Văn An", "13/05/1990", "Nam", "", "26560", "2021-12-01", "3", "Pfizer"],
    ["r4", "Trần Minh Khôi", "04/05/2003", "Nam", "077203000111", "26554", "2021-10-01", "1", "Pfizer"],
    # Unmatched until Tám is in the register.
    ["r5", "Lê Văn Tám", "01/01/1980", "Nam", "", "26554", "2021-10-01", "1", "Pfizer"],
]


@pytest.mark.db
def test_status_and_statistics_follow_the_links_a_register_change_moves(settings, engine, tmp_path: Path):
    reg, reg2, doses = tmp_path / "reg.csv", tmp_path / "reg2.csv", tmp_path / "doses.csv"
    reg.write_text(HEADER + AN.format(dob="1990-03-15") + KHOI, encoding="utf-8")
    reg2.write_text(HEADER + AN.format(dob="1990-05-13") + KHOI + TAM, encoding="utf-8")
    with doses.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(DOSES)
    with transaction(engine) as s:
        import_register(s, settings, reg)
    with transaction(engine) as s:
        ingest_batch(s, settings, doses)
    with transaction(engine) as s:
        an = s.scalar(select(Citizen.id).where(Citizen.personal_id == "077090001234"))
        assert an is not None
        before = status_of(s.connection(), an)
    assert (before.doses, before.complete_date) == (2, date(2021, 9, 1))

    # As `vaxlink registry import` does: the import and the re-examination in one transaction.
    with transaction(engine) as s:
        imp = import_register(s, settings, reg2)
        reexamine_after_import(s, settings, imp.import_id)

    with engine.connect() as conn:
        tam = conn.execute(text("SELECT id FROM citizen WHERE personal_id = '077080005678'")).scalar_one()
        an_now, tam_now = status_of(conn, an), status_of(conn, tam)
        before = kept(conn)
        scratch = from_scratch(conn)
    # An lost the two doses given under the wrong date of birth and gained the one given under the right one.
    assert (an_now.doses, an_now.first_dose_date, an_now.complete_date) == (1, date(2021, 12, 1), None)
    assert (tam_now.doses, tam_now.first_dose_date) == (1, date(2021, 10, 1))
    differ = differing_cells(before, scratch)
    assert differ == dict.fromkeys(before, 0), "\n".join([f"{differ}", *differences(before, scratch)])
