"""Drill 11, certificates under attack: issued certificates mutated (signature, payload fields, kid,
expiry, algorithm header, truncation, re-encoding, a forger's key) and some revoked. Every bad one is
rejected, no good one is, and every revoked one is reported as revoked."""

from __future__ import annotations

import datetime as dt
import random
import zlib
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import base45
import cbor2
import pytest

from tests.drills.support import figure, size
from vaxlink.credentials import Name, Verifier, dose_from_product, init_keys, issue, load_signer
from vaxlink.credentials.hcert import (
    COSE_ALG,
    COSE_KID,
    COSE_SIGN1_TAG,
    CWT_EXP,
    CWT_HCERT,
    encode_hc1,
    unwrap,
)
from vaxlink.credentials.keys import TRUST_JSON
from vaxlink.credentials.revocation import HashType, RevocationList
from vaxlink.credentials.trust import TrustList
from vaxlink.credentials.verify import CheckName, Status

NOW = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)
AT = NOW + dt.timedelta(hours=1)
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi"]
GIVEN = ["An", "Bình", "Hà", "Khôi", "Lan", "Minh", "Thảo", "Tâm", "Hòa"]

Cose = list  # [protected bytes, unprotected map, payload bytes, signature]


def parts(hc1: str) -> Cose:
    obj = cbor2.loads(unwrap(hc1))
    return list(obj.value if isinstance(obj, cbor2.CBORTag) else obj)


def pack(p: Cose) -> str:
    return encode_hc1(cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, p)))


def with_protected(p: Cose, change: Callable[[dict], None]) -> str:
    header = cbor2.loads(p[0])
    change(header)
    return pack([cbor2.dumps(header), p[1], p[2], p[3]])


def with_claims(p: Cose, change: Callable[[dict], None], *, canonical: bool = False) -> str:
    claims = cbor2.loads(p[2])
    change(claims)
    return pack([p[0], p[1], cbor2.dumps(claims, canonical=canonical), p[3]])


def flip_bit(data: bytes, rng: random.Random) -> bytes:
    b = bytearray(data)
    i = rng.randrange(len(b))
    b[i] ^= 1 << rng.randrange(8)
    return bytes(b)


def _set_name(claims: dict) -> None:
    claims[CWT_HCERT][1]["nam"]["fnt"] = "NGUYEN<VAN<GIA"


def _set_dob(claims: dict) -> None:
    claims[CWT_HCERT][1]["dob"] = "1970-01-01"


def _more_doses(claims: dict) -> None:
    claims[CWT_HCERT][1]["v"][0]["dn"] = 9


def _extend(claims: dict) -> None:
    claims[CWT_EXP] = claims[CWT_EXP] + 5 * 365 * 86400


def _reverse_order(claims: dict) -> None:
    items = list(claims.items())
    claims.clear()
    claims.update(reversed(items))


MUTATIONS: dict[str, Callable[[str, Cose, random.Random, Cose], str]] = {
    "signature bit flipped": lambda hc1, p, rng, o: pack([p[0], p[1], p[2], flip_bit(p[3], rng)]),
    "signature truncated": lambda hc1, p, rng, o: pack([p[0], p[1], p[2], p[3][:-1]]),
    "signature zeroed": lambda hc1, p, rng, o: pack([p[0], p[1], p[2], bytes(len(p[3]))]),
    "signature of another certificate": lambda hc1, p, rng, o: pack([p[0], p[1], p[2], o[3]]),
    "name changed": lambda hc1, p, rng, o: with_claims(p, _set_name),
    "date of birth changed": lambda hc1, p, rng, o: with_claims(p, _set_dob),
    "dose number changed": lambda hc1, p, rng, o: with_claims(p, _more_doses),
    "expiry extended": lambda hc1, p, rng, o: with_claims(p, _extend),
    "payload of another certificate": lambda hc1, p, rng, o: pack([p[0], p[1], o[2], p[3]]),
    "payload re-encoded (claims reordered)": lambda hc1, p, rng, o: with_claims(p, _reverse_order),
    "kid unknown": lambda hc1, p, rng, o: with_protected(
        p, lambda h: h.__setitem__(COSE_KID, rng.randbytes(8))
    ),
    "kid moved to the unprotected header": lambda hc1, p, rng, o: pack(
        [cbor2.dumps({COSE_ALG: -7}), {COSE_KID: cbor2.loads(p[0])[COSE_KID]}, p[2], p[3]]
    ),
    "kid removed": lambda hc1, p, rng, o: pack([cbor2.dumps({COSE_ALG: -7}), {}, p[2], p[3]]),
    "algorithm PS256": lambda hc1, p, rng, o: with_protected(p, lambda h: h.__setitem__(COSE_ALG, -37)),
    "algorithm none (0)": lambda hc1, p, rng, o: with_protected(p, lambda h: h.__setitem__(COSE_ALG, 0)),
    "algorithm as text 'none'": lambda hc1, p, rng, o: with_protected(
        p, lambda h: h.__setitem__(COSE_ALG, "none")
    ),
    "algorithm removed, unprotected ES256": lambda hc1, p, rng, o: pack(
        [cbor2.dumps({COSE_KID: cbor2.loads(p[0])[COSE_KID]}), {COSE_ALG: -7}, p[2], p[3]]
    ),
    "HC1 text truncated": lambda hc1, p, rng, o: hc1[: rng.randrange(4, len(hc1) - 1)],
    "compressed data truncated": lambda hc1, p, rng, o: (
        "HC1:" + base45.b45encode(zlib.compress(unwrap(hc1))[:-3]).decode()
    ),
    "COSE bytes truncated": lambda hc1, p, rng, o: encode_hc1(unwrap(hc1)[: rng.randrange(10, 200)]),
    "base45 character changed": lambda hc1, p, rng, o: hc1[:40] + ("A" if hc1[40] != "A" else "B") + hc1[41:],
    "prefix changed": lambda hc1, p, rng, o: "HC2:" + hc1[4:],
}


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("dcc")
    init_keys(base / "issuer", now=NOW - dt.timedelta(days=1))
    init_keys(base / "forger", now=NOW - dt.timedelta(days=1))
    return {"issuer": base / "issuer", "forger": base / "forger"}


