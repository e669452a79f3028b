"""Read a FHIR R4 Bundle of Immunizations and their Patients as rows of the vaccination batch."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any, TextIO

import pyarrow as pa
from pydantic import ValidationError

from vaxlink.domain.errors import InputError
from vaxlink.domain.interchange import DOSE_COLUMNS
from vaxlink.domain.vaccines import vaccine_by_system_code

# The dose contract's columns a bundle has fields for (it says nothing of the unit structure or dose kind).
DOSE_FIELDS = tuple(c.name for c in DOSE_COLUMNS if c.name not in {"ward_units", "dose_kind"})
# Not imported from read.py: read.py dispatches to this module, and the import would go round in a circle.
LINE = "_line"
MALFORMED = "_malformed"
# Model validation runs at a few thousand entries a second, so smaller batches keep progress reports coming.
BATCH_ROWS = 10_000
CHUNK_CHARS = 1 << 20

NOT_COMPLETED = "FHIR_NOT_COMPLETED"
# A dose given below the required potency (a cold-chain break, a partial dose): it does not count.
SUBPOTENT = "FHIR_SUBPOTENT"
PATIENT_MISSING = "FHIR_PATIENT_MISSING"
INVALID = "FHIR_INVALID"

_SEX = {"male": "Nam", "female": "Nữ"}
_NATIONAL_ID_TYPES = frozenset({"NI", "NNVNM"})
_NATIONAL_ID_SYSTEMS = ("cccd", "cmnd", "national")
_NAME_USE = {"official": 0, "usual": 1, None: 2, "old": 4, "maiden": 4}
_PHONE_USE = {"mobile": 0, None: 1, "old": 3}
# The ward code says where the person lives, so a home address is the one to read it from.
_ADDRESS_USE = {"home": 0, None: 1, "old": 3}
_WARD_CODE = re.compile(r"\d{5}")
_PATIENT_REF = re.compile(r"(?:^|/)(Patient/[A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")

_WS = re.compile(r"[ \t\n\r]*")
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_SCALAR_END = re.compile(r'[\s,\]}:"{\[]')
_DECODER = json.JSONDecoder()
_VIETNAM = timezone(timedelta(hours=7))


@cache
def _models() -> tuple[Any, Any]:
    # Importing the models takes most of a second: only a FHIR file should pay for it.
    # fhir.resources 8 ships R4B and R5 but no R4 package; R4B's Immunization and Patient are R4's.
    from fhir.resources.R4B.immunization import Immunization
    from fhir.resources.R4B.patient import Patient

    return Immunization, Patient


class _Json:
    """The JSON text of a file, read a chunk at a time: a Bundle can be far larger than memory allows."""

    def __init__(self, f: TextIO) -> None:
        self._f = f
        self.buf = ""
        self.pos = 0
        self._eof = False
        self._lines_before = 0

    def _more(self) -> bool:
        if self._eof:
            return False
        try:
            chunk = self._f.read(CHUNK_CHARS)
        except UnicodeDecodeError as e:
            raise InputError(f"Tệp không phải UTF-8 / file is not UTF-8: {e.reason}") from None
        if not chunk:
            self._eof = True
            return False
        self._lines_before += self.buf.count("\n", 0, self.pos)
        self.buf = self.buf[self.pos :] + chunk
        self.pos = 0
        return True

    def error(self, message: str, at: int | None = None) -> InputError:
        line = self._lines_before + self.buf.count("\n", 0, self.pos if at is None else at) + 1
        return InputError(f"Tệp JSON hỏng (dòng {line}) / invalid JSON at line {line}: {message}")

    def peek(self) -> str:
        while True:
            self.pos = _WS.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._more():
                return ""

    def take(self, char: str) -> None:
        if self.peek() != char:
            found = self.peek() or "end of file"
            raise self.error(f"expected '{char}', found '{found}'")
        self.pos += 1

    def _cut_short(self, at: int) -> bool:
        """Whether decoding failed at `at` only because the text read so far ends inside a token."""
        if self.buf.startswith('"', at):
            return _STRING.match(self.buf, at) is None
        return _SCALAR_END.search(self.buf, at) is None

    def value(self) -> Any:
        if not self.peek():
            raise self.error("unexpected end of file")
        while True:
            try:
                obj, end = _DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as e:
                # Judged at the failure, not over the whole value, so that a broken entry is reported
                # at once instead of the rest of the file being read in search of its end.
                if self._cut_short(e.pos) and self._more():
                    continue
                raise self.error(e.msg, e.pos) from None
            except RecursionError:
                raise self.error("nested too deeply") from None
            # A number cut by the chunk boundary still decodes: make sure it really ends here.
            if end == len(self.buf) and self._more():
                continue
            self.pos = end
            return obj


def _not_a_bundle(path: Path, what: str) -> InputError:
    return InputError(f"Tệp '{path.name}' không phải FHIR Bundle / not a FHIR Bundle: {what}")


def _entries(path: Path) -> Iterator[tuple[int, Any]]:
    """Each element of the Bundle's `entry` list with its 1-based position; checks that it is a Bundle."""
    try:
        f = path.open("r", encoding="utf-8-sig")
    except OSError as e:
        raise InputError(f"Không mở được tệp / cannot open file: {e}") from None
    with f:
        js = _Json(f)
        first = js.peek()
        if first != "{":
            what = "the file is empty" if not first else "the file is not a JSON object"
            raise _not_a_bundle(path, what)
        js.pos += 1
        resource_type: object = None
        if js.peek() == "}":
            js.pos += 1
        else:
            while True:
                if js.peek() != '"':
                    raise js.error("expected a property name")
                key = js.value()
                js.take(":")
                if key == "entry" and js.peek() == "[":
                    js.pos += 1
                    n = 0
                    if js.peek() == "]":
                        js.pos += 1
                    else:
                        while True:
                            n += 1
                            yield n, js.value()
                            if js.peek() == ",":
                                js.pos += 1
                            else:
                                js.take("]")
                                break
                else:
                    value = js.value()
                    if key == "entry" and value is not None:
                        raise _not_a_bundle(path, "'entry' is not a list")
                    if key == "resourceType":
                        resource_type = value
                        # Said early, so a single large resource of another kind is refused before it is read.
                        if value != "Bundle":
                            raise _not_a_bundle(path, f"resourceType is {value!r}")
                if js.peek() == ",":
                    js.pos += 1
                else:
                    js.take("}")
                    break
        if js.peek():
            raise js.error("extra data after the Bundle")
        if resource_type != "Bundle":
            raise _not_a_bundle(path, "no resourceType")


