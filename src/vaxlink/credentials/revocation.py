"""Revocation by hash lists, as the EU DCC scheme defines them, and the list document offline verifiers load.

Each hash is SHA-256 truncated to its first 16 bytes, of:
- UCI: the certificate identifier (`ci`, UTF-8);
- COUNTRYCODEUCI: the CWT issuer (claim 1) followed by the identifier;
- SIGNATURE: the COSE signature; for ECDSA only its r half, since s can be negated without breaking it.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from vaxlink.credentials.hcert import ES256, Hcert
from vaxlink.domain.errors import VaxlinkError

HASH_BYTES = 16
FORMAT = "vaxlink-dcc-revocation-list"


class HashType(StrEnum):
    UCI = "UCI"
    COUNTRYCODEUCI = "COUNTRYCODEUCI"
    SIGNATURE = "SIGNATURE"


class RevocationListError(VaxlinkError):
    """A revocation list file that cannot be read."""


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()[:HASH_BYTES]


def signature_hash(signature: bytes, alg: object) -> bytes:
    if alg == ES256:
        signature = signature[: len(signature) // 2]
    return _h(signature)


@dataclass(frozen=True, slots=True)
class RevocationHashes:
    uci: bytes | None
    country_code_uci: bytes | None
    signature: bytes

    def items(self) -> list[tuple[HashType, bytes]]:
        out = [(HashType.SIGNATURE, self.signature)]
        if self.uci is not None:
            out.append((HashType.UCI, self.uci))
        if self.country_code_uci is not None:
            out.append((HashType.COUNTRYCODEUCI, self.country_code_uci))
        return out

    def as_base64(self) -> dict[str, str]:
        return {t.value: base64.b64encode(h).decode("ascii") for t, h in self.items()}


def revocation_hashes(
    uvci: str | None, issuer: str | None, signature: bytes, alg: object
) -> RevocationHashes:
    uci = _h(uvci.encode("utf-8")) if uvci else None
    country = _h((issuer + uvci).encode("utf-8")) if uvci and issuer else None
    return RevocationHashes(uci, country, signature_hash(signature, alg))


def hashes_of(hcert: Hcert) -> RevocationHashes:
    return revocation_hashes(hcert.uvci, hcert.issuer, hcert.cose.signature, hcert.cose.alg)


@dataclass(slots=True)
class RevocationList:
    """Revoked certificates as three sets of truncated hashes; published as JSON for offline verifiers."""

    entries: dict[HashType, set[bytes]] = field(default_factory=lambda: {t: set() for t in HashType})
    generated_at: dt.datetime | None = None

    def add(self, hash_type: HashType, digest: bytes) -> None:
        if len(digest) != HASH_BYTES:
            raise ValueError(f"revocation hashes are {HASH_BYTES} bytes")
        self.entries.setdefault(hash_type, set()).add(digest)

    def revoke(self, hashes: RevocationHashes, types: Iterable[HashType] = (HashType.SIGNATURE,)) -> None:
        """Revoke one certificate. By signature by default: that revokes exactly this issuance."""
        wanted = set(types)
        for t, h in hashes.items():
            if t in wanted:
                self.add(t, h)

    def match(self, hashes: RevocationHashes) -> HashType | None:
        for t, h in hashes.items():
            if h in self.entries.get(t, ()):
                return t
        return None

    def __len__(self) -> int:
        return sum(len(v) for v in self.entries.values())

    def to_document(self) -> dict[str, object]:
        return {
            "format": FORMAT,
            "version": 1,
            "generated_at": (self.generated_at or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "hash_bytes": HASH_BYTES,
            "entries": {
                t.value: sorted(base64.b64encode(h).decode("ascii") for h in self.entries.get(t, ()))
                for t in HashType
            },
        }

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_document(), indent=1) + "\n", "utf-8")

    @classmethod
    def from_document(cls, doc: object) -> RevocationList:
        if not isinstance(doc, dict) or not isinstance(doc.get("entries"), dict):
            raise RevocationListError("danh sách thu hồi không hợp lệ / invalid revocation list")
        out = cls()
        generated = doc.get("generated_at")
        if isinstance(generated, str):
            try:
                out.generated_at = dt.datetime.fromisoformat(generated.replace("Z", "+00:00"))
            except ValueError:
                out.generated_at = None
        for name, values in doc["entries"].items():
            try:
                hash_type = HashType(name)
            except ValueError:
                continue  # a hash type we do not know cannot match anything we compute
            if not isinstance(values, list):
                raise RevocationListError(f"mục {name} phải là danh sách / {name} must be a list")
            for v in values:
                try:
                    digest = base64.b64decode(str(v), validate=True)
                    out.add(hash_type, digest)
                except (binascii.Error, ValueError):
                    raise RevocationListError(f"giá trị băm hỏng / corrupt hash in {name}") from None
        return out

    @classmethod
    def load(cls, path: Path) -> RevocationList:
        try:
            doc = json.loads(path.read_text("utf-8"))
        except OSError as e:
            raise RevocationListError(f"không đọc được / cannot read {path}: {e.strerror}") from None
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise RevocationListError(f"JSON không hợp lệ / invalid JSON: {path}") from None
        return cls.from_document(doc)
