"""The demo: the whole flow on the embedded database, end to end, at a size that runs in a minute or two."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, text

from vaxlink.services.audit import log as audit
from vaxlink.services.demo.certificates import demo_certificate_round_trip
from vaxlink.services.demo.users import create_demo_users
from vaxlink.services.figures.stats import headline
from vaxlink.services.operations.schema import open_database, upgrade_database
from vaxlink.services.reconciliation.answers import export_answer, export_results
from vaxlink.services.reconciliation.dose_ingest import ingest_batch
from vaxlink.services.reconciliation.registry_import import import_register
from vaxlink.settings import Settings, load_settings
from vaxlink.simulation import ErrorRates, SimulationSummary, simulate
from vaxlink.simulation.evaluate import evaluate
from vaxlink.storage.db import transaction

Say = Callable[[str], None]


def demo_settings(workdir: Path) -> Settings:
    """The settings of a demo directory: its SQLite database, work directory, audit key and signing keys."""
    return load_settings(
        database_url=f"sqlite:///{(workdir / 'vaxlink.db').resolve()}",
        work_dir=(workdir / "work").resolve(),
        audit_key_file=(workdir / "work" / "audit.key").resolve(),
    )


def run_demo(workdir: Path, *, citizens: int, seed: int, say: Say) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    db_path = (workdir / "vaxlink.db").resolve()
    settings = demo_settings(workdir)
    sim = _simulate(workdir, citizens, seed, say)
    say("2. Tạo lược đồ / creating the schema")
    upgrade_database(settings)
    engine = open_database(settings)
    try:
        _import_and_reconcile(engine, settings, sim, workdir, say)
        _results(engine, sim, workdir, say)
        _certificate_and_users(engine, settings, workdir, say)
    finally:
        engine.dispose()
    return db_path


def _simulate(workdir: Path, citizens: int, seed: int, say: Say) -> SimulationSummary:
    say(f"1. Mô phỏng tỉnh 77 với {citizens:,} công dân / simulating province 77 with {citizens:,} citizens")
    # A poor province's records (many without a number, more slips in birth dates and wards): the demo gives the
    # ward officers cases to settle, as the matcher resolves nearly all of an ordinary province's.
    sim = simulate(workdir / "data", province="77", citizens=citizens, seed=seed, errors=ErrorRates.poor())
    say(
        f"   {sim.citizens:,} công dân, {sim.dose_records:,} bản ghi mũi tiêm / citizens, dose records "
        f"({sim.seconds:.1f} s)"
    )
    return sim


def _import_and_reconcile(
    engine: Engine, settings: Settings, sim: SimulationSummary, workdir: Path, say: Say
) -> None:
    """Steps 3 to 5: the register, the dose batch, and the reasons of its mismatches."""
    say("3. Nhập sổ đăng ký dân cư / importing the register snapshot")
    with transaction(engine) as session:
        r = import_register(
            session, settings, sim.files["register"], rejects_path=workdir / "register.rejects.csv"
        )
    say(
        f"   mới / imported {r.imported:,} · cập nhật / updated {r.updated:,} · "
        f"không đổi / unchanged {r.unchanged:,} · bị loại / rejected {r.rejected:,}"
    )
    say("4. Nạp và đối soát lô tiêm chủng / ingesting and reconciling the dose batch")
    with transaction(engine) as session:
        b = ingest_batch(session, settings, sim.files["doses"], source="demo")
        export_answer(session.connection(), b.batch_id, workdir / "answer-for-health.xlsx")
    say("   " + " · ".join(f"{k} {v:,}" for k, v in b.counts.items()) + f" (tổng / total {b.rows:,})")
    with engine.connect() as conn:
        export_results(conn, workdir / "reconciliation.csv")
        combos = conn.execute(
            text("""
            SELECT m.reasons, count(*) FROM match_result m JOIN dose_record d ON d.id = m.dose_record_id
            WHERE d.is_latest AND m.reasons <> '' GROUP BY m.reasons""")
        ).all()
    reasons: Counter[str] = Counter()
    for combo, n in combos:
        for code in str(combo).split(";"):
            reasons[code] += int(n)
    say("5. Lý do sai lệch hay gặp nhất / top mismatch reasons:")
    for reason, n in reasons.most_common(12):
        say(f"   {n:>8,}  {reason}")


def _results(engine: Engine, sim: SimulationSummary, workdir: Path, say: Say) -> None:
    """Steps 6 and 7: the results against the simulator's truth, and the coverage."""
    truth = sim.files.get("truth")
    if truth is not None:
        ev = evaluate(workdir / "reconciliation.csv", truth)
        say("6. So với sự thật của mô phỏng / against the simulator's truth: " + ev.summary())
    say(
        f"   Kết quả / results: {workdir / 'reconciliation.csv'} · trả lời y tế / answer for health: "
        f"{workdir / 'answer-for-health.xlsx'}"
    )
    with engine.connect() as conn:
        h = headline(conn)
    say(
        f"7. Độ bao phủ / coverage: {h.residents:,} cư dân / residents · ít nhất 1 mũi / at least one dose "
        f"{h.at_least_one_dose:,} · đủ liều cơ bản / primary complete {h.primary_complete:,} · "
        f"nhắc lại / booster {h.booster:,} · hồ sơ chờ xử lý / open cases {h.cases_open:,}"
    )


def _certificate_and_users(engine: Engine, settings: Settings, workdir: Path, say: Say) -> None:
    """Steps 8 and 9: a certificate's round trip, and the demo users with their passwords."""
    say("8. Chứng nhận tiêm chủng / a vaccination certificate, issued, scanned, revoked and reissued:")
    audit_key = audit.load_key(settings.audit_key_file)
    with transaction(engine) as session:
        audit.bind_key(session, audit_key)
        pid = session.execute(
            text("""SELECT c.personal_id FROM citizen_status s JOIN citizen c ON c.id = s.citizen_id
            WHERE s.status IN ('complete', 'booster') ORDER BY c.id LIMIT 1""")
        ).scalar()
        if pid is not None:
            for line in demo_certificate_round_trip(session, settings, str(pid)):
                say("   " + line)
    say("9. Người dùng thử / demo users (mật khẩu chỉ in ra ở đây / passwords shown only here):")
    with transaction(engine) as session:
        audit.bind_key(session, audit_key)
        users = create_demo_users(session, "77")
    for u in users:
        say(f"   {u.username:<16} {u.password:<22} {u.role:<15} {u.scope}")
    say(
        f"   Mở bàn làm việc / open the workbench: uv run vaxlink serve --demo {workdir} → http://127.0.0.1:8000"
    )
