"""Certificates of the register: issued only on doses linked to a citizen, stored with their revocation
hashes, revoked (and reissued at once) when a dose they rest on is unlinked or corrected, and the
revocation list published for offline verifiers.

Revocation is a conditional UPDATE on the certificate's `status` and `version`: of two officers (or a
correction and an officer) revoking the same certificate at once, exactly one changes the row; the
other gets a conflict. Like every service, this flushes and never commits.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.orm import Session

from vaxlink.credentials import (
    IssuedCertificate,
    Name,
    RevocationList,
    TrustList,
    Verifier,
    doses_from_history,
    issue,
    load_signer,
)
from vaxlink.credentials.keys import CSCA_CERT, TRUST_JSON, export_trust_list
from vaxlink.credentials.revocation import HashType
from vaxlink.domain.audit_actions import AuditAction
from vaxlink.domain.outcomes import LINKED_OUTCOMES
from vaxlink.domain.personal_ids import strip_separators
from vaxlink.services.audit import log as audit
from vaxlink.services.errors import Conflict, NotEligible, NotFound, ServiceError
from vaxlink.settings import Settings
from vaxlink.storage.models import Certificate, Citizen, DoseRecord, MatchResult, Revocation, utcnow

# Hash types written for every revoked certificate: verifiers may hold any of the three lists.
REVOKED_TYPES = (HashType.UCI, HashType.COUNTRYCODEUCI, HashType.SIGNATURE)


@dataclass(frozen=True)
class Issued:
    row: Certificate
    certificate: IssuedCertificate


@dataclass
class RevokeOutcome:
    revoked: list[int] = field(default_factory=list)  # certificate ids this call revoked
    already: list[int] = field(default_factory=list)  # revoked meanwhile by someone else
    reissued: list[Issued] = field(default_factory=list)
    citizens_without_doses: list[int] = field(default_factory=list)


def _b64(digest: bytes | None) -> str:
    return "" if digest is None else base64.b64encode(digest).decode("ascii")


def _jurisdiction(c: Citizen) -> str:
    return f"ward:{c.current_units}:{c.current_ward_code}"


def find_citizen(session: Session, ref: str | int) -> Citizen:
    """A citizen by row id (int) or 12-digit personal id (str)."""
    if isinstance(ref, int):
        citizen = session.get(Citizen, ref)
    else:
        number = strip_separators(ref)
        citizen = (
            session.scalar(select(Citizen).where(Citizen.personal_id == number))
            if len(number) == 12 and number.isascii() and number.isdigit()
            else None
        )
    if citizen is None:
        raise NotFound("citizen")
    return citizen


def linked_doses(session: Session, citizen_id: int) -> list[tuple[int, dt.date, str]]:
    """(dose record id, vaccination date, vaccine code) of the doses linked to the citizen, in date order:
    linked or confirmed, latest version of each record."""
    rows = session.execute(
        select(DoseRecord.id, DoseRecord.vaccination_date, DoseRecord.vaccine_code)
        .join(MatchResult, MatchResult.dose_record_id == DoseRecord.id)
        .where(
            MatchResult.citizen_id == citizen_id,
            MatchResult.outcome.in_(LINKED_OUTCOMES),
            DoseRecord.is_latest.is_(True),
            DoseRecord.vaccination_date.is_not(None),
            DoseRecord.vaccine_code.is_not(None),
        )
        .order_by(DoseRecord.vaccination_date, DoseRecord.id)
    ).all()
    return [(int(r[0]), r[1], str(r[2])) for r in rows if r[1] is not None]


def _date_of_birth(c: Citizen) -> str | dt.date:
    if c.birth_precision == "day":
        return c.birth_date
    if c.birth_precision == "month":
        return f"{c.birth_date.year:04d}-{c.birth_date.month:02d}"
    return f"{c.birth_year:04d}"


def issue_for_citizen(
    session: Session,
    settings: Settings,
    citizen_ref: str | int,
    *,
    actor: str,
    now: dt.datetime | None = None,
    replaces: Sequence[int] = (),
) -> Issued:
    """Sign and store a certificate for a citizen (by row id or personal id) on their linked doses.

    Raises NotFound (no such citizen) or NotEligible (no linked dose). Writes one audit event."""
    citizen = find_citizen(session, citizen_ref)
    doses = linked_doses(session, citizen.id)
    if not doses:
        raise NotEligible()
    # Two records of the same day are one dose (the status rule); the certificate rests on all of them.
    by_day: dict[dt.date, str] = {}
    for _, day, product in doses:
        by_day.setdefault(day, product)
    history = doses_from_history(sorted(by_day.items()))
    signer = load_signer(settings.keys_dir)
    name = Name(citizen.family_name, citizen.middle_name, citizen.given_name)
    cert = issue(name, _date_of_birth(citizen), history, signer, now=now)
    row = Certificate(
        uvci=cert.uvci,
        citizen_id=citizen.id,
        dose_record_ids=[d[0] for d in doses],
        kid=cert.kid.hex(),
        issued_at=cert.issued_at,
        expires_at=cert.expires_at,
        status="valid",
        hash_uci=_b64(cert.hashes.uci),
        hash_country_uci=_b64(cert.hashes.country_code_uci),
        hash_signature=_b64(cert.hashes.signature),
        version=1,
    )
    session.add(row)
    session.flush()
    if replaces:
        session.execute(
            update(Certificate).where(Certificate.id.in_(list(replaces))).values(replaced_by_id=row.id)
        )
    details = {"dose_record_ids": row.dose_record_ids, "kid": row.kid, "replaces": list(replaces)}
    _recorded(session, actor, AuditAction.CERTIFICATE_ISSUED, row, _jurisdiction(citizen), details)
    return Issued(row, cert)


def _recorded(
    session: Session,
    actor: str,
    action: AuditAction,
    cert: Certificate,
    jurisdiction: str | None,
    details: Mapping[str, object],
    reason: str | None = None,
) -> None:
    """A certificate's event (issued, revoked): its citizen leads the details."""
    audit.record(
        session,
        actor=actor,
        action=action,
        resource_type="certificate",
        resource_id=cert.id,
        jurisdiction=jurisdiction,
        reason=reason,
        details={"citizen_id": cert.citizen_id, **details},
    )


