"""A ward written in the legacy structure and one written in the 2025 structure: the same place when the old
ward went (wholly or in part) into the new one. The domain's rule and the matcher's SQL mirror of it agree."""

from __future__ import annotations

from datetime import date

import duckdb
import pyarrow as pa
import pytest

from vaxlink.domain.admin_units import AdminUnits, Structure, admin_units
from vaxlink.matching.prepare import _targets_sql, prepare_records, unit_tables
from vaxlink.matching.spec import MatchSpec
from vaxlink.services.workbench.case_view import compare
from vaxlink.storage.models import Citizen, DoseRecord

L, N = Structure.LEGACY, Structure.CURRENT


@pytest.fixture(scope="module")
def units() -> AdminUnits:
    return admin_units()


@pytest.mark.parametrize(
    ("a", "sa", "b", "sb", "same"),
    [
        ("26554", L, "26554", L, True),
        ("26554", L, "26557", L, False),
        # Phước Nguyên, Long Toàn and Phước Trung went whole into Bà Rịa, which kept Phước Trung's code.
        ("26554", L, "26560", N, True),
        ("26557", L, "26560", N, True),
        ("26560", L, "26560", N, True),
        ("26560", N, "26554", L, True),
        # Long Sơn stayed itself.
        ("26545", L, "26560", N, False),
        ("26545", L, "26545", N, True),
        # A code of one list is not the same ward in the other unless the table says so.
        ("26554", N, "26554", L, False),
        # The structure of either not known: the codes as written.
        ("26554", None, "26554", N, True),
        ("26554", None, "26560", N, False),
        # Codes as spreadsheets write them.
        ("26554.0", L, 26560, N, True),
        (None, L, "26560", N, False),
        ("", L, "26560", N, False),
    ],
)
def test_same_ward(
    units: AdminUnits, a: object, sa: Structure | None, b: object, sb: Structure | None, same: bool
) -> None:
    assert units.same_ward(a, sa, b, sb) is same  # type: ignore[arg-type]
    assert units.same_ward(b, sb, a, sa) is same  # type: ignore[arg-type]


def test_split_ward_is_each_of_its_parts(units: AdminUnits) -> None:
    """A legacy ward split across several 2025 wards is the same place as each of them, and no other."""
    old, targets = next((o, t) for o, t in sorted(units.ward_targets().items()) if len(t) >= 2)
    for new in targets:
        assert units.same_ward(old, L, new, N)
    province = units.ward(old, L).province_code  # type: ignore[union-attr]
    others = [
        w.code
        for w in units.wards(N)
        if w.code not in targets and province in units.convert_province(province)
    ]
    for new in others[:50]:
        assert not units.same_ward(old, L, new, N)


def _pairs(units: AdminUnits) -> list[tuple[str, str, str, str]]:
    """Every legacy ward of Bà Rịa–Vũng Tàu and a sample of split ones, against every 2025 ward of the provinces
    they went into: all the agreements there are, and many more disagreements, both ways round."""
    targets = units.ward_targets()
    legacy = [w.code for w in units.wards_of("77", L)]
    legacy += [o for o, t in sorted(targets.items()) if len(t) > 1][::10]
    provinces = {units.ward(t, N).province_code for o in legacy for t in targets.get(o, ())}  # type: ignore[union-attr]
    current = [w.code for p in sorted(provinces) for w in units.wards_of(p, N)]
    out = [(o, "legacy", n, "2025") for o in legacy for n in current]
    return out + [(n, "2025", o, "legacy") for o, _, n, _ in out[::7]]


