"""Alembic environment: runs on the connection handed over by vaxlink.storage.db.upgrade."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from vaxlink.storage import stats_models  # noqa: F401  (its tables belong to Base.metadata)
from vaxlink.storage.models import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
        with engine.begin() as conn:
            _migrate(conn)
        return
    _migrate(connection)


def _migrate(connection: object) -> None:
    dialect = getattr(connection, "dialect", None)
    is_pg = getattr(dialect, "name", "") == "postgresql"
    if is_pg:
        # Never wait behind a long transaction holding a lock: fail fast and retry instead.
        connection.exec_driver_sql("SET lock_timeout = '5s'")  # type: ignore[attr-defined]
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=not is_pg,  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
