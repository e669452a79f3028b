"""The synthetic province: file contracts, identity rules, error rates as configured, determinism."""

from __future__ import annotations

import itertools
import math
import unicodedata
from collections import Counter, defaultdict
from dataclasses import fields
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from vaxlink.domain.admin_units import Structure, admin_units
from vaxlink.domain.dates import PartialDate, parse_date
from vaxlink.domain.interchange import DOSE_COLUMNS, REGISTER_COLUMNS
from vaxlink.domain.names import canonical_name, has_diacritics
from vaxlink.domain.personal_ids import PersonalId, parse_personal_id
from vaxlink.domain.sex import Sex, parse_sex
from vaxlink.domain.vaccines import resolve_vaccine
from vaxlink.simulation import ErrorRates, name_tables, province_specs, simulate, simulate_provinces
from vaxlink.simulation.rates import EXCLUSIVE_GROUPS, MAX_GROUP_RATE, MAX_RATE
from vaxlink.simulation.vocab import modern_tone_placement, name_vocab

CITIZENS = 20_000
Row = dict[str, str | None]


def read(path: Path) -> list[Row]:
    if path.suffix == ".parquet":
        table = pq.read_table(path)
    else:
        names = pacsv.read_csv(path).column_names
        table = pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=True
            ),
        )
    return [{k: (None if v is None else str(v)) for k, v in row.items()} for row in table.to_pylist()]


class Province:
    def __init__(self, out: Path) -> None:
        self.summary = simulate(out, citizens=CITIZENS, seed=7)
        self._load()

    def _load(self) -> None:
        self.register = read(self.summary.files["register"])
        self.doses = read(self.summary.files["doses"])
        self.truth = read(self.summary.files["truth"])
        self.by_pid = {r["personal_id"]: r for r in self.register}
        self.truth_of = {t["record_id"]: t for t in self.truth}

    def errors(self, record: Row) -> set[str]:
        text = self.truth_of[record["record_id"]]["errors"]
        return set(text.split(";")) if text else set()

    def citizen(self, record: Row) -> Row | None:
        return self.by_pid.get(self.truth_of[record["record_id"]]["personal_id"])


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Province:
    return Province(tmp_path_factory.mktemp("province"))


def test_files_carry_the_interchange_columns(province: Province) -> None:
    files = province.summary.files
    assert set(files) == {"register", "doses", "truth"}
    assert all(p.exists() and p.suffix == ".csv" for p in files.values())
    assert list(province.register[0]) == [c.name for c in REGISTER_COLUMNS]
    # The simulated platform exports the contract's columns but the two optional ones added later
    # (ward_units, dose_kind): its 2021-2022 ward codes are read as legacy codes by their dates.
    assert list(province.doses[0]) == [
        c.name for c in DOSE_COLUMNS if c.name not in ("ward_units", "dose_kind")
    ]
    assert list(province.truth[0]) == ["record_id", "personal_id", "person_key", "errors"]
    assert len(province.register) == province.summary.citizens == CITIZENS
    assert len(province.doses) == province.summary.dose_records


def test_every_personal_id_is_valid_unique_and_agrees_with_sex_and_birth_year(province: Province) -> None:
    pids = [r["personal_id"] for r in province.register]
    assert len(set(pids)) == len(pids)
    olds = [r["old_id"] for r in province.register if r["old_id"]]
    assert len(set(olds)) == len(olds) and all(len(o) == 9 and o.isdigit() for o in olds)
    home = 0
    for r in province.register:
        parsed = parse_personal_id(r["personal_id"])
        assert isinstance(parsed, PersonalId), (r, parsed)
        assert parsed.sex is parse_sex(r["sex"])
        assert parsed.birth_year == int(r["date_of_birth"][:4])
        home += parsed.place_code == "077"
    assert 0.7 < home / len(pids) < 0.92
    # Old CMND numbers belong to adults born before the chip cards.
    with_cmnd = [int(r["date_of_birth"][:4]) for r in province.register if r["old_id"]]
    assert max(with_cmnd) <= 2006 and len(with_cmnd) / len(pids) > 0.5


