"""Certificate payloads, signing, encoding, QR and barcodes, verification, revocation.

A service issues with `issue(name, date_of_birth, doses, load_signer(key_dir))` and stores what it returns;
a verifier is `Verifier(TrustList.load(path), RevocationList.load(path)).verify(hc1_text_or_picture)`.
"""

from vaxlink.credentials.hcert import DecodeError, Hcert, decode_hc1
from vaxlink.credentials.issue import IssuedCertificate, SignerExpiring, issue
from vaxlink.credentials.keys import KeyDirectoryError, Signer, export_trust_list, init_keys, load_signer
from vaxlink.credentials.payload import (
    Dose,
    Name,
    dose_from_product,
    doses_from_history,
    make_uvci,
    transliterate,
)
from vaxlink.credentials.revocation import HashType, RevocationHashes, RevocationList, hashes_of
from vaxlink.credentials.trust import TrustList, TrustListError
from vaxlink.credentials.verify import Check, CheckName, Status, VerificationResult, Verifier

__all__ = [
    "Check",
    "CheckName",
    "DecodeError",
    "Dose",
    "HashType",
    "Hcert",
    "IssuedCertificate",
    "KeyDirectoryError",
    "Name",
    "RevocationHashes",
    "RevocationList",
    "Signer",
    "SignerExpiring",
    "Status",
    "TrustList",
    "TrustListError",
    "VerificationResult",
    "Verifier",
    "decode_hc1",
    "dose_from_product",
    "doses_from_history",
    "export_trust_list",
    "hashes_of",
    "init_keys",
    "issue",
    "load_signer",
    "make_uvci",
    "transliterate",
]
