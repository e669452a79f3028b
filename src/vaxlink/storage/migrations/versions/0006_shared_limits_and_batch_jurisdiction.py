"""Counters shared by every server process (rate limits, login throttles) and the addresses each user has
signed in from; a batch's own jurisdiction, so that who reads it no longer follows its uploader.

Batches already stored take the jurisdiction their uploader holds at the time of the upgrade (the best
there is to go on); those loaded from the command line stay national.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vaxlink.storage.migrations.helpers import key

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.create_table(
        "rate_counter",
        sa.Column("bucket", sa.String(200), nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", "window_start", name="pk_rate_counter"),
    )
    op.create_index("ix_rate_counter_window_start", "rate_counter", ["window_start"])
    op.create_table(
        "login_address",
        sa.Column("username", sa.String(60), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("last_ok_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("username", "address", name="pk_login_address"),
    )
    with op.batch_alter_table("batch", schema=None) as b:
        b.add_column(sa.Column("scope_level", sa.String(10), nullable=True))
        b.add_column(sa.Column("scope_units", key(6), nullable=True))
        b.add_column(sa.Column("scope_code", key(5), nullable=True))
    op.execute(
        """UPDATE batch SET scope_level = (SELECT u.scope_level FROM app_user u WHERE u.username = batch.uploaded_by),
        scope_units = (SELECT u.scope_units FROM app_user u WHERE u.username = batch.uploaded_by),
        scope_code = (SELECT u.scope_code FROM app_user u WHERE u.username = batch.uploaded_by)"""
    )
    op.execute("UPDATE batch SET scope_level = 'country' WHERE scope_level IS NULL")


def downgrade() -> None:
    with op.batch_alter_table("batch", schema=None) as b:
        b.drop_column("scope_code")
        b.drop_column("scope_units")
        b.drop_column("scope_level")
    op.drop_table("login_address")
    op.drop_index("ix_rate_counter_window_start", table_name="rate_counter")
    op.drop_table("rate_counter")
