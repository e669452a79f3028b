"""Set-based normalisation on DuckDB using the domain rules.

Two ways of applying a rule to millions of rows without a Python loop over them:
- rules with few distinct inputs (names, dates, sex words, ward codes) run the domain's own Python
  function once per distinct value, and the result is joined back (`map_distinct`);
- the personal-id structure, where nearly every value is distinct, is mirrored as a SQL expression
  (`personal_id_sql`); a property test keeps it equal to `vaxlink.domain.personal_ids`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import duckdb
import pyarrow as pa

from vaxlink.domain import personal_ids


def connect(memory_limit: str = "4GB", threads: int = 2, temp_dir: str | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with bounded memory: bulk work spills to disk instead of growing without limit."""
    con = duckdb.connect(config={"memory_limit": memory_limit, "threads": threads,
                                 "preserve_insertion_order": True})
    if temp_dir:
        con.execute("SET temp_directory = ?", [temp_dir])
    return con


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def map_distinct(
    con: duckdb.DuckDBPyConnection,
    source_sql: str,
    fn: Callable[[str], Sequence[Any]],
    schema: pa.Schema,
    target: str,
) -> int:
    """Create table `target(value, <schema fields>)` holding fn(value) for each distinct non-null value.

    `source_sql` is a query returning one text column. Returns the number of distinct values.
    """
    values = [r[0] for r in con.execute(f"SELECT DISTINCT v FROM ({source_sql}) t(v) WHERE v IS NOT NULL").fetchall()]
    results = [fn(v) for v in values]
    cols: dict[str, list[Any]] = {"value": values}
    for i, field in enumerate(schema):
        cols[field.name] = [r[i] for r in results]
    con.register("_mapped", pa.table(cols, schema=pa.schema([pa.field("value", pa.string()), *schema])))
    try:
        con.execute(f"CREATE OR REPLACE TABLE {quote(target)} AS SELECT * FROM _mapped")
    finally:
        con.unregister("_mapped")
    return len(values)


def _place_list() -> str:
    codes = sorted("0" + c for c in personal_ids.LEGACY_PROVINCE_CODES)
    return ", ".join(f"'{c}'" for c in codes)


def personal_id_sql(expr: str, today: date | None = None) -> dict[str, str]:
    """SQL expressions over a text expression holding a candidate personal id.

    Keys: `digits` (separators removed), `problem` (NULL when valid, else the domain's problem code),
    `sex` ('M'/'F'), `birth_year`. Mirrors vaxlink.domain.personal_ids.parse_personal_id.
    """
    year_now = (today or date.today()).year
    d = f"regexp_replace(trim({expr}), '[\\s.\\-]', '', 'g')"
    g = f"TRY_CAST(substr({d}, 4, 1) AS INTEGER)"
    birth_year = f"(1900 + 100 * ({g} // 2) + TRY_CAST(substr({d}, 5, 2) AS INTEGER))"
    place = f"substr({d}, 1, 3)"
    problem = f"""CASE
        WHEN {expr} IS NULL OR {d} = '' THEN 'ID_EMPTY'
        WHEN NOT regexp_full_match({d}, '[0-9]+') THEN 'ID_NOT_DIGITS'
        WHEN length({d}) <> 12 THEN 'ID_LENGTH'
        WHEN NOT ({place} IN ({_place_list()}) OR TRY_CAST({place} AS INTEGER) BETWEEN 101 AND 295)
            THEN 'ID_UNKNOWN_PLACE'
        WHEN {birth_year} > {year_now} THEN 'ID_BIRTH_YEAR_FUTURE'
        ELSE NULL END"""
    return {
        "digits": d,
        "problem": problem,
        "sex": f"CASE WHEN {g} % 2 = 0 THEN 'M' ELSE 'F' END",
        "birth_year": birth_year,
    }
