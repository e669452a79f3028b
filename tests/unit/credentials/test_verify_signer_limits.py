"""What the signer's own certificate allows: the kinds its extended key usages name (the DCC OIDs), and
the time it is valid, which the certificate's issue and expiry must lie within."""

from __future__ import annotations

import datetime as dt
from typing import Any

import cbor2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.unit.credentials.conftest import NOW, make_certificate
from vaxlink.credentials import CheckName, Signer, Status, TrustList, Verifier
from vaxlink.credentials import hcert as hc
from vaxlink.credentials.keys import kid_of
from vaxlink.credentials.trust import TrustedKey
from vaxlink.credentials.verify import key_usage_check

# The EU DCC extended key usages, written out (not read from the code under test).
OID_TEST = "1.3.6.1.4.1.1847.2021.1.1"
OID_VACCINATION = "1.3.6.1.4.1.1847.2021.1.2"
OID_RECOVERY = "1.3.6.1.4.1.1847.2021.1.3"
# The same three under the arc some early signers used.
OLD_TEST, OLD_VACCINATION, OLD_RECOVERY = (
    "1.3.6.1.4.1.0.1847.2021.1.1",
    "1.3.6.1.4.1.0.1847.2021.1.2",
    "1.3.6.1.4.1.0.1847.2021.1.3",
)
# ICAO's document-signer usage: an extended key usage that names no DCC kind.
ICAO_DOCUMENT_SIGNER = "2.23.136.1.1.14.2"

SIGNER_FROM = NOW - dt.timedelta(days=10)
SIGNER_UNTIL = NOW + dt.timedelta(days=400)
DAY = dt.timedelta(days=1)

_KEY = ec.generate_private_key(ec.SECP256R1())