def test_mutated_forged_expired_and_revoked_certificates_are_all_rejected(keys):
    n = size(200, 1_000, "VAXLINK_DRILL_CERTIFICATES")
    rng = random.Random(11)
    signer = load_signer(keys["issuer"])
    forger = load_signer(keys["forger"])
    trust = TrustList.load(keys["issuer"] / TRUST_JSON)
    doses = [
        dose_from_product(dt.date(2021, 9, 1), 1, "EU/1/21/1529"),
        dose_from_product(dt.date(2021, 11, 20), 2, "EU/1/21/1529"),
    ]
    issued = [
        issue(
            Name(rng.choice(FAMILY), "Văn", rng.choice(GIVEN)),
            f"19{rng.randrange(40, 99)}-0{rng.randrange(1, 9)}-1{rng.randrange(0, 9)}",
            doses[: rng.randrange(1, 3)],
            signer,
            now=NOW,
        )
        for _ in range(n)
    ]
    revoked_ids = set(rng.sample(range(n), n // 10))
    revocations = RevocationList()
    for i in revoked_ids:
        revocations.revoke(issued[i].hashes, (rng.choice(list(HashType)),))
    verifier = Verifier(trust, revocations)

    good_rejected, bad_accepted, crashes = 0, Counter[str](), 0
    revoked_reported = 0
    tried: Counter[str] = Counter()
    for i, cert in enumerate(issued):
        p = parts(cert.hc1)
        other = parts(issued[(i + 1) % n].hc1)
        # A good code stays good when only its transport changes (another zlib level).
        variants = [cert.hc1, "HC1:" + base45.b45encode(zlib.compress(unwrap(cert.hc1), 1)).decode()]
        for text in variants:
            r = verifier.verify(text, at=AT)
            if i in revoked_ids:
                if r.status(CheckName.REVOCATION) is Status.FAILED and not r.valid:
                    revoked_reported += 1
                else:
                    bad_accepted["revoked"] += 1
                tried["revoked"] += 1
            elif not r.valid:
                good_rejected += 1
        tried["expired (verified after its expiry)"] += 1
        if verifier.verify(cert.hc1, at=cert.expires_at + dt.timedelta(seconds=1)).valid:
            bad_accepted["expired (verified after its expiry)"] += 1
        forged_cose = _forged(p, forger)
        attacks = {name: make(cert.hc1, p, rng, other) for name, make in MUTATIONS.items()}
        attacks["signed with a forger's key under the issuer's kid"] = forged_cose
        for name, text in attacks.items():
            tried[name] += 1
            try:
                if verifier.verify(text, at=AT).valid:
                    bad_accepted[name] += 1
            except Exception:
                crashes += 1
    bad_total = sum(tried.values())
    figure(
        "11",
        f"{n} certificates, {bad_total:,} bad codes ({len(tried)} kinds), {len(revoked_ids)} revoked",
        f"bad accepted {sum(bad_accepted.values())}, good rejected {good_rejected}, "
        f"revoked reported {revoked_reported}/{2 * len(revoked_ids)}, crashes {crashes}",
    )
    assert not bad_accepted, bad_accepted
    assert good_rejected == 0 and crashes == 0
    assert revoked_reported == 2 * len(revoked_ids)


def _forged(p: Cose, forger) -> str:  # type: ignore[no-untyped-def]
    """The certificate's own header and claims, signed by a key the trust list does not hold."""
    to_sign = cbor2.dumps(["Signature1", p[0], b"", p[2]])
    return pack([p[0], p[1], p[2], forger.sign(to_sign)])
