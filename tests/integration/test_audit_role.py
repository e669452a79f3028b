"""The service's PostgreSQL role: it runs the commands and the web app, appends audit events, and can
change, delete or truncate none of them; a restore gives it the same privileges again."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from tests.integration.web import world as w
from vaxlink.cli.main import app as cli
from vaxlink.services.audit.log import bind_key, load_key
from vaxlink.settings import load_settings
from vaxlink.storage.db import make_engine, transaction
from vaxlink.web.app import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # see tests/integration/web/conftest.py
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.db
PG_ONLY = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
runner = CliRunner()
TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")
# What the service's role tries on the audit log, and what the server must answer.
FORBIDDEN = {
    "UPDATE audit_event SET actor = 'someone_else'": "permission denied for table audit_event",
    "DELETE FROM audit_event WHERE id = (SELECT max(id) FROM audit_event)": "permission denied for table audit_event",
    "TRUNCATE audit_event": "permission denied for table audit_event",
    "SELECT setval(pg_get_serial_sequence('audit_event', 'id'), 1)": "permission denied for sequence",
    "ALTER TABLE audit_event DISABLE TRIGGER USER": "must be owner of table audit_event",
    "DROP TRIGGER audit_event_no_change ON audit_event": "must be owner of relation audit_event",
}


def cmd(args: list[str], url: str, tmp_path: Path):
    env = {
        "VAXLINK_DATABASE_URL": url,
        "VAXLINK_AUDIT_KEY_FILE": str(tmp_path / "keys" / "audit.key"),
        "VAXLINK_WORK_DIR": str(tmp_path / "work"),
        "VAXLINK_DUCKDB_MEMORY_LIMIT": "1GB",
        "COLUMNS": "200",
    }
    return runner.invoke(cli, args, env=env)


@pytest.fixture
def app_role(db_url: str) -> Iterator[tuple[str, str]]:
    """A login role of its own on the test server (trust authentication), and its database URL."""
    role = f"vaxlink_app_{uuid.uuid4().hex[:8]}"
    owner = create_engine(db_url)
    with owner.begin() as c:
        c.execute(text(f'CREATE ROLE "{role}" LOGIN'))
    yield role, make_url(db_url).set(username=role).render_as_string(hide_password=False)
    with owner.begin() as c:
        c.execute(text(f'DROP OWNED BY "{role}"'))  # its privileges in this database
        c.execute(text(f'DROP ROLE "{role}"'))
    owner.dispose()


def privileges(url: str, role: str) -> dict[str, set[str]]:
    """Every table's privileges held by `role`, as the server decides them."""
    engine = create_engine(url)
    with engine.connect() as c:
        rows = c.execute(
            text("""SELECT tablename, p FROM pg_tables, unnest(CAST(:ps AS text[])) p
            WHERE schemaname = current_schema() AND has_table_privilege(:r, format('%I', tablename), p)"""),
            {"ps": list(TABLE_PRIVILEGES), "r": role},
        ).all()
    engine.dispose()
    out: dict[str, set[str]] = {}
    for table, p in rows:
        out.setdefault(table, set()).add(p)
    return out


def assert_service_privileges(url: str, role: str) -> None:
    held = privileges(url, role)
    assert held.pop("audit_event") == {"SELECT", "INSERT"}
    assert held.pop("alembic_version") == {"SELECT"}
    assert held and all(p == {"SELECT", "INSERT", "UPDATE", "DELETE"} for p in held.values()), held


def assert_refused(app_url: str) -> None:
    engine = create_engine(app_url)
    try:
        for sql, message in FORBIDDEN.items():
            with pytest.raises(DBAPIError) as e, engine.begin() as c:
                c.execute(text(sql))
            assert isinstance(e.value.orig, psycopg.errors.InsufficientPrivilege), sql
            assert message in str(e.value.orig), (sql, str(e.value.orig))
    finally:
        engine.dispose()


@PG_ONLY
def test_grant_app_role_leaves_it_select_and_insert_only_on_the_audit_log(db_url, app_role, tmp_path):
    role, _ = app_role
    first = cmd(["db", "grant-app-role", role], db_url, tmp_path)
    assert first.exit_code == 0, first.output
    assert "SELECT ✓ · INSERT ✓ · UPDATE ✗ · DELETE ✗ · TRUNCATE ✗" in first.output
    assert_service_privileges(db_url, role)
    # Run again after extra grants (by mistake, or by a default privilege): the same exact state.
    owner = create_engine(db_url)
    with owner.begin() as c:
        c.execute(text(f'GRANT ALL ON audit_event, alembic_version TO "{role}"'))
    owner.dispose()
    again = cmd(["db", "grant-app-role", role], db_url, tmp_path)
    assert again.exit_code == 0, again.output
    assert_service_privileges(db_url, role)


@PG_ONLY
def test_grant_app_role_refuses_roles_no_privilege_can_restrict(db_url, app_role, tmp_path):
    role, _ = app_role
    superuser = cmd(["db", "grant-app-role", str(make_url(db_url).username)], db_url, tmp_path)
    assert superuser.exit_code == 2 and "superuser" in superuser.output
    missing = cmd(["db", "grant-app-role", "nobody_here"], db_url, tmp_path)
    assert missing.exit_code == 2 and "CREATE ROLE nobody_here LOGIN" in missing.output
    bad = cmd(["db", "grant-app-role", 'x"; DROP TABLE citizen; --'], db_url, tmp_path)
    assert bad.exit_code == 2 and "invalid role name" in bad.output
    # A role that belongs to another role holding UPDATE on the audit log would keep it.
    owner = create_engine(db_url)
    with owner.begin() as c:
        c.execute(text(f'CREATE ROLE "{role}_group"'))
        c.execute(text(f'GRANT UPDATE ON audit_event TO "{role}_group"'))
        c.execute(text(f'GRANT "{role}_group" TO "{role}"'))
    leak = cmd(["db", "grant-app-role", role], db_url, tmp_path)
    with owner.begin() as c:
        c.execute(text(f'DROP OWNED BY "{role}_group"'))
        c.execute(text(f'DROP ROLE "{role}_group"'))
    owner.dispose()
    assert leak.exit_code == 2 and "still holds UPDATE" in leak.output


