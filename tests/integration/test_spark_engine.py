"""The matcher on Spark: the DuckDB engine's answer for every record of a simulated province, partitions
that a rerun resumes, the pair guard before any pair, and the engine chosen by the settings.

Spark needs pyspark (`uv sync --extra spark`) and Java 17: without them these tests are skipped, except
in CI (CI=true), where a skip would hide a broken engine and is a failure instead.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from sqlalchemy import text

from vaxlink.matching.pipeline import PairLimitExceeded
from vaxlink.matching.prepare import prepare_records, prepare_register
from vaxlink.matching.run import RunStats, run_matching
from vaxlink.matching.spec import MatchSpec
from vaxlink.simulation import ErrorRates, simulate
from vaxlink.simulation.inputs import matcher_inputs

pytestmark = [
    # py4j leaves the sockets of its gateway to the garbage collector.
    pytest.mark.filterwarnings("ignore:unclosed <socket.socket:ResourceWarning"),
]


def _require_spark() -> None:
    missing = [
        what
        for what, ok in (("pyspark", importlib.util.find_spec("pyspark")), ("java", shutil.which("java")))
        if not ok
    ]
    if missing:
        message = f"the Spark engine needs {' and '.join(missing)} (uv sync --extra spark; Java 17)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the Spark tests: {message}")
        pytest.skip(message)


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One local Spark for the whole run: starting the JVM is the slow part."""
    _require_spark()
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("vaxlink-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.driver.memory", "1g")
        # Tables of a few thousand rows would all be broadcast: seventeen blocking joins in one stage, each
        # holding pages of the driver's small memory. A register is never that small.
        .config("spark.sql.autoBroadcastJoinThreshold", "-1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("spark-province")
    # Every error rate tripled: more of the records in doubt, where the engines could part ways.
    simulate(out, province="77", citizens=3000, seed=11, file_format="parquet", errors=ErrorRates().scaled(3))
    return out


def prepared(data: Path) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection holding the matcher's prepared inputs for the simulated files: the register as
    `register_load.load_register` reads it from the database, every dose record as a record to match."""
    register, aliases, records = matcher_inputs(data)
    con = duckdb.connect(config={"threads": 2})
    con.register("reg_in", register)
    con.register("alias_in", aliases)
    con.register("rec_in", records)
    prepare_register(con, "reg_in", "alias_in")
    prepare_records(con, "rec_in")
    return con


def per_record(con: duckdb.DuckDBPyConnection) -> dict[int, tuple[Any, ...]]:
    """What a record's reconciliation says: outcome, candidate, runner-up, field levels, reasons, blame,
    the candidates shown to a ward officer, and the weight (rounded: it is compared separately)."""
    rows = con.execute("""
        SELECT m.rec_id, c.outcome, c.best_citizen_id, c.second_citizen_id, c.n_candidates, c.id_level,
               c.name_level, c.dob_level, c.sex_level, c.ward_level, c.phone_level, c.reasons, c.blame,
               round(c.best_weight, 6),
               (SELECT list(citizen_id ORDER BY rank) FROM ranked k WHERE k.ident_id = c.ident_id AND k.rank <= 3)
        FROM rec_map m JOIN classified c USING (ident_id)""").fetchall()
    return {r[0]: r[1:] for r in rows}


class Interrupt(Exception):
    pass


def test_spark_gives_duckdbs_answer_for_every_record_and_resumes_by_partition(
    spark: Any, province: Path, tmp_path: Path
) -> None:
    spec = MatchSpec()
    duck = prepared(province)
    run_matching(duck, spec)
    expected = per_record(duck)
    assert len(expected) > 5000
    outcomes = {o for o, *_ in expected.values()}
    assert {"linked", "review", "unmatched"} <= outcomes

    con = prepared(province)
    from vaxlink.matching.engines.spark import SparkPartitions

    def stop_after_first(stage: str, done: int, total: int | None) -> None:
        if done == 1:
            raise Interrupt

    # A run killed after its first partition keeps that partition...
    with pytest.raises(Interrupt):
        run_matching(
            con,
            spec,
            engine="spark",
            partitions=2,
            work_dir=tmp_path,
            progress=stop_after_first,
            runner=SparkPartitions(spark),
        )
    assert len(list(tmp_path.glob("match/*/part-*/done.json"))) == 1
    # ...and the rerun does only the other one.
    stats: RunStats = run_matching(
        con, spec, engine="spark", partitions=2, work_dir=tmp_path, runner=SparkPartitions(spark)
    )
    assert (stats.engine, stats.partitions, stats.partitions_skipped) == ("spark", 2, 1)
    assert stats.identities == duck.execute("SELECT count(*) FROM classified").fetchall()[0][0]
    assert stats.pairs == duck.execute("SELECT count(*) FROM pairs").fetchall()[0][0]

    got = per_record(con)
    differing = sorted(k for k in expected if got.get(k) != expected[k])
    assert got.keys() == expected.keys()
    assert differing == [], [(k, expected[k], got.get(k)) for k in differing[:5]]


def test_duckdb_partitions_give_the_single_run_and_resume(province: Path, tmp_path: Path) -> None:
    spec = MatchSpec()
    con = prepared(province)
    run_matching(con, spec)
    expected = per_record(con)

    calls: list[int] = []

    def stop_after_two(stage: str, done: int, total: int | None) -> None:
        calls.append(done)
        if done == 2:
            raise Interrupt

    with pytest.raises(Interrupt):
        run_matching(con, spec, partitions=3, work_dir=tmp_path, progress=stop_after_two)
    stats = run_matching(con, spec, partitions=3, work_dir=tmp_path)
    assert (stats.partitions, stats.partitions_skipped) == (3, 2)
    assert per_record(con) == expected
    # The inputs are left as they were: a partition's subset does not replace the records.
    assert (
        con.execute("SELECT count(*) FROM rec_ident").fetchall()
        == con.execute("SELECT count(DISTINCT ident_id) FROM rec_map").fetchall()
    )

    # A finished run is found whole; another spec is another run, and the old one's partitions go.
    assert run_matching(con, spec, partitions=3, work_dir=tmp_path).partitions_skipped == 3
    other = MatchSpec(max_wrong_link=5e-3)
    assert run_matching(con, other, partitions=3, work_dir=tmp_path).partitions_skipped == 0
    assert len(list(tmp_path.glob("match/*"))) == 1


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_pair_guard_refuses_before_any_pair(province: Path, engine: str, tmp_path: Path) -> None:
    con = prepared(province)
    with pytest.raises(PairLimitExceeded, match="tighten the blocking rules"):
        run_matching(con, MatchSpec(max_pairs=1000), engine=engine, work_dir=tmp_path)  # type: ignore[arg-type]
    assert con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'pairs'"
    ).fetchall() == [(0,)]
    assert not list(tmp_path.glob("match/*"))


def test_ingest_matches_on_the_engine_the_settings_choose(
    spark: Any, sqlite_template: Path, tmp_path: Path
) -> None:
    """VAXLINK_ENGINE=spark: the same batch ingested on Spark stores what it stores on DuckDB."""
    from vaxlink.services.reconciliation.dose_ingest import ingest_batch
    from vaxlink.services.reconciliation.registry_import import import_register
    from vaxlink.settings import load_settings
    from vaxlink.storage.db import make_engine, transaction

    sim = simulate(tmp_path / "sim", province="77", citizens=400, seed=5)
    stored = {}
    for engine in ("duckdb", "spark"):
        db = tmp_path / f"{engine}.db"
        shutil.copy(sqlite_template, db)
        settings = load_settings(
            database_url=f"sqlite:///{db}", engine=engine, work_dir=tmp_path / f"work-{engine}"
        )
        e = make_engine(settings.database_url)
        try:
            with transaction(e) as s:
                import_register(s, settings, sim.files["register"], rejects_path=tmp_path / "rejects.csv")
            with transaction(e) as s:
                ingest_batch(s, settings, sim.files["doses"], source="health")
            with e.connect() as c:
                stored[engine] = c.execute(
                    text("""SELECT d.record_id, m.outcome, x.personal_id, y.personal_id, m.reasons, m.blame
                    FROM dose_record d JOIN match_result m ON m.dose_record_id = d.id
                    LEFT JOIN citizen x ON x.id = m.citizen_id LEFT JOIN citizen y ON y.id = m.candidate_citizen_id
                    ORDER BY d.record_id""")
                ).all()
        finally:
            e.dispose()
    assert len(stored["duckdb"]) > 500
    assert stored["spark"] == stored["duckdb"]
