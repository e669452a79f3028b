"""What a run of the matching steps needs of an engine, and what it reports.

An engine runs the pipeline's queries, written in DuckDB's dialect (`Executor`); to run a batch one
partition of its identities at a time it also moves the inputs and results (`PartitionRunner`). The run
(`matching/run.py`) knows the engines only through these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from vaxlink.matching.spec import MatchSpec


@dataclass
class RunStats:
    pairs_estimated: int = 0
    pairs: int = 0
    identities: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    engine: str = "duckdb"
    partitions: int = 1
    partitions_skipped: int = 0  # finished by an earlier, interrupted run of the same inputs
    # The spec the run decided with: the given one with its parameters estimated on the run's data.
    spec: MatchSpec | None = None
    # How the register reached the run (kept, patched or prepared whole; citizens read; seconds).
    register: dict[str, Any] = field(default_factory=dict)
    # Identities linked, and the sum of their probabilities of being wrong: the number of wrong links the
    # model expects among them (its share is the precision the run expects of itself).
    linked: int = 0
    expected_wrong_links: float = 0.0


class Executor(Protocol):
    """What the pipeline needs of an engine: queries written in DuckDB's dialect, and named results."""

    def rows(self, sql: str) -> list[tuple[Any, ...]]: ...

    def create(self, name: str, sql: str) -> None: ...


class PartitionRunner(Protocol):
    """An engine able to run the pipeline one partition of the identities at a time."""

    name: str

    def executor(self) -> Executor: ...

    def begin(self, run_dir: Path, partitions: int) -> None:
        """Make the inputs (with their `part` column) available to the engine."""

    def use_partition(self, part: int) -> None:
        """From now on `rec_ident` holds only the identities of `part`."""

    def save(self, table: str, path: Path) -> None:
        """Write a result table of the current partition as Parquet under `path` (a directory)."""

    def end(self) -> None:
        """Release what the partitions held."""