def test_register_rows_are_well_formed(province: Province) -> None:
    year_only = 0
    for r in province.register:
        assert r["sex"] in ("Nam", "Nữ")
        dob = parse_date(r["date_of_birth"])
        assert isinstance(dob, PartialDate) and 1930 <= dob.year <= 2021
        if len(r["date_of_birth"]) == 4:
            year_only += 1
            assert dob.year < 1955
        else:
            assert len(r["date_of_birth"]) == 10
        assert (
            unicodedata.is_normalized("NFC", r["full_name"])
            and canonical_name(r["full_name"]) == r["full_name"]
        )
        assert r["phone"] is None or (len(r["phone"]) == 10 and r["phone"].startswith("0"))
        assert r["address"] and r["household_id"]
    assert 0 < year_only < 0.002 * len(province.register)


def test_wards_are_real_wards_of_the_province(province: Province) -> None:
    units = admin_units()
    home = {w.code for w in units.wards_of("77", Structure.LEGACY)}
    elsewhere = 0
    for r in province.register:
        ward = units.ward(r["permanent_ward_code"], Structure.LEGACY)
        assert ward is not None
        elsewhere += ward.province_code != "77"
        if r["current_ward_code"] is not None:
            assert r["current_ward_code"] in home and r["current_ward_code"] != r["permanent_ward_code"]
        else:
            assert r["permanent_ward_code"] in home
        if ward.province_code == "77":
            assert ward.name in r["address"]
    # Some people registered in another province live here, and ward populations are uneven.
    assert 0.01 < elsewhere / len(province.register) < 0.15
    sizes = Counter(r["current_ward_code"] or r["permanent_ward_code"] for r in province.register)
    assert len(sizes) > 60 and max(sizes.values()) > 3 * min(sizes.values())
    assert all(d["ward_code"] is None or d["ward_code"] in home for d in province.doses)


def test_households_share_address_and_mostly_the_family_name(province: Province) -> None:
    households: defaultdict[str, list[Row]] = defaultdict(list)
    for r in province.register:
        households[r["household_id"]].append(r)
    sizes = Counter(len(m) for m in households.values())
    assert set(sizes) <= set(range(1, 7)) and sizes[1] > 0 and sizes[4] > 0
    shared = others = 0
    for members in households.values():
        assert len({m["address"] for m in members}) == 1
        head = members[0]["full_name"].split()[0]
        shared += sum(m["full_name"].split()[0] == head for m in members[1:])
        others += len(members) - 1
    # Wives keep their own family name; children carry their father's.
    assert 0.45 < shared / others < 0.8


def test_truth_covers_every_dose_record_exactly_once(province: Province) -> None:
    ids = [d["record_id"] for d in province.doses]
    assert len(set(ids)) == len(ids)
    assert sorted(ids) == sorted(t["record_id"] for t in province.truth)
    for t in province.truth:
        assert t["person_key"]
        if t["personal_id"] is not None:
            assert t["personal_id"] in province.by_pid


def test_doses_look_like_the_campaign(province: Province) -> None:
    labels = {d["vaccine"] for d in province.doses}
    assert all(resolve_vaccine(v) is not None for v in labels)
    assert {"Vero Cell", "AZ"} & labels and len(labels) > 8
    schedule: defaultdict[str, list[tuple[int, object]]] = defaultdict(list)
    for d in province.doses:
        t = province.truth_of[d["record_id"]]
        if "duplicate" in (t["errors"] or ""):
            continue
        when = parse_date(d["vaccination_date"])
        assert isinstance(when, PartialDate) and 2021 <= when.year <= 2022
        assert d["lot_number"] and d["site"] and d["dose_number"] in ("1", "2", "3", "4")
        schedule[t["person_key"]].append((int(d["dose_number"]), when.earliest()))
    for doses in schedule.values():
        doses.sort()
        assert [n for n, _ in doses] == list(range(1, len(doses) + 1))
        assert all(b[1] > a[1] for a, b in itertools.pairwise(doses))
    adults = [r for r in province.register if int(r["date_of_birth"][:4]) <= 2003]
    vaccinated = {t["personal_id"] for t in province.truth if t["personal_id"]}
    share = sum(r["personal_id"] in vaccinated for r in adults) / len(adults)
    assert 0.8 < share < 0.9


