"""The application's PostgreSQL role: what the running service (web server, CLI commands) may do.

The schema belongs to an owner role that runs the migrations, the restores and this grant. The service
logs in as another role, with the DML it needs on every table but only SELECT and INSERT on the audit
log: whoever takes over the service (or its database password) can add events but never change, delete
or truncate the ones stored. Run as the owner, in one transaction; idempotent, so it is simply run again
after every `vaxlink db upgrade` (new tables) and is re-applied by `vaxlink db restore`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Connection, text

from vaxlink.domain.errors import VaxlinkError

AUDIT_TABLE = "audit_event"
# Alembic's own bookkeeping: the service reads the schema's revision, never writes it.
READ_ONLY_TABLES = ("alembic_version",)
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# What the service may do on the audit log, and what it must not.
AUDIT_ALLOWED = ("SELECT", "INSERT")
AUDIT_DENIED = ("UPDATE", "DELETE", "TRUNCATE")


@dataclass(frozen=True)
class RoleGrant:
    role: str
    schema: str
    tables: int  # tables with SELECT, INSERT, UPDATE, DELETE
    audit: dict[str, bool]  # privilege on the audit log -> held
    can_login: bool


def _q(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote_identifier(name)


def _require_postgres(conn: Connection) -> None:
    if conn.dialect.name != "postgresql":
        raise VaxlinkError(
            "Chỉ PostgreSQL có vai trò CSDL; với SQLite, quyền trên tệp CSDL là ranh giới / "
            "database roles exist on PostgreSQL only; on SQLite the database file's permissions are the boundary"
        )


def app_roles(conn: Connection) -> list[str]:
    """Roles other than the owner that hold INSERT on the audit log: the application roles granted so far."""
    if conn.dialect.name != "postgresql":
        return []
    rows = conn.execute(
        text("""SELECT DISTINCT r.rolname
        FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a JOIN pg_roles r ON r.oid = a.grantee
        WHERE c.oid = to_regclass(:t) AND a.privilege_type = 'INSERT' AND a.grantee <> c.relowner
        ORDER BY 1"""),
        {"t": AUDIT_TABLE},
    )
    return [str(r[0]) for r in rows]


def grant_app_role(conn: Connection, role: str) -> RoleGrant:
    """Give `role` exactly the service's privileges on the current schema (revoking any others first),
    then check them as the server sees them, memberships and PUBLIC included."""
    _require_postgres(conn)
    if not _NAME.match(role):
        raise VaxlinkError(
            f"Tên vai trò không hợp lệ (chữ thường, số, _) / invalid role name (lower case, digits, _): {role!r}"
        )
    me, schema, database = conn.execute(
        text("SELECT current_user, current_schema(), current_database()")
    ).one()
    can_login = _check_role(conn, role, schema, me)
    r, s = _q(conn, role), _q(conn, schema)
    audit_table = f"{s}.{_q(conn, AUDIT_TABLE)}"
    audit_seq = conn.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": audit_table}).scalar_one()
    for sql in _grants(conn, r, s, database, audit_table, audit_seq):
        conn.exec_driver_sql(sql)
    held = _audit_privileges_held(conn, role, audit_table, audit_seq)
    tables = conn.execute(
        text("""SELECT count(*) FROM pg_tables WHERE schemaname = :s
        AND tablename <> ALL(:ro)
        AND (SELECT bool_and(has_table_privilege(:r, format('%I.%I', schemaname, tablename), p))
             FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']) p)"""),
        {"s": schema, "r": role, "ro": [AUDIT_TABLE, *READ_ONLY_TABLES]},
    ).scalar_one()
    return RoleGrant(role, str(schema), int(tables), held, can_login)


