"""What the benchmarks share: a fresh PostgreSQL database on a given server, dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import create_engine, text


def fresh_pg(url: str, label: str) -> tuple[str, Callable[[], None]]:
    """A new database `vaxlink_bench_<label>_<random>` on the server of `url`: its URL and how to drop it."""
    name = f"vaxlink_bench_{label}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.rsplit("/", 1)[0] + "/" + name, drop