def _rate_ok(count: int, n: int, rate: float) -> bool:
    sd = math.sqrt(rate * (1 - rate) / n)
    return abs(count / n - rate) <= 4.5 * sd + 0.0005


def test_error_rates_are_the_configured_ones(province: Province) -> None:
    rates = ErrorRates()
    counts: Counter[str] = Counter()
    for t in province.truth:
        counts.update(t["errors"].split(";") if t["errors"] else [])
    assert counts == {k: v for k, v in province.summary.error_counts.items() if v}
    n = len(province.truth)
    per_record = [k for k in ErrorRates.kinds() if k not in ("duplicate", "absent_person")]
    for kind in per_record:
        assert _rate_ok(counts[kind], n, getattr(rates, kind)), (kind, counts[kind] / n)
    originals = n - counts["duplicate"]
    assert _rate_ok(counts["duplicate"], originals, rates.duplicate)
    persons = {t["person_key"] for t in province.truth}
    absent = {t["person_key"] for t in province.truth if t["personal_id"] is None}
    assert len(persons) == province.summary.persons_vaccinated
    assert len(absent) == province.summary.absent_persons
    assert _rate_ok(len(absent), len(persons), rates.absent_person)
    # Several errors on one record happen; about a quarter of the records differ from the register.
    several = sum(1 for t in province.truth if t["errors"] and ";" in t["errors"])
    differ = sum(1 for t in province.truth if t["errors"])
    assert several > 0.01 * n and 0.2 < differ / n < 0.32


def test_each_error_is_visible_in_the_record(province: Province) -> None:
    members: defaultdict[str, set[str]] = defaultdict(set)
    for r in province.register:
        members[r["household_id"]].add(r["personal_id"])
    household_of = {r["personal_id"]: r["household_id"] for r in province.register}
    seen: Counter[str] = Counter()
    for d in province.doses:
        errs = province.errors(d)
        c = province.citizen(d)
        seen.update(errs)
        if c is None:
            assert "absent_person" in errs
            continue
        pid, got = c["personal_id"], d["id_number"]
        if "id_missing" in errs:
            assert got is None
        elif "id_old_cmnd" in errs:
            assert got == c["old_id"]
        elif "id_lost_leading_zero" in errs:
            assert got == pid[1:] and len(got) == 11
        elif "id_digit_typo" in errs:
            assert len(got) == 12 and sum(a != b for a, b in zip(got, pid, strict=True)) == 1
        elif "id_transposed" in errs:
            diff = [i for i in range(12) if got[i] != pid[i]]
            assert len(diff) == 2 and diff[1] == diff[0] + 1 and got[diff[0]] == pid[diff[1]]
        elif "id_household_member" in errs:
            assert got != pid and got in members[household_of[pid]]
        else:
            assert got == pid

        name = d["full_name"]
        if "name_no_diacritics" in errs:
            assert not has_diacritics(name)
        if "name_upper" in errs:
            assert name == name.upper()
        if "name_nfd" in errs:
            assert not unicodedata.is_normalized("NFC", name)
        if not errs & {"name_typo", "name_middle_dropped", "name_given_first", "name_no_diacritics"}:
            assert canonical_name(name) == c["full_name"]
            if not errs & {"name_upper", "name_nfd"}:
                assert (name == c["full_name"]) == ("name_tone_placement" not in errs)
        if "name_middle_dropped" in errs and not errs & {"name_given_first"}:
            assert len(name.split()) < len(c["full_name"].split())
        if "name_given_first" in errs and not errs & {
            "name_typo",
            "name_no_diacritics",
            "name_middle_dropped",
        }:
            words = canonical_name(name).split()
            assert words[0] == c["full_name"].split()[-1] and words[1] == c["full_name"].split()[0]

        dob = parse_date(d["date_of_birth"])
        assert isinstance(dob, PartialDate)
        registered = c["date_of_birth"]
        if "dob_year_only" in errs:
            assert d["date_of_birth"] == registered[:4]
        elif "dob_day_month_swapped" in errs:
            assert dob.iso() == f"{registered[:4]}-{registered[8:10]}-{registered[5:7]}"
        elif "dob_digit" in errs:
            assert (
                dob.iso() != registered
                and sum(a != b for a, b in zip(dob.iso(), registered, strict=True)) == 1
            )
        elif "dob_placeholder" in errs:
            assert dob.iso() == f"{registered}-01-01"
        elif len(registered) == 10:
            assert dob.iso() == registered

        if "sex_missing" in errs:
            assert d["sex"] is None
        else:
            assert (d["sex"] == c["sex"]) == ("sex_wrong" not in errs)
        home = c["current_ward_code"] or c["permanent_ward_code"]
        if "ward_missing" in errs:
            assert d["ward_code"] is None
        else:
            assert (d["ward_code"] == home) == ("ward_wrong" not in errs)
    assert all(seen[k] > 0 for k, rate in ErrorRates().as_dict().items() if rate > 0), seen


