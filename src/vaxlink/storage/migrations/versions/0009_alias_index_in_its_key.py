"""The citizens' aliases looked up by the unique key (alias, kind, citizen_id), which begins with the alias:
the index on the alias alone answered nothing that key does not, and cost its build at every first import
and its upkeep at every alias written.
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    op.drop_index("ix_citizen_alias_alias", table_name="citizen_alias")


def downgrade() -> None:
    op.create_index("ix_citizen_alias_alias", "citizen_alias", ["alias"])
