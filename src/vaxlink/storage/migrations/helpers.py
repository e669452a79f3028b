"""Column types and columns that the migrations share. Migrations that ran already depend on them: what
each returns never changes (a new shape is a new helper)."""

from __future__ import annotations

import sqlalchemy as sa


def key(length: int) -> sa.types.TypeEngine[str]:
    """A code, number or digest: compared byte by byte on PostgreSQL (collation C), whatever the locale."""
    return sa.String(length=length).with_variant(sa.String(length=length, collation="C"), "postgresql")


def row_id() -> sa.types.TypeEngine[int]:
    """A row id or a reference to one: 64-bit on PostgreSQL, SQLite's INTEGER (its rowid) there."""
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def id_column() -> sa.Column[int]:
    return sa.Column("id", row_id(), nullable=False)
