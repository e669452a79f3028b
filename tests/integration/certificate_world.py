"""A citizen with doses linked to them, and signing keys: what certificate tests start from."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from tests.integration.web import world as w
from vaxlink.services.figures.status import refresh_status
from vaxlink.storage.models import Batch, Citizen, DoseRecord, MatchResult

_serial = itertools.count(1)
AZ = "EU/1/21/1529"


def batch(session: Session) -> int:
    b = Batch(
        source="test",
        checksum=uuid.uuid4().hex * 2,
        file_name="t.csv",
        status="done",
        rows_total=0,
        created_at=datetime.now(UTC),
    )
    session.add(b)
    session.flush()
    return b.id


def link_doses(
    session: Session,
    batch_id: int,
    citizen: Citizen,
    days: tuple[date, ...] = (date(2021, 8, 1), date(2021, 9, 1)),
    vaccine_code: str = AZ,
) -> list[int]:
    """Dose records linked to the citizen (outcome linked), and the citizen's status refreshed."""
    ids = []
    for i, day in enumerate(days, start=1):
        n = next(_serial)
        d = DoseRecord(
            batch_id=batch_id,
            source="test",
            record_id=f"L{uuid.uuid4().hex[:12]}",
            version=1,
            is_latest=True,
            line_no=n,
            full_name=citizen.full_name,
            date_of_birth=citizen.birth_date.strftime("%d/%m/%Y"),
            vaccination_date=day,
            dose_number=i,
            vaccine="AstraZeneca",
            vaccine_code=vaccine_code,
        )
        session.add(d)
        session.flush()
        session.add(
            MatchResult(
                dose_record_id=d.id,
                outcome="linked",
                citizen_id=citizen.id,
                score=0.99,
                reasons="ID_EXACT;NAME_EXACT;DOB_EXACT",
                flags="",
                decided_at=datetime.now(UTC),
                version=1,
            )
        )
        ids.append(d.id)
    session.flush()
    refresh_status(session.connection(), f"SELECT {int(citizen.id)}")
    return ids


def linked_citizen(
    session: Session, name: str = "Nguyễn Thị Thu Hà", ward: str = w.WARD_A
) -> tuple[Citizen, list[int]]:
    c = w.add_citizen(session, ward, name, born=date(1988, 12, 2), sex="F", phone="0912000111")
    return c, link_doses(session, batch(session), c)
