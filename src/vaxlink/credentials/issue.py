"""Issuing a certificate from plain data: what a service calls, with a signer loaded from the key directory.

Returns everything the caller stores (identifier, `HC1:` text, the three revocation hashes, the validity
window); nothing here touches a database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from vaxlink.credentials import hcert
from vaxlink.credentials.keys import Signer
from vaxlink.credentials.payload import Dose, Name, build_payload, latest_dose, make_uvci
from vaxlink.credentials.revocation import RevocationHashes, revocation_hashes
from vaxlink.domain.dates import PartialDate
from vaxlink.domain.errors import VaxlinkError

VALIDITY = dt.timedelta(days=365)


class SignerExpiring(VaxlinkError):
    """The active signer expires before a certificate signed now would: rotate the keys first."""


@dataclass(frozen=True, slots=True)
class IssuedCertificate:
    uvci: str
    hc1: str
    hashes: RevocationHashes
    issued_at: dt.datetime
    expires_at: dt.datetime
    kid: bytes
    payload: dict[str, Any]


def issue(
    name: Name,
    date_of_birth: PartialDate | dt.date | str | None,
    doses: Sequence[Dose],
    signer: Signer,
    *,
    now: dt.datetime | None = None,
    validity: dt.timedelta = VALIDITY,
    uvci: str | None = None,
) -> IssuedCertificate:
    """Sign a vaccination certificate for the latest of `doses`, valid `validity` (12 months) from now."""
    issued_at = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    expires_at = issued_at + validity
    if issued_at < signer.certificate.not_valid_before_utc:
        raise SignerExpiring("khóa ký chưa có hiệu lực / the signer is not valid yet")
    if expires_at > signer.not_after:
        raise SignerExpiring(
            "khóa ký hết hạn trước chứng nhận, hãy chạy `vaxlink keys rotate` / "
            "the signer expires before the certificate would: run `vaxlink keys rotate`"
        )
    uvci = uvci or make_uvci()
    payload = build_payload(name, date_of_birth, latest_dose(doses), uvci)
    cose = hcert.sign_cose(payload, signer, issued_at, expires_at)
    signature = hcert.parse_cose(cose).signature
    return IssuedCertificate(
        uvci=uvci,
        hc1=hcert.encode_hc1(cose),
        hashes=revocation_hashes(uvci, signer.country, signature, hcert.ES256),
        issued_at=issued_at,
        expires_at=expires_at,
        kid=signer.kid,
        payload=payload,
    )
