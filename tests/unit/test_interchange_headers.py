"""Headers as other exporters write them map onto the contract; no spelling names two columns."""

from __future__ import annotations

import pytest

from vaxlink.domain.interchange import DOSE_COLUMNS, REGISTER_COLUMNS, Column, header_key, map_headers


@pytest.mark.parametrize("contract", [REGISTER_COLUMNS, DOSE_COLUMNS], ids=["register", "doses"])
def test_no_spelling_names_two_columns(contract: tuple[Column, ...]) -> None:
    owner: dict[str, str] = {}
    for col in contract:
        for spelling in (col.name, *col.aliases):
            assert owner.setdefault(header_key(spelling), col.name) == col.name, spelling


@pytest.mark.parametrize(
    ("contract", "headers", "expected"),
    [
        (
            DOSE_COLUMNS,
            [
                "MÃ HỒ SƠ",
                "Họ tên người được tiêm",
                "Ngày/tháng/năm sinh",
                "CMND/CCCD",
                "Mã phường/xã",
                "Ngày tiêm chủng",
                "Mũi tiêm thứ",
                "Tên vaccine",
                "Số lô vắc xin",
                "Nơi tiêm",
                "Số ĐT",
            ],
            [
                "record_id",
                "full_name",
                "date_of_birth",
                "id_number",
                "ward_code",
                "vaccination_date",
                "dose_number",
                "vaccine",
                "lot_number",
                "site",
                "phone",
            ],
        ),
        (
            REGISTER_COLUMNS,
            [
                "Mã định danh",
                "Họ và tên",
                "Ngày tháng năm sinh",
                "Giới tính",
                "Mã phường/xã thường trú",
                "Mã phường/xã nơi ở hiện tại",
                "Điện thoại",
                "Mã số hộ",
                "Số CMND",
            ],
            [
                "personal_id",
                "full_name",
                "date_of_birth",
                "sex",
                "permanent_ward_code",
                "current_ward_code",
                "phone",
                "household_id",
                "old_id",
            ],
        ),
    ],
    ids=["doses", "register"],
)
def test_other_exporters_headers(
    contract: tuple[Column, ...], headers: list[str], expected: list[str]
) -> None:
    found = map_headers(headers, contract)
    assert [found.columns.get(n) for n in expected] == headers
    assert found.missing == () and found.duplicates == () and found.extra == ()
