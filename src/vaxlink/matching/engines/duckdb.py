"""The matching steps on DuckDB: the connection that holds the prepared inputs runs them as they are."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from duckdb import DuckDBPyConnection

from vaxlink.matching.engines.base import Executor
from vaxlink.matching.tables import REC_IDENT


class DuckDBExecutor:
    def __init__(self, con: DuckDBPyConnection) -> None:
        self.con = con

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return self.con.execute(sql).fetchall()

    def create(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TABLE {name} AS {sql}")


class DuckDBPartitions:
    """`base.PartitionRunner` on the connection itself: a partition's identities are taken from
    `_rec_ident_parts`, and its results written as Parquet."""

    name = "duckdb"

    def __init__(self, con: DuckDBPyConnection) -> None:
        self.con = con

    def executor(self) -> Executor:
        return DuckDBExecutor(self.con)

    def begin(self, run_dir: Path, partitions: int) -> None:
        pass

    def use_partition(self, part: int) -> None:
        self.con.execute(
            f"CREATE OR REPLACE TABLE {REC_IDENT} AS SELECT * EXCLUDE (part) FROM _rec_ident_parts WHERE part = {part}"
        )

    def save(self, table: str, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.con.execute(f"COPY {table} TO '{path / 'part-0.parquet'}' (FORMAT parquet)")

    def end(self) -> None:
        pass
