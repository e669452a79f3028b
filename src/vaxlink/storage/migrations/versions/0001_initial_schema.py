"""The initial schema."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vaxlink.storage.migrations.helpers import id_column, key, row_id

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
    with op.batch_alter_table("citizen", schema=None) as batch_op:
        batch_op.create_index("ix_citizen_current_ward", ["current_units", "current_ward_code"], unique=False)
        batch_op.create_index("ix_citizen_household_id", ["household_id"], unique=False)
        batch_op.create_index("ix_citizen_name_key_birth_year", ["name_key", "birth_year"], unique=False)
        batch_op.create_index("ix_citizen_phone", ["phone"], unique=False)

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
    with op.batch_alter_table("register_import", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_register_import_checksum"), ["checksum"], unique=False)

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
        sa.ForeignKeyConstraint(
            ["citizen_id"], ["citizen.id"], name=op.f("fk_citizen_alias_citizen_id_citizen")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citizen_alias")),
        sa.UniqueConstraint(
            "alias", "kind", "citizen_id", name=op.f("uq_citizen_alias_alias_kind_citizen_id")
        ),
    )
    with op.batch_alter_table("citizen_alias", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_citizen_alias_alias"), ["alias"], unique=False)
        batch_op.create_index(batch_op.f("ix_citizen_alias_citizen_id"), ["citizen_id"], unique=False)

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
        sa.ForeignKeyConstraint(
            ["citizen_id"], ["citizen.id"], name=op.f("fk_citizen_change_citizen_id_citizen")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citizen_change")),
    )
    with op.batch_alter_table("citizen_change", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_citizen_change_citizen_id"), ["citizen_id"], unique=False)

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
        sa.ForeignKeyConstraint(["batch_id"], ["batch.id"], name=op.f("fk_dose_record_batch_id_batch")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dose_record")),
        sa.UniqueConstraint(
            "source", "record_id", "version", name=op.f("uq_dose_record_source_record_id_version")
        ),
    )
    with op.batch_alter_table("dose_record", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dose_record_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index("ix_dose_record_latest", ["source", "record_id", "is_latest"], unique=False)

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
        sa.ForeignKeyConstraint(
            ["candidate_citizen_id"],
            ["citizen.id"],
            name=op.f("fk_match_result_candidate_citizen_id_citizen"),
        ),
        sa.ForeignKeyConstraint(
            ["citizen_id"], ["citizen.id"], name=op.f("fk_match_result_citizen_id_citizen")
        ),
        sa.ForeignKeyConstraint(
            ["dose_record_id"], ["dose_record.id"], name=op.f("fk_match_result_dose_record_id_dose_record")
        ),
        sa.PrimaryKeyConstraint("dose_record_id", name=op.f("pk_match_result")),
    )
    with op.batch_alter_table("match_result", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_match_result_citizen_id"), ["citizen_id"], unique=False)
        batch_op.create_index(
            "ix_match_result_ward_outcome", ["ward_units", "ward_code", "outcome"], unique=False
        )

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
        sa.ForeignKeyConstraint(["citizen_id"], ["citizen.id"], name=op.f("fk_work_case_citizen_id_citizen")),
        sa.ForeignKeyConstraint(
            ["dose_record_id"], ["dose_record.id"], name=op.f("fk_work_case_dose_record_id_dose_record")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_case")),
    )
    with op.batch_alter_table("work_case", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_work_case_citizen_id"), ["citizen_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_work_case_dose_record_id"), ["dose_record_id"], unique=False)
        batch_op.create_index(
            "ix_work_case_ward_status", ["ward_units", "ward_code", "status", "created_at"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("work_case", schema=None) as batch_op:
        batch_op.drop_index("ix_work_case_ward_status")
        batch_op.drop_index(batch_op.f("ix_work_case_dose_record_id"))
        batch_op.drop_index(batch_op.f("ix_work_case_citizen_id"))

    op.drop_table("work_case")
    with op.batch_alter_table("match_result", schema=None) as batch_op:
        batch_op.drop_index("ix_match_result_ward_outcome")
        batch_op.drop_index(batch_op.f("ix_match_result_citizen_id"))

    op.drop_table("match_result")
    with op.batch_alter_table("dose_record", schema=None) as batch_op:
        batch_op.drop_index("ix_dose_record_latest")
        batch_op.drop_index(batch_op.f("ix_dose_record_batch_id"))

    op.drop_table("dose_record")
    with op.batch_alter_table("citizen_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_citizen_change_citizen_id"))

    op.drop_table("citizen_change")
    with op.batch_alter_table("citizen_alias", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_citizen_alias_citizen_id"))
        batch_op.drop_index(batch_op.f("ix_citizen_alias_alias"))

    op.drop_table("citizen_alias")
    op.drop_table("ward_conversion")
    with op.batch_alter_table("register_import", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_register_import_checksum"))

    op.drop_table("register_import")
    with op.batch_alter_table("citizen", schema=None) as batch_op:
        batch_op.drop_index("ix_citizen_phone")
        batch_op.drop_index("ix_citizen_name_key_birth_year")
        batch_op.drop_index("ix_citizen_household_id")
        batch_op.drop_index("ix_citizen_current_ward")

    op.drop_table("citizen")
    op.drop_table("batch")
    op.drop_table("audit_event")
    op.drop_table("admin_unit")