def _d(v: object) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def _dicts(v: object) -> list[dict[str, Any]]:
    return [x for x in v if isinstance(x, dict)] if isinstance(v, list) else []


def _strs(v: object) -> list[str]:
    return [x for x in v if isinstance(x, str)] if isinstance(v, list) else []


def _s(v: object) -> str | None:
    if isinstance(v, str):
        v = v.strip()
        return v or None
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    return None


def _by_use(items: list[dict[str, Any]], rank: dict[str | None, int]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda x: rank.get(_s(x.get("use")), 2))


def _problem(err: Exception, prefix: str = "") -> str:
    errors = err.errors() if isinstance(err, ValidationError) else []
    parts = []
    for e in errors[:3]:
        loc = ".".join(str(x) for x in e.get("loc", ()))
        msg = " ".join(str(e.get("msg", "")).removeprefix("Value error, ").split()).rstrip(".")
        parts.append(f"{loc}: {msg}" if loc else msg)
    if len(errors) > 3:
        parts.append(f"and {len(errors) - 3} more")
    return f"{INVALID}: {prefix}{'; '.join(parts) or ' '.join(str(err).split())}"


def _validate(model: Any, resource: dict[str, Any], prefix: str = "") -> str | None:
    try:
        model.model_validate(resource)
    except Exception as e:
        # Whatever the models object to is a fault of this one entry: it is reported on its row and the
        # rest of the Bundle is still read.
        return _problem(e, prefix)
    return None


def _full_name(patient: dict[str, Any]) -> str | None:
    for name in _by_use(_dicts(patient.get("name")), _NAME_USE):
        text = _s(name.get("text"))
        if text:
            return text
        # Vietnamese order: family name first, then middle and given names.
        parts = [_s(name.get("family")), *map(_s, _strs(name.get("given")))]
        joined = " ".join(p for p in parts if p)
        if joined:
            return joined
    return None


def _is_national_id(identifier: dict[str, Any]) -> bool:
    codes = {c.get("code") for c in _dicts(_d(identifier.get("type")).get("coding"))}
    system = (_s(identifier.get("system")) or "").casefold()
    return bool(codes & _NATIONAL_ID_TYPES) or any(k in system for k in _NATIONAL_ID_SYSTEMS)


def _id_number(patient: dict[str, Any]) -> str | None:
    identifiers = [i for i in _dicts(patient.get("identifier")) if _s(i.get("value"))]
    national = [i for i in identifiers if _is_national_id(i)]
    chosen = national or identifiers
    return _s(chosen[0].get("value")) if chosen else None


def _phone(patient: dict[str, Any]) -> str | None:
    phones = [t for t in _dicts(patient.get("telecom")) if t.get("system") == "phone" and _s(t.get("value"))]
    return _s(_by_use(phones, _PHONE_USE)[0].get("value")) if phones else None


