"""Register import: every row ends in one counted outcome; re-import is idempotent; a newer snapshot updates."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select

from vaxlink.domain.errors import InputError
from vaxlink.services.reconciliation.registry_import import import_register
from vaxlink.storage.db import transaction
from vaxlink.storage.models import Citizen, CitizenAlias, CitizenChange

VI_HEADER = [
    "Số định danh",
    "Số CMND",
    "Họ và tên",
    "Ngày sinh",
    "Giới tính",
    "Mã xã thường trú",
    "Mã xã nơi ở hiện tại",
    "Địa chỉ",
    "Số điện thoại",
    "Mã hộ",
    "Nghề nghiệp",
]
GOOD = [
    [
        "077090001234",
        "273456789",
        "Nguyễn Văn An",
        "15/03/1990",
        "Nam",
        "26560",
        "",
        "Số 1 Phước Trung",
        "0901000001",
        "H1",
        "nông dân",
    ],
    [
        "077190004321",
        "",
        "NGUYỄN  thị hoà",
        "1990-07-02",
        "Nữ",
        "26560",
        "26554",
        "Số 1 Phước Trung",
        "0901000001",
        "H1",
        "",
    ],
    ["077203000111", "", "Trần Minh Khôi", "2003", "M", "26554", "", "", "", "H2", ""],
]


def write_csv(path: Path, header: list[str], rows: list[list[str]], bom: bool = True) -> Path:
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def run_import(settings, path: Path, **kw):
    from vaxlink.storage.db import make_engine

    engine = make_engine(settings.database_url)
    try:
        with transaction(engine) as s:
            return import_register(s, settings, path, rejects_path=path.with_suffix(".rejects.csv"), **kw)
    finally:
        engine.dispose()


def citizens(engine) -> dict[str, Citizen]:
    with transaction(engine) as s:
        return {c.personal_id: c for c in s.scalars(select(Citizen))}


@pytest.mark.db
def test_first_import_loads_every_valid_row_with_the_register_spelling(settings, engine, tmp_path):
    r = run_import(settings, write_csv(tmp_path / "reg.csv", VI_HEADER, GOOD))
    assert (r.rows, r.imported, r.updated, r.unchanged, r.rejected) == (3, 3, 0, 0, 0)
    got = citizens(engine)
    hoa = got["077190004321"]
    # The register's spelling is kept as written (only the spacing settled); the key is for matching.
    assert hoa.full_name == "NGUYỄN thị hoà"
    assert hoa.name_key == "nguyen thi hoa"
    assert (hoa.family_name, hoa.middle_name, hoa.given_name) == ("NGUYỄN", "thị", "hoà")
    assert hoa.sex == "F" and hoa.current_ward_code == "26554" and hoa.permanent_ward_code == "26560"
    khoi = got["077203000111"]
    assert (khoi.birth_precision, khoi.birth_year, khoi.birth_date.isoformat()) == (
        "year",
        2003,
        "2003-01-01",
    )
    assert khoi.current_ward_code == "26554" and khoi.permanent_units == "legacy"
    assert got["077090001234"].extra == {"Nghề nghiệp": "nông dân"}
    with transaction(engine) as s:
        aliases = s.execute(select(CitizenAlias.alias, CitizenAlias.kind)).all()
    assert aliases == [("273456789", "cmnd")]


@pytest.mark.db
def test_phones_are_stored_in_their_national_form_and_other_text_as_written(settings, engine, tmp_path):
    rows = [list(r) for r in GOOD]
    rows[0][8] = "+84 901 000 001"  # written internationally
    rows[1][8] = "901000002"  # the leading 0 lost in a spreadsheet
    rows[2][8] = "0901 000 003 / 0902 000 004"  # two numbers: the first
    rows.append(
        ["077095000222", "", "Lê Văn Bốn", "1995", "Nam", "26560", "", "", "gọi qua trưởng thôn", "H3", ""]
    )
    rows.append(
        [
            "077096000333",
            "",
            "Lê Văn Năm",
            "1996",
            "Nam",
            "26560",
            "",
            "",
            "không có số riêng, gọi qua con",
            "",
            "",
        ]
    )
    run_import(settings, write_csv(tmp_path / "reg.csv", VI_HEADER, rows))
    got = citizens(engine)
    assert [got[p].phone for p in ("077090001234", "077190004321", "077203000111")] == [
        "0901000001",
        "0901000002",
        "0901000003",
    ]
    # Text that is no number is kept while it fits; the citizen is kept either way.
    assert (got["077095000222"].phone, got["077096000333"].phone) == ("gọi qua trưởng thôn", None)
    # Written otherwise the next time, the same numbers change nothing.
    rows[0][8], rows[1][8] = "0901.000.001", "0084901000002"
    r = run_import(settings, write_csv(tmp_path / "reg2.csv", VI_HEADER, rows))
    assert (r.updated, r.unchanged) == (0, 5)


@pytest.mark.db
def test_official_names_are_stored_exactly_and_highland_names_keep_their_parts(settings, engine, tmp_path):
    rows = [
        ["077190004322", "", "Đỗ Thị Thuý", "1990-07-02", "Nữ", "26560", "", "", "", "", ""],
        ["077190004323", "", "H\u2019Hen  Niê", "1990-01-02", "Nữ", "26560", "", "", "", "", ""],
        ["077190004324", "", "Ksor H'Bia", "1990-01-03", "Nữ", "26560", "", "", "", "", ""],
        ["077090004325", "", "Y Bih Aleo", "1990-01-02", "Nam", "26560", "", "", "", "", ""],
        ["077090004326", "", "Rơ Mah Hơ Ra", "1990-01-03", "Nam", "26560", "", "", "", "", ""],
    ]
    r = run_import(settings, write_csv(tmp_path / "reg.csv", VI_HEADER, rows))
    assert r.imported == 5
    got = {
        pid: (c.full_name, c.family_name, c.middle_name, c.given_name) for pid, c in citizens(engine).items()
    }
    assert got == {
        "077190004322": ("Đỗ Thị Thuý", "Đỗ", "Thị", "Thuý"),
        "077190004323": ("H\u2019Hen Niê", "Niê", "", "H\u2019Hen"),
        "077190004324": ("Ksor H'Bia", "Ksor", "", "H'Bia"),
        "077090004325": ("Y Bih Aleo", "Aleo", "", "Y Bih"),
        "077090004326": ("Rơ Mah Hơ Ra", "Rơ Mah", "", "Hơ Ra"),
    }
    assert citizens(engine)["077190004322"].name_key == "do thi thuy"


@pytest.mark.db
def test_same_snapshot_twice_changes_nothing(settings, engine, tmp_path):
    path = write_csv(tmp_path / "reg.csv", VI_HEADER, GOOD)
    run_import(settings, path)
    before = {k: (c.version, c.updated_at) for k, c in citizens(engine).items()}
    r = run_import(settings, path)
    assert (r.imported, r.updated, r.unchanged, r.rejected) == (0, 0, 3, 0)
    assert {k: (c.version, c.updated_at) for k, c in citizens(engine).items()} == before
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(CitizenAlias)) == 1
        assert s.scalar(select(func.count()).select_from(CitizenChange)) == 0


@pytest.mark.db
def test_newer_snapshot_updates_and_keeps_identity_history(settings, engine, tmp_path):
    run_import(settings, write_csv(tmp_path / "v1.csv", VI_HEADER, GOOD))
    newer = [row[:] for row in GOOD]
    newer[0][2] = "Nguyễn Văn Ân"  # corrected name
    newer.append(["077195000555", "", "Lê Thị Mai", "01/01/1995", "Nữ", "26554", "", "", "", "", ""])
    r = run_import(settings, write_csv(tmp_path / "v2.csv", VI_HEADER, newer))
    assert (r.imported, r.updated, r.unchanged, r.rejected) == (1, 1, 2, 0)
    got = citizens(engine)
    assert got["077090001234"].full_name == "Nguyễn Văn Ân" and got["077090001234"].version == 2
    with transaction(engine) as s:
        changes = s.execute(
            select(CitizenChange.field, CitizenChange.old_value, CitizenChange.new_value)
        ).all()
    assert changes == [("full_name", "Nguyễn Văn An", "Nguyễn Văn Ân")]


@pytest.mark.db
def test_bad_rows_are_rejected_with_line_and_reason_and_the_rest_goes_on(settings, engine, tmp_path):
    rows = [
        GOOD[0],
        ["07709000123", "", "Sai Độ Dài", "01/01/1990", "Nam", "26560", "", "", "", "", ""],  # 11 digits
        ["077190009999", "", "Nam Mà Lẻ", "01/01/1990", "Nam", "26560", "", "", "", "", ""],  # odd G = female
        ["077085009999", "", "Sai Năm", "01/01/1990", "Nam", "26560", "", "", "", "", ""],  # year 85 vs 1990
        ["077090007777", "", "Không Có Xã", "01/01/1990", "Nam", "99999", "", "", "", "", ""],  # unknown ward
        ["077090008888", "", "Ngày Sai", "31/02/1990", "Nam", "26560", "", "", "", "", ""],  # impossible date
        [
            "077090001234",
            "273456789",
            "Nguyễn Văn An",
            "15/03/1990",
            "Nam",
            "26560",
            "",
            "Số 1 Phước Trung",
            "0901000001",
            "H1",
            "nông dân",
        ],  # same row again
        ["077190006666", "", "Trùng Một", "01/01/1990", "Nữ", "26560", "", "", "", "", ""],
        [
            "077190006666",
            "",
            "Trùng Hai",
            "01/01/1990",
            "Nữ",
            "26560",
            "",
            "",
            "",
            "",
            "",
        ],  # same id, other person
        ["", "", "", "", "", "", "", "", "", "", ""],  # blank line: no record
        [
            "098090001111",
            "",
            "Sai Tỉnh",
            "01/01/1990",
            "Nam",
            "26560",
            "",
            "",
            "",
            "",
            "",
        ],  # prefix 098 unknown
        [
            "077090002222",
            "12345",
            "Cmnd Ngắn",
            "01/01/1990",
            "Nam",
            "26560",
            "",
            "",
            "",
            "",
            "",
        ],  # old id too short
        ["077090004444", "", "Địa Chỉ Dài", "01/01/1990", "Nam", "26560", "", "x" * 401, "", "", ""],
        ["077090005555", "", "Mã Hộ Dài", "01/01/1990", "Nam", "26560", "", "", "", "H" * 41, ""],
        [
            "077090006666",
            "",
            "Nguyễn " + "Văn " * 40 + "Dài",
            "01/01/1990",
            "Nam",
            "26560",
            "",
            "",
            "",
            "",
            "",
        ],
    ]
    path = write_csv(tmp_path / "reg.csv", VI_HEADER, rows)
    with path.open("a", encoding="utf-8") as f:
        f.write("077090003333,only,three\n")  # malformed: too few fields
    r = run_import(settings, path)
    assert r.rows == 15 and r.imported == 1 and r.rejected == 14 and r.balanced
    with r.rejects_file.open(encoding="utf-8") as f:
        rejects = {int(row["line"]): row["reasons"] for row in csv.DictReader(f)}
    assert rejects == {
        3: "ID_LENGTH",
        4: "ID_SEX_MISMATCH",
        5: "ID_BIRTH_YEAR_MISMATCH",
        6: "UNKNOWN_WARD",
        7: "BAD_DOB",
        8: "DUPLICATE_ROW",
        9: "DUPLICATE_ID_CONFLICT",
        10: "DUPLICATE_ID_CONFLICT",
        12: "ID_UNKNOWN_PLACE",
        13: "BAD_OLD_ID",
        14: "TOO_LONG",
        15: "TOO_LONG",
        16: "TOO_LONG",
        17: rejects[17],
    }
    assert rejects[17].startswith("MALFORMED_ROW;")
    assert set(citizens(engine)) == {"077090001234"}


@pytest.mark.db
def test_english_headers_parquet_and_xlsx_give_the_same_register(settings, engine, tmp_path):
    en = [
        "personal_id",
        "old_id",
        "full_name",
        "date_of_birth",
        "sex",
        "permanent_ward_code",
        "current_ward_code",
        "address",
        "phone",
        "household_id",
        "occupation",
    ]
    table = pa.table({h: [row[i] or None for row in GOOD] for i, h in enumerate(en)})
    pq.write_table(table, tmp_path / "reg.parquet")
    r = run_import(settings, tmp_path / "reg.parquet")
    assert (r.imported, r.rejected) == (3, 0)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append([h.upper() if h != "occupation" else h for h in en])  # extra columns keep their name
    for row in GOOD:
        ws.append([v or None for v in row])
    wb.save(tmp_path / "reg.xlsx")
    r = run_import(settings, tmp_path / "reg.xlsx")
    assert (r.imported, r.updated, r.unchanged, r.rejected) == (0, 0, 3, 0)


@pytest.mark.db
def test_a_file_without_required_columns_is_refused_whole(settings, engine, tmp_path):
    path = write_csv(tmp_path / "reg.csv", ["Họ và tên", "Ngày sinh"], [["A", "1990"]])
    with pytest.raises(InputError, match="personal_id"):
        run_import(settings, path)
    assert citizens(engine) == {}


@pytest.mark.db
def test_2025_units_are_checked_against_the_new_list(settings, engine, tmp_path):
    from vaxlink.domain.admin_units import Structure

    rows = [[*GOOD[0][:5], "26560", *GOOD[0][6:]], [*GOOD[2][:5], "26554", *GOOD[2][6:]]]
    r = run_import(settings, write_csv(tmp_path / "reg.csv", VI_HEADER, rows), units=Structure.CURRENT)
    # 26560 is Phường Bà Rịa after the reform; 26554 (Phước Nguyên) was merged into it and no longer exists.
    assert (r.imported, r.rejected, r.reasons) == (1, 1, {"UNKNOWN_WARD": 1})
    assert citizens(engine)["077090001234"].permanent_units == "2025"


@pytest.mark.db
def test_first_load_leaves_every_index_and_constraint_in_place(settings, engine, tmp_path):
    from sqlalchemy import inspect

    def schema() -> dict[str, tuple[set[str], set[str], set[str]]]:
        with engine.connect() as c:
            i = inspect(c)
            return {
                t: (
                    {ix["name"] for ix in i.get_indexes(t)},
                    {u["name"] for u in i.get_unique_constraints(t)},
                    {f["name"] for f in i.get_foreign_keys(t)},
                )
                for t in ("citizen", "citizen_alias")
            }

    before = schema()
    run_import(settings, write_csv(tmp_path / "reg.csv", VI_HEADER, GOOD))
    assert schema() == before
    if engine.dialect.name == "postgresql":
        with engine.begin() as c:
            c.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_visibility")
            # A first load into an empty database is copied frozen.
            assert (
                c.exec_driver_sql("SELECT all_frozen FROM pg_visibility_map_summary('citizen')").scalar() >= 1
            )
    with transaction(engine) as s:
        # The unique key is enforced again after the load.
        assert s.scalar(select(func.count()).select_from(Citizen)) == 3
        with pytest.raises(Exception, match=r"(?i)unique"), s.begin_nested():
            first = s.scalars(select(Citizen)).first()
            s.execute(
                Citizen.__table__.insert().values(
                    {c.name: getattr(first, c.key) for c in Citizen.__table__.columns if c.name != "id"}
                )
            )


def _register_version(engine) -> int:
    from vaxlink.storage.db import transaction as tx
    from vaxlink.storage.register_log import current_version

    with tx(engine) as s:
        return current_version(s.connection()).version


def _snapshot(engine) -> dict[str, object]:
    from vaxlink.storage.models import RegisterImport

    with transaction(engine) as s:
        return {
            "citizens": sorted(
                (c.personal_id, c.full_name, c.version, c.row_hash) for c in s.scalars(select(Citizen))
            ),
            "aliases": sorted(s.execute(select(CitizenAlias.alias, CitizenAlias.citizen_id)).all()),
            "changes": s.scalar(select(func.count()).select_from(CitizenChange)),
            "imports": s.scalar(select(func.count()).select_from(RegisterImport)),
        }


@pytest.mark.db
@pytest.mark.parametrize("fail_at", ["load", "register_changed"])
def test_a_failed_import_leaves_the_register_as_it_was_and_runs_again_without_loss_or_duplicates(
    settings, engine, tmp_path, monkeypatch, fail_at
):
    from vaxlink.services.reconciliation import registry_import as ri

    class Killed(Exception):
        pass

    def arm() -> None:
        real_load, real_changed = ri.bulk.load_batches, ri.register_changed

        def load(conn, table, *a, **kw):  # type: ignore[no-untyped-def]
            n = real_load(conn, table, *a, **kw)
            # After the aliases of a first load (its citizens already written) or the staged rows of a merge.
            if fail_at == "load" and table in ("citizen_alias", "citizen_stage"):
                raise Killed
            return n

        def changed(conn, ids):  # type: ignore[no-untyped-def]
            real_changed(conn, ids)
            raise Killed

        monkeypatch.setattr(ri.bulk, "load_batches", load)
        monkeypatch.setattr(
            ri, "register_changed", changed if fail_at == "register_changed" else real_changed
        )

    newer = [row[:] for row in GOOD]
    newer[0][2] = "Nguyễn Văn Ân"
    newer.append(["077195000555", "272000555", "Lê Thị Mai", "01/01/1995", "Nữ", "26554", "", "", "", "", ""])
    first, second = (
        write_csv(tmp_path / "v1.csv", VI_HEADER, GOOD),
        write_csv(tmp_path / "v2.csv", VI_HEADER, newer),
    )

    # A first load (into an empty register) fails part-way: nothing of it stays, and no version is raised.
    empty, v0 = _snapshot(engine), _register_version(engine)
    arm()
    with pytest.raises(Killed):
        run_import(settings, first)
    assert _snapshot(engine) == empty and _register_version(engine) == v0
    monkeypatch.undo()
    r = run_import(settings, first)
    assert (r.imported, r.updated, r.unchanged, r.rejected) == (3, 0, 0, 0)
    loaded, v1 = _snapshot(engine), _register_version(engine)
    assert v1 > v0 and len(loaded["citizens"]) == 3 and len(loaded["aliases"]) == 1  # type: ignore[arg-type]

    # A later snapshot (one changed, one new) fails part-way: the register is the first snapshot's.
    arm()
    with pytest.raises(Killed):
        run_import(settings, second)
    assert _snapshot(engine) == loaded and _register_version(engine) == v1
    monkeypatch.undo()
    r = run_import(settings, second)
    assert (r.imported, r.updated, r.unchanged, r.rejected) == (1, 1, 2, 0)
    after, v2 = _snapshot(engine), _register_version(engine)
    assert v2 > v1
    assert len(after["citizens"]) == 4 and after["changes"] == 1 and len(after["aliases"]) == 2  # type: ignore[arg-type]
    # Run once more: the unchanged snapshot stages nothing, changes nothing and leaves the version alone.
    r = run_import(settings, second)
    assert (r.imported, r.updated, r.unchanged) == (0, 0, 4)
    assert {k: v for k, v in _snapshot(engine).items() if k != "imports"} == {
        k: v for k, v in after.items() if k != "imports"
    }
    assert _register_version(engine) == v2
