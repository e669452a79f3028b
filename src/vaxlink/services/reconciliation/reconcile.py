"""Match a chosen set of dose records against the register: the records a register import can affect
(their outcomes stored at once), or a new batch's staged records (decided in DuckDB, written later).

Stored outcomes of records a person has already settled (`confirmed`) are never touched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import pyarrow as pa
from duckdb import DuckDBPyConnection
from sqlalchemy import Connection

from vaxlink.matching.prepare import prepare_records
from vaxlink.matching.run import RunStats, link_figures, run_matching
from vaxlink.matching.spec import MatchSpec
from vaxlink.services.reconciliation.duck_views import run_over
from vaxlink.services.reconciliation.outcomes import store_results
from vaxlink.services.reconciliation.register_load import load_register
from vaxlink.services.reconciliation.staged_outcomes import decide_staged
from vaxlink.services.reconciliation.taken_doses import hold_taken_doses
from vaxlink.settings import Settings
from vaxlink.storage.extract import arrow_schema, query_arrow

Progress = Callable[[str, int, int | None], None]
RECORD_SCHEMA = arrow_schema(
    "rec_id:int64 full_name date_of_birth sex id_number phone ward_code address ward_units vaccination_date:date32"
)
# With the dose's number, for the check of doses the citizen already has (`taken_doses`).
_DOSE_SCHEMA = RECORD_SCHEMA.append(pa.field("dose_number", pa.int32()))


def kept_units(settings: Settings) -> Path:
    """Where the matcher's ward tables are kept between runs (see `prepare.unit_tables`)."""
    return settings.work_dir / "units"


def match_records(
    db: Connection,
    duck: DuckDBPyConnection,
    where: str,
    spec: MatchSpec,
    note: Progress | None = None,
    settings: Settings | None = None,
) -> RunStats:
    """Match the latest usable dose records selected by `where` (SQL over `dose_record d`) and store results."""
    records = query_arrow(
        db,
        f"""SELECT d.id, d.full_name, d.date_of_birth, d.sex, d.id_number, d.phone,
        d.ward_code, d.address, d.ward_units, d.vaccination_date, d.dose_number FROM dose_record d LEFT JOIN match_result m ON m.dose_record_id = d.id
        WHERE d.is_latest AND d.problems IS NULL AND coalesce(m.outcome, '') <> 'confirmed' AND ({where})""",
        _DOSE_SCHEMA,
    )
    duck.register("records_in", records.drop_columns(["dose_number"]))
    prepare_records(duck, "records_in", None if settings is None else kept_units(settings))
    duck.unregister("records_in")
    run_over(
        duck,
        "rec_doses_in",
        records.select(["rec_id", "vaccination_date", "dose_number"]),
        "CREATE OR REPLACE TABLE rec_doses AS SELECT * FROM rec_doses_in",
    )
    # The records' own wards, for the worklist of those left to an officer (`outcomes_sql`).
    run_over(
        duck,
        "rec_wards_in",
        records.select(["rec_id", "ward_code", "ward_units"]),
        "CREATE OR REPLACE TABLE rec_wards AS SELECT rec_id AS id, ward_code, ward_units FROM rec_wards_in",
    )
    loaded = load_register(db, duck, settings, spec)
    if settings is None:
        stats = run_matching(duck, spec, progress=note)
    else:
        stats = run_matching(duck, spec, engine=settings.engine, work_dir=settings.work_dir, progress=note)
    stats.register = asdict(loaded)
    if hold_taken_doses(db, duck, spec, "SELECT * FROM rec_doses"):
        link_figures(duck, stats)
    duck.execute("DROP TABLE rec_doses")
    store_results(db, duck, spec)
    return stats


def match_staged(
    db: Connection,
    duck: DuckDBPyConnection,
    settings: Settings,
    spec: MatchSpec,
    note: Progress | None = None,
) -> RunStats:
    """The matching of `staged` against the register into DuckDB's table `results`: reads only, so that it
    can run before the ingest's transaction writes anything."""
    duck.execute("""CREATE OR REPLACE VIEW records_in AS
        SELECT id AS rec_id, full_name, date_of_birth, sex, id_number, phone, ward_code, address, ward_units,
          vaccination_date
        FROM staged WHERE is_latest AND problems IS NULL""")
    prepare_records(duck, "records_in", kept_units(settings))
    loaded = load_register(db, duck, settings, spec)
    stats = run_matching(duck, spec, engine=settings.engine, work_dir=settings.work_dir, progress=note)
    stats.register = asdict(loaded)
    held = hold_taken_doses(
        db,
        duck,
        spec,
        "SELECT id AS rec_id, vaccination_date, dose_number FROM staged WHERE is_latest AND problems IS NULL",
        "SELECT source, record_id FROM staged",
    )
    if held:
        link_figures(duck, stats)
    decide_staged(db, duck)
    return stats
