"""Column types, columns, constraints and tables that the migrations share, named by the models' conventions.
Migrations that ran already depend on them: what each returns or creates never changes (a new shape is a new
helper)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op


def key(length: int) -> sa.types.TypeEngine[str]:
    """A code, number or digest: compared byte by byte on PostgreSQL (collation C), whatever the locale."""
    return sa.String(length=length).with_variant(sa.String(length=length, collation="C"), "postgresql")


def row_id() -> sa.types.TypeEngine[int]:
    """A row id or a reference to one: 64-bit on PostgreSQL, SQLite's INTEGER (its rowid) there."""
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def id_column() -> sa.Column[int]:
    return sa.Column("id", row_id(), nullable=False)


def ward_columns(prefix: str, *, nullable: bool) -> list[sa.Column[str]]:
    """A ward: `<prefix>_units`, the unit structure its code is in (legacy or 2025), and `<prefix>_ward_code`."""
    return [
        sa.Column(f"{prefix}_units", key(6), nullable=nullable),
        sa.Column(f"{prefix}_ward_code", key(5), nullable=nullable),
    ]


def foreign_key(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    """`table`.`column` referring to `target`.id, under the conventional name fk_<table>_<column>_<target>."""
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"))


def index(table: str, *columns: str) -> None:
    """Create an index on `columns` of `table` under the conventional name ix_<table>_<columns>."""
    op.create_index(op.f("_".join(("ix", table, *columns))), table, list(columns))


def create_table(
    name: str,
    *columns: sa.Column[Any],
    primary_key: Sequence[str] = ("id",),
    references: Mapping[str, str] | None = None,
    unique: Sequence[str] = (),
    indexed: Sequence[str] = (),
) -> None:
    """Create table `name` with its `columns` and, under their conventional names, its foreign keys
    (`references`: column → the table whose id it holds), its primary key, the unique constraint on `unique`
    if any and an index on each `indexed` column."""
    op.create_table(
        name,
        *columns,
        *(foreign_key(name, column, target) for column, target in (references or {}).items()),
        sa.PrimaryKeyConstraint(*primary_key, name=op.f(f"pk_{name}")),
        *[sa.UniqueConstraint(*unique, name=op.f("_".join(("uq", name, *unique))))] if unique else [],
    )
    for column in indexed:
        index(name, column)