def _extension_code(ext: dict[str, Any]) -> str | None:
    for key in ("valueCode", "valueString", "valueInteger"):
        if _s(ext.get(key)):
            return _s(ext.get(key))
    concept_codings = _dicts(_d(ext.get("valueCodeableConcept")).get("coding"))
    coding = _d(ext.get("valueCoding")) or (concept_codings[0] if concept_codings else {})
    return _s(coding.get("code")) or _s(_d(ext.get("valueIdentifier")).get("value"))


def _ward_code(address: dict[str, Any]) -> str | None:
    # FHIR's Address has no ward (xã/phường) element. Exporters carry the ward code in an extension on
    # the address (a profile's ward/commune extension, or the ISO 21090 precinct part); some put it in
    # `district` instead, which is taken only when it holds a 5-digit ward code, since it usually holds
    # a district's name. `postalCode` is never used: Vietnam's postal codes are 5 digits as well, and
    # would pass for ward codes.
    for ext in _dicts(address.get("extension")):
        url = (_s(ext.get("url")) or "").casefold()
        if "ward" in url or "commune" in url or url.endswith("adxp-precinct"):
            code = _extension_code(ext)
            if code:
                return code
    district = _s(address.get("district"))
    return district if district and _WARD_CODE.fullmatch(district) else None


def _address(patient: dict[str, Any]) -> tuple[str | None, str | None]:
    for address in _by_use(_dicts(patient.get("address")), _ADDRESS_USE):
        ward = _ward_code(address)
        text = _s(address.get("text"))
        if not text:
            district = _s(address.get("district"))
            parts = [
                *map(_s, _strs(address.get("line"))),
                None if district == ward else district,
                _s(address.get("city")),
                _s(address.get("state")),
            ]
            text = ", ".join(p for p in parts if p) or None
        if text or ward:
            return text, ward
    return None, None


@dataclass(frozen=True, slots=True)
class _Person:
    fields: tuple[str | None, ...]  # full_name .. ward_code, in DOSE_FIELDS order
    problem: str | None


def _person(patient: dict[str, Any], problem: str | None) -> _Person:
    address, ward = _address(patient)
    fields = (
        _full_name(patient),
        _s(patient.get("birthDate")),
        _SEX.get(str(patient.get("gender"))),
        _id_number(patient),
        _phone(patient),
        address,
        ward,
    )
    return _Person(fields, problem)


_NO_PERSON = (None,) * 7


@dataclass(slots=True)
class _Index:
    """What Immunizations refer to, by every key a reference may use: fullUrl and `Type/id`."""

    patients: dict[str, _Person]
    places: dict[str, str]


def _url_key(url: str) -> str:
    # FHIR wants UUIDs in lower case, but some exporters write them in upper case on one side only.
    return url.lower() if url[:9].lower() == "urn:uuid:" else url


def _keys(entry: dict[str, Any], resource: dict[str, Any]) -> list[str]:
    full_url = _s(entry.get("fullUrl"))
    keys = [_url_key(full_url)] if full_url else []
    rid = _s(resource.get("id"))
    if rid:
        keys.append(f"{resource.get('resourceType')}/{rid}")
    return keys


def _resource(entry: object) -> tuple[dict[str, Any], dict[str, Any], str | None]:
    """The entry, its resource and a problem with the entry itself."""
    entry = _d(entry)
    if "resource" not in entry and "resourceType" in entry:
        # A resource put straight in the list instead of under `resource`: still a record someone sent.
        return {}, entry, f"{INVALID}: entry holds the resource itself, not under 'resource'"
    return entry, _d(entry.get("resource")), None


def _index(path: Path) -> _Index:
    _, patient_model = _models()
    index = _Index({}, {})
    for _, raw in _entries(path):
        entry, resource, _ = _resource(raw)
        kind = resource.get("resourceType")
        if kind == "Patient":
            where = f"Patient/{_s(resource.get('id'))}: " if _s(resource.get("id")) else "Patient: "
            person = _person(resource, _validate(patient_model, resource, where))
            for key in _keys(entry, resource):
                index.patients[key] = person
        elif kind in ("Location", "Organization"):
            # Only places: a Practitioner's name would pass for a vaccination facility.
            name = _s(resource.get("name"))
            if name:
                for key in _keys(entry, resource):
                    index.places[key] = name
    return index


def _find_patient(imm: dict[str, Any], index: _Index) -> _Person | None:
    ref = _s(_d(imm.get("patient")).get("reference"))
    if not ref:
        return None
    if ref.startswith("#"):
        _, patient_model = _models()
        for res in _dicts(imm.get("contained")):
            if res.get("resourceType") == "Patient" and res.get("id") == ref[1:]:
                return _person(res, _validate(patient_model, res, f"{ref}: "))
        return None
    if _url_key(ref) in index.patients:
        return index.patients[_url_key(ref)]
    m = _PATIENT_REF.search(ref)
    return index.patients.get(m.group(1)) if m else None


