"""The engines the matching steps run on: DuckDB (`duckdb.py`, one machine) and Spark (`spark.py`, a cluster),
behind what the run needs of them (`base.py`). The run itself, on either, is `matching/run.py`."""
