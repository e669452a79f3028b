"""An `HC1:` code checked for a verifier: every check's result in both languages, what the code says about
its holder, and the check's audit event (with the reason the register gave when it is one of ours, revoked)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vaxlink.credentials import VerificationResult
from vaxlink.domain.audit_actions import AuditAction
from vaxlink.services.access.auth import Principal
from vaxlink.services.audit import log as audit
from vaxlink.services.certificates.issuance import verifier
from vaxlink.settings import Settings
from vaxlink.storage.models import Certificate

MAX_PICTURE = 8 * 1024 * 1024
MAX_HC1 = 8000


def holder_of(result: VerificationResult) -> dict[str, Any]:
    """What the code says about its holder and dose (it is the holder's own document: shown as read)."""
    payload = result.payload or {}
    nam = payload.get("nam") if isinstance(payload.get("nam"), dict) else {}
    assert isinstance(nam, dict)
    name = " ".join(str(nam[k]) for k in ("fn", "gn") if nam.get(k)) or " ".join(
        str(nam[k]) for k in ("fnt", "gnt") if nam.get(k)
    )
    entries = payload.get("v")
    dose: dict[str, Any] | None = None
    if isinstance(entries, list) and entries and isinstance(entries[0], dict):
        v = entries[0]
        dose = {k: v.get(k) for k in ("mp", "dn", "sd", "dt", "co")}
    h = result.hcert
    return {
        "name": name or None,
        "date_of_birth": payload.get("dob"),
        "dose": dose,
        "uvci": h.uvci if h else None,
        "issuer": h.issuer if h else None,
        "expires_at": h.expires_at.isoformat() if h and h.expires_at else None,
    }


def verification_body(result: VerificationResult) -> dict[str, Any]:
    failures = result.failures
    return {
        "valid": result.valid,
        "decoded": result.decoded,
        "reason_vi": failures[0].message_vi if failures else None,
        "reason_en": failures[0].message_en if failures else None,
        "checks": [
            {
                "name": c.name.value,
                "status": c.status.value,
                "message_vi": c.message_vi,
                "message_en": c.message_en,
            }
            for c in result.checks
        ],
        "holder": holder_of(result) if result.decoded else None,
    }


def verify_and_record(
    session: Session, settings: Settings, who: Principal, data: str | bytes
) -> dict[str, Any]:
    """Check a code (text or picture) against our trust list and revocation list, and audit the check."""
    result = verifier(session, settings).verify(data)
    ours: Certificate | None = None
    if result.hcert is not None and result.hcert.uvci:
        ours = session.scalar(select(Certificate).where(Certificate.uvci == result.hcert.uvci))
    audit.record(
        session,
        actor=who.username,
        action=AuditAction.CERTIFICATE_VERIFIED,
        resource_type="certificate",
        resource_id=ours.id if ours else None,
        jurisdiction=who.scope.label,
        details={"valid": result.valid, "failed": [c.name.value for c in result.failures]},
    )
    body = verification_body(result)
    # One of ours that was revoked: the reason the register gave, beside the hash list's verdict.
    body["revoke_reason"] = ours.revoke_reason if ours is not None and ours.status == "revoked" else None
    return body
