"""A dose record says which unit structure its ward code is in (legacy or 2025), so that codes that exist
only in the 2025 list, or were reused with another meaning, reach the right ward; and what kind of dose it
is (primary, additional, booster), since an additional dose is part of the primary series, not a booster.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.add_column("dose_record", sa.Column("ward_units", sa.String(length=6), nullable=True))
    op.add_column("dose_record", sa.Column("dose_kind", sa.String(length=10), nullable=True))
    # Every code stored so far was read as a legacy code.
    op.execute("UPDATE dose_record SET ward_units = 'legacy' WHERE ward_code IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("dose_record") as batch:
        batch.drop_column("dose_kind")
        batch.drop_column("ward_units")
