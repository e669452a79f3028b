"""Certificates we issue verify; every kind of tampering fails at the right check, with words for people."""

from __future__ import annotations

import base64
import datetime as dt
import zlib
from pathlib import Path

import base45
import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.credentials.conftest import NOW, make_certificate
from vaxlink.credentials import (
    CheckName,
    HashType,
    IssuedCertificate,
    RevocationList,
    Signer,
    Status,
    TrustList,
    Verifier,
    init_keys,
    load_signer,
)
from vaxlink.credentials import hcert as hc
from vaxlink.credentials.codes import qr_png
from vaxlink.credentials.keys import TRUST_JSON, TRUST_PEM

AT = NOW + dt.timedelta(days=30)


def _rewrap(text: str, change: object) -> str:
    """The same code with its COSE structure edited by `change` (list → None), re-encoded."""
    tagged = cbor2.loads(hc.unwrap(text))
    parts = tagged.value
    change(parts)  # type: ignore[operator]
    return hc.encode_hc1(cbor2.dumps(cbor2.CBORTag(18, parts)))


def _failed(result: object) -> list[CheckName]:
    return [c.name for c in result.failures]  # type: ignore[attr-defined]


def test_issued_certificate_verifies(verifier: Verifier, certificate: IssuedCertificate) -> None:
    r = verifier.verify(certificate.hc1, at=AT)
    assert r.valid, r.failures
    assert [c.name for c in r.checks] == [
        CheckName.PREFIX,
        CheckName.BASE45,
        CheckName.ZLIB,
        CheckName.COSE,
        CheckName.CWT,
        CheckName.KID,
        CheckName.SIGNATURE,
        CheckName.VALIDITY,
        CheckName.REVOCATION,
        CheckName.SCHEMA,
        CheckName.VALUE_SETS,
        CheckName.KEY_USAGE,
    ]
    assert r.status(CheckName.REVOCATION) is Status.SKIPPED  # no list given
    assert all(c.message_vi and c.message_en for c in r.checks)
    assert r.hcert is not None and r.hcert.uvci == certificate.uvci
    assert r.payload == certificate.payload
    assert r.hcert.issuer == "VN"
    assert r.hcert.issued_at == certificate.issued_at
    assert r.hcert.expires_at == certificate.expires_at == certificate.issued_at + dt.timedelta(days=365)


def test_tampered_payload_fails_the_signature(verifier: Verifier, certificate: IssuedCertificate) -> None:
    def edit(parts: list[object]) -> None:
        claims = cbor2.loads(parts[2])  # type: ignore[arg-type]
        claims[-260][1]["nam"]["gn"] = "Thị Thu Hằng"
        parts[2] = cbor2.dumps(claims)

    r = verifier.verify(_rewrap(certificate.hc1, edit), at=AT)
    assert not r.valid
    assert _failed(r) == [CheckName.SIGNATURE]
    assert "không khớp" in r.failures[0].message_vi


def test_wrong_kid_is_not_trusted(verifier: Verifier, certificate: IssuedCertificate) -> None:
    def edit(parts: list[object]) -> None:
        parts[0] = cbor2.dumps({1: -7, 4: b"\x00" * 8})

    r = verifier.verify(_rewrap(certificate.hc1, edit), at=AT)
    assert _failed(r) == [CheckName.KID]
    assert r.status(CheckName.SIGNATURE) is Status.SKIPPED
    assert not r.valid


def test_changed_algorithm_fails(verifier: Verifier, certificate: IssuedCertificate, signer: Signer) -> None:
    for alg in (-37, -35, -8):

        def edit(parts: list[object], alg: int = alg) -> None:
            parts[0] = cbor2.dumps({1: alg, 4: signer.kid})

        r = verifier.verify(_rewrap(certificate.hc1, edit), at=AT)
        assert _failed(r) == [CheckName.SIGNATURE], alg


def test_expired_and_not_yet_valid(verifier: Verifier, certificate: IssuedCertificate) -> None:
    late = verifier.verify(certificate.hc1, at=certificate.expires_at + dt.timedelta(seconds=1))
    assert _failed(late) == [CheckName.VALIDITY]
    assert "hết hạn" in late.failures[0].message_vi
    early = verifier.verify(certificate.hc1, at=certificate.issued_at - dt.timedelta(hours=1))
    assert _failed(early) == [CheckName.VALIDITY]
    naive = verifier.verify(certificate.hc1, at=AT.replace(tzinfo=None))
    assert naive.valid


