"""Workbench (users, sessions, tokens, verification requests, issued numbers, one-time codes, outbox),
citizen status, certificates and revocations; a keyed MAC on audit events.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vaxlink.storage.migrations.helpers import (
    create_table,
    id_column,
    key,
    row_id,
    ward_columns,
)

revision = "0002"
down_revision = "0001"


def upgrade() -> None:

    create_table(
        "app_user",
        id_column(),
        sa.Column("username", key(60), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("role", sa.String(length=24), nullable=False),
        sa.Column("scope_level", sa.String(length=10), nullable=False),
        sa.Column("scope_units", key(6), nullable=False),
        sa.Column("scope_code", key(5), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("token_version", sa.Integer(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        unique=["username"],
    )
    create_table(
        "outbox_message",
        id_column(),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("recipient", sa.String(length=40), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    )
    create_table(
        "api_token",
        id_column(),
        sa.Column("user_id", row_id(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("token_hash", key(64), nullable=False),
        sa.Column("token_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        references={"user_id": "app_user"},
        unique=["token_hash"],
        indexed=["user_id"],
    )
    create_table(
        "certificate",
        id_column(),
        sa.Column("uvci", key(80), nullable=False),
        sa.Column("citizen_id", row_id(), nullable=False),
        sa.Column("dose_record_ids", sa.JSON(), nullable=False),
        sa.Column("kid", sa.String(length=24), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoke_reason", sa.String(length=200), nullable=True),
        sa.Column("replaced_by_id", sa.BigInteger(), nullable=True),
        sa.Column("hash_uci", key(44), nullable=False),
        sa.Column("hash_country_uci", key(44), nullable=False),
        sa.Column("hash_signature", key(44), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        references={"citizen_id": "citizen"},
        unique=["uvci"],
        indexed=["citizen_id"],
    )
    create_table(
        "citizen_status",
        sa.Column("citizen_id", row_id(), nullable=False),
        sa.Column("doses", sa.Integer(), nullable=False),
        sa.Column("first_dose_date", sa.Date(), nullable=True),
        sa.Column("last_dose_date", sa.Date(), nullable=True),
        sa.Column("complete_date", sa.Date(), nullable=True),
        sa.Column("boosters", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        primary_key=["citizen_id"],
    )
    create_table(
        "issued_number",
        sa.Column("personal_id", key(12), nullable=False),
        sa.Column("citizen_id", row_id(), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_by", sa.String(length=80), nullable=False),
        primary_key=["personal_id"],
        references={"citizen_id": "citizen"},
    )
    create_table(
        "otp_challenge",
        id_column(),
        sa.Column("purpose", sa.String(length=24), nullable=False),
        sa.Column("subject", key(64), nullable=False),
        sa.Column("citizen_id", row_id(), nullable=True),
        sa.Column("code_hash", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        references={"citizen_id": "citizen"},
        indexed=["subject"],
    )
    create_table(
        "user_session",
        sa.Column("id", key(64), nullable=False),
        sa.Column("user_id", row_id(), nullable=False),
        sa.Column("token_version", sa.Integer(), nullable=False),
        sa.Column("csrf_secret", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        references={"user_id": "app_user"},
        indexed=["user_id"],
    )
    create_table(
        "revocation",
        id_column(),
        sa.Column("certificate_id", row_id(), nullable=True),
        sa.Column("hash_type", key(16), nullable=False),
        sa.Column("hash", key(44), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        references={"certificate_id": "certificate"},
        unique=["hash_type", "hash"],
        indexed=["certificate_id"],
    )
    create_table(
        "verification_request",
        id_column(),
        *ward_columns("from", nullable=False),
        *ward_columns("to", nullable=False),
        sa.Column("person", sa.JSON(), nullable=False),
        sa.Column("case_id", row_id(), nullable=True),
        sa.Column("citizen_id", row_id(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.String(length=80), nullable=True),
        sa.Column("answer_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        references={"case_id": "work_case", "citizen_id": "citizen"},
        indexed=["case_id"],
    )
    op.create_index(
        "ix_verification_request_from", "verification_request", ["from_units", "from_ward_code", "status"]
    )
    op.create_index(
        "ix_verification_request_to", "verification_request", ["to_units", "to_ward_code", "status", "due_at"]
    )

    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mac", sa.String(length=64), nullable=True))

    # The bulk tables lose their foreign keys (a trigger call per row on PostgreSQL: over a minute for a
    # 1.8 M-row batch) and their indexes become fewer and partial; `vaxlink db check` verifies the ids.
    with op.batch_alter_table("dose_record", schema=None) as batch_op:
        batch_op.drop_constraint("fk_dose_record_batch_id_batch", type_="foreignkey")
        batch_op.drop_index("ix_dose_record_latest")
    with op.batch_alter_table("match_result", schema=None) as batch_op:
        for name in (
            "fk_match_result_candidate_citizen_id_citizen",
            "fk_match_result_citizen_id_citizen",
            "fk_match_result_dose_record_id_dose_record",
        ):
            batch_op.drop_constraint(name, type_="foreignkey")
        batch_op.drop_index("ix_match_result_citizen_id")
        batch_op.drop_index("ix_match_result_ward_outcome")
    op.create_index(
        "ix_match_result_citizen_id",
        "match_result",
        ["citizen_id"],
        postgresql_where=sa.text("citizen_id IS NOT NULL"),
        sqlite_where=sa.text("citizen_id IS NOT NULL"),
    )
    op.create_index(
        "ix_match_result_ward_outcome",
        "match_result",
        ["ward_units", "ward_code", "outcome"],
        postgresql_where=sa.text("outcome IN ('review', 'unmatched')"),
        sqlite_where=sa.text("outcome IN ('review', 'unmatched')"),
    )


def downgrade() -> None:
    op.drop_index("ix_match_result_ward_outcome", table_name="match_result")
    op.drop_index("ix_match_result_citizen_id", table_name="match_result")
    with op.batch_alter_table("match_result", schema=None) as batch_op:
        batch_op.create_index("ix_match_result_ward_outcome", ["ward_units", "ward_code", "outcome"])
        batch_op.create_index("ix_match_result_citizen_id", ["citizen_id"])
        batch_op.create_foreign_key(
            "fk_match_result_dose_record_id_dose_record", "dose_record", ["dose_record_id"], ["id"]
        )
        batch_op.create_foreign_key("fk_match_result_citizen_id_citizen", "citizen", ["citizen_id"], ["id"])
        batch_op.create_foreign_key(
            "fk_match_result_candidate_citizen_id_citizen", "citizen", ["candidate_citizen_id"], ["id"]
        )
    with op.batch_alter_table("dose_record", schema=None) as batch_op:
        batch_op.create_index("ix_dose_record_latest", ["source", "record_id", "is_latest"])
        batch_op.create_foreign_key("fk_dose_record_batch_id_batch", "batch", ["batch_id"], ["id"])

    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_column("mac")

    op.drop_table("verification_request")
    op.drop_table("revocation")
    op.drop_table("user_session")
    op.drop_table("otp_challenge")
    op.drop_table("issued_number")
    op.drop_table("citizen_status")
    op.drop_table("certificate")
    op.drop_table("api_token")
    op.drop_table("outbox_message")
    op.drop_table("app_user")
