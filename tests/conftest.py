"""Shared fixtures: a migrated database on every configured backend (SQLite always, PostgreSQL when given).

PostgreSQL is given by VAXLINK_TEST_POSTGRES_URL (a server URL; .ci/run starts a throwaway cluster and
sets it). In CI (CI=true) a missing PostgreSQL is an error, never a silent skip.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, create_engine, text

from vaxlink.settings import Settings, load_settings
from vaxlink.storage.db import make_engine, transaction, upgrade

# Properties, not timings: a shared CI machine may pause any example past Hypothesis's 200 ms deadline.
# Speed is measured by the benchmarks (bench/).
hypothesis_settings.register_profile("vaxlink", deadline=None)
# CI draws the same examples on every run (a failure there is reproducible from the commit alone) and
# keeps no example database; `scripts/mutation` draws fewer, the same way, per mutant.
hypothesis_settings.register_profile("ci", deadline=None, derandomize=True, database=None, print_blob=True)
hypothesis_settings.register_profile(
    "mutation", deadline=None, derandomize=True, database=None, max_examples=40
)


def hypothesis_profile(environ: Mapping[str, str]) -> str:
    """HYPOTHESIS_PROFILE when set, else `ci` under CI=true, else the everyday profile."""
    if environ.get("HYPOTHESIS_PROFILE"):
        return environ["HYPOTHESIS_PROFILE"]
    return "ci" if environ.get("CI") == "true" else "vaxlink"


hypothesis_settings.load_profile(hypothesis_profile(os.environ))

PG_URL = os.environ.get("VAXLINK_TEST_POSTGRES_URL", "")
BACKENDS = ["sqlite", "postgresql"]


def _require_pg() -> None:
    if not PG_URL:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must run the PostgreSQL tests: VAXLINK_TEST_POSTGRES_URL is not set")
        pytest.skip("PostgreSQL not configured (set VAXLINK_TEST_POSTGRES_URL)")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    from vaxlink.services.operations.schema import sync_reference_data

    with transaction(engine) as s:
        sync_reference_data(s)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    _require_pg()
    name = f"vaxlink_tpl_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_URL.rsplit("/", 1)[0] + "/" + name
    engine = make_engine(url)
    upgrade(engine)
    from vaxlink.services.operations.schema import sync_reference_data

    with transaction(engine) as s:
        sync_reference_data(s)
    engine.dispose()
    yield name
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database with reference data, on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    template = request.getfixturevalue("pg_template")
    name = f"vaxlink_t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    try:
        yield PG_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return load_settings(database_url=db_url, work_dir=tmp_path / "work", duckdb_memory_limit="1GB")


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    e = make_engine(settings.database_url)
    yield e
    e.dispose()