def test_absent_people_are_not_in_the_register_and_some_look_like_siblings(province: Province) -> None:
    by_address: defaultdict[str, set[str]] = defaultdict(set)
    for r in province.register:
        by_address[r["address"]].add(r["full_name"].split()[0])
    pids = set(province.by_pid)
    olds = {r["old_id"] for r in province.register if r["old_id"]}
    names = {(r["full_name"], r["date_of_birth"]) for r in province.register}
    siblings = 0
    absent_keys = set()
    for d in province.doses:
        t = province.truth_of[d["record_id"]]
        if t["personal_id"] is not None:
            assert "absent_person" not in province.errors(d)
            continue
        assert "absent_person" in province.errors(d)
        absent_keys.add(t["person_key"])
        if d["id_number"] and "id_household_member" not in province.errors(d):
            assert d["id_number"] not in pids and d["id_number"] not in olds
        dob = parse_date(d["date_of_birth"])
        assert isinstance(dob, PartialDate)
        assert (d["full_name"], dob.iso()) not in names
        if d["full_name"].split()[0] in by_address.get(d["address"] or "", set()):
            siblings += 1
    assert absent_keys and siblings > 0


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    a = simulate(tmp_path / "a", citizens=3000, seed=11)
    b = simulate(tmp_path / "b", citizens=3000, seed=11)
    c = simulate(tmp_path / "c", citizens=3000, seed=12)
    for name in ("register", "doses", "truth"):
        assert a.files[name].read_bytes() == b.files[name].read_bytes()
        assert a.files[name].read_bytes() != c.files[name].read_bytes()


def test_parquet_holds_the_same_rows_as_csv(tmp_path: Path) -> None:
    csv = simulate(tmp_path / "csv", citizens=2000, seed=3)
    parquet = simulate(tmp_path / "pq", citizens=2000, seed=3, file_format="parquet")
    for name in ("register", "doses", "truth"):
        assert parquet.files[name].suffix == ".parquet"
        assert read(parquet.files[name]) == read(csv.files[name])


def test_several_provinces_share_one_register_without_collisions(tmp_path: Path) -> None:
    summary = simulate_provinces(tmp_path, province_specs(["77", "75"], 3000, seed=5))
    register = read(summary.files["register"])
    pids = [r["personal_id"] for r in register]
    assert len(set(pids)) == len(pids) == 6000
    records = [d["record_id"] for d in read(summary.files["doses"])]
    assert len(set(records)) == len(records)
    keys = {t["person_key"][:2] for t in read(summary.files["truth"])}
    assert keys == {"77", "75"}


