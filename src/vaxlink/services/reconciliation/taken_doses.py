"""A dose the citizen already has from another record, on another day: the record is held for an officer.

A link the record's own data do not wholly carry (`spec.taken_dose_check`, `decisions.PARTIAL_LINK`: none of the
citizen's numbers on it, or a birth date missing or not the citizen's, or the other sex, or a name that is not the
citizen's own) rests on the rest: the name, the home, the number. When the citizen already has a dose of the same
number given on another day, linked before or in the same run, the two cannot both be that dose of the citizen's:
most often the record is a namesake's who is not in the register (a resident's own dose 1, and a dose 1 of someone
of the same name and birth date a month later, elsewhere), or a child's dose under a parent's identity, the dose's
day typed as the birth date. The record is left to an officer (review) with the reason `DOSE_NUMBER_TAKEN`, beside
its candidates; the case page lists the candidate's doses.

A record that carries the citizen's number, birth date, sex and own name is not held: a second dose of one number
is then only flagged (`DOSE_DUPLICATE`). Neither is a dose of the same number on the same day (the same dose sent
twice), nor one whose other dose is its own record's earlier version.
"""

from __future__ import annotations

import json

import pyarrow as pa
from duckdb import DuckDBPyConnection
from sqlalchemy import Connection, text

from vaxlink.domain.outcomes import LINKED_SQL
from vaxlink.matching.spec import MatchSpec
from vaxlink.services.figures.status import probes
from vaxlink.storage.extract import arrow_schema, query_arrow

REASON = "DOSE_NUMBER_TAKEN"
_STORED_SCHEMA = arrow_schema(
    "id:int64 citizen_id:int64 vaccination_date:date32 dose_number:int32 source record_id"
)


def _linked_doses(doses: str, check: str = "true") -> str:
    """The matched records that `classified` links (those of its identities `check` holds, a condition over
    its columns), with the citizen, day and dose number."""
    return f"""SELECT c.ident_id, c.best_citizen_id AS citizen_id, d.rec_id,
          d.vaccination_date AS day, d.dose_number AS n
        FROM classified c JOIN rec_map m USING (ident_id) JOIN ({doses}) d ON d.rec_id = m.rec_id
        WHERE c.outcome = 'linked' AND d.vaccination_date IS NOT NULL AND d.dose_number IS NOT NULL
          AND ({check})"""


def _stored_doses(db: Connection, citizens: list[int]) -> pa.Table:
    """The latest doses the database links to `citizens`, with their record's source and id."""
    if (
        not citizens
        or not db.execute(text("SELECT 1 FROM match_result WHERE citizen_id IS NOT NULL LIMIT 1")).first()
    ):
        return _STORED_SCHEMA.empty_table()
    # Whole numbers only, written into the statement as one array (query_arrow takes no parameters).
    listed = ",".join(str(int(c)) for c in citizens)
    if db.dialect.name == "postgresql":
        who = f"m.citizen_id = ANY(CAST('{{{listed}}}' AS bigint[]))"
    else:
        who = f"m.citizen_id IN (SELECT value FROM json_each('{json.dumps([int(c) for c in citizens])}'))"
    sql = f"""SELECT d.id, m.citizen_id, d.vaccination_date, d.dose_number, d.source, d.record_id
        FROM match_result m JOIN dose_record d ON d.id = m.dose_record_id
        WHERE {who} AND m.outcome IN {LINKED_SQL} AND d.is_latest"""
    with probes(db):
        return query_arrow(db, sql, _STORED_SCHEMA)


def hold_taken_doses(
    db: Connection, duck: DuckDBPyConnection, spec: MatchSpec, doses: str, replaced: str | None = None
) -> int:
    """Leave to an officer each identity `classified` links on partial evidence (`spec`'s
    `taken_dose_check`, see the module) whose record is a dose of a number the citizen has on another day:
    from another record of this run, or stored. `doses`: a DuckDB SELECT of (rec_id, vaccination_date,
    dose_number) of the matched records; the stored records `replaced` selects (source, record_id: the
    earlier versions a batch supersedes) do not count (a record's own stored row, re-examined, has its own
    day: it never counts). Returns the number of identities held."""
    if not spec.taken_dose_check:
        return 0
    duck.execute(f"""CREATE OR REPLACE TEMP TABLE _taken_mine AS
        {_linked_doses(doses, spec.taken_dose_check)}""")
    try:
        citizens = [int(r[0]) for r in duck.execute("SELECT DISTINCT citizen_id FROM _taken_mine").fetchall()]
        if not citizens:
            return 0
        duck.register("_taken_stored", _stored_doses(db, citizens))
        skip = (
            f"AND NOT EXISTS (SELECT 1 FROM ({replaced}) r WHERE r.source = s.source AND r.record_id = s.record_id)"
            if replaced
            else ""
        )
        duck.execute(f"""CREATE OR REPLACE TEMP TABLE _taken_held AS
            WITH others AS (
              SELECT citizen_id, rec_id, day, n FROM ({_linked_doses(doses)}) l
              UNION ALL
              SELECT s.citizen_id, s.id, s.vaccination_date, s.dose_number FROM _taken_stored s
              WHERE s.vaccination_date IS NOT NULL AND s.dose_number IS NOT NULL
                {skip})
            SELECT DISTINCT x.ident_id FROM _taken_mine x JOIN others o
              ON o.citizen_id = x.citizen_id AND o.n = x.n AND o.day <> x.day""")
        duck.unregister("_taken_stored")
        held = int(duck.execute("SELECT count(*) FROM _taken_held").fetchall()[0][0])
        if held:
            duck.execute(f"""UPDATE classified SET outcome = 'review',
                reasons = CASE WHEN coalesce(reasons, '') = '' THEN '{REASON}' ELSE reasons || ';{REASON}' END
                WHERE ident_id IN (SELECT ident_id FROM _taken_held)""")
        duck.execute("DROP TABLE _taken_held")
        return held
    finally:
        duck.execute("DROP TABLE IF EXISTS _taken_mine")
