"""Backup and restore of the whole database: `pg_dump -Fc` / `pg_restore` on PostgreSQL, SQLite's online
backup API on SQLite; and a digest of every table, to prove that a round trip changed nothing."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sqlite3
import subprocess  # nosec B404
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from vaxlink.services.errors import BackupError
from vaxlink.services.operations.app_role import app_roles, grant_app_role
from vaxlink.settings import Settings
from vaxlink.storage.db import make_engine

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_CUSTOM_MAGIC = b"PGDMP"


@dataclass(frozen=True)
class BackupResult:
    path: Path
    backend: str
    bytes: int
    # PostgreSQL restore: the application roles whose privileges were granted again afterwards.
    app_roles: tuple[str, ...] = ()


def pg_binary(name: str) -> Path:
    """The newest `name` (pg_dump, pg_restore) on the machine: VAXLINK_PG_BIN, then the PATH, then
    Debian's /usr/lib/postgresql/<major>/bin. pg_dump refuses servers newer than itself, so the newest
    installed major wins over an older one on the PATH."""
    found: list[Path] = []
    env_dir = os.environ.get("VAXLINK_PG_BIN")
    if env_dir and (Path(env_dir) / name).is_file():
        return Path(env_dir) / name
    for d in Path("/usr/lib/postgresql").glob("*/bin"):
        if (d / name).is_file() and d.parent.name.isdigit():
            found.append(d / name)
    if found:
        return max(found, key=lambda p: int(p.parent.parent.name))
    on_path = shutil.which(name)
    if on_path:
        return Path(on_path)
    raise BackupError(
        f"Không tìm thấy {name} (cài gói postgresql-client) / {name} not found (install postgresql-client)"
    )


def _libpq(database_url: str) -> tuple[str, dict[str, str]]:
    """The libpq connection URI of an SQLAlchemy URL, and the environment carrying its password (kept out
    of the command line, which other users of the machine can read)."""
    url = make_url(database_url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _sqlite_path(database_url: str) -> Path:
    name = make_url(database_url).database
    if not name or name == ":memory:":
        raise BackupError("CSDL SQLite không có tệp / the SQLite database has no file")
    return Path(name)


def _run(args: list[str], env: dict[str, str]) -> None:
    """Run pg_dump or pg_restore: an argument list, no shell, the password in the environment."""
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)  # noqa: S603  # nosec B603
    if done.returncode != 0:
        # The last line of the tool's message; it names the object or connection that failed.
        lines = [ln for ln in (done.stderr or "").splitlines() if ln.strip()]
        detail = lines[-1] if lines else f"exit code {done.returncode}"
        raise BackupError(f"{Path(args[0]).name}: {detail}")


def backup_database(settings: Settings, out: Path) -> BackupResult:
    """Write a consistent copy of the whole database to `out` while it stays in use."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    tmp.unlink(missing_ok=True)
    if settings.is_postgres:
        uri, env = _libpq(settings.database_url)
        # -Fc: compressed, restorable object by object; one snapshot, so the copy is consistent.
        _run([str(pg_binary("pg_dump")), "-Fc", "--no-owner", "-f", str(tmp), "--dbname", uri], env)
        backend = "postgresql"
    else:
        source = _sqlite_path(settings.database_url)
        if not source.is_file():
            raise BackupError(f"Không có CSDL / no database at {source}")
        src = sqlite3.connect(source)
        try:
            _sqlite_copy(src, tmp)
        finally:
            src.close()
        backend = "sqlite"
    # Only a finished copy takes the name: a backup killed half-way never looks like a good one.
    tmp.replace(out)
    return BackupResult(out, backend, out.stat().st_size)


def restore_database(settings: Settings, backup: Path) -> BackupResult:
    """Replace the database's content with the backup's (the database itself must exist)."""
    if not backup.is_file():
        raise BackupError(f"Không có tệp sao lưu / no backup file at {backup}")
    with backup.open("rb") as f:
        head = f.read(16)
    if settings.is_postgres:
        if not head.startswith(PG_CUSTOM_MAGIC):
            raise BackupError(
                "Tệp không phải bản sao lưu pg_dump -Fc / not a PostgreSQL custom-format backup"
            )
        uri, env = _libpq(settings.database_url)
        roles = _app_roles(settings.database_url)
        # One transaction: a restore that fails half-way leaves the database as it was. The backup's
        # own grants are left out (they name roles of the server it came from, which may not exist
        # here); the application roles of this database get their privileges again right after.
        _run(
            [
                str(pg_binary("pg_restore")),
                "--clean",
                "--if-exists",
                "--no-owner",
                "--no-privileges",
                "--single-transaction",
                "--exit-on-error",
                "--dbname",
                uri,
                str(backup),
            ],
            env,
        )
        _grant_again(settings.database_url, roles)
        return BackupResult(backup, "postgresql", backup.stat().st_size, tuple(roles))
    if head != SQLITE_MAGIC:
        raise BackupError("Tệp không phải CSDL SQLite / not an SQLite database file")
    src = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    try:
        ok = src.execute("PRAGMA integrity_check").fetchone()
        if not ok or ok[0] != "ok":
            raise BackupError("Tệp sao lưu bị hỏng / the backup file is corrupted")
        target = _sqlite_path(settings.database_url)
        target.parent.mkdir(parents=True, exist_ok=True)
        _sqlite_copy(src, target)
    finally:
        src.close()
    return BackupResult(backup, "sqlite", backup.stat().st_size)


def _sqlite_copy(src: sqlite3.Connection, target: Path) -> None:
    """Copy `src` into the file `target` page by page. Either side may be the database in use (the
    source of a backup, the target of a restore): both wait up to 10 s for its writers."""
    dst = sqlite3.connect(target)
    try:
        for conn in (src, dst):
            conn.execute("PRAGMA busy_timeout=10000")
        src.backup(dst)
    finally:
        dst.close()


def _app_roles(database_url: str) -> list[str]:
    """The application roles granted on the database about to be replaced (none on a fresh one)."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return app_roles(conn)
    except DBAPIError:
        return []  # unreachable or no schema yet: pg_restore then says what is wrong
    finally:
        engine.dispose()


def _grant_again(database_url: str, roles: list[str]) -> None:
    if not roles:
        return
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            for role in roles:
                grant_app_role(conn, role)
    finally:
        engine.dispose()


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def table_digests(engine: Engine | Connection) -> dict[str, tuple[int, str]]:
    """Every table's row count and a SHA-256 over its rows in key order: two databases with equal
    digests hold the same data."""
    out: dict[str, tuple[int, str]] = {}

    def run(conn: Connection) -> None:
        insp = inspect(conn)
        for table in sorted(insp.get_table_names()):
            if not _IDENT.match(table):
                continue
            cols = ", ".join(f'"{c["name"]}"' for c in insp.get_columns(table))
            key = insp.get_pk_constraint(table).get("constrained_columns") or []
            h = hashlib.sha256()
            n = 0
            if key:
                order = ", ".join(f'"{c}"' for c in key)
                rows = conn.execute(text(f'SELECT {cols} FROM "{table}" ORDER BY {order}'))
                for row in rows:
                    h.update(repr(tuple(row)).encode())
                    n += 1
            else:
                # No key (JSON columns have no ordering on PostgreSQL): sorted here; such tables are small.
                for r in sorted(
                    repr(tuple(row)) for row in conn.execute(text(f'SELECT {cols} FROM "{table}"'))
                ):
                    h.update(r.encode())
                    n += 1
            out[table] = (n, h.hexdigest())

    if isinstance(engine, Connection):
        run(engine)
    else:
        with engine.connect() as conn:
            run(conn)
    return out
