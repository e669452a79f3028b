"""The verifier: reads an `HC1:` code (text or picture) of any issuer and runs every check in order.

Decode (prefix, Base45, zlib, COSE, CWT), then the signer's kid in the trust list, the signature (ES256 or
PS256, checked with `cryptography` directly over the Sig_structure), validity at an instant, revocation,
the JSON schema, the EU value sets and the signer's key usage. Each check reports a status and a plain
message, Vietnamese first; a check that cannot run for want of an earlier one is `skipped`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import KW_ONLY, dataclass, field
from enum import StrEnum
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from vaxlink.credentials import codes, hcert, schema
from vaxlink.credentials.hcert import ES256, PS256, DecodeError, Hcert, Stage
from vaxlink.credentials.keys import EKU_RECOVERY, EKU_TEST, EKU_VACCINATION
from vaxlink.credentials.revocation import RevocationList, hashes_of
from vaxlink.credentials.trust import TrustedKey, TrustList


class CheckName(StrEnum):
    IMAGE = "image"
    PREFIX = "prefix"
    BASE45 = "base45"
    ZLIB = "zlib"
    COSE = "cose"
    CWT = "cwt"
    KID = "kid"
    SIGNATURE = "signature"
    VALIDITY = "validity"
    REVOCATION = "revocation"
    SCHEMA = "schema"
    VALUE_SETS = "value_sets"
    KEY_USAGE = "key_usage"


DECODING = (
    CheckName.IMAGE,
    CheckName.PREFIX,
    CheckName.BASE45,
    CheckName.ZLIB,
    CheckName.COSE,
    CheckName.CWT,
)


class Status(StrEnum):
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class Check:
    name: CheckName
    status: Status
    message_vi: str
    message_en: str

    @property
    def ok(self) -> bool:
        return self.status is Status.OK


@dataclass(slots=True)
class VerificationResult:
    """Every check that ran, in order, and what was decoded. `valid` only when none failed."""

    checks: list[Check] = field(default_factory=list)
    hcert: Hcert | None = None
    text: str | None = None
    signer: TrustedKey | None = None

    @property
    def valid(self) -> bool:
        return (
            self.hcert is not None
            and all(c.status is not Status.FAILED for c in self.checks)
            and (self.status(CheckName.SIGNATURE) is Status.OK)
        )

    @property
    def decoded(self) -> bool:
        """The input was a readable code (whatever its signature or dates say)."""
        return self.hcert is not None

    def status(self, name: CheckName) -> Status | None:
        for c in self.checks:
            if c.name is name:
                return c.status
        return None

    def check(self, name: CheckName) -> Check | None:
        for c in self.checks:
            if c.name is name:
                return c
        return None

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.status is Status.FAILED]

    @property
    def payload(self) -> dict[str, Any] | None:
        return self.hcert.payload if self.hcert else None


_EKU_BY_KIND = {
    "t": {EKU_TEST, "1.3.6.1.4.1.0.1847.2021.1.1"},
    "v": {EKU_VACCINATION, "1.3.6.1.4.1.0.1847.2021.1.2"},
    "r": {EKU_RECOVERY, "1.3.6.1.4.1.0.1847.2021.1.3"},
}
_KIND_WORDS = {
    "v": ("tiêm chủng", "vaccination"),
    "t": ("xét nghiệm", "test"),
    "r": ("khỏi bệnh", "recovery"),
}

_STAGE_CHECK = {
    Stage.PREFIX: CheckName.PREFIX,
    Stage.BASE45: CheckName.BASE45,
    Stage.ZLIB: CheckName.ZLIB,
    Stage.COSE: CheckName.COSE,
    Stage.CWT: CheckName.CWT,
}


_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
_PSS_SHA256 = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)


def _fmt(t: dt.datetime) -> str:
    t = t.astimezone(dt.UTC)
    return f"{t.year:04d}-{t.month:02d}-{t.day:02d} {t.hour:02d}:{t.minute:02d} UTC"


def verify_signature(key: TrustedKey, cose: hcert.CoseSign1) -> tuple[bool, str, str]:
    """Whether the COSE signature is `key`'s, with the reason when not (vi, en)."""
    alg = cose.alg
    public = key.public_key
    data = cose.to_be_signed()
    try:
        if alg == ES256:
            if not isinstance(public, ec.EllipticCurvePublicKey) or public.curve.name != "secp256r1":
                return (
                    False,
                    "thuật toán ES256 nhưng khóa không phải EC P-256",
                    "ES256 but the key is not EC P-256",
                )
            sig = cose.signature
            if len(sig) != 64:
                return False, "chữ ký ES256 phải dài 64 byte", "an ES256 signature is 64 bytes"
            der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
            public.verify(der, data, _ECDSA_SHA256)
            return True, "", ""
        if alg == PS256:
            if not isinstance(public, rsa.RSAPublicKey):
                return False, "thuật toán PS256 nhưng khóa không phải RSA", "PS256 but the key is not RSA"
            public.verify(cose.signature, data, _PSS_SHA256, hashes.SHA256())
            return True, "", ""
    except InvalidSignature:
        return False, "chữ ký không khớp với nội dung", "the signature does not match the content"
    except (ValueError, TypeError) as e:
        return (
            False,
            f"chữ ký không đọc được ({type(e).__name__})",
            f"unreadable signature ({type(e).__name__})",
        )
    return False, f"thuật toán {alg!r} không được chấp nhận", f"algorithm {alg!r} is not accepted"


