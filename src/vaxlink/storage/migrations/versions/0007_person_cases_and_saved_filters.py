"""One person, one row on the worklist: a case carries the health identity its record belongs to, so
that the open cases of one person are shown and settled together; officers' saved worklist filters.

Cases stored before this revision carry no person key and stay one row each.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vaxlink.storage.migrations.helpers import id_column, key, row_id

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    with op.batch_alter_table("work_case", schema=None) as b:
        b.add_column(sa.Column("person_key", key(40), nullable=True))
    op.create_index("ix_work_case_person_key", "work_case", ["person_key"])
    op.create_table(
        "saved_filter",
        id_column(),
        sa.Column("user_id", row_id(), nullable=False),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("query", sa.String(400), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name="fk_saved_filter_user_id_app_user"),
        sa.PrimaryKeyConstraint("id", name="pk_saved_filter"),
        sa.UniqueConstraint("user_id", "name", name="uq_saved_filter_user_id_name"),
    )


def downgrade() -> None:
    op.drop_table("saved_filter")
    op.drop_index("ix_work_case_person_key", table_name="work_case")
    with op.batch_alter_table("work_case", schema=None) as b:
        b.drop_column("person_key")
