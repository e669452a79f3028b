"""QR codes and barcodes read back with zxing-cpp; key directories; revocation hashes; PDFs; schema fast path."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from tests.unit.credentials.conftest import NOW
from vaxlink.credentials import (
    IssuedCertificate,
    KeyDirectoryError,
    RevocationList,
    Signer,
    init_keys,
    schema,
)
from vaxlink.credentials import hcert as hc
from vaxlink.credentials.codes import (
    ImageError,
    code128_png,
    id_qr_png,
    qr_png,
    qr_svg,
    read_code,
    read_codes,
)
from vaxlink.credentials.keys import EKU_VACCINATION, kid_of
from vaxlink.credentials.pdf import render_certificate_pdf, render_id_notice_pdf
from vaxlink.credentials.revocation import RevocationListError, hashes_of, revocation_hashes
from vaxlink.credentials.trust import TrustList, TrustListError

# ------------------------------------------------------------------------------------------------ codes


def test_rendered_png_decodes_to_the_same_text(certificate: IssuedCertificate) -> None:
    png = qr_png(certificate.hc1)
    assert png.startswith(b"\x89PNG")
    code = read_code(png)
    assert code.text == certificate.hc1
    assert code.format == "QR Code"


def test_svg_is_an_svg(certificate: IssuedCertificate) -> None:
    svg = qr_svg(certificate.hc1)
    assert b"<svg" in svg and svg.startswith(b"<?xml")


@settings(max_examples=25, deadline=None)
@given(st.from_regex(r"[0-9]{12}", fullmatch=True))
def test_id_barcode_and_qr_read_back(personal_id: str) -> None:
    bar = read_code(code128_png(personal_id))
    assert (bar.text, bar.format) == (personal_id, "Code 128")
    assert read_code(id_qr_png(personal_id)).text == personal_id


def test_bad_ids_and_pictures() -> None:
    for bad in ("12345", "07709000123X", "0770900012345"):
        with pytest.raises(ValueError):
            code128_png(bad)
    with pytest.raises(ImageError):
        read_code(b"not a picture")
    import io

    from PIL import Image

    blank = io.BytesIO()
    Image.new("L", (50, 50), 255).save(blank, format="PNG")
    assert read_codes(blank.getvalue()) == []
    with pytest.raises(ImageError):
        read_code(blank.getvalue())


# ------------------------------------------------------------------------------------------------ keys


def test_key_directory_layout(key_dir: Path, signer: Signer) -> None:
    for key_file in [key_dir / "csca.key.pem", *(key_dir / "signers").glob("*.key.pem")]:
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert signer.kid == hashlib.sha256(signer.certificate_der).digest()[:8] == kid_of(signer.certificate_der)
    csca = x509.load_pem_x509_certificate((key_dir / "csca.crt.pem").read_bytes())
    signer.certificate.verify_directly_issued_by(csca)
    eku = signer.certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert [o.dotted_string for o in eku] == [EKU_VACCINATION]
    assert csca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert signer.certificate.not_valid_after_utc - NOW > dt.timedelta(days=365)
    assert csca.not_valid_after_utc - NOW > dt.timedelta(days=365 * 10)


def test_init_refuses_to_overwrite_and_rotate_needs_a_csca(key_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(KeyDirectoryError):
        init_keys(key_dir)
    with pytest.raises(KeyDirectoryError):
        init_keys(tmp_path / "empty", rotate=True)


def test_trust_list_document(key_dir: Path, signer: Signer) -> None:
    doc = json.loads((key_dir / "trust-list.json").read_text())
    entry = doc["certificates"][base64.b64encode(signer.kid).decode()]
    assert base64.b64decode(entry["certificate"]) == signer.certificate_der
    assert entry["country"] == "VN"
    assert entry["not_after"].endswith("Z")
    assert not any("PRIVATE" in p.read_text() for p in key_dir.glob("trust-list.*"))


def test_bad_trust_lists(tmp_path: Path) -> None:
    cases = {
        "a.json": "{not json",
        "b.json": "[1, 2]",
        "c.json": '{"certificates": {"AAAAAAAAAAA=": {"certificate": "@@@"}}}',
        "d.pem": "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
        "e.der": "garbage",
    }
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(TrustListError):
            TrustList.load(tmp_path / name)
    with pytest.raises(TrustListError):
        TrustList.load(tmp_path / "missing.json")


def test_lenient_certificate_parse(signer: Signer) -> None:
    from vaxlink.credentials.trust import _lenient, _strict

    strict, lenient = _strict(signer.certificate_der), _lenient(signer.certificate_der)
    assert strict.kid == lenient.kid
    assert strict.key_usages == lenient.key_usages
    assert strict.not_after == lenient.not_after
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    assert strict.public_key.public_bytes(serialization.Encoding.DER, pub) == lenient.public_key.public_bytes(
        serialization.Encoding.DER, pub
    )


# ------------------------------------------------------------------------------------------------ revocation


def test_revocation_hashes_follow_the_scheme(certificate: IssuedCertificate) -> None:
    h = hashes_of(hc.decode_hc1(certificate.hc1))
    assert h == certificate.hashes
    assert h.uci == hashlib.sha256(certificate.uvci.encode()).digest()[:16]
    assert h.country_code_uci == hashlib.sha256(("VN" + certificate.uvci).encode()).digest()[:16]
    signature = hc.parse_cose(hc.unwrap(certificate.hc1)).signature
    assert h.signature == hashlib.sha256(signature[:32]).digest()[:16]  # ES256: the r half only
    rsa_like = revocation_hashes("X", "VN", b"\x01" * 256, hc.PS256)
    assert rsa_like.signature == hashlib.sha256(b"\x01" * 256).digest()[:16]
    assert set(h.as_base64()) == {"UCI", "COUNTRYCODEUCI", "SIGNATURE"}


def test_revocation_document_round_trip(certificate: IssuedCertificate, tmp_path: Path) -> None:
    rl = RevocationList()
    rl.revoke(certificate.hashes, ["UCI", "SIGNATURE"])  # type: ignore[list-item]
    doc = rl.to_document()
    back = RevocationList.from_document(json.loads(json.dumps(doc)))
    assert back.match(certificate.hashes) is not None and len(back) == 2
    for bad in ({}, {"entries": {"UCI": "x"}}, {"entries": {"UCI": ["@@"]}}):
        with pytest.raises(RevocationListError):
            RevocationList.from_document(bad)
    (tmp_path / "r.json").write_text("{")
    with pytest.raises(RevocationListError):
        RevocationList.load(tmp_path / "r.json")
    with pytest.raises(ValueError):
        rl.add(next(iter(rl.entries)), b"short")


# ------------------------------------------------------------------------------------------------ PDFs


def test_certificate_pdf(certificate: IssuedCertificate) -> None:
    pdf = render_certificate_pdf(certificate.hc1, certificate.payload, certificate.expires_at)
    assert pdf.startswith(b"%PDF")
    assert pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") <= 1
    assert b"DejaVuSans" in pdf
    assert render_certificate_pdf(certificate.hc1, certificate.payload, certificate.expires_at) == pdf


def test_id_notice_pdf() -> None:
    pdf = render_id_notice_pdf(
        "Nguyễn Văn An", "077090001234", dt.date(1990, 3, 15), issued_on=dt.date(2026, 1, 2)
    )
    assert pdf.startswith(b"%PDF") and b"DejaVuSans" in pdf
    with pytest.raises(ValueError):
        render_id_notice_pdf("Nguyễn Văn An", "77090001234", "1990")


# ------------------------------------------------------------------------------------------------ schema


def _conformance_payloads() -> list[dict[str, object]]:
    root = Path(__file__).parents[2] / "conformance" / "dgc-testdata"
    out = []
    for path in sorted(root.glob("**/2DCode/**/*.json"))[::3]:
        case = json.loads(path.read_text("utf-8"))
        if "COSE" in case:
            try:
                out.append(hc.decode_cose(bytes.fromhex(case["COSE"])).payload)
            except hc.DecodeError:
                continue
    return out


def _jsonschema_verdict(payload: object) -> bool:
    version = schema.schema_for(payload.get("ver") if isinstance(payload, dict) else None)
    return bool(Draft202012Validator(schema.validator(version).schema).is_valid(payload))


def test_fast_schema_path_agrees_with_jsonschema_on_real_certificates() -> None:
    payloads = _conformance_payloads()
    assert len(payloads) > 100
    for payload in payloads:
        fast = not schema.schema_errors(payload)[1]
        assert fast == _jsonschema_verdict(payload), payload


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=300)
@given(st.data())
def test_fast_schema_path_agrees_with_jsonschema_on_mutations(data: st.DataObject) -> None:
    payload = json.loads(json.dumps(data.draw(st.sampled_from(_SAMPLES))))
    target = payload
    path = data.draw(st.lists(st.text(max_size=3), max_size=3))
    for key in path[:-1]:
        if isinstance(target, dict) and target:
            target = target[data.draw(st.sampled_from(sorted(target)))]
    if isinstance(target, dict):
        keys = sorted(target)
        key = (
            data.draw(st.sampled_from(keys))
            if keys and data.draw(st.booleans())
            else (path[-1] if path else "x")
        )
        if data.draw(st.booleans()):
            target[key] = data.draw(json_values)
        else:
            target.pop(key, None)
    elif isinstance(target, list) and target:
        target[0] = data.draw(json_values)
    assert (not schema.schema_errors(payload)[1]) == _jsonschema_verdict(payload)


_SAMPLES = _conformance_payloads()[:40]


def test_issue_refuses_a_signer_outside_its_validity(signer: Signer) -> None:
    from tests.unit.credentials.conftest import make_certificate
    from vaxlink.credentials import SignerExpiring

    with pytest.raises(SignerExpiring):
        make_certificate(signer, now=signer.not_after - dt.timedelta(days=100))
    with pytest.raises(SignerExpiring):
        make_certificate(signer, now=signer.certificate.not_valid_before_utc - dt.timedelta(days=1))
