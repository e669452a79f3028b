"""Certificates on the API: verify an `HC1:` code (text or picture), revoke one of ours, and the public
documents offline verifiers load (trust list, revocation list)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from vaxlink.credentials.keys import CSCA_CERT, trust_list_document
from vaxlink.services.certificates import issuance as svc
from vaxlink.services.certificates.checks import MAX_HC1, MAX_PICTURE, verify_and_record
from vaxlink.services.errors import NotFound
from vaxlink.storage.models import Certificate, Citizen
from vaxlink.storage.scope import citizens_in
from vaxlink.web.api.lookup import limited_problems
from vaxlink.web.api.models import NOT_FOUND
from vaxlink.web.errors import problem
from vaxlink.web.lookup_runtime import limited_sync
from vaxlink.web.params import Checking, Correcting, RowId
from vaxlink.web.security import DB, Public, state

router = APIRouter(prefix="/api/v1/certificates", tags=["certificates"])
PROBLEMS = limited_problems(
    {404: NOT_FOUND, 409: "revoked or changed by someone else first", 422: "malformed input"},
    "too many checks (shared with status lookups)",
)


class VerifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(max_length=MAX_HC1, description="the HC1: text")


class RevokeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=1, le=2**31 - 1)
    reason: str = Field(min_length=1, max_length=200)
    reissue: bool = True


@router.post("/verify", responses=PROBLEMS)
def verify(request: Request, body: VerifyIn, session: DB, who: Checking) -> Any:
    """Check an `HC1:` code of any issuer against our trust list and revocation list; every check with
    its result in plain words (Vietnamese and English). Certificate checks and status lookups share the
    verifier's (and the organisation's) rate: 429 with Retry-After beyond it."""
    refused = limited_sync(request, session, who)
    if refused is not None:
        return refused
    return verify_and_record(session, state(request).settings, who, body.text)


@router.post("/verify/image", responses=PROBLEMS)
def verify_image(
    request: Request,
    session: DB,
    who: Checking,
    file: Annotated[UploadFile, File(description="a picture of the certificate's QR code")],
) -> Any:
    refused = limited_sync(request, session, who)
    if refused is not None:
        return refused
    data = file.file.read(MAX_PICTURE + 1)
    if len(data) > MAX_PICTURE:
        return JSONResponse({"valid": False, "decoded": False, "reason_en": "picture too large"}, 422)
    return verify_and_record(session, state(request).settings, who, data)


@router.post("/{certificate_id}/revoke", responses=PROBLEMS)
def revoke(request: Request, certificate_id: RowId, body: RevokeIn, session: DB, who: Correcting) -> Any:
    """Revoke a certificate of a citizen in your jurisdiction (and reissue on the doses still linked).
    `version` is the one you saw: if someone revoked it first, the answer is 409."""
    cert = session.scalar(
        select(Certificate)
        .join(Citizen, Citizen.id == Certificate.citizen_id)
        .where(Certificate.id == certificate_id, citizens_in(who.scope))
    )
    if cert is None:
        raise NotFound("certificate")
    svc.revoke_certificate(session, cert.id, body.reason, actor=who.username, expected_version=body.version)
    reissued = None
    if body.reissue and svc.linked_doses(session, cert.citizen_id):
        reissued = svc.issue_for_citizen(
            session, state(request).settings, cert.citizen_id, actor=who.username, replaces=[cert.id]
        ).row.id
    return {"revoked": cert.id, "reissued": reissued}


@router.get("/revocations", dependencies=[Public])
def revocations(session: DB) -> Response:
    """The revocation list (truncated hashes, as the EU scheme defines) for offline verifiers."""
    return JSONResponse(svc.revocation_list(session).to_document())


@router.get("/trust-list", dependencies=[Public], responses={404: {"description": "no signing keys yet"}})
def trust_list(request: Request) -> Response:
    """Our signers' public certificates, for offline verifiers."""
    keys_dir = state(request).settings.keys_dir
    if not (keys_dir / CSCA_CERT).exists():
        return problem(404, "NO_KEYS", "no signing keys yet", detail_vi="Chưa có khóa ký")
    return JSONResponse(trust_list_document(keys_dir))
