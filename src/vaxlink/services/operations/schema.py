"""Schema and reference data: migrate the database and keep the official unit lists loaded in it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, delete, func, insert, select
from sqlalchemy.orm import Session

from vaxlink.domain.admin_units import Structure, admin_units
from vaxlink.domain.errors import VaxlinkError
from vaxlink.settings import Settings
from vaxlink.storage import db
from vaxlink.storage.models import AdminUnitRow, WardConversionRow

HEAD = "head"


def upgrade_database(settings: Settings) -> tuple[str, int]:
    """Run the migrations, then load the administrative units. Idempotent."""
    engine = db.make_engine(settings.database_url)
    try:
        db.upgrade(engine)
        with db.transaction(engine) as session:
            units = sync_reference_data(session)
        return db.current_revision(engine) or "", units
    finally:
        engine.dispose()


def open_database(settings: Settings) -> Engine:
    """An engine on a database whose schema is current; a clear error otherwise."""
    engine = db.make_engine(settings.database_url)
    try:
        rev = db.current_revision(engine)
    except Exception as e:  # the driver's own error types differ per backend
        raise VaxlinkError(
            f"Không kết nối được CSDL / cannot open the database: {type(e).__name__}"
        ) from None
    if rev is None:
        raise VaxlinkError(
            "CSDL chưa có lược đồ, hãy chạy `vaxlink db upgrade` / "
            "the database has no schema: run `vaxlink db upgrade`"
        )
    return engine


@contextmanager
def database(settings: Settings) -> Iterator[Engine]:
    """An engine on a current schema for the length of one command; its connections close afterwards."""
    engine = open_database(settings)
    try:
        yield engine
    finally:
        engine.dispose()


def sync_reference_data(session: Session) -> int:
    """Load the official unit lists when the stored ones differ in size (flushes, never commits)."""
    reg = admin_units()
    units = [u for s in Structure for u in (*reg.provinces(s), *reg.wards(s))]
    units += [d for p in reg.provinces(Structure.LEGACY) for d in reg.districts_of(p.code)]
    stored = session.scalar(select(func.count()).select_from(AdminUnitRow)) or 0
    if stored != len(units):
        session.execute(delete(AdminUnitRow))
        session.execute(
            insert(AdminUnitRow),
            [
                {
                    "structure": u.structure.value,
                    "level": u.level.value,
                    "code": u.code,
                    "name": u.name,
                    "kind": u.kind,
                    "parent_code": u.parent_code,
                    "province_code": u.province_code,
                }
                for u in units
            ],
        )
    # Rows without an old ward code (whole districts that became special zones) map no legacy ward.
    conversions = {
        (c.old_code, c.new_code): c
        for w in reg.wards(Structure.CURRENT)
        for c in reg.legacy_sources(w.code)
        if c.old_code
    }
    stored = session.scalar(select(func.count()).select_from(WardConversionRow)) or 0
    if stored != len(conversions):
        session.execute(delete(WardConversionRow))
        session.execute(
            insert(WardConversionRow),
            [
                {
                    "old_code": c.old_code,
                    "new_code": c.new_code,
                    "new_province_code": c.new_province_code,
                    "whole": c.whole,
                }
                for c in conversions.values()
            ],
        )
    session.flush()
    return len(units)