def test_grant_app_role_on_sqlite_says_why_not(tmp_path):
    r = cmd(["db", "grant-app-role", "vaxlink_app"], f"sqlite:///{tmp_path / 'v.db'}", tmp_path)
    assert r.exit_code == 2
    cmd(["db", "upgrade"], f"sqlite:///{tmp_path / 'v.db'}", tmp_path)
    r = cmd(["db", "grant-app-role", "vaxlink_app"], f"sqlite:///{tmp_path / 'v.db'}", tmp_path)
    assert r.exit_code == 2 and "PostgreSQL only" in r.output


@PG_ONLY
def test_the_service_runs_as_the_app_role_and_cannot_change_audit_rows(db_url, app_role, tmp_path):
    role, app_url = app_role
    assert cmd(["db", "grant-app-role", role], db_url, tmp_path).exit_code == 0
    sim = tmp_path / "sim"
    assert (
        cmd(["simulate", "--out", str(sim), "--citizens", "400", "--seed", "5"], app_url, tmp_path).exit_code
        == 0
    )
    # The register's first load rebuilds the citizen indexes (DDL): the owner's work, like a migration.
    first = cmd(["registry", "import", str(sim / "register.csv")], db_url, tmp_path)
    assert first.exit_code == 0, first.output
    # The operator's everyday commands, connected as the service's role.
    imp = cmd(["registry", "import", str(sim / "register.csv")], app_url, tmp_path)
    assert imp.exit_code == 0, imp.output
    ing = cmd(["doses", "ingest", str(sim / "doses.csv"), "--source", "sim"], app_url, tmp_path)
    assert ing.exit_code == 0, ing.output
    assert cmd(["stats", "refresh"], app_url, tmp_path).exit_code == 0

    # The web app on the same role: officers, a case worked, each step audited.
    settings = load_settings(
        database_url=app_url,
        work_dir=tmp_path / "work",
        duckdb_memory_limit="1GB",
        audit_key_file=tmp_path / "keys" / "audit.key",
    )
    engine = make_engine(app_url)
    try:
        with transaction(engine) as s:
            bind_key(s, load_key(settings.audit_key_file))
            world = w.build(s, settings)
        officer = world.actors[("ward_officer", "own_ward")]
        case_id = world.cases[w.WARD_A]
        with TestClient(create_app(settings, engine), base_url="http://testserver") as client:
            auth = {"authorization": f"Bearer {officer.token}"}
            assert client.get(f"/api/v1/cases/{case_id}", headers=auth).status_code == 200
            r = client.post(
                f"/api/v1/cases/{case_id}/link",
                json={"version": 1, "citizen_id": world.citizens[w.WARD_A], "note": "đã đối chiếu CCCD"},
                headers=auth,
            )
            assert r.status_code == 200, r.text
        with engine.connect() as c:
            actions = set(c.execute(text("SELECT action FROM audit_event")).scalars())
        assert {"case_viewed", "case_linked"} <= actions
    finally:
        engine.dispose()

    assert_refused(app_url)
    verify = cmd(["audit", "verify"], app_url, tmp_path)
    assert verify.exit_code == 0 and "intact" in verify.output, verify.output


@PG_ONLY
def test_restore_gives_the_app_role_its_privileges_again(db_url, app_role, tmp_path):
    role, app_url = app_role
    assert cmd(["db", "grant-app-role", role], db_url, tmp_path).exit_code == 0
    engine = make_engine(app_url)
    with transaction(engine) as s:
        bind_key(s, load_key(tmp_path / "keys" / "audit.key"))
        w.build(s, load_settings(database_url=app_url, work_dir=tmp_path / "work"), actors=False)
        from vaxlink.domain.audit_actions import AuditAction
        from vaxlink.services.audit.log import record

        for i in range(5):
            record(
                s,
                actor="phuong_a",
                action=AuditAction.CASE_VIEWED,
                resource_type="case",
                resource_id=i,
                jurisdiction="ward:legacy:26560",
            )
    engine.dispose()
    # The service's role can take the backup (it reads every table and sequence) ...
    backup = tmp_path / "vaxlink.dump"
    b = cmd(["db", "backup", str(backup)], app_url, tmp_path)
    assert b.exit_code == 0, b.output
    # ... but only the owner can restore it, and the restore grants the role again.
    assert cmd(["db", "restore", str(backup)], app_url, tmp_path).exit_code == 2
    r = cmd(["db", "restore", str(backup)], db_url, tmp_path)
    assert r.exit_code == 0, r.output
    assert role in r.output
    assert_service_privileges(db_url, role)
    assert_refused(app_url)
    # The append-only triggers came back with the schema.
    owner = create_engine(db_url)
    with pytest.raises(DBAPIError, match="append-only"), owner.begin() as c:
        c.execute(text("DELETE FROM audit_event"))
    owner.dispose()
    verify = cmd(["audit", "verify"], app_url, tmp_path)
    assert verify.exit_code == 0 and "intact" in verify.output, verify.output
