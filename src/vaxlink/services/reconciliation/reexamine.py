"""The re-examination after a register import: the records the import can affect matched again, their
outcomes stored, and the aftermath and statistics brought up to date in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from vaxlink.matching import normalise
from vaxlink.matching.spec import MatchSpec
from vaxlink.services.figures.refresh import refresh_statistics
from vaxlink.services.reconciliation.aftermath import after_links_moved
from vaxlink.services.reconciliation.match_parameters import current_spec
from vaxlink.services.reconciliation.reconcile import Progress, match_records
from vaxlink.settings import Settings


@dataclass
class ReexamineResult:
    records: int
    outcomes: dict[str, int]


def reexamine_after_import(
    session: Session,
    settings: Settings,
    import_id: int,
    spec: MatchSpec | None = None,
    progress: Progress | None = None,
) -> ReexamineResult:
    """After a register import: match again the records it can affect, and only those: every record still
    waiting (review / unmatched), and the automatic links of citizens the import changed."""
    spec = spec or current_spec(settings)
    db = session.connection()
    where = f"""m.outcome IN ('review', 'unmatched') OR (m.outcome = 'linked' AND m.citizen_id IN (
        SELECT id FROM citizen WHERE last_import_id = {int(import_id)}))
        OR (m.outcome IS NULL)"""
    # Cases an officer has taken in hand are left to the officer.
    where = (
        f"({where}) AND NOT EXISTS (SELECT 1 FROM work_case k WHERE k.dose_record_id = d.id "
        "AND k.status <> 'closed' AND k.assigned_to IS NOT NULL)"
    )
    duck = normalise.connect(settings.duckdb_memory_limit, settings.duckdb_threads)
    try:
        stats = match_records(db, duck, where, spec, progress, settings)
        outcomes = dict(
            duck.execute(
                "SELECT outcome, count(*) FROM rec_map JOIN classified USING (ident_id) GROUP BY 1"
            ).fetchall()
        )
    finally:
        duck.close()
    # The one aftermath of moved links, for everyone touched: those who lost a dose as well as those who
    # gained one.
    after_links_moved(session, settings, "SELECT citizen_id FROM relinked_citizen", actor="register-import")
    db.exec_driver_sql("DROP TABLE relinked_citizen")
    # Citizens moved, links and cases changed: the figures follow in the same transaction, as after an
    # ingest, so that a register import alone leaves them current.
    refresh_statistics(db)
    session.flush()
    return ReexamineResult(
        int(sum(outcomes.values())) if outcomes else stats.identities,
        {str(k): int(v) for k, v in outcomes.items()},
    )
