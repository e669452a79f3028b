"""The public EU DCC conformance suite (dgc-testdata) through our decoder and verifier, field by field.

Every case's EXPECTEDRESULTS field is compared with what our code finds, with the case's own signing
certificate (TESTCTX.CERTIFICATE) as the only trust anchor and TESTCTX.VALIDATIONCLOCK as the instant.
A disagreement is excused only when the suite's tests/known_issues.csv lists it, or when it is named in
FAULTY below with the evidence. The tally per field is printed (pytest -s, or in the report on failure).
"""

from __future__ import annotations

import base64
import binascii
import csv
import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from vaxlink.credentials import codes, hcert
from vaxlink.credentials.hcert import DecodeError
from vaxlink.credentials.trust import TrustList, TrustListError
from vaxlink.credentials.verify import CheckName, Status, VerificationResult, Verifier, key_usage_check

ROOT = Path(__file__).parent / "dgc-testdata"
CASES = sorted(p for p in ROOT.glob("**/2DCode/**/*.json"))

FIELDS = (
    "EXPECTEDPICTUREDECODE",
    "EXPECTEDUNPREFIX",
    "EXPECTEDB45DECODE",
    "EXPECTEDCOMPRESSION",
    "EXPECTEDDECODE",
    "EXPECTEDVALIDJSON",
    "EXPECTEDVERIFY",
    "EXPECTEDEXPIRATIONCHECK",
    "EXPECTEDKEYUSAGE",
    "EXPECTEDSCHEMAVALIDATION",
    "EXPECTEDVALIDOBJECT",
    "EXPECTEDENCODE",
)

# The suite's own test names (known_issues.csv) and the expectation each of them checks.
TEST_FIELDS = {
    "test_picture_decode": ("EXPECTEDPICTUREDECODE",),
    "test_un_prefix": ("EXPECTEDUNPREFIX",),
    "test_b45decode": ("EXPECTEDB45DECODE",),
    "test_compression": ("EXPECTEDCOMPRESSION",),
    "test_cose_json": ("EXPECTEDDECODE",),
    "test_cose_cbor": ("EXPECTEDDECODE",),
    "test_cbor_json": ("EXPECTEDVALIDJSON",),
    "test_verification_check": ("EXPECTEDVERIFY",),
    "test_expiration_check": ("EXPECTEDEXPIRATIONCHECK",),
    "test_expected_key_usage": ("EXPECTEDKEYUSAGE",),
    # The payload's schema validity: the JSON of a case is that payload, so its object check shares the issue.
    "test_cose_schema": ("EXPECTEDSCHEMAVALIDATION", "EXPECTEDVALIDOBJECT"),
}

# Cases outside known_issues.csv whose expectation is wrong, each with the evidence (see the module doc).
_PL_OTHER_PERSON = (
    "its JSON field describes another person than the signed payload and its own CBOR field, which agree "
    "with each other (test_pl_json_describes_another_person)"
)
_PL_VALUE_SET_AS_SCHEMA = (
    "the fault is a value outside an EU value set, which the JSON schema does not constrain (it carries "
    "only a valueset-uri annotation): jsonschema itself accepts the payload, and our value-set check "
    "rejects it where the value set ships (test_pl_value_set_faults_are_not_schema_faults)"
)
FAULTY: dict[tuple[str, str], str] = {
    **{
        (f"PL/1.3.0/2DCode/raw/{n}.json", field): _PL_OTHER_PERSON
        for n in (1, 5)
        for field in ("EXPECTEDDECODE", "EXPECTEDVALIDJSON")
    },
    **{
        (f"PL/{version}/2DCode/raw/{n}.json", "EXPECTEDSCHEMAVALIDATION"): _PL_VALUE_SET_AS_SCHEMA
        for version in ("1.0.0", "1.2.1", "1.3.0")
        for n in (7, 8, 9)
    },
}


