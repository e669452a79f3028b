"""The prepared register kept between batches: a batch decides the same with it as without it, and a change
of the register (an officer's correction, an import) reaches the next batch."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from vaxlink.domain import admin_unit_files
from vaxlink.domain.admin_units import admin_units
from vaxlink.services.reconciliation.dose_ingest import ingest_batch
from vaxlink.services.reconciliation.registry_import import import_register
from vaxlink.services.workbench.register_changes import _apply
from vaxlink.settings import Settings
from vaxlink.simulation import simulate
from vaxlink.storage.db import transaction
from vaxlink.storage.models import Batch, Citizen
from vaxlink.storage.register_log import current_version

CITIZENS = 3000


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("prepared-register")
    simulate(out, province="77", citizens=CITIZENS, seed=11)
    return out


def _split(province: Path, out: Path) -> tuple[Path, Path]:
    """The simulated doses as a first batch and a second one of about 2,000 rows."""
    with (province / "doses.csv").open(encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    paths = []
    for name, part in (("first.csv", body[:-2000]), ("second.csv", body[-2000:])):
        p = out / name
        with p.open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(part)
        paths.append(p)
    return paths[0], paths[1]


def _decide(engine, settings: Settings, path: Path) -> tuple[list[tuple[object, ...]], dict, dict]:
    """Ingest `path` in a transaction rolled back afterwards: the outcome of every record (with its
    candidates as an officer would see them), the spec the batch was decided with, how the register came."""
    with engine.connect() as conn, Session(bind=conn) as session:
        trans = conn.begin()
        try:
            r = ingest_batch(session, settings, path, source="health")
            session.flush()
            rows = [
                tuple(x)
                for x in conn.execute(
                    text("""SELECT d.record_id, m.outcome, m.citizen_id, m.candidate_citizen_id,
                    round(CAST(m.score AS NUMERIC), 9), m.reasons, m.blame, m.ward_code, m.flags,
                    CAST(k.details AS VARCHAR(4000))
                    FROM match_result m JOIN dose_record d ON d.id = m.dose_record_id
                    LEFT JOIN work_case k ON k.dose_record_id = d.id WHERE d.batch_id = :b
                    ORDER BY d.record_id"""),
                    {"b": r.batch_id},
                )
            ]
            spec = session.scalar(select(Batch.spec).where(Batch.id == r.batch_id))
        finally:
            trans.rollback()
    return rows, spec or {}, r.register


def _with_work_dir(settings: Settings, work: Path) -> Settings:
    return settings.model_copy(update={"work_dir": work})


def test_a_batch_decides_the_same_with_the_kept_register_as_with_the_whole_one(
    settings, engine, tmp_path, province, monkeypatch
):
    with transaction(engine) as s:
        import_register(s, settings, province / "register.csv", rejects_path=tmp_path / "rej.csv")
    first, second = _split(province, tmp_path)
    warm = _with_work_dir(settings, tmp_path / "warm")
    with transaction(engine) as s:
        r = ingest_batch(s, warm, first, source="health")
    assert r.register["how"] == "built"

    cold_rows, cold_spec, cold = _decide(engine, _with_work_dir(settings, tmp_path / "cold"), second)
    # With the register and the matcher's ward tables kept, a batch does not read the administrative units'
    # lists again (a quarter of a second each time).
    admin_units.cache_clear()
    monkeypatch.setattr(admin_unit_files, "load", lambda: pytest.fail("the lists were read again"))
    warm_rows, warm_spec, kept = _decide(engine, warm, second)
    monkeypatch.undo()
    admin_units.cache_clear()

    assert cold["how"] == "built" and kept["how"] == "stored"
    assert kept["citizens"] == CITIZENS and kept["read"] < CITIZENS
    assert len(warm_rows) == 2000
    assert warm_rows == cold_rows
    # The parameters estimated on the batch are the same too.
    assert warm_spec == cold_spec
    assert "estimation" in warm_spec["extra"] and "skipped" not in warm_spec["extra"]["estimation"]


def _citizen_record(register: Path, batch: Path, name: str) -> tuple[str, Path]:
    """A record carrying a citizen's number and sex under `name`, the birth date a day off: the register's first
    citizen. (With the full birth date, the number, the date and the sex would outweigh any name.)"""
    with register.open(encoding="utf-8") as f:
        c = next(csv.DictReader(f))
    with batch.open(encoding="utf-8") as f:
        header = next(csv.reader(f))
    row = dict.fromkeys(header, "")
    row.update(
        record_id="corrected-1",
        full_name=name,
        date_of_birth=(date.fromisoformat(c["date_of_birth"]) + timedelta(days=1)).isoformat(),
        sex=c["sex"],
        id_number=c["personal_id"],
        ward_code=c["permanent_ward_code"],
        vaccination_date="2021-09-01",
        dose_number="1",
        vaccine="Pfizer",
    )
    path = batch.parent / "one.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=header)
        w.writeheader()
        w.writerow(row)
    return c["personal_id"], path


def test_a_register_change_reaches_the_next_batch(settings, engine, tmp_path, province):
    with transaction(engine) as s:
        import_register(s, settings, province / "register.csv", rejects_path=tmp_path / "rej.csv")
    first, _ = _split(province, tmp_path)
    with transaction(engine) as s:
        assert ingest_batch(s, settings, first, source="health").register["how"] == "built"
    new_name = "Phạm Quốc Trung"
    personal_id, one = _citizen_record(province / "register.csv", first, new_name)

    # Under the register's name the number points at someone else by name: not linked.
    rows, _, how = _decide(engine, settings, one)
    assert how["how"] == "stored"
    assert [r[1] for r in rows] == ["review"]

    # An officer corrects the citizen's name: the kept register has only that citizen prepared again.
    with transaction(engine) as s:
        c = s.scalar(select(Citizen).where(Citizen.personal_id == personal_id))
        assert c is not None
        before = current_version(s.connection())
        _apply(s, c, c.version, "full_name", new_name, "giấy khai sinh", "test", "officer")
        assert current_version(s.connection()).version == before.version + 1
        citizen_id = c.id
    rows, _, how = _decide(engine, settings, one)
    assert how["how"] == "patched"
    assert [(r[1], r[2]) for r in rows] == [("linked", citizen_id)]
    cold_rows, _, _ = _decide(engine, _with_work_dir(settings, tmp_path / "cold"), one)
    assert rows == cold_rows

    # An import prepares the register again.
    changed = tmp_path / "register2.csv"
    with (province / "register.csv").open(encoding="utf-8") as f:
        table = list(csv.reader(f))
    table[1][table[0].index("full_name")] = "Lý Thị Mai"
    with changed.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(table)
    with transaction(engine) as s:
        assert import_register(s, settings, changed, rejects_path=tmp_path / "rej2.csv").updated == 1
    rows, _, how = _decide(engine, settings, one)
    assert how["how"] == "built"
    assert [r[1] for r in rows] == ["review"]


def test_a_version_rolled_back_is_not_taken_for_the_one_that_follows(settings, engine, tmp_path, province):
    """A prepared register read inside a transaction that rolled back is labelled with a version that was
    never committed: the change that later takes its number must not be taken as already in it."""
    with transaction(engine) as s:
        import_register(s, settings, province / "register.csv", rejects_path=tmp_path / "rej.csv")
    first, _ = _split(province, tmp_path)
    personal_id, one = _citizen_record(province / "register.csv", first, "Phạm Quốc Trung")
    _decide(engine, settings, one)
    # A correction and a batch in one transaction, rolled back: the register kept is that of the change.
    with engine.connect() as conn, Session(bind=conn) as session:
        trans = conn.begin()
        c = session.scalar(select(Citizen).where(Citizen.personal_id == personal_id))
        assert c is not None
        _apply(session, c, c.version, "full_name", "Phạm Quốc Trung", "giấy khai sinh", "test", "officer")
        r = ingest_batch(session, settings, one, source="health")
        assert r.register["how"] == "patched" and r.counts["linked"] == 1
        trans.rollback()
    # Another change takes the same version number; the citizen keeps the register's name.
    with transaction(engine) as s:
        other = s.scalar(select(Citizen).where(Citizen.personal_id != personal_id).limit(1))
        assert other is not None
        _apply(s, other, other.version, "address", "12 Lê Lợi", "đơn", "test", "officer")
    rows, _, how = _decide(engine, settings, one)
    assert how["how"] == "built"
    assert [r[1] for r in rows] == ["review"]