@dataclass(frozen=True, eq=False)
class Verifier:
    """Checks codes against a trust list and, when given, a revocation list. Reusable and thread-safe."""

    trust: TrustList
    revocations: RevocationList | None = None
    _: KW_ONLY
    check_schema: bool = True
    check_value_sets: bool = True

    # -------------------------------------------------------------------------------------------- entries

    def verify(self, data: str | bytes, *, at: dt.datetime | None = None) -> VerificationResult:
        """Verify `HC1:` text, or bytes holding it or a picture of the QR code."""
        result = VerificationResult()
        if isinstance(data, bytes | bytearray):
            raw = bytes(data)
            if codes.looks_like_image(raw):
                try:
                    text = codes.read_code(raw).text
                except codes.ImageError as e:
                    vi, _, en = str(e).partition(" / ")
                    result.checks.append(Check(CheckName.IMAGE, Status.FAILED, vi, en or vi))
                    return self._skip_rest(result, CheckName.IMAGE)
                result.checks.append(
                    Check(CheckName.IMAGE, Status.OK, "Đã đọc mã QR từ ảnh", "QR code read from the picture")
                )
            else:
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    result.checks.append(
                        Check(
                            CheckName.PREFIX,
                            Status.FAILED,
                            "Không phải văn bản hay ảnh",
                            "Neither text nor a picture",
                        )
                    )
                    return self._skip_rest(result, CheckName.PREFIX)
        else:
            text = data
        result.text = text.strip()
        try:
            body = hcert.strip_prefix(text)
            result.checks.append(
                Check(CheckName.PREFIX, Status.OK, "Tiền tố HC1: đúng", "HC1: prefix present")
            )
            compressed = hcert.b45decode(body)
            result.checks.append(Check(CheckName.BASE45, Status.OK, "Giải mã Base45 được", "Base45 decoded"))
            cose_bytes = hcert.decompress(compressed)
            result.checks.append(Check(CheckName.ZLIB, Status.OK, "Giải nén được", "Decompressed"))
        except DecodeError as e:
            return self._decode_failed(result, e)
        return self._verify_cose(result, cose_bytes, at)

    def verify_cose(self, cose_bytes: bytes, *, at: dt.datetime | None = None) -> VerificationResult:
        """Verify a bare COSE_Sign1 (the container without zlib, Base45 and prefix)."""
        return self._verify_cose(VerificationResult(), cose_bytes, at)

    # -------------------------------------------------------------------------------------------- steps

    def _decode_failed(self, result: VerificationResult, e: DecodeError) -> VerificationResult:
        name = _STAGE_CHECK[e.stage]
        result.checks.append(Check(name, Status.FAILED, e.message_vi, e.message_en))
        return self._skip_rest(result, name)

    def _skip_rest(self, result: VerificationResult, failed: CheckName) -> VerificationResult:
        order = list(CheckName)
        for name in order[order.index(failed) + 1 :]:
            if name is CheckName.IMAGE:
                continue
            result.checks.append(
                Check(
                    name,
                    Status.SKIPPED,
                    "Không kiểm tra được do lỗi trước",
                    "Not checked: an earlier step failed",
                )
            )
        return result

    def _verify_cose(
        self, result: VerificationResult, cose_bytes: bytes, at: dt.datetime | None
    ) -> VerificationResult:
        try:
            cose = hcert.parse_cose(cose_bytes)
            result.checks.append(
                Check(CheckName.COSE, Status.OK, "Cấu trúc COSE hợp lệ", "Valid COSE structure")
            )
            claims, payload = hcert.parse_claims(cose)
            result.checks.append(Check(CheckName.CWT, Status.OK, "Nội dung CWT hợp lệ", "Valid CWT claims"))
        except DecodeError as e:
            return self._decode_failed(result, e)
        h = Hcert(cose, claims, payload)
        result.hcert = h
        at = at or dt.datetime.now(dt.UTC)
        if at.tzinfo is None:
            at = at.replace(tzinfo=dt.UTC)

        candidates = self.trust.get(cose.kid) if cose.kid is not None else []
        if cose.kid is None:
            result.checks.append(
                Check(CheckName.KID, Status.FAILED, "Thiếu mã khóa (kid)", "No key identifier (kid)")
            )
        elif not candidates:
            result.checks.append(
                Check(
                    CheckName.KID,
                    Status.FAILED,
                    f"Khóa ký {cose.kid.hex()} không có trong danh sách tin cậy",
                    f"Signer key {cose.kid.hex()} is not in the trust list",
                )
            )
        else:
            result.checks.append(
                Check(
                    CheckName.KID,
                    Status.OK,
                    f"Khóa ký {cose.kid.hex()} được tin cậy",
                    f"Signer key {cose.kid.hex()} is trusted",
                )
            )

        if not candidates:
            result.checks.append(
                Check(
                    CheckName.SIGNATURE,
                    Status.SKIPPED,
                    "Không có khóa để kiểm tra chữ ký",
                    "No key to check the signature with",
                )
            )
        else:
            reason = ("", "")
            for key in candidates:
                ok, vi, en = verify_signature(key, cose)
                if ok:
                    result.signer = key
                    break
                reason = (vi, en)
            if result.signer is not None:
                result.checks.append(
                    Check(CheckName.SIGNATURE, Status.OK, "Chữ ký hợp lệ", "Valid signature")
                )
            else:
                result.checks.append(
                    Check(
                        CheckName.SIGNATURE,
                        Status.FAILED,
                        f"Chữ ký không hợp lệ: {reason[0]}",
                        f"Invalid signature: {reason[1]}",
                    )
                )

        result.checks.append(self._validity(h, result.signer or (candidates[0] if candidates else None), at))
        result.checks.append(self._revocation(h))
        result.checks.extend(self._content(h))
        # Key usage belongs to the certificate the kid names, whether or not the signature holds.
        result.checks.append(self._key_usage(h, result.signer or (candidates[0] if candidates else None)))
        return result

    def _validity(self, h: Hcert, signer: TrustedKey | None, at: dt.datetime) -> Check:
        iat, exp = h.issued_at, h.expires_at
        name = CheckName.VALIDITY
        if exp is None or iat is None:
            return Check(
                name, Status.FAILED, "Thiếu ngày cấp hoặc ngày hết hạn", "Issue or expiry time missing"
            )
        if at > exp:
            return Check(name, Status.FAILED, f"Đã hết hạn lúc {_fmt(exp)}", f"Expired at {_fmt(exp)}")
        if iat > at:
            return Check(
                name,
                Status.FAILED,
                f"Ngày cấp {_fmt(iat)} ở tương lai",
                f"Issued in the future ({_fmt(iat)})",
            )
        if signer is not None and signer.not_before is not None and signer.not_after is not None:
            if not signer.not_before <= iat <= signer.not_after:
                return Check(
                    name,
                    Status.FAILED,
                    "Được ký ngoài thời hạn của chứng thư khóa ký",
                    "Signed outside the signer certificate's validity",
                )
            if exp > signer.not_after:
                return Check(
                    name,
                    Status.FAILED,
                    f"Hạn dùng vượt quá hạn của chứng thư khóa ký ({_fmt(signer.not_after)})",
                    f"Expires after the signer certificate ({_fmt(signer.not_after)})",
                )
        return Check(name, Status.OK, f"Còn hiệu lực đến {_fmt(exp)}", f"Valid until {_fmt(exp)}")

    def _revocation(self, h: Hcert) -> Check:
        name = CheckName.REVOCATION
        if self.revocations is None:
            return Check(name, Status.SKIPPED, "Không có danh sách thu hồi", "No revocation list loaded")
        hit = self.revocations.match(hashes_of(h))
        if hit is not None:
            return Check(
                name,
                Status.FAILED,
                f"Chứng nhận đã bị thu hồi ({hit.value})",
                f"Certificate revoked ({hit.value})",
            )
        return Check(name, Status.OK, "Không bị thu hồi", "Not revoked")

    def _content(self, h: Hcert) -> Iterable[Check]:
        if self.check_schema:
            version, errors = schema.schema_errors(h.payload)
            if errors:
                yield Check(
                    CheckName.SCHEMA,
                    Status.FAILED,
                    f"Không đúng lược đồ DCC {version}: {errors[0]}",
                    f"Does not follow DCC schema {version}: {errors[0]}",
                )
            elif h.kind is None:
                yield Check(
                    CheckName.SCHEMA,
                    Status.FAILED,
                    "Phải có đúng một loại chứng nhận (v, t hoặc r)",
                    "Must hold exactly one kind of certificate (v, t or r)",
                )
            else:
                yield Check(
                    CheckName.SCHEMA,
                    Status.OK,
                    f"Đúng lược đồ DCC {version}",
                    f"Follows DCC schema {version}",
                )
        else:
            yield Check(CheckName.SCHEMA, Status.SKIPPED, "Không kiểm tra lược đồ", "Schema not checked")
        if self.check_value_sets:
            problems = schema.value_set_problems(h.payload)
            if problems:
                listed = ", ".join(problems[:3])
                yield Check(
                    CheckName.VALUE_SETS,
                    Status.FAILED,
                    f"Mã không có trong danh mục EU: {listed}",
                    f"Codes not in the EU value sets: {listed}",
                )
            else:
                yield Check(
                    CheckName.VALUE_SETS, Status.OK, "Mã đúng danh mục EU", "Codes in the EU value sets"
                )
        else:
            yield Check(
                CheckName.VALUE_SETS, Status.SKIPPED, "Không kiểm tra danh mục", "Value sets not checked"
            )

    def _key_usage(self, h: Hcert, signer: TrustedKey | None) -> Check:
        return key_usage_check(h, signer)


def key_usage_check(h: Hcert, signer: TrustedKey | None) -> Check:
    """Whether `signer`'s certificate may sign the kind of certificate `h` is.

    A signer without extended key usages may sign every kind; one with them (DCC's or others, such as
    ICAO's document-signer usage) only the kinds its DCC usages name, as the conformance suite has it.
    """
    name = CheckName.KEY_USAGE
    if signer is None:
        return Check(name, Status.SKIPPED, "Chưa xác định khóa ký", "Signer not established")
    kind = h.kind
    if kind is None or not signer.key_usages:
        return Check(name, Status.OK, "Khóa ký không bị giới hạn loại", "Signer not restricted by kind")
    if signer.key_usages & _EKU_BY_KIND[kind]:
        return Check(name, Status.OK, "Khóa ký được phép ký loại này", "Signer may sign this kind")
    vi, en = _KIND_WORDS[kind]
    return Check(
        name,
        Status.FAILED,
        f"Khóa ký không được phép ký chứng nhận {vi}",
        f"Signer may not sign {en} certificates",
    )
