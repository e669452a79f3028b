"""Drill 3 (parsers), fuzzing: every parser of outside input answers any input with its documented
outcome (a value, a Problem, a counted rejection, an InputError or a DecodeError) and never with another
exception. CI runs a few hundred examples per parser; `scripts/drills --minutes M` runs each for M
minutes (VAXLINK_DRILL_FUZZ_SECONDS), round after round of fresh examples."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import base45
import cbor2
import duckdb
import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.drills.support import figure
from vaxlink.credentials import Name, Verifier, dose_from_product, init_keys, issue, load_signer
from vaxlink.credentials.hcert import DecodeError, decode_hc1
from vaxlink.credentials.keys import TRUST_JSON
from vaxlink.credentials.trust import TrustList
from vaxlink.domain.chip_qr import parse_chip_qr
from vaxlink.domain.dates import parse_date, parse_partial_iso
from vaxlink.domain.errors import InputError
from vaxlink.domain.interchange import DOSE_COLUMNS
from vaxlink.domain.names import canonical_name, fold_name, looks_given_first, split_name
from vaxlink.domain.personal_ids import parse_personal_id, read_id_number
from vaxlink.files.read import contract_select, load_file

SECONDS = float(os.environ.get("VAXLINK_DRILL_FUZZ_SECONDS", "0"))
EXAMPLES = 300
# Files cost a temporary file and a DuckDB table each: fewer of them in CI.
FILE_EXAMPLES = 100
NOW = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


def fuzz(
    name: str, strategy: st.SearchStrategy, check: Callable[[object], None], examples: int = EXAMPLES
) -> None:
    """Run `check` on examples of `strategy`: one round in CI, rounds until the time is up in the drill."""
    per_round = examples if SECONDS == 0 else 2_000

    @settings(
        max_examples=per_round,
        deadline=None,
        database=None,
        # CI runs the same examples every time (a failure there is reproducible); the long drill explores.
        derandomize=SECONDS == 0,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def run(value: object) -> None:
        check(value)

    started, rounds = time.monotonic(), 0
    while True:
        run()
        rounds += 1
        if time.monotonic() - started >= SECONDS:
            break
    figure("3", f"{name}: {rounds * per_round:,} examples in {time.monotonic() - started:.0f} s", "0 crashes")


anything = st.one_of(
    st.text(),
    st.text(alphabet="0123456789 .-/|\n"),
    st.binary().map(lambda b: b.decode("latin-1")),
    st.integers(),
    st.floats(),
    st.none(),
    st.booleans(),
    st.decimals(allow_nan=True),
    st.dates(),
)


# ---------------------------------------------------------------------------------------- domain parsers


def test_personal_ids():
    def check(v: object) -> None:
        parse_personal_id(v)  # type: ignore[arg-type]
        read_id_number(v)

    fuzz("personal ids", st.one_of(anything, st.from_regex(r"\A0[0-9]{2}[0-9 .-]{9,12}\Z")), check)


def test_chip_card_qr():
    field = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)
    qr = st.lists(field, min_size=0, max_size=9).map("|".join)
    real = st.tuples(
        st.from_regex(r"\A0[0-9]{11}\Z"),
        st.from_regex(r"\A[0-9]{9}\Z"),
        field,
        st.from_regex(r"\A[0-9]{8}\Z"),
    ).map(lambda t: f"{t[0]}|{t[1]}|{t[2]}|{t[3]}|Nam|{t[2]}|{t[3]}")
    fuzz("chip-card QR", st.one_of(anything, qr, real), lambda v: parse_chip_qr(v))  # type: ignore[arg-type]


def test_dates():
    def check(v: object) -> None:
        parse_date(v)
        if isinstance(v, str):
            parse_partial_iso(v)

    texty = st.from_regex(r"\A[0-9]{0,5}[/.-]?[0-9]{0,5}[/.-]?[0-9]{0,6}\Z")
    fuzz("dates", st.one_of(anything, texty), check)


def test_names():
    def check(v: object) -> None:
        canonical_name(v)
        fold_name(v)
        split_name(v)
        looks_given_first(v)

    vietnamese = st.text(
        alphabet="aăâeêioôơuưyđAĂÂĐ \u0300\u0301\u0303\u0309\u0323\u0306\u0302\u031b", max_size=40
    )
    fuzz("names", st.one_of(anything, vietnamese), check)


# ---------------------------------------------------------------------------------------- file readers

CSV_SEED = (
    "record_id,full_name,date_of_birth,sex,id_number,vaccination_date,dose_number,vaccine\n"
    'r1,Nguyễn Văn An,15/03/1990,Nam,077090001234,2021-08-01,1,AZ\n"r2","Lê ""Tám""",1980,Nữ,,2021-09-01,2,Pfizer\n'
).encode()
JSONL_SEED = (
    '{"record_id":"r1","full_name":"Nguyễn Văn An","date_of_birth":"15/03/1990","vaccine":"AZ"}\n'
    '{"record_id":"r2","full_name":"Lê Tám","dose_number":2,"extra":{"a":[1,2]}}\n'
).encode()
FHIR_SEED = (Path(__file__).parents[1] / "data" / "fhir" / "bundle-sample.json").read_bytes()


