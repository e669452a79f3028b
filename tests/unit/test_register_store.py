"""The prepared register kept on disk: a batch matched against the citizens it reaches decides as it would
against the whole register, and a register patched with its changed citizens is the register prepared anew."""

from __future__ import annotations

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


def test_a_batch_read_from_the_kept_register_decides_as_against_the_whole_one(inputs, tmp_path: Path):
    register, aliases, records = inputs
    batch = records.slice(records.num_rows - 2500)
    spec = MatchSpec()

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
