"""Arrow tables read from the database, shown to DuckDB as a view for one statement."""

from __future__ import annotations

import pyarrow as pa
from duckdb import DuckDBPyConnection


def run_over(duck: DuckDBPyConnection, view: str, table: pa.Table, sql: str) -> None:
    """Run `sql` with `table` visible to it as `view`; the view is gone afterwards."""
    duck.register(view, table)
    duck.execute(sql)
    duck.unregister(view)
