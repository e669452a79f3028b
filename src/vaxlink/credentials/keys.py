"""Signing keys for certificates: a country signing CA and its document signers, kept in a key directory.

The directory lives outside the database. Rotation adds a document signer and makes it the active one; the
earlier signers stay in the exported trust list so that certificates they signed keep verifying.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from vaxlink.domain.errors import VaxlinkError

# Extended key usages of the EU DCC trust framework: which kind of certificate a signer may sign.
EKU_TEST = "1.3.6.1.4.1.1847.2021.1.1"
EKU_VACCINATION = "1.3.6.1.4.1.1847.2021.1.2"
EKU_RECOVERY = "1.3.6.1.4.1.1847.2021.1.3"

CSCA_VALIDITY = dt.timedelta(days=365 * 15)
# A signer must outlive every certificate it signs (12 months) by a margin: it signs for about a year.
SIGNER_VALIDITY = dt.timedelta(days=365 * 2 + 30)

CSCA_KEY = "csca.key.pem"
CSCA_CERT = "csca.crt.pem"
SIGNERS_DIR = "signers"
ACTIVE = "active-signer"
TRUST_JSON = "trust-list.json"
TRUST_PEM = "trust-list.pem"


class KeyDirectoryError(VaxlinkError):
    """The key directory is missing, incomplete or already initialised."""


def kid_of(certificate_der: bytes) -> bytes:
    """The COSE key identifier the EU scheme uses: the first 8 bytes of SHA-256 of the certificate's DER."""
    return hashlib.sha256(certificate_der).digest()[:8]


@dataclass(frozen=True, slots=True)
class Signer:
    """A document signer: its private key and certificate. Signs with ES256 (raw r || s, as COSE wants)."""

    private_key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    country: str

    @property
    def certificate_der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)

    @property
    def kid(self) -> bytes:
        return kid_of(self.certificate_der)

    @property
    def not_after(self) -> dt.datetime:
        return self.certificate.not_valid_after_utc

    def sign(self, data: bytes) -> bytes:
        der = self.private_key.sign(data, ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


@dataclass(frozen=True, slots=True)
class KeyInit:
    directory: Path
    csca_created: bool
    signer_kid: bytes
    trust_json: Path
    trust_pem: Path


def _name(country: str, common_name: str, organisation: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, country),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _write_private(path: Path, key: ec.EllipticCurvePrivateKey, passphrase: bytes | None) -> None:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    )
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    # Created with 0600 from the start: a chmod after writing would leave a window with looser rights.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    os.chmod(path, 0o600)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _read_private(path: Path, passphrase: bytes | None) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=passphrase)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise KeyDirectoryError(f"khóa không phải EC P-256 / not an EC P-256 key: {path.name}")
    return key


