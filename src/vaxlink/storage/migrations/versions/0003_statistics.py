"""Coverage statistics: the ward map of both structures and the aggregate cells refreshed by every ingest."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vaxlink.storage.migrations.helpers import create_table, id_column, key, ward_columns

revision = "0003"
down_revision = "0002"


def _units() -> list[sa.Column[str]]:
    return [
        sa.Column("legacy_province_code", key(2), nullable=True),
        sa.Column("legacy_district_code", key(3), nullable=True),
        sa.Column("legacy_ward_code", key(5), nullable=True),
        sa.Column("new_province_code", key(2), nullable=True),
        sa.Column("new_ward_code", key(5), nullable=True),
    ]


def upgrade() -> None:
    create_table(
        "stats_ward_map",
        *ward_columns("src", nullable=False),
        *_units(),
        sa.Column("rule", sa.String(length=12), nullable=False),
        primary_key=["src_units", "src_ward_code"],
    )
    create_table(
        "stats_coverage_cell",
        *ward_columns("src", nullable=False),
        sa.Column("age_band", key(8), nullable=False),
        sa.Column("sex", key(1), nullable=False),
        sa.Column("residents", sa.Integer(), nullable=False),
        sa.Column("at_least_one_dose", sa.Integer(), nullable=False),
        sa.Column("primary_complete", sa.Integer(), nullable=False),
        sa.Column("booster", sa.Integer(), nullable=False),
        *_units(),
        primary_key=["src_units", "src_ward_code", "age_band", "sex"],
    )
    op.create_index(
        "ix_stats_coverage_cell_legacy",
        "stats_coverage_cell",
        ["legacy_province_code", "legacy_district_code"],
    )
    op.create_index("ix_stats_coverage_cell_new", "stats_coverage_cell", ["new_province_code"])
    create_table(
        "stats_dose_day",
        id_column(),
        *ward_columns("src", nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("vaccine_code", sa.String(length=40), nullable=True),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("linked", sa.Integer(), nullable=False),
        *_units(),
    )
    op.create_index("ix_stats_dose_day_legacy", "stats_dose_day", ["legacy_province_code", "day"])
    op.create_index("ix_stats_dose_day_new", "stats_dose_day", ["new_province_code", "day"])
    create_table(
        "stats_backlog_cell",
        id_column(),
        *ward_columns("src", nullable=True),
        sa.Column("measure", key(24), nullable=False),
        sa.Column("due_day", sa.Date(), nullable=True),
        sa.Column("n", sa.Integer(), nullable=False),
        *_units(),
    )
    op.create_index(
        "ix_stats_backlog_cell_legacy",
        "stats_backlog_cell",
        ["legacy_province_code", "legacy_district_code"],
    )
    op.create_index("ix_stats_backlog_cell_new", "stats_backlog_cell", ["new_province_code"])
    create_table(
        "stats_refresh",
        id_column(),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("parts", sa.String(length=60), nullable=False),
        sa.Column("reference_year", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("stats_refresh")
    op.drop_index("ix_stats_backlog_cell_new", table_name="stats_backlog_cell")
    op.drop_index("ix_stats_backlog_cell_legacy", table_name="stats_backlog_cell")
    op.drop_table("stats_backlog_cell")
    op.drop_index("ix_stats_dose_day_new", table_name="stats_dose_day")
    op.drop_index("ix_stats_dose_day_legacy", table_name="stats_dose_day")
    op.drop_table("stats_dose_day")
    op.drop_index("ix_stats_coverage_cell_new", table_name="stats_coverage_cell")
    op.drop_index("ix_stats_coverage_cell_legacy", table_name="stats_coverage_cell")
    op.drop_table("stats_coverage_cell")
    op.drop_table("stats_ward_map")