def case_id(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@cache
def known_issues() -> dict[tuple[str, str, str], str]:
    """(field, country, case stem or "") → reason, from the suite's own list."""
    out: dict[tuple[str, str, str], str] = {}
    with (ROOT / "tests" / "known_issues.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            for field in TEST_FIELDS.get(row["test_name"], FIELDS if not row["test_name"] else ()):
                out[(field, row["country"], row["test_set"])] = row["reason"]
    return out


def excuse(path: Path, field: str) -> str | None:
    country, stem = path.relative_to(ROOT).parts[0], path.stem
    issues = known_issues()
    reason = issues.get((field, country, stem)) or issues.get((field, country, ""))
    if reason:
        return f"known issue: {reason}"
    return FAULTY.get((case_id(path), field))


# ------------------------------------------------------------------------------------------------ comparison

_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")


def normalise(value: Any) -> Any:
    """JSON and CBOR spell the same content differently: date-times in any ISO form, 1 and 1.0."""
    if isinstance(value, dict):
        return {str(k): normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _DATE_TIME.match(value):
        text = value.replace(" ", "T").replace("Z", "+00:00")
        if re.search(r"[+-]\d{4}$", text):
            text = text[:-2] + ":" + text[-2:]
        try:
            t = dt.datetime.fromisoformat(text)
        except ValueError:
            return value
        if t.tzinfo is None:
            t = t.replace(tzinfo=dt.UTC)
        return t.astimezone(dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def same_content(a: Any, b: Any) -> bool:
    return bool(normalise(a) == normalise(b))


# ------------------------------------------------------------------------------------------------ our verdicts


@dataclass
class Case:
    path: Path
    data: dict[str, Any]
    _cose_result: VerificationResult | None = None

    @property
    def expected(self) -> dict[str, Any]:
        out = self.data.get("EXPECTEDRESULTS", {})
        return out if isinstance(out, dict) else {}

    @property
    def ctx(self) -> dict[str, Any]:
        out = self.data.get("TESTCTX", {})
        return out if isinstance(out, dict) else {}

    def clock(self) -> dt.datetime | None:
        text = self.ctx.get("VALIDATIONCLOCK")
        if not isinstance(text, str):
            return None
        t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        return t if t.tzinfo else t.replace(tzinfo=dt.UTC)

    def verifier(self) -> Verifier:
        try:
            trust = TrustList.from_base64_certificate(str(self.ctx.get("CERTIFICATE", "")))
        except TrustListError:
            trust = TrustList()
        return Verifier(trust)

    def cose_result(self) -> VerificationResult | None:
        if self._cose_result is None:
            if "COSE" in self.data:
                self._cose_result = self.verifier().verify_cose(_unhex(self.data["COSE"]), at=self.clock())
            elif "PREFIX" in self.data:
                self._cose_result = self.verifier().verify(self.data["PREFIX"], at=self.clock())
        return self._cose_result


def _unhex(text: str) -> bytes:
    try:
        return binascii.unhexlify(text)
    except (binascii.Error, ValueError):
        return b""


def picture_decode(c: Case) -> bool | None:
    if "2DCODE" not in c.data or "PREFIX" not in c.data:
        return None
    try:
        return codes.read_code(base64.b64decode(c.data["2DCODE"])).text == c.data["PREFIX"]
    except (codes.ImageError, binascii.Error, ValueError):
        return False


def unprefix(c: Case) -> bool | None:
    if "PREFIX" not in c.data or "BASE45" not in c.data:
        return None
    try:
        return hcert.strip_prefix(c.data["PREFIX"]) == c.data["BASE45"]
    except DecodeError:
        return False


def b45(c: Case) -> bool | None:
    if "BASE45" not in c.data or "COMPRESSED" not in c.data:
        return None
    try:
        return hcert.b45decode(c.data["BASE45"]) == _unhex(c.data["COMPRESSED"])
    except DecodeError:
        return False


def compression(c: Case) -> bool | None:
    if "COMPRESSED" not in c.data or "COSE" not in c.data:
        return None
    try:
        return hcert.decompress(_unhex(c.data["COMPRESSED"])) == _unhex(c.data["COSE"])
    except DecodeError:
        return False


def decode(c: Case) -> bool | None:
    if "JSON" not in c.data or ("COSE" not in c.data and "CBOR" not in c.data):
        return None
    try:
        if "COSE" in c.data:
            payload = hcert.decode_cose(_unhex(c.data["COSE"])).payload
        else:
            import cbor2

            payload = hcert.to_json_value(cbor2.loads(_unhex(c.data["CBOR"])))
    except Exception:
        return False
    return same_content(payload, c.data["JSON"])


def valid_json(c: Case) -> bool | None:
    if "JSON" not in c.data or ("PREFIX" not in c.data and "2DCODE" not in c.data):
        return None
    source: str | bytes = c.data["PREFIX"] if "PREFIX" in c.data else base64.b64decode(c.data["2DCODE"])
    r = c.verifier().verify(source, at=c.clock())
    return r.hcert is not None and same_content(r.hcert.payload, c.data["JSON"])


def _check(name: CheckName, *also: CheckName) -> Callable[[Case], bool | None]:
    def verdict(c: Case) -> bool | None:
        r = c.cose_result()
        if r is None:
            return None
        return all(r.status(n) is Status.OK for n in (name, *also))

    return verdict


def valid_object(c: Case) -> bool | None:
    """The case's JSON against the schema its test context names (generation side)."""
    if "JSON" not in c.data:
        return None
    from vaxlink.credentials import schema

    version = schema.schema_for(c.ctx.get("SCHEMA"))
    return schema.validator(version).is_valid(c.data["JSON"])


def encode(c: Case) -> bool | None:
    """CBOR made from the case's JSON carries the same content as the case's CBOR (generation side)."""
    if "JSON" not in c.data or "CBOR" not in c.data:
        return None
    import cbor2

    try:
        theirs = hcert.to_json_value(cbor2.loads(_unhex(c.data["CBOR"])))
    except Exception:
        return False
    if isinstance(theirs, dict) and "-260" in theirs:  # some cases hold the whole CWT, not the payload
        theirs = theirs["-260"]["1"]
    ours = hcert.to_json_value(cbor2.loads(cbor2.dumps(c.data["JSON"])))
    return same_content(ours, theirs)


def key_usage(c: Case) -> bool | None:
    """The suite asks whether TESTCTX.CERTIFICATE's usages allow the content, whichever key signed it."""
    if "COSE" not in c.data:
        return None
    try:
        h = hcert.decode_cose(_unhex(c.data["COSE"]))
    except DecodeError:
        return False
    keys = list(c.verifier().trust)
    return bool(keys) and key_usage_check(h, keys[0]).status is Status.OK


OURS: dict[str, Callable[[Case], bool | None]] = {
    "EXPECTEDPICTUREDECODE": picture_decode,
    "EXPECTEDUNPREFIX": unprefix,
    "EXPECTEDB45DECODE": b45,
    "EXPECTEDCOMPRESSION": compression,
    "EXPECTEDDECODE": decode,
    "EXPECTEDVALIDJSON": valid_json,
    "EXPECTEDVERIFY": _check(CheckName.KID, CheckName.SIGNATURE),
    "EXPECTEDEXPIRATIONCHECK": _check(CheckName.VALIDITY),
    "EXPECTEDKEYUSAGE": key_usage,
    "EXPECTEDSCHEMAVALIDATION": _check(CheckName.SCHEMA),
    "EXPECTEDVALIDOBJECT": valid_object,
    "EXPECTEDENCODE": encode,
}


# ------------------------------------------------------------------------------------------------ the test


def load(path: Path) -> Case:
    return Case(path, json.loads(path.read_text("utf-8")))


def test_suite_is_present() -> None:
    assert len(CASES) > 500, "the conformance cases were not copied"


def test_conformance_tally(capsys: pytest.CaptureFixture[str]) -> None:
    tally: dict[str, Counter[str]] = {f: Counter() for f in FIELDS}
    unexcused: list[str] = []
    excused: list[str] = []
    other_fields: Counter[str] = Counter()
    for path in CASES:
        case = load(path)
        other_fields.update(k for k in case.expected if k not in FIELDS)
        for field in FIELDS:
            if field not in case.expected:
                continue
            ours = OURS[field](case)
            if ours is None:
                tally[field]["not applicable"] += 1
                continue
            if ours == bool(case.expected[field]):
                tally[field]["agree"] += 1
                continue
            reason = excuse(path, field)
            line = f"{case_id(path)} {field}: expected {case.expected[field]}, ours {ours}"
            if reason:
                tally[field]["excused"] += 1
                excused.append(f"{line} ({reason})")
            else:
                tally[field]["DISAGREE"] += 1
                unexcused.append(line)
    with capsys.disabled():
        print(f"\nDCC conformance: {len(CASES)} cases")
        for field, counts in tally.items():
            print(f"  {field:<26} " + " · ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        print(f"  excused disagreements: {len(excused)}")
        # e.g. EXPTECTEDEXPIRED, a misspelt field some cases carry, with no definition to compare against
        print(
            "  not compared: " + (", ".join(f"{k} ({v})" for k, v in sorted(other_fields.items())) or "none")
        )
    assert not unexcused, "\n".join(unexcused)


@pytest.mark.parametrize("path", CASES, ids=case_id)
def test_verifier_never_crashes(path: Path) -> None:
    case = load(path)
    verifier = case.verifier()
    for text in (case.data.get("PREFIX"), case.data.get("BASE45")):
        if isinstance(text, str):
            r = verifier.verify(text, at=case.clock())
            assert all(isinstance(c.status, Status) for c in r.checks)


# ------------------------------------------------------------------------------------------------ evidence


def _pl(path: str) -> Case:
    return load(ROOT / "PL" / path)


@pytest.mark.parametrize("n", [1, 5])
def test_pl_json_describes_another_person(n: int) -> None:
    import cbor2

    case = _pl(f"1.3.0/2DCode/raw/{n}.json")
    signed = hcert.decode_cose(_unhex(case.data["COSE"])).payload
    cbor_field = hcert.to_json_value(cbor2.loads(_unhex(case.data["CBOR"])))
    assert same_content(signed, cbor_field)
    assert signed["nam"] != case.data["JSON"]["nam"]


@pytest.mark.parametrize("version", ["1.0.0", "1.2.1", "1.3.0"])
@pytest.mark.parametrize("n", [7, 8, 9])
def test_pl_value_set_faults_are_not_schema_faults(version: str, n: int) -> None:
    from jsonschema import Draft202012Validator

    from vaxlink.credentials import schema

    case = _pl(f"{version}/2DCode/raw/{n}.json")
    payload = hcert.decode_cose(_unhex(case.data["COSE"])).payload
    original = json.loads((ROOT.parents[2] / "src/vaxlink/credentials/data/schema/1.3.0.json").read_text())
    assert Draft202012Validator(original).is_valid(payload)
    problems = schema.value_set_problems(payload)
    if n == 7:  # a rapid test device id: the device list is not shipped, so it stays unchecked
        assert payload["t"][0]["ma"] == "9999"
    else:  # a country XY (8), a manufacturer ORG-99999999 (9)
        assert problems, payload
