"""The prepared register kept on disk: a batch matched against the citizens it reaches decides as it would
against the whole register, and a register patched with its changed citizens is the register prepared anew."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from vaxlink.matching import register_store
from vaxlink.matching.prepare import prepare_records, prepare_register
from vaxlink.matching.run import run_matching
from vaxlink.matching.spec import MatchSpec
from vaxlink.simulation import simulate
from vaxlink.simulation.inputs import matcher_inputs


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[pa.Table, pa.Table, pa.Table]:
    out = tmp_path_factory.mktemp("register-store")
    simulate(out, province="77", citizens=3000, seed=5, file_format="parquet")
    return matcher_inputs(out)


def _register(con: duckdb.DuckDBPyConnection, register: pa.Table, aliases: pa.Table) -> None:
    con.register("reg_in", register)
    con.register("alias_in", aliases)
    prepare_register(con, "reg_in", "alias_in")
    con.execute(
        "CREATE OR REPLACE TABLE reg_home AS SELECT citizen_id, current_ward_code AS ward, 'legacy' AS units "
        "FROM reg_in"
    )


def _decided(con: duckdb.DuckDBPyConnection) -> dict[int, tuple[Any, ...]]:
    rows = con.execute("""
        SELECT m.rec_id, c.outcome, c.best_citizen_id, c.second_citizen_id, c.n_candidates, c.id_level,
               c.name_level, c.dob_level, c.reasons, c.blame, c.best_weight, c.wrong_link,
               (SELECT list(citizen_id ORDER BY rank) FROM ranked k WHERE k.ident_id = c.ident_id)
        FROM rec_map m JOIN classified c USING (ident_id)""").fetchall()
    return {r[0]: r[1:] for r in rows}


@pytest.mark.parametrize("keys", ["kept", "unwritable"])
def test_a_batch_read_from_the_kept_register_decides_as_against_the_whole_one(
    inputs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keys: str
):
    # "unwritable": the register's keys cannot be written beside it (here a directory that is not there; a
    # full disk or a read-only store alike): the batch makes them for itself, and decides the same.
    register, aliases, records = inputs
    batch = records.slice(records.num_rows - 2500)
    spec = MatchSpec()
    if keys == "unwritable":
        kept_at = register_store.keys_file
        monkeypatch.setattr(
            register_store,
            "keys_file",
            lambda stored, spec: stored.path / "not-there" / kept_at(stored, spec).name,
        )

    whole = duckdb.connect()
    _register(whole, register, aliases)
    stored = register_store.save(whole, tmp_path, "d", 3, "t")
    whole.register("rec_in", batch)
    prepare_records(whole, "rec_in")
    full = run_matching(whole, spec)

    part = duckdb.connect()
    part.register("rec_in", batch)
    prepare_records(part, "rec_in")
    read = register_store.load_reached(part, stored, spec)
    kept = run_matching(part, spec)

    assert register_store.find(tmp_path, "d", (3, "t")) == stored
    assert stored.citizens == register.num_rows and read < register.num_rows
    assert part.execute("SELECT total FROM reg_size").fetchall() == [(register.num_rows,)]
    assert kept.spec is not None and full.spec is not None
    assert "skipped" not in kept.spec.extra["estimation"]
    assert kept.spec.to_dict() == full.spec.to_dict()
    assert _decided(part) == _decided(whole)
    written = sorted(p.name for p in stored.path.rglob("reg_keys-*"))
    assert written == ([register_store.keys_file(stored, spec).name] if keys == "kept" else [])
    assert not part.execute("SELECT * FROM duckdb_tables() WHERE table_name = '_reg_keys_read'").fetchall()


def test_a_patched_register_is_the_register_prepared_anew(inputs, tmp_path: Path):
    register, aliases, _ = inputs
    old = duckdb.connect()
    _register(old, register, aliases)
    stored = register_store.save(old, tmp_path, "d", 1, "a")

    # Three citizens change (a name, a phone, a birth date), one leaves the register.
    changed = [5, 17, 230]
    names = register["full_name"].to_pylist()
    names[4] = "Phạm Quốc Trung"
    phones = register["phone"].to_pylist()
    phones[16] = "0912345678"
    now = register.set_column(register.schema.get_field_index("full_name"), "full_name", pa.array(names))
    now = now.set_column(now.schema.get_field_index("phone"), "phone", pa.array(phones))
    births = now["birth_date"].to_pylist()
    births[229] = births[0]
    now = now.set_column(
        now.schema.get_field_index("birth_date"), "birth_date", pa.array(births, pa.date32())
    )
    now = now.filter(pc.not_equal(now["citizen_id"], 999))

    fresh = duckdb.connect()
    _register(fresh, now, aliases)

    patched = duckdb.connect()
    ids = pa.array([*changed, 999], pa.int64())
    patched.register("changed_ids", pa.table({"citizen_id": ids}))
    patched.register("changed_in", now.filter(pc.is_in(now["citizen_id"], ids)))
    patched.register("changed_alias_in", aliases.filter(pc.is_in(aliases["citizen_id"], ids)))
    patched.execute(
        "CREATE TABLE changed_home AS SELECT citizen_id, current_ward_code AS ward, 'legacy' AS units FROM changed_in"
    )
    register_store.patch(
        patched,
        stored,
        "SELECT citizen_id FROM changed_ids",
        "changed_in",
        "changed_alias_in",
        "changed_home",
    )

    for table in ("reg", "reg_alias", "reg_home", "reg_size"):
        order = "ORDER BY ALL"
        assert (
            patched.execute(f"SELECT * FROM {table} {order}").fetchall()
            == fresh.execute(f"SELECT * FROM {table} {order}").fetchall()
        ), table
    assert patched.execute("SELECT full_name FROM reg WHERE citizen_id = 5").fetchall() == [
        ("Phạm Quốc Trung",)
    ]


_REGISTER_SCHEMA = pa.schema(
    [
        ("citizen_id", pa.int64()),
        ("personal_id", pa.string()),
        ("full_name", pa.string()),
        ("birth_date", pa.date32()),
        ("birth_precision", pa.string()),
        ("birth_year", pa.int32()),
        *((c, pa.string()) for c in ("sex", "current_ward_code", "permanent_ward_code", "phone")),
        *((c, pa.string()) for c in ("household_id", "address")),
    ]
)


def _citizen(cid: int, name: str, born: date, precision: str, pid: str) -> dict[str, Any]:
    return {
        "citizen_id": cid,
        "personal_id": pid,
        "full_name": name,
        "birth_date": born,
        "birth_precision": precision,
        "birth_year": born.year,
        "sex": "M",
        "current_ward_code": "26506",
        "permanent_ward_code": "26506",
        "phone": None,
        "household_id": f"h{cid}",
        "address": None,
    }


def _whole_and_kept(
    tmp_path: Path, register: pa.Table, aliases: pa.Table, records: pa.Table
) -> tuple[duckdb.DuckDBPyConnection, duckdb.DuckDBPyConnection, set[int], int]:
    """The records matched against the whole register and against what the kept register reads for them, one
    citizen drawn for the random pairs (so that the others are read for their keys alone): both connections,
    the citizens read, and the one drawn."""
    spec = replace(MatchSpec(), random_pairs=1)
    whole = duckdb.connect()
    _register(whole, register, aliases)
    stored = register_store.save(whole, tmp_path, "d", 1, "t")
    random_one = whole.execute(
        "SELECT citizen_id FROM reg ORDER BY hash(citizen_id), citizen_id LIMIT 1"
    ).fetchall()
    whole.register("rec_in", records)
    prepare_records(whole, "rec_in")
    run_matching(whole, spec)

    part = duckdb.connect()
    part.register("rec_in", records)
    prepare_records(part, "rec_in")
    register_store.load_reached(part, stored, spec)
    read = {r[0] for r in part.execute("SELECT citizen_id FROM reg").fetchall()}
    run_matching(part, spec)
    return whole, part, read, int(random_one[0][0])


def test_a_rule_s_own_filters_bound_the_citizens_read_for_it(tmp_path: Path):
    # A record whose birth date is known to the year reaches its citizen only by the rule of imprecise
    # records' dates; a citizen whose birth date is known to the year is reached only by the rule of
    # imprecise citizens' dates. Each must be read; the citizens sharing their name and year but no rule's
    # filter are not.
    people = [
        _citizen(1, "Trần Văn Bình", date(1980, 5, 12), "day", "077080000001"),
        _citizen(2, "Lê Thị Hoa", date(1990, 1, 1), "year", "077190000002"),
        _citizen(3, "Lê Thị Hoa", date(1990, 8, 15), "day", "077190000003"),
        *(
            _citizen(
                10 + i,
                f"Phạm Văn Tài {chr(65 + i)}",
                date(1960 + i, 3, 3),
                "day",
                f"0770{60 + i}00000{i:02d}",
            )
            for i in range(8)
        ),
    ]
    register = pa.Table.from_pylist(people, schema=_REGISTER_SCHEMA)
    aliases = pa.table(
        {
            "citizen_id": pa.array([], pa.int64()),
            "alias": pa.array([], pa.string()),
            "kind": pa.array([], pa.string()),
        }
    )
    records = pa.table(
        {
            "rec_id": pa.array([1, 2], pa.int64()),
            "full_name": ["Trần Văn Bình", "Lê Thị Hoa"],
            "date_of_birth": ["1980", "20/03/1990"],
            "sex": ["Nam", "Nữ"],
            "id_number": [None, None],
            "phone": [None, None],
            "ward_code": ["26506", "26506"],
            "address": [None, None],
        },
        schema=pa.schema(
            [("rec_id", pa.int64())]
            + [
                (c, pa.string())
                for c in ("full_name", "date_of_birth", "sex", "id_number", "phone", "ward_code", "address")
            ]
        ),
    )
    whole, part, read, random_one = _whole_and_kept(tmp_path, register, aliases, records)
    assert read == {1, 2, random_one} | ({3} if random_one == 3 else set())
    assert _decided(part) == _decided(whole)


@pytest.mark.parametrize("number", ["077070000803", "273000803"])
def test_a_relative_s_number_reaches_the_household_it_names(tmp_path: Path, number: str):
    # Lâm's number (or his old CMND) on his daughter's record, her name with a slip, her birth date, vaccinated
    # in another province: no rule on her name or her ward finds her; the household of the number's holder does
    # (and him by the number itself). Both are read from the kept register, and nobody else of the register.
    father = {**_citizen(1, "Nguyễn Văn Lâm", date(1970, 3, 12), "day", "077070000803"), "household_id": "h8"}
    daughter = {
        **_citizen(2, "Nguyễn Thị Lan", date(2010, 1, 6), "day", "077310000804"),
        "household_id": "h8",
    }
    daughter["sex"] = "F"
    others = [
        _citizen(
            10 + i, f"Phạm Văn Tài {chr(65 + i)}", date(1960 + i, 3, 3), "day", f"0770{60 + i}00000{i:02d}"
        )
        for i in range(8)
    ]
    register = pa.Table.from_pylist([father, daughter, *others], schema=_REGISTER_SCHEMA)
    aliases = pa.table({"citizen_id": pa.array([1], pa.int64()), "alias": ["273000803"], "kind": ["cmnd"]})
    names = ("full_name", "date_of_birth", "sex", "id_number", "phone", "ward_code", "address")
    records = pa.table(
        {
            "rec_id": pa.array([1], pa.int64()),
            "full_name": ["Nguyễn Thị Lanh"],
            "date_of_birth": ["06/01/2010"],
            "sex": ["Nữ"],
            "id_number": [number],
            "phone": [None],
            "ward_code": ["00004"],
            "address": [None],
        },
        schema=pa.schema([("rec_id", pa.int64())] + [(c, pa.string()) for c in names]),
    )
    whole, part, read, random_one = _whole_and_kept(tmp_path, register, aliases, records)
    assert {r[0] for r in whole.execute("SELECT citizen_id FROM pairs").fetchall()} == {1, 2}
    assert read == {1, 2, random_one}
    assert _decided(part) == _decided(whole)
