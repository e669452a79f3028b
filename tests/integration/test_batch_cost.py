"""A batch costs its own size: what a batch leaves out of its aftermath (the dose-sequence flags of citizens
who only gained doses, judged with the batch already) leaves the same flags and statuses as a full
recomputation would."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, text

from vaxlink.services.figures.status import refresh_status
from vaxlink.services.reconciliation import aftermath
from vaxlink.services.reconciliation.dose_flags import flag_dose_sequences
from vaxlink.services.reconciliation.dose_ingest import ingest_batch
from vaxlink.services.reconciliation.registry_import import import_register
from vaxlink.settings import Settings
from vaxlink.storage.db import transaction


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from vaxlink.simulation import simulate

    out = tmp_path_factory.mktemp("batch-cost")
    simulate(out, province="77", citizens=1500, seed=3)
    return out


def _stored(conn: Connection) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    flags = [
        tuple(r) for r in conn.execute(text("SELECT dose_record_id, flags FROM match_result ORDER BY 1"))
    ]
    status = [
        tuple(r)
        for r in conn.execute(
            text("""SELECT citizen_id, doses, first_dose_date, last_dose_date, complete_date, boosters, status
            FROM citizen_status ORDER BY 1""")
        )
    ]
    return flags, status


def _recomputed(engine: Engine) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """Every citizen's flags and status computed afresh, in a transaction rolled back."""
    with engine.connect() as conn:
        trans = conn.begin()
        try:
            flag_dose_sequences(conn, None)
            refresh_status(conn, None)
            return _stored(conn)
        finally:
            trans.rollback()


@pytest.mark.db
def test_flags_and_statuses_after_batches_equal_a_full_recomputation(
    settings: Settings, engine: Engine, tmp_path: Path, province: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (province / "doses.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    col = {name: i for i, name in enumerate(header)}

    def write(name: str, part: list[list[str]]) -> Path:
        path = tmp_path / name
        with path.open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(part)
        return path

    judged: list[str | None] = []
    original = aftermath.flag_dose_sequences

    def counting(conn: Connection, citizens_sql: str | None = None) -> int:
        judged.append(citizens_sql)
        return original(conn, citizens_sql)

    monkeypatch.setattr(aftermath, "flag_dose_sequences", counting)
    with transaction(engine) as s:
        import_register(s, settings, province / "register.csv", rejects_path=tmp_path / "rej.csv")
    with transaction(engine) as s:
        ingest_batch(s, settings, write("first.csv", body[:-700]), source="health")

    # New records only: later doses of people already vaccinated, and a second copy of some earlier doses
    # under new record ids (duplicates their sequences show).
    copies = [[f"copy-{k}", *row[1:]] for k, row in enumerate(body[:-700:40])]
    with transaction(engine) as s:
        r = ingest_batch(s, settings, write("second.csv", body[-700:] + copies), source="health")
    assert r.counts["linked"] > 600
    assert judged == []
    with engine.connect() as conn:
        stored = _stored(conn)
    assert any("DOSE_DUPLICATE" in str(f) for _, f in stored[0])
    assert stored == _recomputed(engine)

    # New versions of earlier records, one moved to another day: those who lost a dose are judged again.
    again = []
    for row in body[:-700:50]:
        moved = list(row)
        moved[col["vaccination_date"]] = "01/02/2023"
        again.append(moved)
    with transaction(engine) as s:
        ingest_batch(s, settings, write("third.csv", again), source="health")
    assert len(judged) == 1
    with engine.connect() as conn:
        assert _stored(conn) == _recomputed(engine)


def _rows_read(conn: Connection, tables: tuple[str, ...]) -> dict[str, int]:
    """Rows of each table this transaction has read so far, by scan or through an index."""
    found = conn.execute(
        text("""SELECT relname, coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)
        FROM pg_stat_xact_user_tables WHERE relname = ANY(:t)"""),
        {"t": list(tables)},
    ).all()
    return {str(name): int(n) for name, n in found}


@pytest.mark.db
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # the planner's choice is PostgreSQL's
def test_a_few_citizens_aftermath_reads_their_rows_not_the_tables(
    settings: Settings, engine: Engine, tmp_path: Path, province: Path
) -> None:
    """The flags and statuses of a handful of citizens, and the batch's reading of their earlier doses,
    probe the indexes for those citizens' rows: a plan that hashed the set and read every linked dose
    (what PostgreSQL chose at 1 M citizens) fails here. Sequential scans are turned off, as the planner
    would have them on tables of millions of rows; a read of the whole table through an index still counts
    every row."""
    from vaxlink.matching.normalise import connect
    from vaxlink.services.reconciliation.dose_flags import judge_staged_flags

    with transaction(engine) as s:
        import_register(s, settings, province / "register.csv", rejects_path=tmp_path / "rej.csv")
    with transaction(engine) as s:
        ingest_batch(s, settings, province / "doses.csv", source="health")
    tables = ("match_result", "dose_record", "citizen_status")
    with engine.connect() as conn:
        total = int(conn.execute(text("SELECT count(*) FROM match_result")).scalar_one())
        people = [
            int(r[0])
            for r in conn.execute(
                text("""SELECT citizen_id FROM match_result WHERE citizen_id IS NOT NULL
                GROUP BY citizen_id HAVING count(*) >= 2 ORDER BY citizen_id LIMIT 150""")
            )
        ]
        doses = int(
            conn.execute(
                text(f"SELECT count(*) FROM match_result WHERE citizen_id IN ({', '.join(map(str, people))})")
            ).scalar_one()
        )
        conn.exec_driver_sql("ANALYZE")
    assert total > 1000 and len(people) == 150
    chosen = f"SELECT id AS citizen_id FROM citizen WHERE id IN ({', '.join(map(str, people))})"

    with engine.connect() as conn:
        trans = conn.begin()
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        before = _rows_read(conn, tables)
        flag_dose_sequences(conn, chosen)
        refresh_status(conn, chosen)
        after = _rows_read(conn, tables)
        trans.rollback()
    read = {t: after.get(t, 0) - before.get(t, 0) for t in tables}
    assert all(n <= 4 * doses for n in read.values()), (read, doses, total)

    # A batch giving each of them new doses: their earlier doses are read to judge the sequences.
    con = connect("1GB", 1, str(tmp_path))
    con.execute(
        f"""CREATE TABLE results AS SELECT -k AS dose_record_id, citizen_id, DATE '2024-01-01' +
        CAST(k AS INTEGER) AS vaccination_date, 3 AS dose_number
        FROM (SELECT unnest([{", ".join(map(str, people))}]) AS citizen_id, unnest(range(1, 6)) AS k)"""
    )
    with engine.connect() as conn:
        trans = conn.begin()
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        before = _rows_read(conn, tables)
        judge_staged_flags(conn, con)
        after = _rows_read(conn, tables)
        trans.rollback()
    read = {t: after.get(t, 0) - before.get(t, 0) for t in tables}
    assert all(n <= 4 * doses for n in read.values()), (read, doses, total)
    assert con.execute("SELECT count(*) FROM all_flags WHERE NOT new").fetchall()[0][0] >= 10