def _xlsx_seed() -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["record_id", "full_name", "date_of_birth", "vaccination_date", "dose_number", "vaccine"])
    ws.append(["r1", "Nguyễn Văn An", dt.date(1990, 3, 15), dt.date(2021, 8, 1), 1, "AZ"])
    ws.append(["r2", "Lê Tám", 1980, "01/09/2021", 2.0, "Pfizer"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _parquet_seed() -> bytes:
    t = pa.table({"record_id": ["r1", "r2"], "full_name": ["Nguyễn Văn An", "Lê Tám"], "dose_number": [1, 2]})
    buf = io.BytesIO()
    pq.write_table(t, buf)
    return buf.getvalue()


def mutated(seed: bytes) -> st.SearchStrategy[bytes]:
    """The seed with bytes flipped, cut, deleted or inserted: damaged files that still look like one."""

    def apply(ops: list[tuple[int, int, int, bytes]]) -> bytes:
        b = bytearray(seed)
        for kind, at, bit, chunk in ops:
            if not b:
                break
            i = at % len(b)
            if kind == 0:
                b[i] ^= 1 << (bit % 8)
            elif kind == 1:
                del b[i : i + 1 + bit % 16]
            elif kind == 2:
                b[i:i] = chunk
            else:
                del b[i:]
        return bytes(b)

    op = st.tuples(st.integers(0, 3), st.integers(0, 1 << 30), st.integers(0, 255), st.binary(max_size=8))
    return st.lists(op, min_size=1, max_size=6).map(apply)


def _json_values() -> st.SearchStrategy[object]:
    leaf = st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)
    )
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=5)
        ),
        max_leaves=20,
    )


def _read(suffix: str) -> Callable[[object], None]:
    """Read bytes as a dose file the way the ingest does: a clear InputError, or rows (some counted as
    malformed), and nothing else."""

    def check(data: object) -> None:
        assert isinstance(data, bytes)
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / f"doses{suffix}"
            path.write_bytes(data)
            con = duckdb.connect()
            try:
                loaded = load_file(con, path, "raw")
                contract_select(loaded, DOSE_COLUMNS)
            except InputError:
                pass
            finally:
                con.close()

    return check


@pytest.mark.parametrize(
    ("suffix", "seed"),
    [
        (".csv", CSV_SEED),
        (".jsonl", JSONL_SEED),
        (".json", FHIR_SEED),
        (".xlsx", None),
        (".parquet", None),
    ],
)
def test_file_readers(suffix, seed):
    if seed is None:
        seed = _xlsx_seed() if suffix == ".xlsx" else _parquet_seed()
    strategies = [mutated(seed), st.binary(max_size=300)]
    if suffix == ".jsonl":
        strategies.append(
            st.lists(_json_values(), max_size=5).map(lambda vs: "\n".join(json.dumps(v) for v in vs).encode())
        )
    if suffix == ".json":
        fhir = json.loads(FHIR_SEED)
        strategies.append(
            _json_values().map(lambda v: json.dumps({"resourceType": "Bundle", "entry": v}).encode())
        )
        strategies.append(
            st.lists(_json_values(), max_size=3).map(
                lambda vs: json.dumps(
                    {**fhir, "entry": fhir.get("entry", [])[:2] + [{"resource": v} for v in vs]}
                ).encode()
            )
        )
    if suffix == ".csv":
        strategies.append(
            st.lists(st.lists(st.text(max_size=12), max_size=9), max_size=6).map(
                lambda rows: "\n".join(",".join(r) for r in rows).encode()
            )
        )
    fuzz(f"{suffix} reader", st.one_of(*strategies), _read(suffix), FILE_EXAMPLES)


# ---------------------------------------------------------------------------------------- HC1 decoder


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Verifier]:
    keys = tmp_path_factory.mktemp("fuzz-keys") / "dcc"
    init_keys(keys, now=NOW - dt.timedelta(days=1))
    doses = [dose_from_product(dt.date(2021, 9, 1), 1, "EU/1/21/1529")]
    cert = issue(Name("Nguyễn", "Văn", "An"), "1990-03-15", doses, load_signer(keys), now=NOW)
    return cert.hc1, Verifier(TrustList.load(keys / TRUST_JSON))


def _cbor_values() -> st.SearchStrategy[object]:
    leaf = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(),
        st.text(max_size=10),
        st.binary(max_size=70),
    )
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.lists(inner, max_size=5),
            st.dictionaries(st.one_of(st.integers(-300, 300), st.text(max_size=5)), inner, max_size=5),
            st.builds(cbor2.CBORTag, st.sampled_from([18, 61, 1, 0, 24, 98]), inner),
        ),
        max_leaves=25,
    )


def _wrap(cose: bytes) -> str:
    return "HC1:" + base45.b45encode(zlib.compress(cose)).decode()


def test_hc1_decoder(issued):
    hc1, verifier = issued

    def check(v: object) -> None:
        if isinstance(v, str):
            with contextlib.suppress(DecodeError):
                decode_hc1(v)
        verifier.verify(v, at=NOW)  # type: ignore[arg-type]

    real = mutated(hc1.encode()).map(lambda b: b.decode("latin-1"))
    inner = mutated(zlib.decompress(base45.b45decode(hc1[4:]))).map(_wrap)
    structures = _cbor_values().map(lambda v: _wrap(cbor2.dumps(v)))
    sign1 = st.tuples(_cbor_values(), _cbor_values(), _cbor_values(), _cbor_values()).map(
        lambda p: _wrap(cbor2.dumps(cbor2.CBORTag(18, list(p))))
    )
    texts = st.one_of(st.text(), st.text(alphabet="HC1:0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./"))
    fuzz("HC1 decoder and verifier", st.one_of(real, inner, structures, sign1, texts, st.binary()), check)
