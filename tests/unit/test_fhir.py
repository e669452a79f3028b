"""FHIR Bundles: a row per Immunization, with its Patient's fields; bad entries are marked, never dropped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from vaxlink.domain.errors import InputError
from vaxlink.files import fhir
from vaxlink.files.fhir import DOSE_FIELDS, fhir_batches

SAMPLE = Path(__file__).parents[1] / "data" / "fhir" / "bundle-sample.json"
EU = "https://ec.europa.eu/health/documents/community-register/html/"


def patient(pid: str = "p1", **fields: Any) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "Patient",
        "id": pid,
        "name": [{"family": "Phạm", "given": ["Minh", "Tuấn"]}],
        "gender": "male",
        "birthDate": "1979-11-30",
    }
    res.update(fields)
    return res


def immunization(iid: str = "i1", ref: str = "Patient/p1", **fields: Any) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "Immunization",
        "id": iid,
        "status": "completed",
        "vaccineCode": {"coding": [{"system": EU, "code": "EU/1/20/1528"}]},
        "patient": {"reference": ref},
        "occurrenceDateTime": "2021-08-01T09:00:00+07:00",
        "protocolApplied": [{"doseNumberPositiveInt": 1}],
    }
    res.update(fields)
    return res


def bundle(*resources: dict[str, Any], full_urls: dict[int, str] | None = None) -> dict[str, Any]:
    entries = []
    for i, res in enumerate(resources):
        entry: dict[str, Any] = {"resource": res}
        if full_urls and i in full_urls:
            entry["fullUrl"] = full_urls[i]
        entries.append(entry)
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def write(tmp_path: Path, doc: object, name: str = "b.json") -> Path:
    p = tmp_path / name
    p.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    return p


def read(path: Path) -> list[dict[str, Any]]:
    headers, batches = fhir_batches(path)
    assert headers == list(DOSE_FIELDS)
    return [r for b in batches for r in b.to_pylist()]


def rows_of(tmp_path: Path, *resources: dict[str, Any], **kw: Any) -> list[dict[str, Any]]:
    return read(write(tmp_path, bundle(*resources, **kw)))


def one(tmp_path: Path, *resources: dict[str, Any], **kw: Any) -> dict[str, Any]:
    rows = rows_of(tmp_path, *resources, **kw)
    assert len(rows) == 1
    return rows[0]


def test_sample_bundle_gives_one_row_per_immunization_with_its_patient() -> None:
    rows = read(SAMPLE)
    ha = {
        "full_name": "Nguyễn Thị Thu Hà",
        "date_of_birth": "1985-03-12",
        "sex": "Nữ",
        "id_number": "001185012345",
        "phone": "0912345678",
        "address": "Số 12 ngõ 34 phố Hoàng Hoa Thám, Quận Ba Đình, Hà Nội",
        "ward_code": "00004",
    }
    duc = {
        "full_name": "Trần Văn Đức",
        "date_of_birth": "1962",
        "sex": "Nam",
        "id_number": "024123456",
        "phone": "+84 24 3825 1234",
        "address": "Thôn Đông, xã Tân Hội, huyện Đan Phượng, Hà Nội",
        "ward_code": "09883",
    }
    anh = {
        "full_name": "Lê Ngọc Ánh",
        "date_of_birth": "1990-07",
        "sex": None,
        "id_number": "079190004567",
        "phone": None,
        "address": "88 Nguyễn Trãi, Phường 2, Quận 5, Thành phố Hồ Chí Minh",
        "ward_code": None,
    }
    assert rows == [
        {
            "_line": 2,
            "_malformed": None,
            "record_id": "imm-0001",
            **ha,
            "vaccination_date": "2021-07-02",
            "dose_number": "1",
            "vaccine": "EU/1/21/1529",
            "lot_number": "NJ0342",
            "site": "Trạm Y tế phường Ngọc Hà",
        },
        {
            "_line": 3,
            "_malformed": None,
            "record_id": "imm-0002",
            **ha,
            "vaccination_date": "2021-09-14",
            "dose_number": "2",
            "vaccine": "EU/1/20/1528",
            "lot_number": "FF2588",
            "site": "Bệnh viện Đa khoa Xanh Pôn",
        },
        {
            "_line": 5,
            "_malformed": None,
            "record_id": "MT-2021-0883412",
            **duc,
            "vaccination_date": "2021-08-20",
            "dose_number": "1",
            "vaccine": "Vero Cell",
            "lot_number": "202107B1633",
            "site": "Trạm Y tế xã Tân Hội",
        },
        {
            "_line": 6,
            "_malformed": "FHIR_INVALID: occurrenceDateTime: DateTime value string does not match spec regex; "
            "vaccineCode: Field required",
            "record_id": "imm-0004",
            **duc,
            "vaccination_date": "20/09/2021",
            "dose_number": "2",
            "vaccine": None,
            "lot_number": "202108C0412",
            "site": None,
        },
        {
            "_line": 8,
            "_malformed": "FHIR_NOT_COMPLETED",
            "record_id": "imm-0005",
            **anh,
            "vaccination_date": "2021-10-05",
            "dose_number": "1",
            "vaccine": "EU/1/20/1507",
            "lot_number": None,
            "site": "Trung tâm Y tế Quận 5",
        },
    ]


def test_batches_have_the_reader_columns_and_types() -> None:
    _, batches = fhir_batches(SAMPLE)
    schema = next(iter(batches)).schema
    assert schema.names == ["_line", "_malformed", *DOSE_FIELDS]
    assert schema.field("_line").type == pa.int64()
    assert all(schema.field(n).type == pa.string() for n in schema.names[1:])


def test_patient_referenced_by_urn_uuid_may_come_after_its_immunization(tmp_path: Path) -> None:
    urn = "urn:uuid:3c1f2a9e-6d1b-4c55-9a0e-0f7b1d2c3e4f"
    row = one(tmp_path, immunization(ref=urn), patient("whatever"), full_urls={1: urn})
    assert row["_malformed"] is None
    assert (row["full_name"], row["sex"], row["date_of_birth"]) == ("Phạm Minh Tuấn", "Nam", "1979-11-30")


@pytest.mark.parametrize(
    "ref",
    [
        "urn:uuid:3c1f2a9e-6d1b-4c55-9a0e-0f7b1d2c3e4f",
        "urn:uuid:3C1F2A9E-6D1B-4C55-9A0E-0F7B1D2C3E4F",
        "Patient/p1",
        "https://fhir.example.vn/r4/Patient/p1",
        "Patient/p1/_history/3",
    ],
)
def test_patient_reference_forms(tmp_path: Path, ref: str) -> None:
    row = one(
        tmp_path,
        patient("p1"),
        immunization(ref=ref),
        full_urls={0: "urn:uuid:3c1f2a9e-6d1b-4c55-9a0e-0f7b1d2c3e4f"},
    )
    assert row["_malformed"] is None and row["full_name"] == "Phạm Minh Tuấn"


def test_contained_patient(tmp_path: Path) -> None:
    imm = immunization(ref="#pt", contained=[patient("pt", name=[{"text": "Đỗ Thị Mai"}])])
    row = one(tmp_path, imm)
    assert row["_malformed"] is None and row["full_name"] == "Đỗ Thị Mai"


def test_missing_patient_is_marked_and_the_dose_is_kept(tmp_path: Path) -> None:
    row = one(tmp_path, patient("p1"), immunization(ref="Patient/p2", lotNumber="AB12"))
    assert row["_malformed"] == "FHIR_PATIENT_MISSING"
    assert row["full_name"] is None
    assert (row["record_id"], row["vaccination_date"], row["lot_number"]) == ("i1", "2021-08-01", "AB12")


def test_patient_that_fails_validation_marks_its_doses(tmp_path: Path) -> None:
    rows = rows_of(tmp_path, patient("p1", birthDate="30/11/1979"), immunization("i1"), immunization("i2"))
    assert [r["_malformed"] for r in rows] == [
        "FHIR_INVALID: Patient/p1: birthDate: Date value string does not match spec regex"
    ] * 2
    assert [r["full_name"] for r in rows] == ["Phạm Minh Tuấn"] * 2
    assert rows[0]["date_of_birth"] == "30/11/1979"


@pytest.mark.parametrize("status", ["not-done", "entered-in-error", "in-progress"])
def test_status_other_than_completed_is_kept_and_marked(tmp_path: Path, status: str) -> None:
    row = one(tmp_path, patient(), immunization(status=status))
    assert row["_malformed"] == "FHIR_NOT_COMPLETED" and row["record_id"] == "i1"


def test_a_subpotent_dose_is_marked(tmp_path: Path) -> None:
    # A cold-chain break or a partial dose: recorded, but it must not count towards a series.
    assert one(tmp_path, patient(), immunization(isSubpotent=True))["_malformed"] == "FHIR_SUBPOTENT"
    assert one(tmp_path, patient(), immunization(isSubpotent=False))["_malformed"] is None


def test_invalid_entries_become_marked_rows_in_place(tmp_path: Path) -> None:
    rows = rows_of(
        tmp_path,
        patient(),
        immunization("i1"),
        immunization("i2", patient="Patient/p1", protocolApplied={"doseNumberPositiveInt": "x"}),
        immunization("i3", unknownField=True),
        {"resourceType": "Immunization"},
        immunization("i5"),
    )
    assert [r["_line"] for r in rows] == [2, 3, 4, 5, 6]
    assert rows[0]["_malformed"] is None and rows[4]["_malformed"] is None
    assert all(r["_malformed"].startswith("FHIR_INVALID: ") for r in rows[1:4])
    assert "unknownField" in rows[2]["_malformed"]
    assert rows[1]["record_id"] == "i2" and rows[3]["record_id"] is None


def test_entries_that_are_not_immunizations_give_no_row_but_count_in_line(tmp_path: Path) -> None:
    doc = bundle(patient(), immunization())
    doc["entry"][:0] = [
        {"request": {"method": "DELETE", "url": "Immunization/old"}},
        "junk",
        None,
        {"resource": {"resourceType": "Organization", "id": "o", "name": "CDC Hà Nội"}},
    ]
    doc["entry"].append(immunization("i2"))  # resource put straight into the list
    rows = read(write(tmp_path, doc))
    assert [(r["_line"], r["record_id"]) for r in rows] == [(6, "i1"), (7, "i2")]
    assert rows[0]["_malformed"] is None
    assert rows[1]["_malformed"] == "FHIR_INVALID: entry holds the resource itself, not under 'resource'"
    assert rows[1]["full_name"] == "Phạm Minh Tuấn"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"Ho ten,Ngay sinh\nAn,1990\n", "not a JSON object"),
        (b'[{"resourceType": "Bundle"}]', "not a JSON object"),
        (b'{"resourceType": "Patient", "id": "p"}', "resourceType is 'Patient'"),
        (b'{"type": "collection", "entry": []}', "no resourceType"),
        (b'{"resourceType": "Bundle", "entry": {"resource": {}}}', "'entry' is not a list"),
        (b'{"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Patient"}}', "line 1"),
        (b'{"resourceType": "Bundle",\n "entry": [\n {"a": 1,}\n]}', "line 3"),
        (b'{"resourceType": "Bundle", "entry": []} {}', "extra data"),
        (b'{"resourceType": "Bundle", "entry": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}", "nested"),
        ('{"resourceType": "Bundle", "id": "Hà Nam"}'.encode("cp1258"), "not UTF-8"),
    ],
)
def test_a_file_that_is_not_a_bundle_raises_input_error(tmp_path: Path, content: bytes, message: str) -> None:
    p = tmp_path / "x.json"
    p.write_bytes(content)
    with pytest.raises(InputError, match=message) as e:
        fhir_batches(p)
    assert "/" in str(e.value)  # Vietnamese, then English


def test_missing_file_raises_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        fhir_batches(tmp_path / "none.json")


def test_bom_empty_bundle_and_resource_type_after_entries(tmp_path: Path) -> None:
    p = tmp_path / "bom.json"
    p.write_bytes(b"\xef\xbb\xbf" + json.dumps({"resourceType": "Bundle", "type": "collection"}).encode())
    assert read(p) == []
    doc = {"entry": bundle(patient(), immunization())["entry"], "resourceType": "Bundle"}
    assert [r["record_id"] for r in read(write(tmp_path, doc))] == ["i1"]


@pytest.mark.parametrize("compact", [False, True])
@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64])
def test_streams_across_chunk_and_batch_boundaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int, compact: bool
) -> None:
    resources: list[dict[str, Any]] = []
    for i in range(12):
        resources.append(
            patient(
                f"p{i}",
                name=[{"text": f'Nguyễn "Văn" \\ Ánh {i}'}],
                telecom=[{"system": "phone", "value": f"09{i:08d}"}],
            )
        )
        resources.append(
            immunization(
                f"i{i}",
                f"Patient/p{i}",
                lotNumber="Lô ]}{[" * (i % 3),
                protocolApplied=[{"doseNumberPositiveInt": 1000 + i}],
            )
        )
    p = tmp_path / "b.json"
    if compact:
        p.write_text(json.dumps(bundle(*resources), separators=(",", ":")), encoding="utf-8")
    else:
        write(tmp_path, bundle(*resources))
    expected = read(p)
    monkeypatch.setattr(fhir, "CHUNK_CHARS", chunk)
    monkeypatch.setattr(fhir, "BATCH_ROWS", 5)
    _, batches = fhir_batches(p)
    sizes = []
    got = []
    for b in batches:
        sizes.append(b.num_rows)
        got += b.to_pylist()
    assert sizes == [5, 5, 2]
    assert got == expected
    assert [r["dose_number"] for r in got] == [str(1000 + i) for i in range(12)]
    assert got[4]["full_name"] == 'Nguyễn "Văn" \\ Ánh 4' and got[5]["lot_number"] == "Lô ]}{[Lô ]}{["


def test_a_broken_entry_is_reported_without_reading_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = bundle(patient(), *(immunization(f"i{i}") for i in range(2000)))
    # An unmatched brace: the entry's end cannot be found by counting brackets.
    text = json.dumps(doc, indent=1).replace('"resourceType": "Patient",', '"resourceType": "Patient", {', 1)
    p = tmp_path / "bad.json"
    p.write_text(text, encoding="utf-8")
    reads = 0
    more = fhir._Json._more

    def counted(self: fhir._Json) -> bool:
        nonlocal reads
        reads += 1
        return more(self)

    monkeypatch.setattr(fhir, "CHUNK_CHARS", 64)
    monkeypatch.setattr(fhir._Json, "_more", counted)
    with pytest.raises(InputError, match="line 7: Expecting property name"):
        fhir_batches(p)
    assert reads * 64 < len(text) / 100


def test_a_syntax_error_is_found_with_small_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = json.dumps(bundle(patient(), immunization()), indent=1)
    p = tmp_path / "bad.json"
    p.write_text(text.replace('"completed"', '"completed" "x"'), encoding="utf-8")
    monkeypatch.setattr(fhir, "CHUNK_CHARS", 5)
    with pytest.raises(InputError, match="delimiter"):
        fhir_batches(p)


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        ([{"family": "Nguyễn", "given": ["Văn", "An"]}], "Nguyễn Văn An"),
        ([{"text": " Hoàng  Thị Lan ", "family": "Hoàng", "given": ["Lan"]}], "Hoàng  Thị Lan"),
        (
            [
                {"use": "usual", "text": "Bé Bông"},
                {"use": "official", "family": "Vũ", "given": ["Thị", "Bông"]},
            ],
            "Vũ Thị Bông",
        ),
        ([{"use": "old", "text": "Tên cũ"}, {"given": ["Ngô"], "family": "Bảo"}], "Bảo Ngô"),
        ([{"given": ["Mai"]}], "Mai"),
        ([], None),
    ],
)
def test_full_name(tmp_path: Path, names: list[dict[str, Any]], expected: str | None) -> None:
    assert one(tmp_path, patient(name=names), immunization())["full_name"] == expected


@pytest.mark.parametrize(
    ("gender", "sex"), [("male", "Nam"), ("female", "Nữ"), ("other", None), ("unknown", None), (None, None)]
)
def test_sex(tmp_path: Path, gender: str | None, sex: str | None) -> None:
    pt = patient()
    if gender is None:
        del pt["gender"]
    else:
        pt["gender"] = gender
    assert one(tmp_path, pt, immunization())["sex"] == sex


NNVNM = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "NNVNM"}]}


@pytest.mark.parametrize(
    ("identifiers", "expected"),
    [
        ([{"system": "urn:local", "value": "BN1"}, {"type": NNVNM, "value": "001090001234"}], "001090001234"),
        (
            [{"system": "urn:local", "value": "BN1"}, {"type": {"coding": [{"code": "NI"}]}, "value": "1"}],
            "1",
        ),
        ([{"system": "urn:local", "value": "BN1"}, {"system": "https://x.gov.vn/CCCD", "value": "2"}], "2"),
        ([{"system": "urn:local", "value": "BN1"}, {"system": "urn:national-id", "value": "3"}], "3"),
        ([{"system": "urn:local", "value": "BN1"}, {"system": "urn:passport", "value": "C1234567"}], "BN1"),
        ([{"type": NNVNM}, {"system": "urn:local", "value": "BN1"}], "BN1"),
        ([], None),
    ],
)
def test_id_number_prefers_a_national_id(
    tmp_path: Path, identifiers: list[dict[str, Any]], expected: str | None
) -> None:
    assert one(tmp_path, patient(identifier=identifiers), immunization())["id_number"] == expected


def test_phone_is_a_phone_and_prefers_mobile(tmp_path: Path) -> None:
    telecom = [
        {"system": "email", "value": "a@b.vn"},
        {"system": "phone", "value": "024 3825 0000", "use": "work"},
        {"system": "phone", "value": "0988 000 111", "use": "mobile"},
    ]
    assert one(tmp_path, patient(telecom=telecom), immunization())["phone"] == "0988 000 111"


@pytest.mark.parametrize(
    ("address", "text", "ward"),
    [
        (
            {
                "line": ["5 Lê Lợi"],
                "city": "Huế",
                "extension": [
                    {"url": "https://moh.gov.vn/fhir/StructureDefinition/ward-code", "valueString": "19999"}
                ],
            },
            "5 Lê Lợi, Huế",
            "19999",
        ),
        (
            {
                "text": "Ấp 3, xã Tân Phú",
                "extension": [
                    {
                        "url": "http://hl7.org/fhir/StructureDefinition/iso21090-ADXP-precinct",
                        "valueCoding": {"code": "29560"},
                    }
                ],
            },
            "Ấp 3, xã Tân Phú",
            "29560",
        ),
        ({"line": ["Ấp 3"], "district": "29560", "city": "Long An"}, "Ấp 3, Long An", "29560"),
        (
            {"line": ["Ấp 3"], "district": "Huyện Cần Giuộc", "postalCode": "82000"},
            "Ấp 3, Huyện Cần Giuộc",
            None,
        ),
        ({"district": "Huyện Cần Giuộc", "state": "Long An"}, "Huyện Cần Giuộc, Long An", None),
    ],
)
def test_address_and_ward_code(tmp_path: Path, address: dict[str, Any], text: str, ward: str | None) -> None:
    row = one(tmp_path, patient(address=[address]), immunization())
    assert (row["address"], row["ward_code"]) == (text, ward)


def test_home_address_is_preferred(tmp_path: Path) -> None:
    addresses = [{"use": "work", "text": "Cơ quan"}, {"use": "home", "text": "Nhà", "district": "00001"}]
    row = one(tmp_path, patient(address=addresses), immunization())
    assert (row["address"], row["ward_code"]) == ("Nhà", "00001")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ({"coding": [{"system": EU, "code": "EU/1/21/1529", "display": "Vaxzevria"}]}, "EU/1/21/1529"),
        ({"coding": [{"system": EU, "code": "BBIBP-CorV"}]}, "BBIBP-CorV"),
        (
            {
                "coding": [
                    {"system": "http://hl7.org/fhir/sid/cvx", "code": "210", "display": "AstraZeneca"}
                ],
                "text": "Vắc xin AstraZeneca",
            },
            "EU/1/21/1529",
        ),
        ({"coding": [{"system": "urn:local", "code": "VC"}], "text": "Vero Cell"}, "Vero Cell"),
        # CVX and SNOMED CT codes of one product name that product.
        ({"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "210"}]}, "EU/1/21/1529"),
        ({"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "208"}]}, "EU/1/20/1528"),
        ({"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "511"}]}, "CoronaVac"),
        ({"coding": [{"system": "http://snomed.info/sct", "code": "10871000172106"}]}, "EU/1/20/1507"),
        # A SNOMED CT vaccine type fits more than one product: kept as given, explained downstream.
        ({"coding": [{"system": "http://snomed.info/sct", "code": "1119349007"}]}, "1119349007"),
    ],
)
def test_vaccine_is_an_eu_code_or_a_name(tmp_path: Path, code: dict[str, Any], expected: str) -> None:
    assert one(tmp_path, patient(), immunization(vaccineCode=code))["vaccine"] == expected


def test_record_id_prefers_the_identifier_then_id_then_full_url(tmp_path: Path) -> None:
    imm_ident = immunization("i1", identifier=[{"system": "urn:x", "value": "MT-1"}, {"value": "other"}])
    imm_noid = immunization("x")
    del imm_noid["id"]
    rows = rows_of(
        tmp_path,
        patient(),
        imm_ident,
        immunization("i2"),
        imm_noid,
        full_urls={3: "urn:uuid:11111111-2222-4333-8444-555555555555"},
    )
    assert [r["record_id"] for r in rows] == ["MT-1", "i2", "urn:uuid:11111111-2222-4333-8444-555555555555"]


@pytest.mark.parametrize(
    ("fields", "date", "dose"),
    [
        ({"occurrenceDateTime": "2021-08-01T23:30:00+07:00"}, "2021-08-01", "1"),
        ({"occurrenceDateTime": "2021-08-01T23:30:00+09:00"}, "2021-08-01", "1"),
        ({"occurrenceDateTime": "2021-08-01T18:30:00Z"}, "2021-08-02", "1"),
        ({"occurrenceDateTime": "2021-08-01T16:59:59.250+00:00"}, "2021-08-01", "1"),
        ({"occurrenceDateTime": "2021-08"}, "2021-08", "1"),
        ({"occurrenceDateTime": None, "occurrenceString": "khoảng tháng 8/2021"}, "khoảng tháng 8/2021", "1"),
        ({"protocolApplied": [{"doseNumberString": "nhắc lại"}]}, "2021-08-01", "nhắc lại"),
        (
            {"protocolApplied": [{"doseNumberPositiveInt": 3}, {"doseNumberPositiveInt": 4}]},
            "2021-08-01",
            "3",
        ),
    ],
)
def test_vaccination_date_and_dose_number(
    tmp_path: Path, fields: dict[str, Any], date: str, dose: str
) -> None:
    imm = {k: v for k, v in immunization(**fields).items() if v is not None}
    row = one(tmp_path, patient(), imm)
    assert row["_malformed"] is None
    assert (row["vaccination_date"], row["dose_number"]) == (date, dose)


def test_site_from_location_or_performer(tmp_path: Path) -> None:
    rows = rows_of(
        tmp_path,
        patient(),
        {"resourceType": "Organization", "id": "o1", "name": "Trung tâm Y tế huyện Gia Lâm"},
        immunization(
            "i1",
            location={"display": "Điểm tiêm trường THCS Ái Mộ"},
            performer=[{"actor": {"display": "Bác sĩ A"}}],
        ),
        immunization("i2", performer=[{"actor": {"reference": "Organization/o1"}}]),
        {"resourceType": "Practitioner", "id": "bs1", "name": [{"text": "Bác sĩ Hồ Văn Bình"}]},
        immunization(
            "i3",
            performer=[
                {"actor": {"reference": "Practitioner/bs1"}},
                {"actor": {"display": "Trạm Y tế xã Kim Sơn"}},
            ],
        ),
        immunization("i4"),
    )
    assert [r["site"] for r in rows] == [
        "Điểm tiêm trường THCS Ái Mộ",
        "Trung tâm Y tế huyện Gia Lâm",
        "Trạm Y tế xã Kim Sơn",
        None,
    ]