def _key_usage(
    *, digital_signature: bool = False, key_cert_sign: bool = False, crl_sign: bool = False
) -> x509.KeyUsage:
    """A key usage extension allowing only the uses named (signing documents, or certificates and lists)."""
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _make_csca(
    country: str, organisation: str, now: dt.datetime
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(country, f"CSCA DCC {country}", organisation)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + CSCA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            _key_usage(key_cert_sign=True, crl_sign=True),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _make_signer(
    csca_key: ec.EllipticCurvePrivateKey,
    csca: x509.Certificate,
    country: str,
    organisation: str,
    now: dt.datetime,
    serial: int,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    not_after = min(now + SIGNER_VALIDITY, csca.not_valid_after_utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(country, f"DSC DCC {country} {serial}", organisation))
        .issuer_name(csca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            _key_usage(digital_signature=True),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([x509.ObjectIdentifier(EKU_VACCINATION)]),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(csca.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
        .sign(csca_key, hashes.SHA256())
    )
    return key, cert


def init_keys(
    directory: Path,
    *,
    country: str = "VN",
    organisation: str = "Ministry of Health of Viet Nam",
    rotate: bool = False,
    now: dt.datetime | None = None,
    passphrase: bytes | None = None,
) -> KeyInit:
    """Create the CSCA and a first document signer, or (rotate) add a new active document signer.

    Refuses to overwrite: initialising a directory that already has a CSCA needs `rotate`.
    """
    now = now or dt.datetime.now(dt.UTC)
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    signers = directory / SIGNERS_DIR
    signers.mkdir(mode=0o700, exist_ok=True)
    csca_key_path, csca_cert_path = directory / CSCA_KEY, directory / CSCA_CERT
    created = False
    if csca_cert_path.exists():
        if not rotate:
            raise KeyDirectoryError(
                f"thư mục khóa đã được khởi tạo, dùng --rotate để thêm khóa ký mới / "
                f"key directory already initialised, use --rotate to add a signer: {directory}"
            )
        csca_key = _read_private(csca_key_path, passphrase)
        csca = x509.load_pem_x509_certificate(csca_cert_path.read_bytes())
    else:
        if rotate:
            raise KeyDirectoryError(f"chưa có CSCA để xoay khóa / no CSCA to rotate from: {directory}")
        csca_key, csca = _make_csca(country, organisation, now)
        _write_private(csca_key_path, csca_key, passphrase)
        _write_cert(csca_cert_path, csca)
        created = True
    serial = len(list(signers.glob("*.crt.pem"))) + 1
    key, cert = _make_signer(csca_key, csca, country, organisation, now, serial)
    kid = kid_of(cert.public_bytes(serialization.Encoding.DER))
    _write_private(signers / f"{kid.hex()}.key.pem", key, passphrase)
    _write_cert(signers / f"{kid.hex()}.crt.pem", cert)
    (directory / ACTIVE).write_text(kid.hex() + "\n", "ascii")
    trust_json, trust_pem = export_trust_list(directory)
    return KeyInit(directory, created, kid, trust_json, trust_pem)


def _signer_certificates(directory: Path) -> list[x509.Certificate]:
    certs = [
        x509.load_pem_x509_certificate(p.read_bytes()) for p in (directory / SIGNERS_DIR).glob("*.crt.pem")
    ]
    return sorted(certs, key=lambda c: c.not_valid_before_utc)


def load_signer(directory: Path, *, passphrase: bytes | None = None) -> Signer:
    """The active document signer of a key directory."""
    active = directory / ACTIVE
    if not active.exists():
        raise KeyDirectoryError(
            f"không tìm thấy khóa ký, chạy `vaxlink keys init` / no signer, run `vaxlink keys init`: {directory}"
        )
    kid_hex = active.read_text("ascii").strip()
    key_path = directory / SIGNERS_DIR / f"{kid_hex}.key.pem"
    cert_path = directory / SIGNERS_DIR / f"{kid_hex}.crt.pem"
    if not key_path.exists() or not cert_path.exists():
        raise KeyDirectoryError(f"thiếu tệp khóa ký / signer files missing: {kid_hex}")
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    countries = cert.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)
    country = str(countries[0].value) if countries else "VN"
    return Signer(_read_private(key_path, passphrase), cert, country)


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def trust_list_document(directory: Path) -> dict[str, object]:
    """The public trust list: every document signer by kid (base64), with the CSCA for chain checks."""
    csca = x509.load_pem_x509_certificate((directory / CSCA_CERT).read_bytes())
    entries: dict[str, object] = {}
    for cert in _signer_certificates(directory):
        der = cert.public_bytes(serialization.Encoding.DER)
        countries = cert.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)
        entries[base64.b64encode(kid_of(der)).decode("ascii")] = {
            "certificate": base64.b64encode(der).decode("ascii"),
            "country": str(countries[0].value) if countries else "",
            "not_before": _iso(cert.not_valid_before_utc),
            "not_after": _iso(cert.not_valid_after_utc),
        }
    return {
        "format": "vaxlink-dcc-trust-list",
        "version": 1,
        "csca": base64.b64encode(csca.public_bytes(serialization.Encoding.DER)).decode("ascii"),
        "certificates": entries,
    }


def export_trust_list(directory: Path, out: Path | None = None) -> tuple[Path, Path]:
    """Write the trust list as JSON and as a PEM bundle of the signer certificates (for verifiers)."""
    out = out or directory
    out.mkdir(parents=True, exist_ok=True)
    json_path, pem_path = out / TRUST_JSON, out / TRUST_PEM
    json_path.write_text(json.dumps(trust_list_document(directory), indent=2) + "\n", "utf-8")
    pem_path.write_bytes(
        b"".join(c.public_bytes(serialization.Encoding.PEM) for c in _signer_certificates(directory))
    )
    return json_path, pem_path


__all__ = [
    "EKU_RECOVERY",
    "EKU_TEST",
    "EKU_VACCINATION",
    "KeyDirectoryError",
    "KeyInit",
    "Signer",
    "export_trust_list",
    "init_keys",
    "kid_of",
    "load_signer",
    "trust_list_document",
]
