"""Drill fixtures: a small simulated province, written once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.drills.support import size
from vaxlink.simulation import SimulationSummary, simulate


@pytest.fixture(scope="session")
def province(tmp_path_factory: pytest.TempPathFactory) -> SimulationSummary:
    citizens = size(1_500, 20_000, "VAXLINK_DRILL_CITIZENS")
    return simulate(tmp_path_factory.mktemp("province"), province="77", citizens=citizens, seed=8)


def _fresh_db(request: pytest.FixtureRequest, tmp_path: Path, backend: str, label: str) -> str:
    """A migrated database with reference data, like the suite's `db_url`, on the given backend."""
    import shutil
    import uuid

    from sqlalchemy import create_engine, text

    from tests.conftest import PG_URL

    if backend == "sqlite":
        path = tmp_path / f"{label}.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    template = request.getfixturevalue("pg_template")
    name = f"vaxlink_d_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    admin.dispose()

    def drop() -> None:
        a = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with a.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        a.dispose()

    request.addfinalizer(drop)
    return PG_URL.rsplit("/", 1)[0] + "/" + name


@pytest.fixture
def fresh_db(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    """fresh_db(backend, label) → the URL of a new migrated database."""
    return lambda backend, label: _fresh_db(request, tmp_path, backend, label)
