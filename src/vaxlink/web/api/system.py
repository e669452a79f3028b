"""Health check, one's own identity, users and the audit chain."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from vaxlink import __version__
from vaxlink.domain.audit_actions import AuditAction
from vaxlink.domain.permissions import Permission
from vaxlink.services.access.auth import Principal
from vaxlink.services.access.users import list_users
from vaxlink.services.audit import log as audit
from vaxlink.services.workbench.casework import audited
from vaxlink.web.api.models import AuditVerifyOut, MeOut, UserOut, problems
from vaxlink.web.params import SessionReading
from vaxlink.web.security import DB, Public, require, state

router = APIRouter(tags=["system"])
PROBLEMS = problems({}, typed=False)


@router.get("/healthz", dependencies=[Public])
def healthz(request: Request) -> Response:
    """Liveness and database reachability. Public, so it says nothing of the data (not even how many
    citizens there are), and it reads outside the request transaction and SQLite's write turn, so that
    it answers while an upload or an ingest writes."""
    try:
        with state(request).engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:
        return JSONResponse({"status": "unavailable", "version": __version__}, status_code=503)
    return JSONResponse({"status": "ok", "version": __version__})


@router.get("/api/v1/me", response_model=MeOut, responses=PROBLEMS)
def me(who: SessionReading) -> MeOut:
    return MeOut(
        username=who.username,
        display_name=who.display_name,
        role=who.role,
        scope=who.scope.label,
        permissions=sorted(p.value for p in who.permissions),
    )


@router.get("/api/v1/users", response_model=list[UserOut], responses=PROBLEMS)
def users(session: DB, who: Annotated[Principal, Depends(require(Permission.USER_MANAGE))]) -> Any:
    found = list_users(session)
    audited(session, who, AuditAction.USER_LIST_VIEWED, "user")
    return found


@router.post("/api/v1/audit/verify", response_model=AuditVerifyOut, responses=PROBLEMS)
def audit_verify(session: DB, who: Annotated[Principal, Depends(require(Permission.AUDIT_VERIFY))]) -> Any:
    """Walk the whole chain and report what is altered, missing or forged."""
    key = session.info[audit.KEY_INFO]
    report = audit.verify_chain(session.connection(), key)
    audited(
        session,
        who,
        AuditAction.AUDIT_VERIFIED,
        "audit_event",
        details={"events": report.events, "findings": len(report.findings)},
    )
    return AuditVerifyOut.model_validate(report)
