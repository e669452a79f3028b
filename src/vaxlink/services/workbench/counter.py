"""The counter: a citizen at the ward office shows their chip card (or says their number); the officer
scans or types it and sees the record, its doses, its open cases and what the card says differently.

The number arrives in a POST body (a keyboard-wedge scanner types the card's QR text and Enter into the
form): it never travels in a URL.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from vaxlink.domain.audit_actions import AuditAction
from vaxlink.domain.cases import CaseStatus
from vaxlink.domain.chip_qr import ChipCard, parse_chip_qr
from vaxlink.domain.errors import Problem
from vaxlink.domain.names import canonical_name
from vaxlink.domain.outcomes import WAITING_OUTCOMES
from vaxlink.services.access.auth import Principal
from vaxlink.services.errors import Invalid, NotFound
from vaxlink.services.workbench.casework import digits
from vaxlink.services.workbench.citizen_record import CitizenView, citizen_detail
from vaxlink.services.workbench.worklist import WorkItem, work_item
from vaxlink.storage.models import Case, Citizen, CitizenAlias, MatchResult, utcnow
from vaxlink.storage.scope import cases_in, citizens_in


@dataclass
class CardDifference:
    field: str
    card: str
    registered: str


@dataclass
class CounterResult:
    view: CitizenView
    from_card: bool
    differences: list[CardDifference] = field(default_factory=list)
    # Records in doubt that may be this person's (the matcher named them as the candidate).
    candidate_cases: list[WorkItem] = field(default_factory=list)


def _read(text: str) -> tuple[str, ChipCard | None]:
    text = (text or "").strip()
    if "|" in text:
        card = parse_chip_qr(text)
        if isinstance(card, Problem):
            raise Invalid(card.message_vi, card.message_en, card.code)
        return card.personal_id, card
    number = digits(text)
    if len(number) == 11:
        number = "0" + number
    if len(number) not in (9, 12):
        raise Invalid(
            "Hãy quét mã QR trên thẻ CCCD hoặc nhập số định danh 12 chữ số (CMND 9 chữ số)",
            "scan the chip card's QR code or type the 12-digit number (9 for an old card)",
            "BAD_INPUT",
        )
    return number, None


def _compare_card(card: ChipCard, c: Citizen) -> list[CardDifference]:
    out = []
    # The same name written the same way or with another tone placement; both spellings are shown.
    if canonical_name(card.full_name) != canonical_name(c.full_name):
        out.append(CardDifference("full_name", card.full_name, c.full_name))
    dob = card.date_of_birth
    same = (
        dob.as_date() == c.birth_date
        if dob.day is not None and c.birth_precision == "day"
        else dob.year == c.birth_year
    )
    if not same or (dob.day is not None and c.birth_precision != "day"):
        out.append(CardDifference("birth_date", dob.iso(), c.birth_date.isoformat()))
    if card.sex.value != c.sex:
        out.append(CardDifference("sex", card.sex.value, c.sex))
    return out


def lookup(session: Session, who: Principal, text: str) -> CounterResult:
    """Find the citizen by the card's QR text or a number, in the user's jurisdiction (else not found)."""
    number, card = _read(text)
    alias = select(CitizenAlias.citizen_id).where(CitizenAlias.alias == number)
    cond = (
        or_(Citizen.personal_id == number, Citizen.id.in_(alias))
        if len(number) == 12
        else Citizen.id.in_(alias)
    )
    citizen = session.scalar(select(Citizen).where(cond, citizens_in(who.scope)).limit(1))
    if citizen is None:
        # The edge records the refusal (one `access_denied` event), as for any record out of reach.
        raise NotFound("citizen")
    view = citizen_detail(session, who, citizen.id, action=AuditAction.COUNTER_LOOKUP)
    now = utcnow()
    candidate_cases = [
        work_item(k, now, m.reasons)
        for k, m in session.execute(
            select(Case, MatchResult)
            .join(MatchResult, MatchResult.dose_record_id == Case.dose_record_id)
            .where(
                cases_in(who.scope),
                Case.status == CaseStatus.OPEN,
                MatchResult.candidate_citizen_id == citizen.id,
                MatchResult.outcome.in_(WAITING_OUTCOMES),
            )
            .order_by(Case.created_at)
            .limit(50)
        ).all()
    ]
    listed = {k.id for k in view.open_cases}
    candidate_cases = [k for k in candidate_cases if k.id not in listed]
    return CounterResult(
        view=view,
        from_card=card is not None,
        differences=_compare_card(card, citizen) if card is not None else [],
        candidate_cases=candidate_cases,
    )
