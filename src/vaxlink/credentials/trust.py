"""Trust lists for verifiers: document signer public keys by kid, from our JSON, a PEM bundle or bare DER.

Certificates of other issuers are not always strict DER; when `cryptography` refuses one, the public key,
validity and key usages are read leniently with asn1crypto instead.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from vaxlink.credentials.keys import kid_of
from vaxlink.domain.errors import VaxlinkError

PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey


class TrustListError(VaxlinkError):
    """A trust list file or certificate that cannot be read."""


@dataclass(frozen=True, slots=True)
class TrustedKey:
    """One document signer a verifier trusts."""

    kid: bytes
    public_key: PublicKey
    country: str = ""
    not_before: dt.datetime | None = None
    not_after: dt.datetime | None = None
    key_usages: frozenset[str] = frozenset()
    certificate_der: bytes | None = None


def _strict(der: bytes) -> TrustedKey:
    cert = x509.load_der_x509_certificate(der)
    key = cert.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise TrustListError("khóa công khai không phải EC hoặc RSA / public key is neither EC nor RSA")
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        usages = frozenset(o.dotted_string for o in eku)
    except x509.ExtensionNotFound:
        usages = frozenset()
    countries = cert.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)
    return TrustedKey(
        kid=kid_of(der),
        public_key=key,
        country=str(countries[0].value) if countries else "",
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        key_usages=usages,
        certificate_der=der,
    )


def _lenient(der: bytes) -> TrustedKey:
    cert = asn1_x509.Certificate.load(der)
    tbs = cert["tbs_certificate"]
    spki = tbs["subject_public_key_info"].dump(force=True)
    key = serialization.load_der_public_key(spki)
    if not isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise TrustListError("khóa công khai không phải EC hoặc RSA / public key is neither EC nor RSA")
    validity = tbs["validity"]
    usages: frozenset[str] = frozenset()
    for ext in tbs["extensions"] or []:
        if ext["extn_id"].native == "extended_key_usage":
            usages = frozenset(o.dotted for o in ext["extn_value"].parsed)
    country = ""
    for rdn in tbs["subject"].chosen:
        for attr in rdn:
            if attr["type"].native == "country_name":
                country = str(attr["value"].native)
    return TrustedKey(
        kid=kid_of(der),
        public_key=key,
        country=country,
        not_before=validity["not_before"].native,
        not_after=validity["not_after"].native,
        key_usages=usages,
        certificate_der=der,
    )


def key_from_certificate(der: bytes) -> TrustedKey:
    """A trusted key from a DER certificate, strict parse first, lenient (asn1crypto) when that fails."""
    try:
        return _strict(der)
    except TrustListError:
        raise
    except Exception:  # noqa: S110 - the lenient parse below is the answer to any strict-parse failure
        pass
    try:
        return _lenient(der)
    except Exception as e:
        raise TrustListError(
            f"không đọc được chứng thư / unreadable certificate: {type(e).__name__}"
        ) from None


_PEM_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", re.S)


@dataclass(slots=True)
class TrustList:
    """Document signer keys by kid. Several keys may share a kid (8 bytes collide across issuers)."""

    keys: dict[bytes, list[TrustedKey]] = field(default_factory=dict)

    def add(self, key: TrustedKey) -> None:
        bucket = self.keys.setdefault(key.kid, [])
        if all(k.certificate_der != key.certificate_der or k.certificate_der is None for k in bucket):
            bucket.append(key)

    def get(self, kid: bytes) -> list[TrustedKey]:
        return self.keys.get(kid, [])

    def __len__(self) -> int:
        return sum(len(v) for v in self.keys.values())

    def __iter__(self) -> Iterator[TrustedKey]:
        for bucket in self.keys.values():
            yield from bucket

    @classmethod
    def of(cls, keys: Iterable[TrustedKey]) -> TrustList:
        trust = cls()
        for k in keys:
            trust.add(k)
        return trust

    @classmethod
    def from_certificates(cls, ders: Iterable[bytes]) -> TrustList:
        return cls.of(key_from_certificate(d) for d in ders)

    @classmethod
    def from_base64_certificate(cls, text: str) -> TrustList:
        try:
            der = base64.b64decode("".join(text.split()), validate=True)
        except (binascii.Error, ValueError):
            raise TrustListError("chứng thư base64 không hợp lệ / invalid base64 certificate") from None
        return cls.from_certificates([der])

    @classmethod
    def from_pem(cls, data: bytes) -> TrustList:
        blocks = _PEM_BLOCK.findall(data)
        if not blocks:
            raise TrustListError("không có chứng thư PEM nào / no PEM certificate found")
        ders = []
        for block in blocks:
            try:
                ders.append(base64.b64decode(b"".join(block.split()), validate=True))
            except (binascii.Error, ValueError):
                raise TrustListError("khối PEM hỏng / corrupt PEM block") from None
        return cls.from_certificates(ders)

    @classmethod
    def from_document(cls, doc: object) -> TrustList:
        """Our exported JSON (`certificates`: kid → {certificate, ...}) or a plain {kid: base64 DER} map."""
        if not isinstance(doc, dict):
            raise TrustListError(
                "danh sách tin cậy phải là đối tượng JSON / trust list must be a JSON object"
            )
        entries = doc.get("certificates", doc)
        if not isinstance(entries, dict):
            raise TrustListError("trường certificates không hợp lệ / invalid certificates field")
        trust = cls()
        for kid_text, entry in entries.items():
            cert_text = entry.get("certificate") if isinstance(entry, dict) else entry
            if not isinstance(cert_text, str):
                raise TrustListError(f"thiếu chứng thư cho kid / no certificate for kid {kid_text}")
            key = cls.from_base64_certificate(cert_text)
            for k in key:
                trust.add(k)
                # The published kid is what signed certificates carry, even where it differs from the hash.
                try:
                    listed = base64.b64decode(str(kid_text), validate=True)
                except (binascii.Error, ValueError):
                    listed = k.kid
                if listed != k.kid:
                    trust.add(
                        TrustedKey(
                            listed,
                            k.public_key,
                            k.country,
                            k.not_before,
                            k.not_after,
                            k.key_usages,
                            k.certificate_der,
                        )
                    )
        return trust

    @classmethod
    def load(cls, path: Path) -> TrustList:
        """A trust list file: our JSON, a PEM bundle, or one DER certificate."""
        try:
            data = path.read_bytes()
        except OSError as e:
            raise TrustListError(f"không đọc được / cannot read {path}: {e.strerror}") from None
        stripped = data.lstrip()
        if stripped.startswith(b"{"):
            try:
                doc = json.loads(data.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                raise TrustListError(f"JSON không hợp lệ / invalid JSON: {path}") from None
            return cls.from_document(doc)
        if b"-----BEGIN CERTIFICATE-----" in data:
            return cls.from_pem(data)
        return cls.from_certificates([data])