@pytest.mark.parametrize("hash_type", list(HashType))
def test_revoked_certificate_fails(
    trust: TrustList, signer: Signer, certificate: IssuedCertificate, hash_type: HashType
) -> None:
    revoked = RevocationList()
    revoked.revoke(certificate.hashes, [hash_type])
    r = Verifier(trust, revoked).verify(certificate.hc1, at=AT)
    assert _failed(r) == [CheckName.REVOCATION]
    assert hash_type.value in r.failures[0].message_en
    # Revoking another issuance (another UVCI, another signature) leaves this one valid.
    other = RevocationList()
    other.revoke(make_certificate(signer).hashes, list(HashType))
    assert Verifier(trust, other).verify(certificate.hc1, at=AT).valid


def test_revocation_list_survives_publication(
    tmp_path: Path, trust: TrustList, certificate: IssuedCertificate
) -> None:
    revoked = RevocationList()
    revoked.revoke(certificate.hashes)
    path = tmp_path / "revocations.json"
    revoked.save(path)
    loaded = RevocationList.load(path)
    assert (
        Verifier(trust, loaded).verify(certificate.hc1, at=AT).status(CheckName.REVOCATION) is Status.FAILED
    )


def test_schema_and_value_set_failures(verifier: Verifier, signer: Signer) -> None:
    from vaxlink.credentials.hcert import sign_cose

    good = make_certificate(signer).payload
    bad_schema = {**good, "dob": "15/03/1990"}
    entry = {**good["v"][0], "mp": "NOT-A-VACCINE"}  # type: ignore[index]
    bad_code = {**good, "v": [entry]}
    for payload, check in ((bad_schema, CheckName.SCHEMA), (bad_code, CheckName.VALUE_SETS)):
        text = hc.encode_hc1(sign_cose(payload, signer, NOW, NOW + dt.timedelta(days=365)))
        r = verifier.verify(text, at=AT)
        assert _failed(r) == [check]
        assert r.status(CheckName.SIGNATURE) is Status.OK


def test_rotation_keeps_old_certificates_valid(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    init_keys(keys, now=NOW - dt.timedelta(days=1))
    old = make_certificate(load_signer(keys))
    rotated = init_keys(keys, rotate=True, now=NOW)
    new_signer = load_signer(keys)
    assert new_signer.kid == rotated.signer_kid != old.kid
    new = make_certificate(new_signer)
    for trust in (TrustList.load(keys / TRUST_JSON), TrustList.load(keys / TRUST_PEM)):
        v = Verifier(trust)
        assert v.verify(old.hc1, at=AT).valid
        assert v.verify(new.hc1, at=AT).valid


def test_other_issuers_keys_do_not_verify_ours(certificate: IssuedCertificate, tmp_path: Path) -> None:
    other = tmp_path / "other"
    init_keys(other, country="XX")
    r = Verifier(TrustList.load(other / TRUST_JSON)).verify(certificate.hc1, at=AT)
    assert _failed(r) == [CheckName.KID]


def test_picture_of_the_code_verifies(verifier: Verifier, certificate: IssuedCertificate) -> None:
    r = verifier.verify(qr_png(certificate.hc1), at=AT)
    assert r.status(CheckName.IMAGE) is Status.OK
    assert r.valid
    assert r.text == certificate.hc1


@pytest.mark.parametrize(
    ("data", "failed"),
    [
        ("", CheckName.PREFIX),
        ("HC2:ABC", CheckName.PREFIX),
        ("HC1:ABCD", CheckName.BASE45),
        ("HC1:A", CheckName.BASE45),
        ("HC1:ÅÅÅ", CheckName.BASE45),
        ("HC1:" + base45.b45encode(b"\x78\x9c\x00\x01garbage").decode(), CheckName.ZLIB),
        ("HC1:" + base45.b45encode(zlib.compress(b"x")[:-3]).decode(), CheckName.ZLIB),
        (b"\xff\xfe\x00", CheckName.PREFIX),
        (b"\x89PNG\r\n\x1a\nbroken", CheckName.IMAGE),
    ],
)
def test_unusable_inputs_say_where(verifier: Verifier, data: str | bytes, failed: CheckName) -> None:
    r = verifier.verify(data, at=AT)
    assert not r.decoded and not r.valid
    assert _failed(r) == [failed]
    assert all(c.status is Status.SKIPPED for c in r.checks[[c.name for c in r.checks].index(failed) + 1 :])


def test_uncompressed_and_malformed_cose(verifier: Verifier, certificate: IssuedCertificate) -> None:
    cose = hc.unwrap(certificate.hc1)
    raw = "HC1:" + base45.b45encode(cose).decode()
    assert _failed(verifier.verify(raw, at=AT)) == [CheckName.ZLIB]
    for bad, check in (
        (cbor2.dumps([1, 2, 3]), CheckName.COSE),
        (cbor2.dumps(cbor2.CBORTag(98, [])), CheckName.COSE),
        (cbor2.dumps([b"", {}, cbor2.dumps({1: "VN"}), b"sig"]), CheckName.CWT),
        (cbor2.dumps([b"", {}, b"\xff", b"sig"]), CheckName.CWT),
        (b"\x9f" * 5000, CheckName.COSE),
    ):
        text = "HC1:" + base45.b45encode(zlib.compress(bad)).decode()
        assert _failed(verifier.verify(text, at=AT)) == [check]


def test_zlib_bomb_is_refused(verifier: Verifier) -> None:
    text = "HC1:" + base45.b45encode(zlib.compress(b"\x00" * 5_000_000)).decode()
    assert _failed(verifier.verify(text, at=AT)) == [CheckName.ZLIB]


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.one_of(st.text(max_size=300), st.binary(max_size=300), st.text(max_size=300).map(lambda s: "HC1:" + s))
)
def test_verifier_never_raises(verifier: Verifier, data: str | bytes) -> None:
    r = verifier.verify(data, at=AT)
    assert not r.valid
    assert r.checks


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_corrupted_codes_never_raise_and_never_pass(
    verifier: Verifier, certificate: IssuedCertificate, data: st.DataObject
) -> None:
    cose = bytearray(hc.unwrap(certificate.hc1))
    i = data.draw(st.integers(0, len(cose) - 1))
    cose[i] ^= data.draw(st.integers(1, 255))
    r = verifier.verify(hc.encode_hc1(bytes(cose)), at=AT)
    assert not r.valid


