"""The register import's set-based names equal the per-row rules: the stored spelling and its parts are
`official_name` and `split_name`, and the matching key is `fold_name`, whatever the name looks like."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vaxlink.domain.names import fold_name, official_name, split_name
from vaxlink.matching.normalise import name_table
from vaxlink.services.reconciliation.registry_import import official_names

TRICKY = [
    "H'Hen Niê",
    "H\u2019Hen  Niê",
    "h'hen niê",
    "Ksor H'Bia",
    "KSOR H'BIA",
    "Y Bih Aleo",
    "y Bih Aleo",
    "Y'Hin Mlô",
    "Rơ Mah Hơ Ra",
    "Ro Mah Ho Ra",
    "Rơ Mah",
    "Siu Đen",
    "Siu",
    "An",
    "  Nguyễn  ",
    "Nguyễn Thị Thu Hà",
    "NGUYỄN  thị hoà",
    "Nguye\u0302\u0303n Thi\u0323 Hoa\u0300",  # decomposed (NFD) marks
    "Đỗ Thị Thuý",
    "Đỗ Thị Thúy",
    "Lý Thị Mỹ",
    "Lí Thị Mĩ",
    "Trần\u00a0Văn\u3000Khôi",
    "Lê\tVăn\u2003Tám",
    "Âu Dương Phong",
    "Tôn Nữ Thị Ngọc",
    "Phan-Lê Quý",
    "O'Neil Hoàng",
]
WORDS = [
    "H'Hen",
    "H\u2019Bia",
    "Y",
    "y",
    "Ksor",
    "Siu",
    "Rơ",
    "Mah",
    "Niê",
    "Nguyễn",
    "NGUYEN",
    "Thị",
    "Thuỷ",
    "Thủy",
    "Lý",
    "Lí",
    "Mỹ",
    "Đức",
    "đức",
    "A-Lăng",
    "Hoa\u0300",
]
SPACES = [" ", "  ", "\u00a0", "\t", " \u3000 ", "\u2009"]
names_st = st.lists(
    st.tuples(st.sampled_from(SPACES), st.sampled_from(WORDS), st.sampled_from(SPACES)),
    min_size=1,
    max_size=5,
).map(lambda parts: "".join(a + w + b for a, w, b in parts))


def _set_based(values: list[str]) -> dict[str, tuple[str, str, str, str, str]]:
    con = duckdb.connect()
    con.register("src", pa.table({"v": values}))
    official_names(con, "SELECT v FROM src", "o")
    name_table(con, "SELECT v FROM src", "n")
    rows = con.execute(
        "SELECT o.value, o.name, o.family, o.middle, o.given, n.name_key FROM o JOIN n USING (value)"
    ).fetchall()
    # Its working tables are not left behind in the caller's database.
    assert not {r[0] for r in con.execute("SHOW TABLES").fetchall()} & {"o_spelling", "o_layout"}
    return {r[0]: r[1:] for r in rows}


def _per_row(v: str) -> tuple[str, str, str, str, str]:
    parts = split_name(v)
    return official_name(v), parts.family, parts.middle, parts.given, fold_name(v)


@pytest.mark.parametrize("name", TRICKY)
def test_tricky_names_divide_as_the_per_row_rules(name: str) -> None:
    assert _set_based([name, name, "Nguyễn Văn An"])[name] == _per_row(name)


def test_highland_names_keep_their_parts() -> None:
    got = _set_based(["H'Hen Niê", "Ksor H'Bia", "Rơ Mah Hơ Ra", "Y Bih Aleo", "An"])
    assert got["H'Hen Niê"][1:4] == ("Niê", "", "H'Hen")
    assert got["Ksor H'Bia"][1:4] == ("Ksor", "", "H'Bia")
    assert got["Rơ Mah Hơ Ra"][1:4] == ("Rơ Mah", "", "Hơ Ra")
    assert got["Y Bih Aleo"][1:4] == ("Aleo", "", "Y Bih")
    assert got["An"][1:4] == ("", "", "An")
    # i and y are one letter for matching: the keys agree where the spellings do not.
    keys = _set_based(["Lý Thị Mỹ", "Lí Thị Mĩ"])
    assert keys["Lý Thị Mỹ"][4] == keys["Lí Thị Mĩ"][4]
    assert keys["Lý Thị Mỹ"][0] != keys["Lí Thị Mĩ"][0]


@settings(max_examples=40, deadline=None)
@given(st.lists(names_st, min_size=1, max_size=20))
def test_generated_names_divide_as_the_per_row_rules(values: list[str]) -> None:
    got = _set_based(values)
    for v in set(values):
        assert got[v] == _per_row(v), v
