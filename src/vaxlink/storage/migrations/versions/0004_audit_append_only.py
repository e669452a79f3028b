"""The audit log is append-only in the database itself: UPDATE and DELETE of its rows are refused on both
backends, and TRUNCATE on PostgreSQL, whoever asks.

The application's role holds no UPDATE, DELETE or TRUNCATE on the table in the first place (`vaxlink db
grant-app-role`); these triggers are the second line, for the schema's owner too: an owner can still
drop them, but only on purpose, and whatever is then changed is caught by `vaxlink audit verify`.

SQLite: a table copied by a later batch migration (render_as_batch) loses its triggers; a migration that
alters audit_event must create them again.
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"

MESSAGE = "audit_event is append-only: its rows are never updated or deleted"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{MESSAGE} (%)', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$"""
        )
        op.execute(
            "CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event "
            "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()"
        )
        return
    for verb in ("update", "delete"):
        op.execute(
            f"CREATE TRIGGER audit_event_no_{verb} BEFORE {verb.upper()} ON audit_event "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_change ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")
        return
    op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
    op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