def test_kid_in_unprotected_header_is_read(
    verifier: Verifier, certificate: IssuedCertificate, signer: Signer
) -> None:
    # Some issuers put kid in the unprotected header; the signature over the protected one still holds.
    from vaxlink.credentials.hcert import CoseSign1

    protected = cbor2.dumps({1: -7})
    body = hc.parse_cose(hc.unwrap(certificate.hc1)).payload
    sig = signer.sign(CoseSign1(protected, {1: -7}, {}, body, b"").to_be_signed())
    text = hc.encode_hc1(cbor2.dumps(cbor2.CBORTag(18, [protected, {4: signer.kid}, body, sig])))
    assert verifier.verify(text, at=AT).valid


def test_pycose_reads_our_signature(certificate: IssuedCertificate, signer: Signer) -> None:
    from cryptography.hazmat.primitives import serialization
    from pycose.keys import CoseKey
    from pycose.messages import Sign1Message

    msg = Sign1Message.decode(hc.unwrap(certificate.hc1))
    pem = signer.certificate.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    msg.key = CoseKey.from_pem_public_key(pem.decode())
    assert msg.verify_signature()


def test_trust_list_from_base64(signer: Signer, certificate: IssuedCertificate) -> None:
    trust = TrustList.from_base64_certificate(base64.b64encode(signer.certificate_der).decode())
    assert Verifier(trust).verify(certificate.hc1, at=AT).valid


_VI_LETTERS = "aăâbcdđeêghiklmnoôơpqrstuưvxyàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ"
_syllable = st.text(alphabet=_VI_LETTERS, min_size=1, max_size=7).map(str.capitalize)
_names = st.lists(_syllable, min_size=0, max_size=3).map(" ".join)
_products = st.sampled_from(
    ["EU/1/21/1529", "EU/1/20/1528", "EU/1/20/1507", "EU/1/20/1525", "BBIBP-CorV", "Abdala"]
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    family=_syllable,
    middle=_names,
    given_name=_syllable,
    birth=st.one_of(st.dates(dt.date(1900, 1, 1), dt.date(2021, 12, 31)), st.integers(1900, 2021).map(str)),
    history=st.lists(
        st.tuples(st.dates(dt.date(2021, 3, 1), dt.date(2026, 2, 1)), _products), min_size=1, max_size=5
    ),
)
def test_issue_decode_round_trip(
    verifier: Verifier,
    signer: Signer,
    family: str,
    middle: str,
    given_name: str,
    birth: dt.date | str,
    history: list[tuple[dt.date, str]],
) -> None:
    from vaxlink.credentials import Name, doses_from_history, issue
    from vaxlink.credentials.payload import transliterate

    doses = doses_from_history(history)
    cert = issue(Name(family, middle, given_name), birth, doses, signer, now=NOW)
    decoded = hc.decode_hc1(cert.hc1)
    assert decoded.payload == cert.payload
    assert decoded.uvci == cert.uvci
    assert decoded.cose.kid == signer.kid
    nam = decoded.payload["nam"]
    assert nam["fn"] == family and nam["fnt"] == transliterate(family)
    assert nam["gn"] == " ".join(p for p in (middle, given_name) if p)
    last = max(doses, key=lambda d: (d.date, d.dose_number))
    assert decoded.payload["v"][0]["dt"] == last.date.isoformat()
    assert verifier.verify(cert.hc1, at=AT).valid
