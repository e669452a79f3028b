"""The case page's birth-date row: the health record's date read as the matcher reads it."""

from __future__ import annotations

from datetime import date

import pytest

from vaxlink.services.workbench.case_view import compare
from vaxlink.storage.models import Citizen, DoseRecord


@pytest.mark.parametrize(
    ("written", "dose_on", "differs"),
    [
        ("03/02/1990", date(2021, 8, 1), False),
        # Two digits of the year, read on the day of the dose: 1990.
        ("03/02/90", date(2021, 8, 1), False),
        ("3-2-90", date(2021, 8, 1), False),
        ("03/02/91", date(2021, 8, 1), True),
        # Without the day of the dose the year cannot be read: the officer is shown the difference.
        ("03/02/90", None, True),
    ],
)
def test_the_birth_row_reads_a_two_digit_year_on_the_day_of_the_dose(
    written: str, dose_on: date | None, differs: bool
) -> None:
    dose = DoseRecord(full_name="Phạm Minh Đức", date_of_birth=written, vaccination_date=dose_on)
    citizen = Citizen(
        full_name="Phạm Minh Đức",
        birth_date=date(1990, 2, 3),
        birth_precision="day",
        birth_year=1990,
        sex="M",
        personal_id="077090000301",
        current_ward_code="26554",
        current_units="legacy",
    )
    row = next(r for r in compare(dose, citizen) if r.field == "birth_date")
    assert row.health == written
    assert row.differs is differs
