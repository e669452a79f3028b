"""What follows every change of a link, whichever path moved it (a batch and its re-sent record versions,
the re-examination after a register import, an officer's action): one aftermath.

For the citizens a change touches (those who lost a dose as well as those who gained one):

1. dose-sequence flags and the citizen's status are recomputed from the doses now linked to them;
2. every valid certificate that rests on a dose no longer linked to its holder (unlinked, moved to someone
   else, or replaced by a newer version of the record) is revoked with the reason, its hashes published
   in the revocation list; a new one is issued at once when doses are still linked to the holder and the
   signing keys are at hand; the holder is told through the outbox (SMS);
3. the statistics follow: the caller either keeps them by difference (officers' actions, small batches)
   or refreshes them (see `services/figures/stats.py`).

Like every service, this flushes and never commits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from vaxlink.domain.outcomes import LINKED_SQL
from vaxlink.services.certificates import issuance as certificates
from vaxlink.services.figures.status import refresh_status
from vaxlink.services.reconciliation.dose_flags import flag_dose_sequences
from vaxlink.settings import Settings
from vaxlink.storage.models import Citizen, OutboxMessage, utcnow

log = logging.getLogger("vaxlink.aftermath")

REASON_UNLINKED = "mũi tiêm làm căn cứ không còn gắn với người được cấp / a dose it rests on is no longer linked to the holder"


@dataclass
class Aftermath:
    statuses: int = 0
    revoked: list[int] = field(default_factory=list)
    reissued: list[int] = field(default_factory=list)
    notified: int = 0


def certificates_to_revoke_sql(db: Connection, citizens_sql: str | None) -> str:
    """A SELECT of (certificate id, citizen id) of the valid certificates, of the citizens `citizens_sql`
    selects (all when None), that rest on a dose record which is not the latest version linked to the
    holder."""
    if db.dialect.name == "postgresql":
        elements = "json_array_elements_text(c.dose_record_ids) e(value)"
        element = "CAST(e.value AS BIGINT)"
    else:
        elements = "json_each(c.dose_record_ids) e"
        element = "e.value"
    touched = "" if citizens_sql is None else f"AND c.citizen_id IN ({citizens_sql})"
    return f"""SELECT c.id, c.citizen_id FROM certificate c
        WHERE c.status = 'valid' {touched} AND EXISTS (
          SELECT 1 FROM {elements} WHERE NOT EXISTS (
            SELECT 1 FROM match_result m JOIN dose_record d ON d.id = m.dose_record_id
            WHERE m.dose_record_id = {element} AND d.is_latest AND m.outcome IN {LINKED_SQL}
              AND m.citizen_id = c.citizen_id))
        ORDER BY c.id"""


def _tell(session: Session, citizen_id: int, reissued: bool) -> int:
    phone = session.get(Citizen, citizen_id)
    if phone is None or not phone.phone:
        return 0
    body = (
        "vaxlink: chứng nhận tiêm chủng COVID-19 của bạn đã bị thu hồi vì dữ liệu mũi tiêm thay đổi; "
        + ("chứng nhận mới đã được cấp. " if reissued else "liên hệ công an phường/xã nơi cư trú. ")
        + "/ your COVID-19 vaccination certificate was revoked because its dose data changed; "
        + ("a new one has been issued." if reissued else "contact your ward police.")
    )
    session.add(OutboxMessage(channel="sms", recipient=phone.phone, body=body, created_at=utcnow()))
    return 1


def settle_certificates(
    session: Session,
    settings: Settings | None,
    citizens_sql: str | None,
    *,
    actor: str,
    reason: str = REASON_UNLINKED,
) -> Aftermath:
    """Step 2 of the aftermath for the citizens `citizens_sql` selects (a SELECT of citizen ids)."""
    out = Aftermath()
    session.flush()
    db = session.connection()
    found = db.execute(text(certificates_to_revoke_sql(db, citizens_sql))).all()
    if not found:
        return out
    holder = {int(cert_id): int(citizen_id) for cert_id, citizen_id in found}
    can_sign = settings is not None and certificates.signer_available(settings)
    outcome = certificates.revoke_certificates(
        session, settings if can_sign else None, list(holder), reason, actor=actor, reissue=can_sign
    )
    out.revoked = list(outcome.revoked)
    out.reissued = [i.row.id for i in outcome.reissued]
    reissued_to = {i.row.citizen_id for i in outcome.reissued}
    for citizen_id in sorted({holder[c] for c in outcome.revoked}):
        out.notified += _tell(session, citizen_id, citizen_id in reissued_to)
    session.flush()
    if out.revoked:
        log.info(
            "certificates revoked after links moved: %d, reissued: %d", len(out.revoked), len(out.reissued)
        )
    return out


def after_links_moved(
    session: Session,
    settings: Settings | None,
    citizens_sql: str | None,
    *,
    actor: str,
    flags: bool = True,
    statuses: Callable[[Connection], int] | None = None,
) -> Aftermath:
    """Steps 1 and 2 for the citizens `citizens_sql` selects (all when None); the caller's statistics
    follow (step 3). `flags=False` when the caller has judged the dose sequences already. `statuses`
    writes the statuses instead of `refresh_status` (a first batch: `status.write_every_status`)."""
    session.flush()
    db = session.connection()
    if flags:
        flag_dose_sequences(db, citizens_sql)
    written = refresh_status(db, citizens_sql) if statuses is None else statuses(db)
    out = settle_certificates(session, settings, citizens_sql, actor=actor)
    out.statuses = written
    return out
