"""The initial schema."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vaxlink.storage.migrations.helpers import foreign_key, id_column, index, key, row_id

revision = "0001"
down_revision = None


def upgrade() -> None:

    op.create_table(
        "admin_unit",
        sa.Column("structure", key(6), nullable=False),
        sa.Column("level", key(8), nullable=False),
        sa.Column("code", key(5), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("parent_code", sa.String(length=5), nullable=True),
        sa.Column("province_code", sa.String(length=2), nullable=False),
        sa.PrimaryKeyConstraint("structure", "level", "code", name=op.f("pk_admin_unit")),
    )
    op.create_table(
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_event_hash")),
    )
    op.create_table(
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch")),
        sa.UniqueConstraint("source", "checksum", name=op.f("uq_batch_source_checksum")),
    )
    op.create_table(
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citizen")),
        sa.UniqueConstraint("personal_id", name=op.f("uq_citizen_personal_id")),
    )
    op.create_index("ix_citizen_current_ward", "citizen", ["current_units", "current_ward_code"])
    index("citizen", "household_id")
    index("citizen", "name_key", "birth_year")
    index("citizen", "phone")

    op.create_table(
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_register_import")),
    )
    index("register_import", "checksum")

    op.create_table(
        "ward_conversion",
        sa.Column("old_code", key(5), nullable=False),
        sa.Column("new_code", key(5), nullable=False),
        sa.Column("new_province_code", sa.String(length=2), nullable=False),
        sa.Column("whole", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("old_code", "new_code", name=op.f("pk_ward_conversion")),
    )
    op.create_table(
        "citizen_alias",
        id_column(),
        sa.Column("citizen_id", row_id(), nullable=False),
        sa.Column("alias", key(20), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        foreign_key("citizen_alias", "citizen_id", "citizen"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citizen_alias")),
        sa.UniqueConstraint(
            "alias", "kind", "citizen_id", name=op.f("uq_citizen_alias_alias_kind_citizen_id")
        ),
    )
    index("citizen_alias", "alias")
    index("citizen_alias", "citizen_id")

    op.create_table(
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
        foreign_key("citizen_change", "citizen_id", "citizen"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citizen_change")),
    )
    index("citizen_change", "citizen_id")

    op.create_table(
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
        foreign_key("dose_record", "batch_id", "batch"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dose_record")),
        sa.UniqueConstraint(
            "source", "record_id", "version", name=op.f("uq_dose_record_source_record_id_version")
        ),
    )
    index("dose_record", "batch_id")
    op.create_index("ix_dose_record_latest", "dose_record", ["source", "record_id", "is_latest"])

    op.create_table(
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
        foreign_key("match_result", "candidate_citizen_id", "citizen"),
        foreign_key("match_result", "citizen_id", "citizen"),
        foreign_key("match_result", "dose_record_id", "dose_record"),
        sa.PrimaryKeyConstraint("dose_record_id", name=op.f("pk_match_result")),
    )
    index("match_result", "citizen_id")
    op.create_index("ix_match_result_ward_outcome", "match_result", ["ward_units", "ward_code", "outcome"])

    op.create_table(
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
        foreign_key("work_case", "citizen_id", "citizen"),
        foreign_key("work_case", "dose_record_id", "dose_record"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_case")),
    )
    index("work_case", "citizen_id")
    index("work_case", "dose_record_id")
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
