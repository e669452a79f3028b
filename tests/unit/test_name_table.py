"""The word-by-word SQL assembly of name keys equals the domain's rules applied to whole names."""

from __future__ import annotations

import duckdb
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from vaxlink.domain.names import canonical_name, canonical_parts, fold_name, has_diacritics, read_telex
from vaxlink.matching.normalise import name_table

SYLLABLES = [
    "Nguyễn",
    "NGUYEN",
    "nguyễn",
    "Thị",
    "thi",
    "Hoà",
    "Hòa",
    "Thuỷ",
    "Đức",
    "duc",
    "Văn",
    "Ánh",
    "Anh",
    "Hưng",
    "Hùng",
    "Ngọc",
    "Quyên",
    "Gia",
    "Khoẻ",
    "O'Neil",
    "Lê.",
    "A-Lăng",
    "x",
    "Trần",
    # Typed in Telex with the input method off.
    "Nguyeenx",
    "Hoangf",
    "Taam",
    "Ddinhf",
]
SPACES = [" ", "  ", "\u00a0", "\t", " \u3000 "]
names_st = st.lists(
    st.tuples(st.sampled_from(SYLLABLES), st.sampled_from(SPACES)), min_size=0, max_size=5
).map(lambda parts: "".join(w + s for w, s in parts))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.one_of(names_st, st.text(max_size=12)), min_size=1, max_size=30))
def test_sql_assembly_equals_domain(values: list[str]) -> None:
    con = duckdb.connect()
    con.register("src", pa.table({"v": values}))
    name_table(con, "SELECT v FROM src", "t")
    got = {
        r[0]: r[1:]
        for r in con.execute(
            "SELECT value, canonical, name_key, family, middle, given, sorted_key, has_marks FROM t"
        ).fetchall()
    }
    for v in set(values):
        read = read_telex(v)
        canon = canonical_name(read)
        if not canon:
            assert v not in got
            continue
        parts = canonical_parts(read)
        key = fold_name(read)
        assert got[v] == (
            canon,
            key,
            parts.family,
            parts.middle,
            parts.given,
            " ".join(sorted(key.split())),
            has_diacritics(canon),
        ), v