# --- revocation ---------------------------------------------------------------------------------


def _revoked_conflict() -> Conflict:
    return Conflict(
        "Chứng nhận vừa bị thu hồi hoặc thay đổi bởi người khác; hãy tải lại",
        "the certificate has just been revoked or changed by someone else; reload it",
        "CERTIFICATE_CONFLICT",
    )


def _mark_revoked(session: Session, cert_id: int, version: int, reason: str, at: dt.datetime) -> bool:
    """The conditional UPDATE: True when this transaction revoked the certificate."""
    result = session.execute(
        update(Certificate)
        .where(Certificate.id == cert_id, Certificate.status == "valid", Certificate.version == version)
        .values(status="revoked", revoked_at=at, revoke_reason=reason[:200], version=version + 1)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1


def _add_revocation_rows(session: Session, cert: Certificate, reason: str, at: dt.datetime) -> None:
    hashes = {
        HashType.UCI: cert.hash_uci,
        HashType.COUNTRYCODEUCI: cert.hash_country_uci,
        HashType.SIGNATURE: cert.hash_signature,
    }
    for hash_type in REVOKED_TYPES:
        value = hashes[hash_type]
        if value:
            session.add(
                Revocation(
                    certificate_id=cert.id,
                    hash_type=hash_type.value,
                    hash=value,
                    revoked_at=at,
                    reason=reason[:200],
                )
            )
    session.flush()


def revoke_certificate(
    session: Session,
    cert_ref: str | int,
    reason: str,
    *,
    actor: str,
    expected_version: int | None = None,
) -> Certificate:
    """Revoke one certificate (by id or UVCI). A certificate already revoked, or changed since
    `expected_version`, is a Conflict: of two simultaneous revocations exactly one succeeds."""
    reason = reason.strip()
    if not reason:
        raise ServiceError(
            "Cần nêu lý do thu hồi", "a reason for the revocation is needed", "REASON_REQUIRED"
        )
    q = select(Certificate).where(
        Certificate.id == cert_ref if isinstance(cert_ref, int) else Certificate.uvci == cert_ref
    )
    cert = session.scalar(q.execution_options(populate_existing=True))
    if cert is None:
        raise NotFound("certificate")
    version = cert.version if expected_version is None else expected_version
    at = utcnow()
    if cert.status != "valid" or not _mark_revoked(session, cert.id, version, reason, at):
        raise _revoked_conflict()
    session.refresh(cert)
    _add_revocation_rows(session, cert, reason, at)
    citizen = session.get(Citizen, cert.citizen_id)
    jurisdiction = _jurisdiction(citizen) if citizen else None
    _recorded(session, actor, AuditAction.CERTIFICATE_REVOKED, cert, jurisdiction, {}, reason)
    return cert


def certificates_on_doses(session: Session, dose_record_ids: Iterable[int]) -> list[Certificate]:
    """Valid certificates that rest on any of these dose records."""
    ids = sorted({int(i) for i in dose_record_ids})
    if not ids:
        return []
    if session.get_bind().dialect.name == "postgresql":
        cond = """EXISTS (SELECT 1 FROM json_array_elements_text(c.dose_record_ids) e
                  WHERE e.value::bigint IN :ids)"""
    else:
        cond = "EXISTS (SELECT 1 FROM json_each(c.dose_record_ids) e WHERE e.value IN :ids)"
    stmt = text(f"SELECT c.id FROM certificate c WHERE c.status = 'valid' AND {cond} ORDER BY c.id")
    found = session.execute(stmt.bindparams(bindparam("ids", expanding=True)), {"ids": ids}).scalars().all()
    if not found:
        return []
    return list(
        session.scalars(
            select(Certificate)
            .where(Certificate.id.in_(found))
            .order_by(Certificate.id)
            .execution_options(populate_existing=True)
        )
    )


def revoke_for_doses(
    session: Session,
    settings: Settings | None,
    dose_record_ids: Iterable[int],
    reason: str,
    *,
    actor: str,
    reissue: bool = True,
) -> RevokeOutcome:
    """Revoke every valid certificate resting on one of these dose records, and issue each citizen a new
    one at once when doses are still linked to them.

    Call it in the same transaction as the change that unlinked or corrected the doses (after it), with
    the ids of the dose records as they were (the old version's id for a correction). A certificate
    someone else revoked meanwhile is left to them (listed in `already`, not reissued here)."""
    certs = certificates_on_doses(session, dose_record_ids)
    return _revoke(
        session, settings, certs, reason, actor, reissue, {"dose_record_ids": sorted(set(dose_record_ids))}
    )


def revoke_certificates(
    session: Session,
    settings: Settings | None,
    certificate_ids: Iterable[int],
    reason: str,
    *,
    actor: str,
    reissue: bool = True,
) -> RevokeOutcome:
    """`revoke_for_doses` for certificates chosen by id (valid ones only; the others are left alone)."""
    ids = sorted({int(i) for i in certificate_ids})
    if not ids:
        return RevokeOutcome()
    certs = list(
        session.scalars(
            select(Certificate)
            .where(Certificate.id.in_(ids), Certificate.status == "valid")
            .order_by(Certificate.id)
            .execution_options(populate_existing=True)
        )
    )
    return _revoke(session, settings, certs, reason, actor, reissue, {})


def signer_available(settings: Settings) -> bool:
    """Whether certificates can be signed here now (the key directory holds an active signer)."""
    try:
        load_signer(settings.keys_dir)
    except Exception:
        return False
    return True


def _revoke(
    session: Session,
    settings: Settings | None,
    certs: Sequence[Certificate],
    reason: str,
    actor: str,
    reissue: bool,
    details: dict[str, object],
) -> RevokeOutcome:
    outcome = RevokeOutcome()
    at = utcnow()
    revoked_by_citizen: dict[int, list[int]] = {}
    # Row locks first (the conditional UPDATEs), audit events after: the audit chain's lock is the last
    # one a transaction takes.
    for cert in certs:
        if _mark_revoked(session, cert.id, cert.version, reason, at):
            outcome.revoked.append(cert.id)
            revoked_by_citizen.setdefault(cert.citizen_id, []).append(cert.id)
        else:
            outcome.already.append(cert.id)
    for cert in certs:
        if cert.id in outcome.revoked:
            session.refresh(cert)
            _add_revocation_rows(session, cert, reason, at)
            _recorded(session, actor, AuditAction.CERTIFICATE_REVOKED, cert, None, details, reason)
    if reissue:
        if settings is None:
            raise ValueError("reissuing needs the settings (the signing keys' directory)")
        for citizen_id, old in revoked_by_citizen.items():
            if not linked_doses(session, citizen_id):
                outcome.citizens_without_doses.append(citizen_id)
                continue
            outcome.reissued.append(
                issue_for_citizen(session, settings, citizen_id, actor=actor, replaces=old)
            )
    return outcome


# --- what verifiers load ------------------------------------------------------------------------


def revocation_list(session: Session) -> RevocationList:
    out = RevocationList(generated_at=utcnow())
    for hash_type, value in session.execute(select(Revocation.hash_type, Revocation.hash)):
        try:
            out.add(HashType(hash_type), base64.b64decode(value))
        except ValueError:
            continue  # a hash type this build does not know cannot match anything it computes
    return out


def export_revocations(session: Session, path: Path) -> int:
    """Write the revocation list document for offline verifiers; returns the number of hashes."""
    rl = revocation_list(session)
    path.parent.mkdir(parents=True, exist_ok=True)
    rl.save(path)
    return len(rl)


def trust_list(settings: Settings) -> TrustList:
    """Our signers (the public trust list of the key directory)."""
    path = settings.keys_dir / TRUST_JSON
    if not path.exists():
        if not (settings.keys_dir / CSCA_CERT).exists():
            # A register without signing keys trusts no signer: every code is answered "unknown signer".
            return TrustList()
        export_trust_list(settings.keys_dir)
    return TrustList.load(path)


def verifier(session: Session, settings: Settings) -> Verifier:
    """A verifier of our trust list and the revocation list as it stands in this transaction."""
    return Verifier(trust_list(settings), revocation_list(session))
