"""The simulator's files as the matcher's input tables, without a database: what
`services.reconciliation.register_load.load_register` and the ingest hand to the matcher (register, aliases, records). Used by
the engine benchmarks and the engine-agreement tests, which match a simulated province directly."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from vaxlink.domain.dates import PartialDate, parse_date
from vaxlink.domain.sex import parse_sex


def _mapped(col: Any, fn: Callable[[Any], Any], typ: pa.DataType) -> pa.Array:
    # Domain rules run once per distinct value.
    d = col.combine_chunks().dictionary_encode()
    return pa.array([fn(v) for v in d.dictionary.to_pylist()], typ).take(d.indices)


def _dob(v: str) -> PartialDate | None:
    d = parse_date(v)
    return d if isinstance(d, PartialDate) else None


def matcher_inputs(data: Path) -> tuple[pa.Table, pa.Table, pa.Table]:
    """register, aliases, records of the Parquet files `vaxlink simulate --format parquet` wrote in `data`."""
    reg = pq.read_table(data / "register.parquet")
    dates = reg["date_of_birth"]
    register = pa.table(
        {
            "citizen_id": pa.array(range(1, reg.num_rows + 1), pa.int64()),
            "personal_id": reg["personal_id"],
            "full_name": reg["full_name"],
            "birth_date": _mapped(dates, lambda v: (d := _dob(v)) and d.earliest(), pa.date32()),
            "birth_precision": _mapped(dates, lambda v: (d := _dob(v)) and d.precision.value, pa.string()),
            "birth_year": _mapped(dates, lambda v: (d := _dob(v)) and d.year, pa.int32()),
            "sex": _mapped(reg["sex"], lambda v: (s := parse_sex(v)) and s.value, pa.string()),
            # The snapshot leaves the current ward empty when it is the permanent one.
            "current_ward_code": pc.coalesce(reg["current_ward_code"], reg["permanent_ward_code"]),
            "permanent_ward_code": reg["permanent_ward_code"],
            "phone": reg["phone"],
            "household_id": reg["household_id"],
            "address": reg["address"],
        }
    )
    has_old = pc.is_valid(reg["old_id"])
    aliases = pa.table(
        {
            "citizen_id": register["citizen_id"].filter(has_old),
            "alias": reg["old_id"].filter(has_old),
            "kind": pa.array(["cmnd"] * pc.sum(has_old).as_py(), pa.string()),
        }
    )
    doses = pq.read_table(data / "doses.parquet")
    cols = ("full_name", "date_of_birth", "sex", "id_number", "phone", "ward_code", "address")
    records = pa.table(
        {"rec_id": pa.array(range(1, doses.num_rows + 1), pa.int64()), **{c: doses[c] for c in cols}}
    )
    return register, aliases, records