def test_the_matcher_sql_mirrors_the_domain(units: AdminUnits) -> None:
    pairs = _pairs(units)
    con = duckdb.connect()
    assert len(pairs) > 10_000
    unit_tables(con)
    columns = list(zip(*pairs, strict=True))
    con.register(
        "p",
        pa.table({"i": range(len(pairs)), **{k: columns[j] for j, k in enumerate(("rw", "ru", "cw", "cu"))}}),
    )
    con.execute(f"""CREATE TABLE r AS SELECT p.i, p.rw AS ward, p.ru AS ward_units,
        {_targets_sql("t", "p.ru")} AS ward_targets FROM p LEFT JOIN ward_targets t ON t.ward = p.rw""")
    # The citizen's permanent ward is a ward of nowhere: the current one alone decides.
    con.execute(f"""CREATE TABLE c AS SELECT p.i, p.cw AS ward, p.cu AS ward_units,
        {_targets_sql("t", "p.cu")} AS ward_targets, '99999' AS home_ward, 'legacy' AS home_units,
        CAST(NULL AS VARCHAR[]) AS home_targets FROM p LEFT JOIN ward_targets t ON t.ward = p.cw""")
    ward = MatchSpec().comparison("ward")
    got = dict(con.execute(f"SELECT r.i, {ward.case_sql()} = 'WARD_SAME' FROM r JOIN c USING (i)").fetchall())
    want = {i: units.same_ward(a, sa, b, sb) for i, (a, sa, b, sb) in enumerate(pairs)}
    assert sum(want.values()) >= 100  # the sample holds agreements, not only disagreements
    assert got == want


@pytest.mark.parametrize(
    ("dose_ward", "dose_units", "citizen_ward", "citizen_units", "differs", "shown"),
    [
        ("26554", "legacy", "26560", "2025", False, ("Phường Phước Nguyên (26554)", "Phường Bà Rịa (26560)")),
        ("26545", "legacy", "26560", "2025", True, ("Xã Long Sơn (26545)", "Phường Bà Rịa (26560)")),
        (
            "26560",
            "legacy",
            "26560",
            "legacy",
            False,
            ("Phường Phước Trung (26560)", "Phường Phước Trung (26560)"),
        ),
        (
            "26554",
            "legacy",
            "26560",
            "legacy",
            True,
            ("Phường Phước Nguyên (26554)", "Phường Phước Trung (26560)"),
        ),
        ("99999", None, "26560", "2025", True, ("99999", "Phường Bà Rịa (26560)")),
    ],
)
def test_the_case_page_compares_wards_in_their_structures(
    dose_ward: str,
    dose_units: str | None,
    citizen_ward: str,
    citizen_units: str,
    differs: bool,
    shown: tuple[str, str],
) -> None:
    """The officer's comparison row: each ward by its name in its own structure, flagged only when it differs."""
    dose = DoseRecord(
        full_name="Phạm Minh Đức", date_of_birth="03/02/1990", ward_code=dose_ward, ward_units=dose_units
    )
    citizen = Citizen(
        full_name="Phạm Minh Đức",
        birth_date=date(1990, 2, 3),
        birth_precision="day",
        birth_year=1990,
        sex="M",
        personal_id="077090000301",
        current_ward_code=citizen_ward,
        current_units=citizen_units,
    )
    row = next(r for r in compare(dose, citizen) if r.field == "ward_code")
    assert (row.health, row.registered) == shown
    assert row.differs is differs


def test_the_same_code_in_two_structures_is_two_identities() -> None:
    """Records equal but for their ward's structure are matched apart; the structure not known is the legacy."""
    con = duckdb.connect()
    rows = [("26560", "legacy"), ("26560", None), ("26560", "2025"), ("26554", "legacy")]
    con.register(
        "rec_in",
        pa.table(
            {
                "rec_id": list(range(1, len(rows) + 1)),
                "full_name": ["Phạm Minh Đức"] * len(rows),
                "date_of_birth": ["03/02/1990"] * len(rows),
                "sex": ["Nam"] * len(rows),
                "id_number": [None] * len(rows),
                "phone": [None] * len(rows),
                "ward_code": [w for w, _ in rows],
                "ward_units": [u for _, u in rows],
            }
        ),
    )
    prepare_records(con, "rec_in")
    ident = dict(con.execute("SELECT rec_id, ident_id FROM rec_map").fetchall())
    assert ident[1] == ident[2]
    assert len({ident[1], ident[3], ident[4]}) == 3