def make_signer(
    usages: list[str] | None, *, not_before: dt.datetime = SIGNER_FROM, not_after: dt.datetime = SIGNER_UNTIL
) -> Signer:
    name = x509.Name(
        [x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"), x509.NameAttribute(NameOID.COMMON_NAME, "DSC")]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(_KEY.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    if usages is not None:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([x509.ObjectIdentifier(u) for u in usages]), critical=False
        )
    return Signer(_KEY, builder.sign(_KEY, hashes.SHA256()), "VN")


def trust_of(signer: Signer) -> TrustList:
    return TrustList.from_certificates([signer.certificate_der])


VACCINATION = make_certificate(make_signer(None)).payload
PERSON = {k: v for k, v in VACCINATION.items() if k != "v"}
TEST = {
    **PERSON,
    "t": [
        {
            "tg": "840539006",
            "tt": "LP6464-4",
            "sc": "2026-02-27T10:27:15Z",
            "tr": "260415000",
            "tc": "Trung tâm xét nghiệm",
            "co": "VN",
            "is": "Bộ Y tế",
            "ci": "URN:UVCI:01:VN:TEST0000000001",
        }
    ],
}
RECOVERY = {
    **PERSON,
    "r": [
        {
            "tg": "840539006",
            "fr": "2026-01-05",
            "co": "VN",
            "is": "Bộ Y tế",
            "df": "2026-01-16",
            "du": "2026-07-04",
            "ci": "URN:UVCI:01:VN:RECOVERY000001",
        }
    ],
}
PAYLOADS = {"v": VACCINATION, "t": TEST, "r": RECOVERY}
WORDS = {"v": ("tiêm chủng", "vaccination"), "t": ("xét nghiệm", "test"), "r": ("khỏi bệnh", "recovery")}


def signed(
    payload: dict[str, Any],
    signer: Signer,
    issued: dt.datetime | None = NOW,
    expires: dt.datetime | None = NOW + dt.timedelta(days=365),
) -> str:
    """An HC1 code with the given claims; an instant of None leaves that claim out."""
    claims: dict[int, Any] = {1: "VN", -260: {1: payload}}
    if issued is not None:
        claims[6] = int(issued.timestamp())
    if expires is not None:
        claims[4] = int(expires.timestamp())
    protected = cbor2.dumps({1: -7, 4: signer.kid})
    body = cbor2.dumps(claims)
    signature = signer.sign(cbor2.dumps(["Signature1", protected, b"", body]))
    return hc.encode_hc1(cbor2.dumps(cbor2.CBORTag(18, [protected, {}, body, signature])))


def verify(text: str, signer: Signer, at: dt.datetime = NOW + DAY) -> Any:
    # Schema and value sets aside: here only what the signer's certificate allows is at stake.
    return Verifier(trust_of(signer), check_schema=False, check_value_sets=False).verify(text, at=at)


# --- key usage -----------------------------------------------------------------------------------


ALLOWED = [
    ([OID_VACCINATION], "v"),
    ([OID_TEST], "t"),
    ([OID_RECOVERY], "r"),
    ([OLD_VACCINATION], "v"),
    ([OLD_TEST], "t"),
    ([OLD_RECOVERY], "r"),
    ([OID_TEST, OID_VACCINATION, OID_RECOVERY], "v"),
    ([OID_TEST, OID_VACCINATION, OID_RECOVERY], "t"),
    ([OID_TEST, OID_VACCINATION, OID_RECOVERY], "r"),
    ([ICAO_DOCUMENT_SIGNER, OID_VACCINATION], "v"),
]
REFUSED = [
    ([OID_TEST], "v"),  # a signer of test certificates signing a vaccination certificate
    ([OID_VACCINATION], "t"),  # and the reverse
    ([OID_VACCINATION], "r"),
    ([OID_RECOVERY], "v"),
    ([OID_TEST, OID_RECOVERY], "v"),
    ([OLD_TEST], "v"),
    ([OLD_VACCINATION], "t"),
    ([ICAO_DOCUMENT_SIGNER], "v"),
    ([ExtendedKeyUsageOID.SERVER_AUTH.dotted_string], "t"),
]


@pytest.mark.parametrize(("usages", "kind"), ALLOWED)
def test_signer_may_sign_the_kinds_its_usages_name(usages: list[str], kind: str) -> None:
    signer = make_signer(usages)
    r = verify(signed(PAYLOADS[kind], signer), signer)
    assert r.valid, r.failures
    check = r.check(CheckName.KEY_USAGE)
    assert check is not None and check.status is Status.OK
    assert check.message_en == "Signer may sign this kind"


@pytest.mark.parametrize(("usages", "kind"), REFUSED)
def test_signer_may_not_sign_other_kinds(usages: list[str], kind: str) -> None:
    signer = make_signer(usages)
    r = verify(signed(PAYLOADS[kind], signer), signer)
    assert not r.valid
    assert [c.name for c in r.failures] == [CheckName.KEY_USAGE]
    assert r.status(CheckName.SIGNATURE) is Status.OK
    vi, en = WORDS[kind]
    assert r.failures[0].message_en == f"Signer may not sign {en} certificates"
    assert r.failures[0].message_vi == f"Khóa ký không được phép ký chứng nhận {vi}"


@pytest.mark.parametrize("kind", ["v", "t", "r"])
def test_signer_without_extended_key_usage_signs_every_kind(kind: str) -> None:
    signer = make_signer(None)
    r = verify(signed(PAYLOADS[kind], signer), signer)
    assert r.valid, r.failures
    check = r.check(CheckName.KEY_USAGE)
    assert check is not None and check.status is Status.OK
    assert check.message_en == "Signer not restricted by kind"


def test_key_usage_is_checked_even_when_the_signature_fails() -> None:
    signer = make_signer([OID_TEST])
    text = signed(VACCINATION, signer)
    tagged = cbor2.loads(hc.unwrap(text))
    tagged.value[3] = bytes(64)
    r = verify(hc.encode_hc1(cbor2.dumps(tagged)), signer)
    assert r.status(CheckName.SIGNATURE) is Status.FAILED
    assert r.status(CheckName.KEY_USAGE) is Status.FAILED
    assert r.signer is None


def test_key_usage_of_an_unknown_signer_is_not_established() -> None:
    signer, other = make_signer([OID_TEST]), make_signer(None, not_before=SIGNER_FROM - DAY)
    r = verify(signed(VACCINATION, signer), other)
    assert r.status(CheckName.KID) is Status.FAILED
    assert r.status(CheckName.SIGNATURE) is Status.SKIPPED
    check = r.check(CheckName.KEY_USAGE)
    assert check is not None and check.status is Status.SKIPPED
    assert check.message_en == "Signer not established"


def test_a_payload_of_two_kinds_is_not_judged_by_kind() -> None:
    signer = make_signer([OID_TEST])
    both = {**VACCINATION, "t": TEST["t"]}
    r = verify(signed(both, signer), signer)
    assert r.status(CheckName.KEY_USAGE) is Status.OK
    assert r.hcert is not None and r.hcert.kind is None
    strict = Verifier(trust_of(signer), check_value_sets=False).verify(signed(both, signer), at=NOW + DAY)
    assert [c.name for c in strict.failures] == [CheckName.SCHEMA]


def test_key_usage_check_on_its_own() -> None:
    signer = make_signer([OID_RECOVERY])
    h = hc.decode_hc1(signed(VACCINATION, signer))
    key = TrustedKey(kid_of(signer.certificate_der), signer.certificate.public_key(), key_usages=frozenset())
    assert key_usage_check(h, key).status is Status.OK
    assert key_usage_check(h, None).status is Status.SKIPPED
    restricted = TrustedKey(key.kid, key.public_key, key_usages=frozenset({OID_RECOVERY}))
    assert key_usage_check(h, restricted).status is Status.FAILED


# --- the signer certificate's validity ----------------------------------------------------------------


def _validity(r: Any) -> Any:
    check = r.check(CheckName.VALIDITY)
    assert check is not None
    return check


def test_signed_before_the_signer_certificate_was_valid() -> None:
    signer = make_signer([OID_VACCINATION])
    issued = SIGNER_FROM - dt.timedelta(seconds=1)
    r = verify(signed(VACCINATION, signer, issued, issued + dt.timedelta(days=30)), signer)
    assert [c.name for c in r.failures] == [CheckName.VALIDITY]
    assert _validity(r).message_en == "Signed outside the signer certificate's validity"
    assert _validity(r).message_vi == "Được ký ngoài thời hạn của chứng thư khóa ký"


def test_signed_after_the_signer_certificate_expired() -> None:
    signer = make_signer([OID_VACCINATION])
    issued = SIGNER_UNTIL + dt.timedelta(seconds=1)
    r = verify(signed(VACCINATION, signer, issued, issued + DAY), signer, at=issued + dt.timedelta(hours=1))
    assert [c.name for c in r.failures] == [CheckName.VALIDITY]
    assert _validity(r).message_en == "Signed outside the signer certificate's validity"


def test_expires_after_the_signer_certificate() -> None:
    signer = make_signer([OID_VACCINATION])
    r = verify(signed(VACCINATION, signer, NOW, SIGNER_UNTIL + dt.timedelta(seconds=1)), signer)
    assert [c.name for c in r.failures] == [CheckName.VALIDITY]
    assert _validity(r).message_en == (
        f"Expires after the signer certificate ({SIGNER_UNTIL:%Y-%m-%d %H:%M} UTC)"
    )
    assert _validity(r).message_vi.startswith("Hạn dùng vượt quá hạn của chứng thư khóa ký")


def test_the_signer_certificate_bounds_themselves_are_inside() -> None:
    signer = make_signer([OID_VACCINATION])
    # Issued the second the signer became valid, expiring the second it ends: valid.
    r = verify(signed(VACCINATION, signer, SIGNER_FROM, SIGNER_UNTIL), signer, at=SIGNER_FROM)
    assert r.valid, r.failures
    assert _validity(r).message_en == f"Valid until {SIGNER_UNTIL:%Y-%m-%d %H:%M} UTC"
    # Issued the second it ends (and valid only that second).
    late = verify(signed(VACCINATION, signer, SIGNER_UNTIL, SIGNER_UNTIL), signer, at=SIGNER_UNTIL)
    assert late.valid, late.failures


def test_the_certificate_own_dates_at_their_bounds() -> None:
    signer = make_signer([OID_VACCINATION])
    issued, expires = NOW, NOW + dt.timedelta(days=30)
    text = signed(VACCINATION, signer, issued, expires)
    assert verify(text, signer, at=issued).valid
    assert verify(text, signer, at=expires).valid
    early = verify(text, signer, at=issued - dt.timedelta(seconds=1))
    assert _validity(early).message_en == f"Issued in the future ({issued:%Y-%m-%d %H:%M} UTC)"
    late = verify(text, signer, at=expires + dt.timedelta(seconds=1))
    assert _validity(late).message_en == f"Expired at {expires:%Y-%m-%d %H:%M} UTC"
    assert _validity(late).message_vi == f"Đã hết hạn lúc {expires:%Y-%m-%d %H:%M} UTC"


@pytest.mark.parametrize("missing", ["issued", "expires", "both"])
def test_missing_issue_or_expiry_time(missing: str) -> None:
    signer = make_signer([OID_VACCINATION])
    issued = None if missing in ("issued", "both") else NOW
    expires = None if missing in ("expires", "both") else NOW + DAY * 30
    r = verify(signed(VACCINATION, signer, issued, expires), signer)
    assert [c.name for c in r.failures] == [CheckName.VALIDITY]
    assert _validity(r).message_en == "Issue or expiry time missing"


def test_a_signer_without_known_validity_bounds_nothing() -> None:
    signer = make_signer([OID_VACCINATION])
    key = TrustedKey(signer.kid, signer.certificate.public_key(), key_usages=frozenset({OID_VACCINATION}))
    text = signed(VACCINATION, signer, SIGNER_FROM - DAY * 5, SIGNER_UNTIL + DAY * 5)
    r = Verifier(TrustList.of([key]), check_schema=False, check_value_sets=False).verify(text, at=NOW)
    assert r.valid, r.failures
    only_start = TrustedKey(signer.kid, signer.certificate.public_key(), not_before=SIGNER_FROM)
    r = Verifier(TrustList.of([only_start]), check_schema=False, check_value_sets=False).verify(text, at=NOW)
    assert r.valid, r.failures
    only_end = TrustedKey(signer.kid, signer.certificate.public_key(), not_after=SIGNER_UNTIL)
    r = Verifier(TrustList.of([only_end]), check_schema=False, check_value_sets=False).verify(text, at=NOW)
    assert r.valid, r.failures


def test_an_unknown_signer_dates_are_not_checked() -> None:
    signer = make_signer([OID_VACCINATION])
    stranger = make_signer(None, not_before=SIGNER_FROM - DAY)
    text = signed(VACCINATION, signer, SIGNER_FROM - DAY * 5, SIGNER_UNTIL + DAY * 5)
    r = verify(text, stranger, at=NOW)
    assert r.status(CheckName.VALIDITY) is Status.OK


# --- why a signature fails, and which of several keys under one kid signed -----------------------------


def _signature_failure(r: Any) -> str:
    check = r.check(CheckName.SIGNATURE)
    assert check is not None and check.status is Status.FAILED
    return str(check.message_en)


def _with_key(signer: Signer, public_key: Any) -> Verifier:
    key = TrustedKey(signer.kid, public_key)
    return Verifier(TrustList.of([key]), check_schema=False, check_value_sets=False)


def test_es256_with_a_key_of_another_curve() -> None:
    signer = make_signer(None)
    other = ec.generate_private_key(ec.SECP384R1()).public_key()
    r = _with_key(signer, other).verify(signed(VACCINATION, signer), at=NOW + DAY)
    assert _signature_failure(r) == "Invalid signature: ES256 but the key is not EC P-256"


def test_es256_with_an_rsa_key_and_ps256_with_an_ec_key() -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    signer = make_signer(None)
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    r = _with_key(signer, rsa_key.public_key()).verify(signed(VACCINATION, signer), at=NOW + DAY)
    assert _signature_failure(r) == "Invalid signature: ES256 but the key is not EC P-256"
    tagged = cbor2.loads(hc.unwrap(signed(VACCINATION, signer)))
    tagged.value[0] = cbor2.dumps({1: -37, 4: signer.kid})
    r = verify(hc.encode_hc1(cbor2.dumps(tagged)), signer)
    assert _signature_failure(r) == "Invalid signature: PS256 but the key is not RSA"


def test_ps256_signed_with_rsa_verifies() -> None:
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = b"rsa-key1"
    protected = cbor2.dumps({1: -37, 4: kid})
    body = cbor2.dumps(
        {1: "VN", 6: int(NOW.timestamp()), 4: int((NOW + DAY * 30).timestamp()), -260: {1: VACCINATION}}
    )
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    sig = rsa_key.sign(cbor2.dumps(["Signature1", protected, b"", body]), pss, hashes.SHA256())
    text = hc.encode_hc1(cbor2.dumps(cbor2.CBORTag(18, [protected, {}, body, sig])))
    verifier = Verifier(TrustList.of([TrustedKey(kid, rsa_key.public_key())]), check_value_sets=False)
    assert verifier.verify(text, at=NOW + DAY).valid
    tampered = cbor2.CBORTag(18, [protected, {}, body, sig[:-1] + bytes([sig[-1] ^ 1])])
    r = verifier.verify(hc.encode_hc1(cbor2.dumps(tampered)), at=NOW + DAY)
    assert _signature_failure(r) == "Invalid signature: the signature does not match the content"


@pytest.mark.parametrize("length", [63, 65, 0])
def test_es256_signature_of_the_wrong_length(length: int) -> None:
    signer = make_signer(None)
    tagged = cbor2.loads(hc.unwrap(signed(VACCINATION, signer)))
    tagged.value[3] = (tagged.value[3] * 2)[:length]
    r = verify(hc.encode_hc1(cbor2.dumps(tagged)), signer)
    assert _signature_failure(r) == "Invalid signature: an ES256 signature is 64 bytes"


def test_an_unaccepted_algorithm_is_named() -> None:
    signer = make_signer(None)
    tagged = cbor2.loads(hc.unwrap(signed(VACCINATION, signer)))
    tagged.value[0] = cbor2.dumps({1: -8, 4: signer.kid})
    r = verify(hc.encode_hc1(cbor2.dumps(tagged)), signer)
    assert _signature_failure(r) == "Invalid signature: algorithm -8 is not accepted"


def test_the_key_that_verifies_among_several_under_one_kid_is_the_signer() -> None:
    signer = make_signer([OID_VACCINATION])
    impostor = TrustedKey(
        signer.kid, ec.generate_private_key(ec.SECP256R1()).public_key(), key_usages=frozenset({OID_TEST})
    )
    real = key_from(signer)
    for keys in ([impostor, real], [real, impostor]):
        r = Verifier(TrustList.of(keys), check_schema=False, check_value_sets=False).verify(
            signed(VACCINATION, signer), at=NOW + DAY
        )
        assert r.valid, r.failures
        assert r.signer == real
    # None verifies: the last key's reason is given, and the first candidate's usages are judged.
    other = TrustedKey(signer.kid, ec.generate_private_key(ec.SECP256R1()).public_key())
    r = Verifier(TrustList.of([impostor, other]), check_schema=False, check_value_sets=False).verify(
        signed(VACCINATION, signer), at=NOW + DAY
    )
    assert _signature_failure(r) == "Invalid signature: the signature does not match the content"
    assert r.status(CheckName.KEY_USAGE) is Status.FAILED
    assert r.signer is None and not r.valid


def key_from(signer: Signer) -> TrustedKey:
    from vaxlink.credentials.trust import key_from_certificate

    return key_from_certificate(signer.certificate_der)


def test_the_result_reports_what_it_holds() -> None:
    signer = make_signer([OID_VACCINATION])
    r = verify(signed(VACCINATION, signer), signer)
    assert r.valid and r.decoded and r.failures == []
    assert r.payload == VACCINATION
    assert r.status(CheckName.IMAGE) is None and r.check(CheckName.IMAGE) is None
    assert r.status(CheckName.SCHEMA) is Status.SKIPPED
    assert r.status(CheckName.VALUE_SETS) is Status.SKIPPED
    assert r.status(CheckName.REVOCATION) is Status.SKIPPED
    assert all(c.ok for c in r.checks if c.status is Status.OK)
    assert not any(c.ok for c in r.checks if c.status is Status.SKIPPED)
    unreadable = verify("HC1:!!", signer)
    assert not unreadable.decoded and unreadable.payload is None and not unreadable.valid
    assert unreadable.checks[0].name is CheckName.PREFIX
    assert CheckName.IMAGE not in [c.name for c in unreadable.checks]


def test_the_signer_that_verified_bounds_the_dates_not_another_key_of_its_kid() -> None:
    signer = make_signer([OID_VACCINATION])
    unbounded = TrustedKey(signer.kid, ec.generate_private_key(ec.SECP256R1()).public_key())
    issued = SIGNER_FROM - DAY
    text = signed(VACCINATION, signer, issued, issued + DAY * 30)
    r = Verifier(
        TrustList.of([unbounded, key_from(signer)]), check_schema=False, check_value_sets=False
    ).verify(text, at=NOW)
    assert r.status(CheckName.SIGNATURE) is Status.OK
    assert [c.name for c in r.failures] == [CheckName.VALIDITY]


def test_checks_are_values() -> None:
    signer = make_signer(None)
    r = verify(signed(VACCINATION, signer), signer)
    with pytest.raises(AttributeError):
        r.checks[0].status = Status.FAILED  # type: ignore[misc]
    assert not hasattr(r, "__dict__")


@pytest.mark.parametrize(
    ("data", "failed"),
    [
        ("HC2:x", CheckName.PREFIX),
        ("HC1:!!", CheckName.BASE45),
        (b"\x89PNG\r\n\x1a\nbroken", CheckName.IMAGE),
    ],
)
def test_after_a_failed_step_every_later_check_is_listed_once_as_skipped(
    data: str | bytes, failed: CheckName
) -> None:
    signer = make_signer(None)
    r = verify(data, signer)
    names = [c.name for c in r.checks]
    later = list(CheckName)[list(CheckName).index(failed) + 1 :]
    assert names[names.index(failed) + 1 :] == later
    assert names.count(failed) == 1
    assert [c.status for c in r.checks[names.index(failed) + 1 :]] == [Status.SKIPPED] * len(later)


# --- content checks and the input's forms ---------------------------------------------------------------


def test_at_most_three_unknown_codes_are_named() -> None:
    signer = make_signer(None)
    entry = {**VACCINATION["v"][0], "mp": "X1", "ma": "X2", "vp": "X3", "tg": "X4"}
    text = signed({**VACCINATION, "v": [entry]}, signer)
    r = Verifier(trust_of(signer), check_schema=False).verify(text, at=NOW + DAY)
    check = r.check(CheckName.VALUE_SETS)
    assert check is not None and check.status is Status.FAILED
    assert check.message_en == "Codes not in the EU value sets: v/0/tg: X4, v/0/vp: X3, v/0/mp: X1"
    assert check.message_vi == "Mã không có trong danh mục EU: v/0/tg: X4, v/0/vp: X3, v/0/mp: X1"


def test_the_first_schema_error_is_named() -> None:
    signer = make_signer(None)
    text = signed({**VACCINATION, "dob": "x"}, signer)
    r = Verifier(trust_of(signer), check_value_sets=False).verify(text, at=NOW + DAY)
    check = r.check(CheckName.SCHEMA)
    assert check is not None and check.status is Status.FAILED
    assert check.message_en.startswith(
        f"Does not follow DCC schema {VACCINATION['ver']}: dob: 'x' does not match"
    )
    good = Verifier(trust_of(signer), check_value_sets=False).verify(
        signed(VACCINATION, signer), at=NOW + DAY
    )
    ok = good.check(CheckName.SCHEMA)
    assert ok is not None and ok.message_en == f"Follows DCC schema {VACCINATION['ver']}"


def test_text_as_bytes_and_with_spaces_around() -> None:
    signer = make_signer(None)
    text = signed(VACCINATION, signer)
    as_bytes = verify(text.encode(), signer)
    assert as_bytes.valid and as_bytes.text == text
    assert as_bytes.status(CheckName.IMAGE) is None
    spaced = verify(f"  {text}\n", signer)
    assert spaced.valid and spaced.text == text
    bad = verify(b"\xff\xfe\x00", signer)
    check = bad.check(CheckName.PREFIX)
    assert check is not None and check.message_en == "Neither text nor a picture"


def test_a_picture_of_the_code() -> None:
    from vaxlink.credentials.codes import qr_png

    signer = make_signer(None)
    text = signed(VACCINATION, signer)
    r = verify(qr_png(text), signer)
    assert r.valid and r.text == text
    image = r.check(CheckName.IMAGE)
    assert image is not None and image.message_en == "QR code read from the picture"
    assert [c.name for c in r.checks][:2] == [CheckName.IMAGE, CheckName.PREFIX]


def test_checks_carry_no_instance_dictionary() -> None:
    signer = make_signer(None)
    r = verify(signed(VACCINATION, signer), signer)
    assert not hasattr(r.checks[0], "__dict__")


def test_a_bare_cose_message_verifies() -> None:
    signer = make_signer(None)
    text = signed(VACCINATION, signer)
    r = Verifier(trust_of(signer), check_schema=False, check_value_sets=False).verify_cose(
        hc.unwrap(text), at=NOW + DAY
    )
    assert r.valid and r.payload == VACCINATION
    assert r.checks[0].name is CheckName.COSE


def test_without_an_instant_the_clock_decides() -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    signer = make_signer(None, not_before=now - DAY * 10, not_after=now + DAY * 400)
    v = Verifier(trust_of(signer), check_schema=False, check_value_sets=False)
    assert v.verify(signed(VACCINATION, signer, now - DAY, now + DAY * 30)).valid
    expired = v.verify(signed(VACCINATION, signer, now - DAY * 5, now - DAY))
    assert [c.name for c in expired.failures] == [CheckName.VALIDITY]


def test_a_code_without_a_kid() -> None:
    signer = make_signer(None)
    protected = cbor2.dumps({1: -7})
    body = cbor2.dumps(
        {1: "VN", 6: int(NOW.timestamp()), 4: int((NOW + DAY).timestamp()), -260: {1: VACCINATION}}
    )
    sig = signer.sign(cbor2.dumps(["Signature1", protected, b"", body]))
    r = verify(hc.encode_hc1(cbor2.dumps(cbor2.CBORTag(18, [protected, {}, body, sig]))), signer)
    kid = r.check(CheckName.KID)
    assert kid is not None and kid.status is Status.FAILED
    assert kid.message_en == "No key identifier (kid)"
    assert r.status(CheckName.SIGNATURE) is Status.SKIPPED


def test_the_first_key_that_verifies_is_the_signer() -> None:
    signer = make_signer(None)
    public = signer.certificate.public_key()
    vaccination = TrustedKey(signer.kid, public, key_usages=frozenset({OID_VACCINATION}))
    test_only = TrustedKey(signer.kid, public, key_usages=frozenset({OID_TEST}))
    r = Verifier(TrustList.of([vaccination, test_only]), check_schema=False, check_value_sets=False).verify(
        signed(VACCINATION, signer), at=NOW + DAY
    )
    assert r.signer == vaccination
    assert r.valid, r.failures


def test_an_unreadable_picture_is_explained_in_both_languages() -> None:
    r = verify(b"\x89PNG\r\n\x1a\nbroken", make_signer(None))
    check = r.check(CheckName.IMAGE)
    assert check is not None and check.status is Status.FAILED
    assert check.message_vi == "không mở được ảnh"
    assert check.message_en.startswith("cannot open the picture")