def _check_role(conn: Connection, role: str, schema: str, me: str) -> bool:
    """Whether `role` can log in, once sure that it exists, that no privilege is lost on it (owner, member
    of the owner, superuser), and that the one running this owns the schema."""
    owner = conn.execute(
        text("SELECT tableowner FROM pg_tables WHERE schemaname = :s AND tablename = :t"),
        {"s": schema, "t": AUDIT_TABLE},
    ).scalar()
    if owner is None:
        raise VaxlinkError(
            "CSDL chưa có lược đồ, hãy chạy `vaxlink db upgrade` / the database has no schema: run `vaxlink db upgrade`"
        )
    found = conn.execute(
        text(
            """SELECT rolsuper, rolcanlogin, pg_has_role(:r, :o, 'MEMBER') FROM pg_roles WHERE rolname = :r"""
        ),
        {"r": role, "o": owner},
    ).first()
    if found is None:
        raise VaxlinkError(
            f"Chưa có vai trò {role}; người quản trị tạo bằng / role {role} does not exist; create it with: "
            f"CREATE ROLE {role} LOGIN PASSWORD '...'"
        )
    superuser, can_login, member_of_owner = (bool(v) for v in found)
    if superuser or role == owner or member_of_owner:
        raise VaxlinkError(
            f"Vai trò {role} là chủ lược đồ, thành viên của chủ ({owner}) hoặc superuser: nó vượt mọi quyền / "
            f"role {role} is the schema's owner, a member of the owner ({owner}) or a superuser: "
            "no privilege can restrict it; use a role of its own"
        )
    if not conn.execute(text("SELECT pg_has_role(current_user, :o, 'USAGE')"), {"o": owner}).scalar():
        raise VaxlinkError(
            f"Hãy chạy lệnh này bằng vai trò chủ lược đồ ({owner}), không phải {me} / "
            f"run this as the schema's owner ({owner}), not as {me}"
        )
    return can_login


def _grants(conn: Connection, r: str, s: str, database: str, audit_table: str, audit_seq: str) -> list[str]:
    """The statements, with the role `r` and schema `s` already quoted."""
    statements = [
        f"GRANT CONNECT, TEMPORARY ON DATABASE {_q(conn, database)} TO {r}",
        f"GRANT USAGE ON SCHEMA {s} TO {r}",
        # From a clean slate, so that the result is exactly what follows whatever was granted before.
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {s} FROM {r}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {s} FROM {r}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {s} TO {r}",
        # UPDATE on sequences: bulk writers reserve blocks of ids with setval.
        f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {s} TO {r}",
        f"REVOKE UPDATE, DELETE ON {audit_table} FROM {r}",
        # Nobody may get them through PUBLIC either (none of these is granted to PUBLIC by default).
        f"REVOKE UPDATE, DELETE, TRUNCATE ON {audit_table} FROM PUBLIC",
        # The audit log's ids come from nextval (USAGE); reading the counter (SELECT) lets pg_dump run.
        f"REVOKE UPDATE ON SEQUENCE {audit_seq} FROM {r}",
    ]
    for table in READ_ONLY_TABLES:
        statements.append(f"REVOKE INSERT, UPDATE, DELETE ON {s}.{_q(conn, table)} FROM {r}")
    return statements


def _audit_privileges_held(conn: Connection, role: str, audit_table: str, audit_seq: str) -> dict[str, bool]:
    """Privilege on the audit log -> held, as the server sees it; refused if a denied one is still held."""
    held = {
        p: bool(
            conn.execute(
                text("SELECT has_table_privilege(:r, :t, :p)"), {"r": role, "t": audit_table, "p": p}
            ).scalar()
        )
        for p in (*AUDIT_ALLOWED, *AUDIT_DENIED)
    }
    seq_update = conn.execute(
        text("SELECT has_sequence_privilege(:r, :q, 'UPDATE')"), {"r": role, "q": audit_seq}
    ).scalar()
    leaks = [p for p in AUDIT_DENIED if held[p]] + (["UPDATE (sequence)"] if seq_update else [])
    if leaks:
        # Still held after the revocations: through another role it belongs to.
        raise VaxlinkError(
            f"Vai trò {role} vẫn có {', '.join(leaks)} trên {AUDIT_TABLE} qua một vai trò khác nó thuộc về / "
            f"role {role} still holds {', '.join(leaks)} on {AUDIT_TABLE} through another role it belongs to"
        )
    return held
