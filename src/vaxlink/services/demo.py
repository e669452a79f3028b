"""The demo: the whole flow on the embedded database, end to end, at a size that runs in a minute or two."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from vaxlink.services.registry_import import import_register
from vaxlink.services.schema import open_database, upgrade_database
from vaxlink.settings import load_settings
from vaxlink.simulation import simulate
from vaxlink.storage.db import transaction

Say = Callable[[str], None]


def run_demo(workdir: Path, *, citizens: int, seed: int, say: Say) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    db_path = (workdir / "vaxlink.db").resolve()
    settings = load_settings(database_url=f"sqlite:///{db_path}", work_dir=workdir / "work")
    say(f"1. Mô phỏng tỉnh 77 với {citizens:,} công dân / simulating province 77 with {citizens:,} citizens")
    sim = simulate(workdir / "data", province="77", citizens=citizens, seed=seed)
    say(f"   {sim.citizens:,} công dân, {sim.dose_records:,} bản ghi mũi tiêm / citizens, dose records "
        f"({sim.seconds:.1f} s)")
    say("2. Tạo lược đồ / creating the schema")
    upgrade_database(settings)
    engine = open_database(settings)
    try:
        say("3. Nhập sổ đăng ký dân cư / importing the register snapshot")
        with transaction(engine) as session:
            r = import_register(session, settings, sim.files["register"],
                                rejects_path=workdir / "register.rejects.csv")
        say(f"   mới / imported {r.imported:,} · cập nhật / updated {r.updated:,} · "
            f"không đổi / unchanged {r.unchanged:,} · bị loại / rejected {r.rejected:,}")
    finally:
        engine.dispose()
    return db_path
