"""The initial schema."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vaxlink.storage.migrations.helpers import create_table, id_column, index, key, row_id

revision = "0001"
down_revision = None


def upgrade() -> None:

    create_table(
        "admin_unit",
        sa.Column("structure", key(6), nullable=False),
        sa.Column("level", key(8), nullable=False),
        sa.Column("code", key(5), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("parent_code", sa.String(length=5), nullable=True),
        sa.Column("province_code", sa.String(length=2), nullable=False),
        primary_key=["structure", "level", "code"],
    )
    create_table(
        "audit_event",
        id_column(),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("resource_type", sa.String(length=40), nullable=False),
        sa.Column("resource_id", sa.String(length=80), nullable=True),
        sa.Column("jurisdiction", sa.String(length=20), nullable=True),
        sa.Column("reason", sa.String(length=400), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        unique=["hash"],
    )
    create_table(
        "batch",
        id_column(),
        sa.Column("source", sa.String(length=80), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("file_name", sa.String(length=400), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=True),
        sa.Column("spec_version", sa.String(length=40), nullable=True),
        sa.Column("spec", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("uploaded_by", sa.String(length=80), nullable=True),
        unique=["source", "checksum"],
    )
    create_table(
        "citizen",
        id_column(),
        sa.Column("personal_id", key(12), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("name_key", key(200), nullable=False),
        sa.Column("family_name", sa.String(length=60), nullable=False),
        sa.Column("middle_name", sa.String(length=120), nullable=False),
        sa.Column("given_name", sa.String(length=60), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("birth_precision", sa.String(length=5), nullable=False),
        sa.Column("birth_year", sa.Integer(), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=False),
        sa.Column("permanent_ward_code", key(5), nullable=False),
        sa.Column("permanent_units", key(6), nullable=False),
        sa.Column("current_ward_code", key(5), nullable=False),
        sa.Column("current_units", key(6), nullable=False),
        sa.Column("address", sa.String(length=400), nullable=True),
        sa.Column("phone", key(20), nullable=True),
        sa.Column("household_id", key(40), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("row_hash", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_import_id", sa.BigInteger(), nullable=True),
        unique=["personal_id"],
    )
    op.create_index("ix_citizen_current_ward", "citizen", ["current_units", "current_ward_code"])
    index("citizen", "household_id")
    index("citizen", "name_key", "birth_year")
    index("citizen", "phone")
    create_table(
        "register_import",
        id_column(),
        sa.Column("file_name", sa.String(length=400), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("units", sa.String(length=6), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("imported", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("rejects_file", sa.String(length=400), nullable=True),
        indexed=["checksum"],
    )
    create_table(
        "ward_conversion",
        sa.Column("old_code", key(5), nullable=False),
        sa.Column("new_code", key(5), nullable=False),
        sa.Column("new_province_code", sa.String(length=2), nullable=False),
        sa.Column("whole", sa.Boolean(), nullable=False),
        primary_key=["old_code", "new_code"],
    )
    create_table(
        "citizen_alias",
        id_column(),
        sa.Column("citizen_id", row_id(), nullable=False),
        sa.Column("alias", key(20), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        references={"citizen_id": "citizen"},
        unique=["alias", "kind", "citizen_id"],
        indexed=["alias", "citizen_id"],
    )
    create_table(
        "citizen_change",
        id_column(),
        sa.Column("citizen_id", row_id(), nullable=False),
        sa.Column("field", sa.String(length=40), nullable=False),
        sa.Column("old_value", sa.String(length=400), nullable=True),
        sa.Column("new_value", sa.String(length=400), nullable=True),
        sa.Column("reason", sa.String(length=400), nullable=False),
        sa.Column("source", sa.String(length=60), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.String(length=80), nullable=True),
        references={"citizen_id": "citizen"},
        indexed=["citizen_id"],
    )
    create_table(
        "dose_record",
        id_column(),
        sa.Column("batch_id", row_id(), nullable=False),
        sa.Column("source", key(80), nullable=False),
        sa.Column("record_id", key(80), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("is_latest", sa.Boolean(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=True),
        sa.Column("date_of_birth", sa.String(length=40), nullable=True),
        sa.Column("sex", sa.String(length=20), nullable=True),
        sa.Column("id_number", sa.String(length=40), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("address", sa.String(length=400), nullable=True),
        sa.Column("ward_code", sa.String(length=10), nullable=True),
        sa.Column("vaccination_date", sa.Date(), nullable=True),
        sa.Column("dose_number", sa.Integer(), nullable=True),
        sa.Column("vaccine", sa.String(length=120), nullable=True),
        sa.Column("vaccine_code", sa.String(length=40), nullable=True),
        sa.Column("problems", sa.String(length=400), nullable=True),
        sa.Column("lot_number", sa.String(length=60), nullable=True),
        sa.Column("site", sa.String(length=200), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=True),
        references={"batch_id": "batch"},
        unique=["source", "record_id", "version"],
        indexed=["batch_id"],
    )
    op.create_index("ix_dose_record_latest", "dose_record", ["source", "record_id", "is_latest"])
    create_table(
        "match_result",
        sa.Column("dose_record_id", row_id(), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("citizen_id", row_id(), nullable=True),
        sa.Column("candidate_citizen_id", row_id(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("reasons", sa.String(length=400), nullable=False),
        sa.Column("flags", sa.String(length=200), nullable=False),
        sa.Column("blame", sa.String(length=10), nullable=True),
        sa.Column("ward_code", key(5), nullable=True),
        sa.Column("ward_units", key(6), nullable=True),
        sa.Column("spec_version", sa.String(length=40), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=80), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        primary_key=["dose_record_id"],
        references={
            "candidate_citizen_id": "citizen",
            "citizen_id": "citizen",
            "dose_record_id": "dose_record",
        },
        indexed=["citizen_id"],
    )
    op.create_index("ix_match_result_ward_outcome", "match_result", ["ward_units", "ward_code", "outcome"])
    create_table(
        "work_case",
        id_column(),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("ward_code", key(5), nullable=True),
        sa.Column("ward_units", key(6), nullable=False),
        sa.Column("province_code", sa.String(length=2), nullable=True),
        sa.Column("dose_record_id", row_id(), nullable=True),
        sa.Column("citizen_id", row_id(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.String(length=24), nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.Column("assigned_to", sa.String(length=80), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        references={"citizen_id": "citizen", "dose_record_id": "dose_record"},
        indexed=["citizen_id", "dose_record_id"],
    )
    op.create_index(
        "ix_work_case_ward_status", "work_case", ["ward_units", "ward_code", "status", "created_at"]
    )


def downgrade() -> None:

    op.drop_table("work_case")
    op.drop_table("match_result")
    op.drop_table("dose_record")
    op.drop_table("citizen_change")
    op.drop_table("citizen_alias")
    op.drop_table("ward_conversion")
    op.drop_table("register_import")
    op.drop_table("citizen")
    op.drop_table("batch")
    op.drop_table("audit_event")
    op.drop_table("admin_unit")
