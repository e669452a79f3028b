"""The first batch into an empty database takes the bulk path: its tables' secondary keys dropped and built
once after the load, the statuses and the records' figures counted in DuckDB from the batch's own tables.
What it leaves must be exactly what the general path leaves: the same keys, the statuses `refresh_status`
computes, the figures a recomputation gives."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, inspect, text

from tests.figures import differences, differing_cells, from_scratch, kept
from vaxlink.services.figures.status import refresh_status
from vaxlink.services.reconciliation import dose_ingest
from vaxlink.services.reconciliation.dose_ingest import ingest_batch
from vaxlink.services.reconciliation.registry_import import import_register
from vaxlink.settings import Settings
from vaxlink.storage.db import transaction
from vaxlink.storage.deferred_keys import DeferredKeys, deferred_keys

STATUS = "SELECT citizen_id, doses, first_dose_date, last_dose_date, complete_date, boosters, status FROM citizen_status ORDER BY citizen_id"


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from vaxlink.simulation import simulate

    out = tmp_path_factory.mktemp("first-batch-province")
    simulate(out, province="77", citizens=1500, seed=11)
    return out


def _keys(conn: Connection) -> list[tuple[object, ...]]:
    """The tables' indexes, keys and foreign keys (theirs and those resting on them), as the database
    describes them (names, columns, uniqueness, partial or not): their definitions' text is PostgreSQL's
    own rendering, which may spell a predicate it parsed again differently."""
    found = inspect(conn)
    shape: list[tuple[object, ...]] = []
    for t in dose_ingest.FIRST_LOAD_TABLES:
        shape += sorted(
            (t, i["name"], tuple(i["column_names"]), i["unique"], bool(i.get("dialect_options")))
            for i in found.get_indexes(t)
        )
        shape += sorted((t, u["name"], tuple(u["column_names"])) for u in found.get_unique_constraints(t))
        shape += sorted(
            (t, f["name"], tuple(f["constrained_columns"]), f["referred_table"])
            for f in found.get_foreign_keys(t)
        )
        pk = found.get_pk_constraint(t)
        shape.append((t, pk["name"], tuple(pk["constrained_columns"])))
    # The foreign keys of other tables that rest on their keys.
    shape += sorted(
        (t, f["name"], tuple(f["constrained_columns"]), f["referred_table"])
        for t in found.get_table_names()
        for f in found.get_foreign_keys(t)
        if f["referred_table"] in dose_ingest.FIRST_LOAD_TABLES
    )
    return shape


def _first_batch(province: Path, tmp_path: Path) -> Path:
    """The simulated doses, with a record sent twice in the file (its first row superseded), one that
    cannot be read (rejected), and every other kind the simulator makes (linked, review, unmatched)."""
    with (province / "doses.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    col = {name: i for i, name in enumerate(header)}
    again = list(body[0])
    again[col["vaccination_date"]] = "03/02/2022"
    broken = list(body[1])
    broken[col["record_id"]] = "broken-1"
    broken[col["vaccination_date"]] = "not a date"
    path = tmp_path / "first.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows([*body, again, broken])
    return path


@pytest.fixture
def registered(settings: Settings, engine: Engine, tmp_path: Path, province: Path) -> Path:
    """The province's register imported into the empty database; its dose file, as a first batch."""
    with transaction(engine) as s:
        import_register(s, settings, province / "register.csv", rejects_path=tmp_path / "rej.csv")
    return _first_batch(province, tmp_path)


@pytest.mark.db
def test_a_first_batch_leaves_what_the_general_path_leaves(
    settings: Settings, engine: Engine, registered: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with engine.connect() as conn:
        keys_before = _keys(conn)
    assert len(keys_before) >= 4, "the tables have secondary keys to defer"
    bulk_statuses = []
    original = dose_ingest.write_every_status

    def spy(conn, duck, doses):  # type: ignore[no-untyped-def]
        bulk_statuses.append(original(conn, duck, doses))
        return bulk_statuses[-1]

    monkeypatch.setattr(dose_ingest, "write_every_status", spy)
    with transaction(engine) as s:
        r = ingest_batch(s, settings, registered, source="health")
    assert r.counts["superseded"] == 1 and r.counts["rejected"] >= 1
    assert r.counts["linked"] > 1000 and r.counts["review"] + r.counts["unmatched"] > 0
    # The bulk path was taken, and wrote a status for every citizen with a linked dose.
    assert len(bulk_statuses) == 1 and bulk_statuses[0] > 500

    with engine.connect() as conn:
        assert _keys(conn) == keys_before
        written = conn.execute(text(STATUS)).all()
        before = kept(conn)
        scratch = from_scratch(conn)
    assert differing_cells(before, scratch) == {t: 0 for t in before}, differences(before, scratch)
    with engine.connect() as conn, conn.begin() as tx:
        refresh_status(conn)
        assert conn.execute(text(STATUS)).all() == written
        tx.rollback()


@pytest.mark.db
def test_a_second_batch_takes_the_general_path(
    settings: Settings, engine: Engine, tmp_path: Path, registered: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = registered
    with transaction(engine) as s:
        ingest_batch(s, settings, first, source="health")

    def refused(*_a, **_k):  # type: ignore[no-untyped-def]
        raise AssertionError("a batch after the first must not take the first batch's path")

    monkeypatch.setattr(dose_ingest, "write_every_status", refused)
    monkeypatch.setattr(dose_ingest, "deferred_keys", refused)
    second = tmp_path / "second.csv"
    second.write_text(first.read_text(encoding="utf-8").replace("03/02/2022", "04/02/2022"), encoding="utf-8")
    with transaction(engine) as s:
        r = ingest_batch(s, settings, second, source="health")
    assert r.counts["superseded"] + r.counts["linked"] + r.counts["review"] + r.counts["unmatched"] >= 1


@pytest.mark.db
def test_a_failed_load_leaves_the_keys_as_they_were(engine: Engine) -> None:
    with engine.connect() as conn:
        before = _keys(conn)
    with (
        pytest.raises(RuntimeError),
        engine.connect() as conn,
        conn.begin(),
        deferred_keys(conn, dose_ingest.FIRST_LOAD_TABLES),
    ):
        assert not DeferredKeys.read(conn, dose_ingest.FIRST_LOAD_TABLES).indexes
        assert _keys(conn) != before
        raise RuntimeError("killed mid-load")
    with engine.connect() as conn:
        assert _keys(conn) == before


@pytest.mark.db
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_first_batch_on_postgresql_is_written_frozen(
    settings: Settings, engine: Engine, registered: Path
) -> None:
    """Its tables truncated in the load's transaction and the rows copied with FREEZE: every page of them is
    all-visible at once (PostgreSQL sets the visibility map on such a COPY; ANALYZE reports it), where a
    plain COPY leaves every page to vacuum."""
    with transaction(engine) as s:
        ingest_batch(s, settings, registered, source="health")
    with engine.connect() as conn:
        for table in ("dose_record", "match_result"):
            conn.exec_driver_sql(f"ANALYZE {table}")
            pages, visible = conn.execute(
                text("SELECT relpages, relallvisible FROM pg_class WHERE relname = :t"), {"t": table}
            ).one()
            assert pages > 0 and visible == pages, (table, pages, visible)
