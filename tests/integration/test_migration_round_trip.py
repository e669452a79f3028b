"""Migrations on a database that holds data: down to the first revision one step at a time with the rows
in, and up again to head; the rows survive and the schema is again the models' one, on every backend."""

from __future__ import annotations

from datetime import date

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, func, select, text

from tests.integration.web import world as w
from vaxlink.storage.db import current_revision, downgrade, transaction, upgrade
from vaxlink.storage.models import AppUser, Base, Batch, Case, Citizen, DoseRecord, MatchResult

pytestmark = pytest.mark.db

HEAD = "0009"
# The tables of the first revision that the data below fills, and how many rows each must keep.
COUNTED = (Citizen, Batch, DoseRecord, MatchResult, Case)


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as c:
        return {m.__tablename__: int(c.scalar(select(func.count()).select_from(m)) or 0) for m in COUNTED}


def _fill(engine: Engine) -> None:
    with transaction(engine) as s:
        world = w.build(s, None, actors=False)  # type: ignore[arg-type]
        extra = w.add_citizen(s, w.WARD_B, "Đỗ Thị Hoa", born=date(1949, 12, 31), sex="F")
        w.add_case(s, world.batch_id, extra, kind="unmatched")
        w.add_user(s, "giamsat", "supervisor", "province", w.PROVINCE)


def test_round_trip_with_data(engine: Engine) -> None:
    assert current_revision(engine) == HEAD
    _fill(engine)
    before = _counts(engine)
    assert all(before.values()), before
    with engine.connect() as c:
        names = sorted(c.execute(select(Citizen.full_name)).scalars())
    for revision in ("0006", "0005", "0004", "0003", "0002", "0001"):
        downgrade(engine, revision)
        assert current_revision(engine) == revision
        assert _counts(engine) == before, revision
        if revision != "0001":  # the users came with 0002
            with engine.connect() as c:
                assert c.scalar(select(func.count()).select_from(AppUser)) == 1
    upgrade(engine)
    assert current_revision(engine) == HEAD
    assert _counts(engine) == before
    with engine.connect() as c:
        assert sorted(c.execute(select(Citizen.full_name)).scalars()) == names
        diff = compare_metadata(MigrationContext.configure(c), Base.metadata)
    assert diff == []
    # What the later revisions brought works again on the old rows: the audit log is append-only.
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO audit_event (at, actor, action, resource_type, prev_hash, hash) "
                "VALUES (CURRENT_TIMESTAMP, 'test', 'test', 'citizen', 'x', 'y')"
            )
        )
    with pytest.raises(Exception, match="append-only"), engine.begin() as c:
        c.execute(text("DELETE FROM audit_event"))


def test_round_trip_from_nothing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        upgrade(engine)
        downgrade(engine, "base")
        assert current_revision(engine) is None
        upgrade(engine)
        with engine.connect() as c:
            assert compare_metadata(MigrationContext.configure(c), Base.metadata) == []
    finally:
        engine.dispose()
