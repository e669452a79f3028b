"""The matching steps on Apache Spark: the pipeline's DuckDB SQL, transpiled to Spark SQL by sqlglot.

There is no Spark copy of the matching logic: every step of `pipeline.steps(spec)` is translated as it
is, run with `spark.sql`, and materialised as a cached temporary view of the step's name. The inputs
come as Parquet from the DuckDB prepare step, the results go back as Parquet (see `run.run_matching`).

pyspark is an optional extra (`uv sync --extra spark`) and needs Java 17: it is imported only when the
Spark engine is used, and so is sqlglot, which takes longer to import than a run on DuckDB has use for.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vaxlink.matching.engines.base import Executor
from vaxlink.matching.tables import INPUT_TABLES, REC_IDENT

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


@functools.lru_cache(maxsize=512)
def to_spark(sql: str) -> str:
    """One statement of DuckDB SQL as Spark SQL."""
    import sqlglot
    from sqlglot import exp

    trees = sqlglot.parse(sql, read="duckdb")
    if len(trees) != 1 or trees[0] is None:
        raise ValueError(f"expected one statement, got {len(trees)}")
    # DuckDB's hash() is 64 bits, Spark's 32: a blocking key hashed in 32 bits would meet thousands of
    # other keys in a register of a million. Spark's 64-bit hash keeps the collision odds of DuckDB's.
    tree = trees[0].transform(
        lambda node: (
            exp.Anonymous(this="xxhash64", expressions=node.expressions)
            if isinstance(node, exp.Anonymous) and str(node.this).lower() == "hash"
            else node
        )
    )
    return tree.sql(dialect="spark", unsupported_level=sqlglot.ErrorLevel.RAISE)


def spark_session(
    master: str = "local[*]", driver_memory: str = "4g", shuffle_partitions: int = 8
) -> SparkSession:
    """The session already running in this process (a cluster driver, a test fixture), else a local one.

    A session created elsewhere keeps its own configuration: on a cluster the deployment decides.
    """
    from pyspark.errors import PySparkRuntimeError
    from pyspark.sql import SparkSession

    try:
        return SparkSession.active()
    except PySparkRuntimeError:
        pass
    return (
        SparkSession.builder.master(master)
        .appName("vaxlink-match")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", driver_memory)
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )


class SparkExecutor:
    """Runs DuckDB-dialect statements on Spark; each created step is cached and named as a temp view."""

    def __init__(self, spark: SparkSession) -> None:
        self.spark = spark
        self.held: dict[str, DataFrame] = {}

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.spark.sql(to_spark(sql)).collect()]

    def hold(self, name: str, df: DataFrame) -> DataFrame:
        """Materialise `df` once (later steps read it, some twice) and name it."""
        # Spark caches by plan: a step whose plan is unchanged since the last partition (the blocking keys)
        # would share the old entry, and unpersisting the old one afterwards would uncache the new one
        # too, leaving every later step to recompute it. So the old one goes first.
        old = self.held.pop(name, None)
        if old is not None:
            old.unpersist(blocking=True)
        # Checkpointed, not only cached: the step's lineage is cut, so that a later step's plan does not
        # carry (and print, when it is cached) the whole chain of the steps before it.
        df = df.localCheckpoint(eager=True)
        df.count()
        df.createOrReplaceTempView(name)
        self.held[name] = df
        return df

    def create(self, name: str, sql: str) -> None:
        self.hold(name, self.spark.sql(to_spark(sql)))

    def release(self) -> None:
        for df in self.held.values():
            df.unpersist()
        self.held.clear()


class SparkPartitions:
    """`base.PartitionRunner` on Spark: inputs read from the run directory's Parquet files."""

    name = "spark"

    def __init__(self, spark: SparkSession | None = None) -> None:
        self._spark = spark
        self._ex: SparkExecutor | None = None
        self._records: DataFrame | None = None

    @property
    def ex(self) -> SparkExecutor:
        if self._ex is None:
            self._ex = SparkExecutor(self._spark or spark_session())
        return self._ex

    def executor(self) -> Executor:
        return self.ex

    def begin(self, run_dir: Path, partitions: int) -> None:
        ex = self.ex
        for t in INPUT_TABLES:
            df = ex.spark.read.parquet(str(run_dir / "inputs" / f"{t}.parquet"))
            if t == REC_IDENT:
                # Not cached whole: each partition reads its own share (Parquet filters on `part`).
                self._records = df
            else:
                ex.hold(t, df)

    def use_partition(self, part: int) -> None:
        from pyspark.sql import functions as F

        if self._records is None:
            raise RuntimeError("begin() first")
        self.ex.hold(REC_IDENT, self._records.where(F.col("part") == part).drop("part"))

    def save(self, table: str, path: Path) -> None:
        self.ex.held[table].write.mode("overwrite").parquet(str(path))

    def end(self) -> None:
        if self._ex is not None:
            self._ex.release()
        self._records = None
