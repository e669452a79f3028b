"""Coverage statistics checked against an independent count over the simulator's files and truth, on
SQLite and PostgreSQL: people absent from the register show up as unmatched, a split ward's people are
counted once in the 2025 structure, wards add up to districts and provinces; status rows follow the rule."""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import Date, Engine, bindparam, text
from typer.testing import CliRunner

from vaxlink.cli.main import app
from vaxlink.domain.admin_units import Level, Structure, admin_units
from vaxlink.domain.dates import PartialDate, parse_date
from vaxlink.domain.errors import InputError
from vaxlink.domain.status import Dose, VaccinationStatus, min_interval
from vaxlink.domain.vaccines import resolve_vaccine
from vaxlink.services.figures.refresh import batch_citizens_sql, refresh_statistics
from vaxlink.services.figures.stats import (
    BACKLOG_COUNTS,
    Jurisdiction,
    backlog,
    coverage,
    doses_by_vaccine,
    doses_series,
    drill_down,
    headline,
    jurisdiction_of,
)
from vaxlink.services.figures.status import refresh_status, status_of
from vaxlink.services.figures.ward_map import main_successor, ward_map_rows
from vaxlink.services.reconciliation.answers import export_results
from vaxlink.services.reconciliation.dose_ingest import ingest_batch
from vaxlink.services.reconciliation.registry_import import import_register
from vaxlink.settings import Settings
from vaxlink.simulation import simulate
from vaxlink.storage.db import transaction
from vaxlink.storage.models import Batch

PROVINCE = "74"  # Bình Dương: some of its legacy wards were split across several 2025 wards
TODAY = date(2026, 1, 15)
COUNTS = ("residents", "at_least_one_dose", "primary_complete", "booster", "unvaccinated")


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim-stats")
    simulate(out, province=PROVINCE, citizens=2500, seed=11)
    return out


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _split_ward(register: list[dict[str, str]]) -> tuple[str, str, str]:
    """The most populated split legacy ward of the simulated register, its main successor, another one."""
    reg = admin_units()
    people = Counter(r["current_ward_code"] or r["permanent_ward_code"] for r in register)
    for code, _ in people.most_common():
        rows = reg.convert_ward(code)
        if len({c.new_code for c in rows}) > 1:
            main = main_successor(code, rows).new_code
            other = sorted({c.new_code for c in rows} - {main})[0]
            return code, main, other
    raise AssertionError("the simulated province has no split ward with residents")


