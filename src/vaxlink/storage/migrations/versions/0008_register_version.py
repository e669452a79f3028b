"""The register's version: a counter raised by every change of the register (an import, an officer's
correction, a new resident), with the citizens each change touched, so that the prepared register the
matcher keeps between batches knows when it is out of date and which citizens to prepare again. And the
wards of a district or a province found by index: every query of a supervisor's jurisdiction reads them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vaxlink.storage.migrations.helpers import row_id

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    op.create_table(
        "register_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("token", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_register_version"),
    )
    op.execute("INSERT INTO register_version (id, version, token) VALUES (1, 0, '')")
    op.create_table(
        "register_change",
        sa.Column("id", row_id(), autoincrement=True, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("token", sa.String(32), nullable=False),
        sa.Column("citizen_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_register_change"),
    )
    op.create_index("ix_register_change_version", "register_change", ["version"])
    op.create_index("ix_admin_unit_parent", "admin_unit", ["structure", "level", "parent_code"])
    op.create_index("ix_admin_unit_province", "admin_unit", ["structure", "level", "province_code"])


def downgrade() -> None:
    op.drop_index("ix_admin_unit_province", table_name="admin_unit")
    op.drop_index("ix_admin_unit_parent", table_name="admin_unit")
    op.drop_index("ix_register_change_version", table_name="register_change")
    op.drop_table("register_change")
    op.drop_table("register_version")
