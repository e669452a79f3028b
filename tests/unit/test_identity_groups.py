"""A batch's identities of one person are grouped (`prepare.group_identities`): same name exactly as written and
one of the birth date with the ward, the 12-digit number, or a phone with the birth year; a group that
holds two numbers or two birth dates, or grows too large, is not one person and its identities stay alone."""

from __future__ import annotations

import duckdb
import pytest

from vaxlink.matching.prepare import GROUP_MAX, PHONE_NAMES_MAX, group_identities

COLUMNS = "ident_id, full_name, name_key, dob, dob_year, ward, id12, phone"


def _groups(*rows: tuple[object, ...]) -> dict[int, int]:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE rec_ident (ident_id BIGINT, full_name VARCHAR, name_key VARCHAR, dob VARCHAR, "
        "dob_year INTEGER, ward VARCHAR, id12 VARCHAR, phone VARCHAR)"
    )
    con.executemany(f"INSERT INTO rec_ident ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", list(rows))
    group_identities(con)
    found = con.execute("SELECT ident_id, group_id FROM rec_ident").fetchall()
    assert [i for i, _ in found] == [r[0] for r in rows], (
        "the group is set in place: the rows keep their order"
    )
    return dict(found)


def _person(
    i: int,
    name: str = "Nguyễn Văn An",
    dob: str | None = "19900101",
    ward: str | None = "26734",
    id12: str | None = None,
    phone: str | None = None,
) -> tuple[object, ...]:
    year = int(dob[:4]) if dob else 1990
    return (i, name, name.lower(), dob, year, ward, id12, phone)


def test_identities_sharing_name_birth_date_and_ward_are_one_person() -> None:
    assert _groups(_person(1), _person(2), _person(3, ward="26737")) == {1: 1, 2: 1, 3: 3}


def test_a_number_joins_records_whose_birth_dates_differ_in_precision() -> None:
    groups = _groups(_person(1, id12="077090001234"), _person(2, dob=None, id12="077090001234"))
    assert groups == {1: 1, 2: 1}


def test_groups_are_joined_through_chains_of_keys() -> None:
    # 1 and 2 share a date and ward; 2 and 3 a number; 3 and 4 a phone with the birth year.
    groups = _groups(
        _person(1),
        _person(2, id12="077090001234"),
        _person(3, dob=None, ward="26737", id12="077090001234", phone="0912345678"),
        _person(4, dob=None, ward=None, phone="0912345678"),
    )
    assert groups == {1: 1, 2: 1, 3: 1, 4: 1}


def test_two_numbers_in_one_group_leave_every_identity_alone() -> None:
    # Namesakes born the same day in one ward, each with a number of their own: not one person.
    groups = _groups(_person(1, id12="077090001234"), _person(2, id12="077090005678"))
    assert groups == {1: 1, 2: 2}


def test_two_full_birth_dates_in_one_group_leave_every_identity_alone() -> None:
    groups = _groups(_person(1, id12="077090001234"), _person(2, dob="19900102", id12="077090001234"))
    assert groups == {1: 1, 2: 2}


def test_the_name_must_agree_exactly_as_written() -> None:
    # Hùng and Hưng fold alike; they could be twins.
    assert _groups(_person(1, name="Lê Văn Hùng"), _person(2, name="Lê Văn Hưng")) == {1: 1, 2: 2}


def test_a_phone_typed_for_many_names_joins_nothing() -> None:
    shared = "0987654321"
    others = [
        _person(10 + k, name=f"Trần Thị {n}", phone=shared) for k, n in enumerate("BCDEF"[:PHONE_NAMES_MAX])
    ]
    groups = _groups(
        _person(1, dob=None, ward=None, phone=shared), _person(2, dob=None, ward=None, phone=shared), *others
    )
    assert groups[1] == 1 and groups[2] == 2


def test_a_phone_of_few_names_joins_a_person_with_the_birth_year() -> None:
    groups = _groups(
        _person(1, dob=None, ward=None, phone="0912345678"),
        _person(2, dob=None, ward="26737", phone="0912345678"),
        _person(3, name="Nguyễn Thị Bình", phone="0912345678"),
    )
    assert groups == {1: 1, 2: 1, 3: 3}


@pytest.mark.parametrize(("size", "grouped"), [(GROUP_MAX, True), (GROUP_MAX + 1, False)])
def test_a_group_past_its_limit_is_not_one_person(size: int, grouped: bool) -> None:
    groups = _groups(*(_person(i) for i in range(1, size + 1)))
    assert all(g == (1 if grouped else i) for i, g in groups.items())