def _vaccine(imm: dict[str, Any]) -> str | None:
    concept = _d(imm.get("vaccineCode"))
    codings = _dicts(concept.get("coding"))
    for coding in codings:
        # An EU value-set code, or a CVX or SNOMED CT code of one product, is given as the EU code.
        found = vaccine_by_system_code(_s(coding.get("system")), _s(coding.get("code")))
        if found is not None:
            return found.code
    display = next((_s(c.get("display")) for c in codings if _s(c.get("display"))), None)
    # A code from another system (CVX, ATC, a local list) is kept when nothing else names the vaccine,
    # so that the mismatch is explained downstream rather than lost here.
    return display or _s(concept.get("text")) or (_s(codings[0].get("code")) if codings else None)


def _place(ref: object, index: _Index) -> str | None:
    ref = _d(ref)
    return _s(ref.get("display")) or index.places.get(_url_key(_s(ref.get("reference")) or ""))


def _site(imm: dict[str, Any], index: _Index) -> str | None:
    site = _place(imm.get("location"), index)
    for performer in _dicts(imm.get("performer")):
        site = site or _place(performer.get("actor"), index)
    return site


def _local_date(occurred: str) -> str:
    day, _, time = occurred.partition("T")
    if not time.endswith(("Z", "+00:00")):
        # A local offset is the clinic's own: its date is the day the dose was given, while a conversion
        # would move evening doses to another day.
        return day
    try:
        stamp = datetime.fromisoformat(occurred)
    except ValueError:
        return day
    # A UTC stamp is a server's normalisation and says nothing of the local day; Vietnam keeps UTC+7
    # all year.
    return stamp.astimezone(_VIETNAM).date().isoformat()


def _dose_fields(entry: dict[str, Any], imm: dict[str, Any], index: _Index) -> list[str | None]:
    identifiers = _dicts(imm.get("identifier"))
    # The platform's own identifier outlives the exporting server's resource id, which is what lets a
    # later export correct an earlier record; a fullUrl is the last resort for a transaction Bundle.
    record_id = (
        (_s(identifiers[0].get("value")) if identifiers else None)
        or _s(imm.get("id"))
        or _s(entry.get("fullUrl"))
    )
    occurred = _s(imm.get("occurrenceDateTime"))
    date = _local_date(occurred) if occurred else _s(imm.get("occurrenceString"))
    protocol = next(iter(_dicts(imm.get("protocolApplied"))), {})
    dose = _s(protocol.get("doseNumberPositiveInt")) or _s(protocol.get("doseNumberString"))
    return [record_id, date, dose, _vaccine(imm), _s(imm.get("lotNumber")), _site(imm, index)]


def _batch(columns: list[list[Any]]) -> pa.RecordBatch:
    arrays = [pa.array(columns[0], pa.int64())] + [pa.array(c, pa.string()) for c in columns[1:]]
    return pa.RecordBatch.from_arrays(arrays, names=[LINE, MALFORMED, *DOSE_FIELDS])


def _rows(path: Path, index: _Index) -> Iterator[pa.RecordBatch]:
    immunization_model, _ = _models()
    columns: list[list[Any]] = [[] for _ in range(2 + len(DOSE_FIELDS))]
    for n, raw in _entries(path):
        entry, imm, problem = _resource(raw)
        if imm.get("resourceType") != "Immunization":
            continue
        problem = problem or _validate(immunization_model, imm)
        if not problem and imm.get("status") != "completed":
            problem = NOT_COMPLETED
        if not problem and imm.get("isSubpotent") is True:
            problem = SUBPOTENT
        person = _find_patient(imm, index)
        problem = problem or (person.problem if person else PATIENT_MISSING)
        record_id, *dose = _dose_fields(entry, imm, index)
        row = [n, problem, record_id, *(person.fields if person else _NO_PERSON), *dose]
        for column, value in zip(columns, row, strict=True):
            column.append(value)
        if len(columns[0]) >= BATCH_ROWS:
            yield _batch(columns)
            columns = [[] for _ in columns]
    if columns[0]:
        yield _batch(columns)


def fhir_batches(path: Path) -> tuple[list[str], Iterator[pa.RecordBatch]]:
    """The dose fields and a stream of Arrow batches, one row per Immunization, with `_line` and `_malformed`.

    The Bundle is read twice, never whole: first for its Patients (and the places a dose may name), then
    for its Immunizations, so that the order of the entries does not matter. The first pass also checks
    that the file is a Bundle and well-formed JSON, so those errors are raised here and not mid-stream.
    """
    if not path.is_file():
        raise InputError(f"Không tìm thấy tệp / file not found: {path}")
    index = _index(path)
    return list(DOSE_FIELDS), _rows(path, index)