def test_some_people_were_vaccinated_in_the_other_province(tmp_path: Path) -> None:
    from vaxlink.domain.admin_units import admin_units

    summary = simulate_provinces(tmp_path, province_specs(["77", "75"], 3000, seed=5), away_share=0.05)
    units = admin_units()
    truth = {t["record_id"]: t["person_key"] for t in read(summary.files["truth"])}
    places: dict[str, set[str]] = {}
    away = total = 0
    for d in read(summary.files["doses"]):
        if not d["ward_code"]:
            continue
        ward = units.ward(str(d["ward_code"]).zfill(5))
        home = truth[d["record_id"]][:2]
        total += 1
        if ward.province_code != home:
            away += 1
            places.setdefault(truth[d["record_id"]], set()).add(ward.province_code)
    assert 0.03 < away / total < 0.07
    # A person vaccinated away was vaccinated in one other province, never their own.
    assert all(len(p) == 1 for p in places.values())
    none = simulate_provinces(tmp_path / "none", province_specs(["77", "75"], 3000, seed=5), away_share=0.0)
    assert read(none.files["truth"]) == read(summary.files["truth"])


def test_clean_rates_give_a_clean_batch(tmp_path: Path) -> None:
    summary = simulate(tmp_path, citizens=2000, seed=1, errors=ErrorRates.none())
    truth = read(summary.files["truth"])
    assert summary.absent_persons == 0
    assert all(t["errors"] in (None, "") or t["errors"] == "dob_placeholder" for t in truth)


def test_scaled_multiplies_every_rate_and_caps() -> None:
    base = ErrorRates()
    tripled = base.scaled(3.0)
    for f in fields(ErrorRates):
        assert getattr(tripled, f.name) == pytest.approx(3 * getattr(base, f.name))
    huge = base.scaled(1000.0)
    assert all(v <= MAX_RATE for v in huge.as_dict().values())
    for group in EXCLUSIVE_GROUPS:
        assert sum(getattr(huge, k) for k in group) <= MAX_GROUP_RATE + 1e-9
    assert base.scaled(0.0) == ErrorRates.none()
    with pytest.raises(ValueError):
        ErrorRates(id_missing=1.5)


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    from vaxlink.domain.errors import InputError

    with pytest.raises(InputError):
        simulate(tmp_path, province="00", citizens=10)
    with pytest.raises(InputError):
        simulate(tmp_path, citizens=0)
    with pytest.raises(InputError):
        simulate(tmp_path, citizens=10, file_format="xlsx")


def test_name_tables_are_canonical_and_shaped_like_vietnam() -> None:
    vocab = name_vocab()
    assert all(canonical_name(t) == t and unicodedata.is_normalized("NFC", t) for t in vocab.tokens)
    shares = sorted((w for _, w in name_tables.FAMILY_NAMES), reverse=True)
    total = sum(shares)
    assert name_tables.FAMILY_NAMES[0][0] == "Nguyễn" and 0.36 < shares[0] / total < 0.40
    assert 0.85 < sum(shares[:10]) / total < 0.93
    for given in (name_tables.GIVEN_MALE, name_tables.GIVEN_FEMALE):
        assert len(given) >= 100 and len(set(given)) == len(given)
    assert modern_tone_placement("Hòa") == "Hoà" and modern_tone_placement("Thủy") == "Thuỷ"
    assert modern_tone_placement("Quý") == "Quý" and modern_tone_placement("Hoàng") == "Hoàng"
    assert canonical_name("Hoà") == "Hòa"


def test_sex_labels_parse(province: Province) -> None:
    assert {parse_sex(r["sex"]) for r in province.register} == {Sex.MALE, Sex.FEMALE}