def _populate(settings: Settings, engine: Engine, sim: Path) -> dict[str, Any]:
    register = _read(sim / "register.csv")
    split, main, other = _split_ward(register)
    with transaction(engine) as s:
        import_register(s, settings, sim / "register.csv")
    # Half of the split ward's people are registered in one of its 2025 successors already.
    in_split = sorted(
        r["personal_id"] for r in register if (r["current_ward_code"] or r["permanent_ward_code"]) == split
    )
    moved = set(in_split[: len(in_split) // 2])
    with engine.begin() as conn:
        for pid in moved:
            conn.execute(
                text(
                    "UPDATE citizen SET current_units = '2025', current_ward_code = :w WHERE personal_id = :p"
                ),
                {"w": other, "p": pid},
            )
    with transaction(engine) as s:
        result = ingest_batch(s, settings, sim / "doses.csv", source="sim", today=TODAY)
        conn = s.connection()
        refresh_status(conn, batch_citizens_sql(result.batch_id))
        refresh_statistics(conn, today=TODAY)
    export = sim.parent / f"export-{engine.dialect.name}.csv"
    with engine.connect() as conn:
        export_results(conn, export)
    return {
        "register": register,
        "split": split,
        "main": main,
        "other": other,
        "moved": moved,
        "export": export,
    }


# The expectations below are worked out here, not with the status module's functions: the primary series
# of each product from its label, the age bands of the statistics, the status rule.
_SERIES = {"EU/1/20/1525": 1, "Sputnik-Light": 1, "Abdala": 3}  # every other product: 2


def _band(age: int) -> str:
    for low, label in ((65, "65+"), (50, "50-64"), (18, "18-49"), (12, "12-17"), (5, "5-11")):
        if age >= low:
            return label
    return "0-4"


def _status(doses: list[Dose]) -> VaccinationStatus:
    """Days counted once; a day needs the longest series of its products; a day closer to the last counted
    one than that day's product's minimum interval (less four days' grace) does not count towards the
    series; the series is complete on the first counted day by which every counted day needs at most as
    many as are counted; later days are boosters."""
    need: dict[date, int] = {}
    gap: dict[date, int] = {}
    for d in doses:
        need[d.day] = max(need.get(d.day, 0), _SERIES.get(d.vaccine_code or "", 2))
        gap[d.day] = max(gap.get(d.day, 0), min_interval(d.vaccine_code))
    days = sorted(need)
    if not days:
        return VaccinationStatus(0, None, None, None, 0)
    counted: list[date] = []
    for i, day in enumerate(days, start=1):
        if counted and (day - counted[-1]).days < gap[counted[-1]] - 4:
            continue
        counted.append(day)
        if max(need[x] for x in counted) <= len(counted):
            return VaccinationStatus(len(days), days[0], days[-1], day, len(days) - i)
    return VaccinationStatus(len(days), days[0], days[-1], None, 0)


def _level(s: VaccinationStatus) -> str:
    if s.doses == 0:
        return "none"
    if s.complete_date is None:
        return "partial"
    return "booster" if s.boosters else "complete"


def _expected(sim: Path, ctx: dict[str, Any]) -> dict[str, Any]:
    """Figures counted in Python from the files: the register, the dose batch, the truth and the exported
    reconciliation result, with the domain's rule; nothing read from the statistics tables."""
    register: list[dict[str, str]] = ctx["register"]
    doses = {r["record_id"]: r for r in _read(sim / "doses.csv")}
    truth = {r["record_id"]: r["personal_id"] for r in _read(sim / "truth.csv")}
    export = _read(ctx["export"])
    person: dict[str, dict[str, Any]] = {}
    for r in register:
        dob = parse_date(r["date_of_birth"])
        assert isinstance(dob, PartialDate)
        if r["personal_id"] in ctx["moved"]:
            units, ward = "2025", ctx["other"]
        else:
            units, ward = "legacy", r["current_ward_code"] or r["permanent_ward_code"]
        person[r["personal_id"]] = {
            "units": units,
            "ward": ward,
            "band": _band(TODAY.year - dob.year),
            "sex": "M" if r["sex"] == "Nam" else "F",
        }
    linked: defaultdict[str, list[Dose]] = defaultdict(list)
    outcomes: Counter[str] = Counter()
    unmatched_by_ward: Counter[str | None] = Counter()
    absent_records = absent_linked = 0
    for e in export:
        outcomes[e["outcome"]] += 1
        if truth[e["record_id"]] == "" and e["outcome"] != "rejected":
            absent_records += 1
            absent_linked += e["outcome"] in ("linked", "confirmed")
        if e["outcome"] in ("linked", "confirmed"):
            # The matcher's links agree with the truth: the figures below count the right people.
            assert e["personal_id"] == truth[e["record_id"]]
            d = doses[e["record_id"]]
            day = parse_date(d["vaccination_date"])
            assert isinstance(day, PartialDate)
            vaccine = resolve_vaccine(d["vaccine"])
            linked[e["personal_id"]].append(Dose(day.earliest(), None if vaccine is None else vaccine.code))
        elif e["outcome"] == "unmatched":
            # The worklist's ward is the candidate's current ward (in the candidate's units), else the
            # record's own legacy ward.
            ward = e["ward_code"] or None
            if ward is not None:
                cand = person.get(e["candidate_personal_id"])
                units = cand["units"] if cand is not None and cand["ward"] == ward else "legacy"
                ward = _map(units, ward)["legacy_ward_code"]
            unmatched_by_ward[ward] += 1
    status = {pid: _status(ds) for pid, ds in linked.items()}
    return {
        "person": person,
        "status": status,
        "outcomes": outcomes,
        "unmatched_by_ward": unmatched_by_ward,
        "absent_records": absent_records,
        "absent_linked": absent_linked,
        "vaccines": Counter(
            (v.code if (v := resolve_vaccine(doses[e["record_id"]]["vaccine"])) else None)
            for e in export
            if e["outcome"] != "rejected"
        ),
    }


def _map(units: str, ward: str) -> dict[str, str | None]:
    row = next(r for r in ward_map_rows() if r["src_units"] == units and r["src_ward_code"] == ward)
    return row


def _expected_by_unit(exp: dict[str, Any], column: str) -> dict[str | None, Counter[str]]:
    out: defaultdict[str | None, Counter[str]] = defaultdict(Counter)
    maps: dict[tuple[str, str], dict[str, str | None]] = {}
    for pid, p in exp["person"].items():
        key = (p["units"], p["ward"])
        if key not in maps:
            maps[key] = _map(*key)
        unit = maps[key][column]
        s: VaccinationStatus | None = exp["status"].get(pid)
        c = out[unit]
        c["residents"] += 1
        if s is not None:
            c["at_least_one_dose"] += 1
            c["primary_complete"] += s.complete_date is not None
            c["booster"] += s.boosters > 0
        c["unvaccinated"] += s is None
    return out


def _figures(rows: list[Any]) -> dict[str | None, dict[str, int]]:
    return {f.unit_code: {c: getattr(f, c) for c in COUNTS} for f in rows if f.residents}


@pytest.mark.db
def test_figures_agree_with_an_independent_count(settings: Settings, engine: Engine, sim: Path) -> None:
    ctx = _populate(settings, engine, sim)
    exp = _expected(sim, ctx)
    levels = [
        (Structure.LEGACY, Level.PROVINCE, "legacy_province_code"),
        (Structure.LEGACY, Level.DISTRICT, "legacy_district_code"),
        (Structure.LEGACY, Level.WARD, "legacy_ward_code"),
        (Structure.CURRENT, Level.PROVINCE, "new_province_code"),
        (Structure.CURRENT, Level.WARD, "new_ward_code"),
    ]
    with engine.connect() as conn:
        # Every stored status is the domain rule applied to the doses linked to that citizen.
        stored = {
            pid: (doses, first, last, complete, boosters)
            for pid, doses, first, last, complete, boosters in conn.execute(
                text("""SELECT c.personal_id, s.doses, s.first_dose_date, s.last_dose_date, s.complete_date,
                    s.boosters FROM citizen_status s JOIN citizen c ON c.id = s.citizen_id""")
            ).all()
        }
        assert set(stored) == set(exp["status"])
        for pid, s in exp["status"].items():
            got = stored[pid]
            assert (got[0], str(got[1]), str(got[2]), got[4]) == (
                s.doses,
                str(s.first_dose_date),
                str(s.last_dose_date),
                s.boosters,
            ), pid
            assert (None if got[3] is None else str(got[3])) == (
                None if s.complete_date is None else str(s.complete_date)
            )

        for units, level, column in levels:
            got = _figures(coverage(conn, level, units, today=TODAY))
            want = {k: {c: v[c] for c in COUNTS} for k, v in _expected_by_unit(exp, column).items()}
            assert got == want, (units, level)

        total = headline(conn, today=TODAY)
        assert total.residents == len(exp["person"])
        assert total.at_least_one_dose == len(exp["status"])
        for units, level, _ in levels:
            rows = coverage(conn, level, units, today=TODAY)
            for name in (*COUNTS, *BACKLOG_COUNTS):
                assert sum(getattr(f, name) or 0 for f in rows) == getattr(total, name), (units, level, name)

        # Sums over wards equal their district's figures, and districts their province's.
        districts = {f.unit_code: f for f in coverage(conn, Level.DISTRICT, Structure.LEGACY, today=TODAY)}
        wards = coverage(conn, Level.WARD, Structure.LEGACY, today=TODAY)
        by_district: defaultdict[str | None, Counter[str]] = defaultdict(Counter)
        for w in wards:
            for name in (*COUNTS, "unmatched_records", "review_records", "linked_records"):
                by_district[w.parent_code if w.unit_code else None][name] += getattr(w, name) or 0
        for code, sums in by_district.items():
            d = districts[code]
            assert all(getattr(d, name) == n for name, n in sums.items()), code
        within = Jurisdiction(Structure.LEGACY, Level.PROVINCE, PROVINCE)
        assert sum(f.residents or 0 for f in drill_down(conn, within)) == headline(conn, within).residents

        # A split ward: its people counted once, its registered-2025 people in their own 2025 ward.
        new_wards = {f.unit_code: f for f in coverage(conn, Level.WARD, Structure.CURRENT, today=TODAY)}
        split_people = [p for p in exp["person"].values() if p["ward"] in (ctx["split"], ctx["other"])]
        assert ctx["moved"]
        stayed = sum(
            1 for p in exp["person"].values() if p["units"] == "legacy" and p["ward"] == ctx["split"]
        )
        others_into = _expected_by_unit(exp, "new_ward_code")
        assert (
            new_wards[ctx["other"]].residents == others_into[ctx["other"]]["residents"] >= len(ctx["moved"])
        )
        assert new_wards[ctx["main"]].residents == others_into[ctx["main"]]["residents"] >= stayed
        assert sum(f.residents or 0 for f in new_wards.values()) == len(exp["person"])
        assert len(split_people) >= len(ctx["moved"]) + stayed

        # People absent from the register: their records are never linked and are counted as unmatched
        # (or in review) in the ward whose worklist holds them, else under "unknown".
        assert exp["absent_records"] > 0 and exp["absent_linked"] == 0
        assert total.unmatched_records == exp["outcomes"]["unmatched"] >= 1
        assert total.review_records == exp["outcomes"]["review"]
        assert total.linked_records == exp["outcomes"]["linked"] + exp["outcomes"]["confirmed"]
        assert total.rejected_records == exp["outcomes"]["rejected"]
        unmatched_by_ward = Counter(
            {
                f.unit_code: f.unmatched_records
                for f in coverage(conn, Level.WARD, Structure.LEGACY, today=TODAY)
                if f.unmatched_records
            }
        )
        assert unmatched_by_ward == exp["unmatched_by_ward"]
        assert total.cases_open == exp["outcomes"]["review"] + exp["outcomes"]["unmatched"]
        assert total.cases_overdue == 0
        later = headline(conn, today=TODAY + timedelta(days=400))
        assert later.cases_overdue == total.cases_open

        # Doses per vaccine and per day: every usable record, once.
        assert doses_by_vaccine(conn) == dict(exp["vaccines"])
        series = doses_series(conn)
        assert sum(p.records for p in series) == total.dose_records == sum(exp["vaccines"].values())
        assert [p.day for p in series] == sorted(p.day for p in series)
        in_province = doses_series(conn, within, by_vaccine=True)
        assert sum(p.linked for p in in_province) <= total.linked_records

        # Age bands and sex add up to the unit's figures.
        by_group = coverage(conn, Level.PROVINCE, Structure.LEGACY, by=("age_band", "sex"), today=TODAY)
        assert sum(f.residents or 0 for f in by_group) == total.residents
        want_groups = Counter((p["band"], p["sex"]) for p in exp["person"].values())
        assert {(f.age_band, f.sex): f.residents for f in by_group} == dict(want_groups)

        # Small counts hidden for public exports; zeros and large counts kept.
        for f in coverage(conn, Level.WARD, Structure.LEGACY, suppress=10, today=TODAY):
            for name in (*COUNTS, *BACKLOG_COUNTS):
                v = getattr(f, name)
                assert v is None or v == 0 or v >= 10

        waiting = backlog(conn, within, today=TODAY)
        assert sum(f.unmatched_records or 0 for f in waiting) <= total.unmatched_records


@pytest.mark.db
def test_cli_prints_the_same_numbers(
    settings: Settings, engine: Engine, sim: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _populate(settings, engine, sim)
    monkeypatch.setenv("VAXLINK_DATABASE_URL", settings.database_url)
    runner = CliRunner()
    with engine.connect() as conn:
        want = coverage(conn, Level.WARD, Structure.CURRENT)
    out = tmp_path / "wards.csv"
    r = runner.invoke(
        app, ["stats", "coverage", "--level", "ward", "--units", "2025", "--format", "csv", "--out", str(out)]
    )
    assert r.exit_code == 0, r.output
    rows = _read(out)
    assert list(rows[0])[:6] == [
        "unit_code",
        "unit_name",
        "residents",
        "at_least_one_dose",
        "primary_complete",
        "booster",
    ]
    assert [(x["unit_code"], int(x["residents"]), int(x["at_least_one_dose"])) for x in rows] == [
        (f.unit_code or "", f.residents, f.at_least_one_dose) for f in want
    ]

    r = runner.invoke(
        app, ["stats", "coverage", "--level", "district", "--format", "json", "--suppress", "5"]
    )
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert all(d["residents"] is None or d["residents"] == 0 or d["residents"] >= 5 for d in data)

    xlsx = tmp_path / "p.xlsx"
    r = runner.invoke(app, ["stats", "coverage", "--format", "xlsx", "--out", str(xlsx)])
    assert r.exit_code == 0, r.output
    sheet = openpyxl.load_workbook(xlsx).active
    assert sheet is not None
    header, first = list(sheet.iter_rows(values_only=True))[:2]
    assert header[:3] == ("unit_code", "unit_name", "residents") and first[0] == PROVINCE

    r = runner.invoke(app, ["stats", "coverage", "--level", "province"])
    assert r.exit_code == 0 and "Dân số" in r.output
    r = runner.invoke(app, ["stats", "coverage", "--level", "district", "--units", "2025"])
    assert r.exit_code == 2 and "2025" in r.output
    r = runner.invoke(app, ["stats", "refresh"])
    assert r.exit_code == 0, r.output


def _dose(
    s: Any, batch: Batch, rid: str, day: date, vaccine: str, version: int = 1, latest: bool = True
) -> int:
    conn = s.connection()
    conn.execute(
        text("""INSERT INTO dose_record (batch_id, source, record_id, version, is_latest, line_no,
            vaccination_date, dose_number, vaccine_code) VALUES (:b, 't', :r, :v, :l, 1, :d, 1, :c)""").bindparams(
            bindparam("d", type_=Date)
        ),
        {"b": batch.id, "r": rid, "v": version, "l": latest, "d": day, "c": vaccine},
    )
    return int(conn.execute(text("SELECT max(id) FROM dose_record")).scalar_one())


@pytest.mark.db
def test_status_sql_follows_the_rule_for_many_random_histories(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    import random

    rnd = random.Random(7)
    products = ["EU/1/21/1529", "EU/1/20/1528", "EU/1/20/1525", "Abdala", "BBIBP-CorV", "Sputnik-Light"]
    n = 300
    reg = tmp_path / "reg.csv"
    with reg.open("w", encoding="utf-8") as f:
        f.write("personal_id,full_name,date_of_birth,sex,permanent_ward_code\n")
        for i in range(n):
            f.write(f"0770900{i:05d},Nguyễn Văn An,1990-01-01,Nam,26560\n")
    with transaction(engine) as s:
        import_register(s, settings, reg)
        batch = Batch(source="t", checksum="x", file_name="x", status="done", rows_total=0)
        s.add(batch)
        s.flush()
        ids = dict(s.connection().execute(text("SELECT personal_id, id FROM citizen")).all())
        expected: dict[int, VaccinationStatus] = {}
        for i in range(n):
            cid = ids[f"0770900{i:05d}"]
            history: list[Dose] = []
            for j in range(rnd.randint(0, 5)):
                day = date(2021, 6, 1) + timedelta(days=rnd.choice([0, 0, 1, 16, 20, 28, 60, 90, 180, 300]))
                code = rnd.choice(products)
                outcome = rnd.choice(["linked", "linked", "confirmed", "review", "superseded"])
                rid = f"{i}-{j}"
                if outcome == "superseded":
                    # An older version linked to the citizen, replaced by a version in review: neither counts.
                    old = _dose(s, batch, rid, day, code, 1, False)
                    new = _dose(s, batch, rid, day, code, 2, True)
                    s.connection().execute(
                        text(
                            "INSERT INTO match_result (dose_record_id, outcome, citizen_id, reasons, flags, decided_at, version) "
                            "VALUES (:d, 'linked', :c, '', '', CURRENT_TIMESTAMP, 1), (:n, 'review', NULL, '', '', CURRENT_TIMESTAMP, 1)"
                        ),
                        {"d": old, "c": cid, "n": new},
                    )
                    continue
                d = _dose(s, batch, rid, day, code)
                s.connection().execute(
                    text(
                        "INSERT INTO match_result (dose_record_id, outcome, citizen_id, candidate_citizen_id, reasons, "
                        "flags, decided_at, version) VALUES (:d, :o, :c, :k, '', '', CURRENT_TIMESTAMP, 1)"
                    ),
                    {
                        "d": d,
                        "o": outcome,
                        "c": None if outcome == "review" else cid,
                        "k": cid if outcome == "review" else None,
                    },
                )
                if outcome != "review":
                    history.append(Dose(day, code))
            expected[cid] = _status(history)
        conn = s.connection()
        assert refresh_status(conn) == sum(1 for v in expected.values() if v.doses)
        for cid, want in expected.items():
            assert status_of(conn, cid) == want, cid
        levels = dict(conn.execute(text("SELECT citizen_id, status FROM citizen_status")).all())
        assert levels == {cid: _level(v) for cid, v in expected.items() if v.doses}

        # A dose unlinked: refreshing only that citizen drops or lowers their status.
        victim = next(cid for cid, v in expected.items() if v.doses == 1)
        conn.execute(
            text("UPDATE match_result SET outcome = 'review', citizen_id = NULL WHERE citizen_id = :c"),
            {"c": victim},
        )
        refresh_status(conn, f"SELECT {victim}")
        assert status_of(conn, victim).doses == 0
        assert conn.execute(text("SELECT count(*) FROM citizen_status")).scalar_one() == len(levels) - 1


def test_split_and_merged_wards_map_to_one_ward_of_each_structure() -> None:
    rows = {(r["src_units"], r["src_ward_code"]): r for r in ward_map_rows()}
    reg = admin_units()
    assert len(rows) == len(reg.wards(Structure.LEGACY)) + len(reg.wards(Structure.CURRENT))
    # Xã 00112 went partly to 00004 and, with its whole population, to 00103: its people count in 00103.
    assert rows[("legacy", "00112")]["new_ward_code"] == "00103"
    assert rows[("legacy", "00112")]["rule"] == "split_main"
    # Phường Bà Rịa (2025) kept the code of Phước Trung, one of the four wards merged into it.
    assert rows[("2025", "26560")]["legacy_ward_code"] == "26560"
    assert rows[("2025", "26560")]["legacy_district_code"] == "748"
    for (units, code), r in rows.items():
        if r["rule"] == "split_main":
            assert r["new_ward_code"] in {c.new_code for c in reg.convert_ward(code)}


def test_jurisdictions() -> None:
    assert jurisdiction_of("country", "legacy", None) is None
    j = jurisdiction_of("district", "legacy", "748")
    assert j == Jurisdiction(Structure.LEGACY, Level.DISTRICT, "748")
    assert Jurisdiction(Structure.LEGACY, Level.PROVINCE, "7").code == "07"
    with pytest.raises(InputError):
        Jurisdiction(Structure.CURRENT, Level.DISTRICT, "748")
    with pytest.raises(InputError):
        Jurisdiction(Structure.LEGACY, Level.WARD, "abc")
