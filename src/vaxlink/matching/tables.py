"""The DuckDB tables of a match, named once: the interface between the matching modules and their callers.

Every table below lives in the DuckDB connection a batch is matched in; on Spark the steps' tables are
temporary views of the same names (`engines/spark.py`), and the results come back to DuckDB. Each name
says which step writes the table and who reads it. Scratch tables that one module makes and drops itself
(`prepare.py`'s `rec_norm`, `estimate.py`'s `_est_*`, `run.py`'s `_rec_ident_parts`) stay in that module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

# The prepared inputs: `prepare.py`, or the kept register read in part (`register_store.load_reached`).
# Written by `prepare.prepare_records` (then `prepare.group_identities`): one row per distinct health identity,
# with its `group_id`. Read by the steps; a partitioned run holds one partition's identities in it at a time.
REC_IDENT: Final = "rec_ident"
# Written by `prepare.prepare_records`: rec_id -> ident_id. Read by the caller (`services/reconciliation/`,
# `services/reconciliation/match_training.py`) to take an identity's results back to its dose records.
REC_MAP: Final = "rec_map"
# Written by `prepare.prepare_citizens` and `prepare.add_frequencies` (with the value counts): one row per
# citizen. Read by the steps and by `register_store`.
REG: Final = "reg"
# Written by `prepare.prepare_citizens`: each citizen's old 9-digit CMND numbers (`id9`); read by the old
# CMND's blocking rule and by `rec_lookup`.
REG_ALIAS: Final = "reg_alias"
# Written by `prepare.add_frequencies`: the register's size (`total`), the denominator of the value shares.
REG_SIZE: Final = "reg_size"
# Written by `prepare.register_names`: how many citizens carry each given name; read by `rec_lookup`.
REG_GIVEN_NAMES: Final = "reg_given_names"
# Written by `prepare.register_names`: the family and given names of each household; read by `compared`.
REG_HOUSEHOLD_NAMES: Final = "reg_household_names"
# Written by the caller (`services/reconciliation/register_load.py`: where each citizen lives now), kept and read back with
# the register by `register_store`; no step reads it.
REG_HOME: Final = "reg_home"

# The steps of `pipeline.steps`, in order; each is a table of the step's name.
# `pipeline.register_key_steps`: every blocking rule's key per citizen, hashed once; and each capped rule's
# keys under its cap (`block_keys`). Made once per run, read by the pair estimate and `pairs`.
REG_KEYS: Final = "reg_keys"
# `pipeline.record_key_step`: every blocking rule's key per identity; read by the pair estimate and `pairs`.
REC_KEYS: Final = "rec_keys"
# `pipeline.pairs_step`: the distinct candidate pairs (ident_id, citizen_id); read by `compared` and counted
# by the run.
PAIRS: Final = "pairs"
# `pipeline.lookup_step`: what each identity's numbers and given name point at; read by `compared`.
REC_LOOKUP: Final = "rec_lookup"
# `pipeline.compare_step`: each pair's level per comparison; read by `scored`, and by `estimate.estimate`
# for the sample's level patterns.
COMPARED: Final = "compared"
# `pipeline.score_step`: each pair's weights and veto; read by the decision steps and by
# `services/reconciliation/match_training.py`.
SCORED: Final = "scored"
# `pipeline.evidence_steps`: each identity's own best candidate and the runner-up's weight; read by `evidence`.
OWN_TOP: Final = "own_top"
# `pipeline.evidence_steps`: the best weight the identity's sibling records give each citizen; read by `evidence`.
GROUP_SUPPORT: Final = "group_support"
# `pipeline.evidence_steps`: each pair's weight with what the sibling records lend it; read by `ranked` and
# `rivals`.
EVIDENCE: Final = "evidence"
# `pipeline.rank_steps`: the candidates worth reviewing, ranked, with their levels and weights; read by
# `classified` and by the caller (the candidates a ward officer sees).
RANKED: Final = "ranked"
# `pipeline.rank_steps`: the odds of the other candidates against the best one; read by `classified`.
RIVALS: Final = "rivals"
# `pipeline.classify_step`: one row per identity, its outcome, best candidate, reasons and blame; read by the
# caller and counted by the run.
CLASSIFIED: Final = "classified"

# The prepared inputs of a run: its fingerprint is theirs (`run.input_fingerprint`), and on Spark they are
# copied to Parquet and read back (`engines/spark.py`).
INPUT_TABLES: Final = (REC_IDENT, REG, REG_ALIAS, REG_SIZE, REG_GIVEN_NAMES, REG_HOUSEHOLD_NAMES)
# What a run leaves for its caller, whatever the engine and the partitions.
RESULT_TABLES: Final = (CLASSIFIED, RANKED)


def block_keys(rule: str) -> str:
    """`pipeline.register_key_steps`: the keys of the capped blocking rule `rule` under its cap; read by
    `pairs`."""
    return f"block_keys_{rule}"


def exists(con: DuckDBPyConnection, table: str) -> bool:
    """Whether `con` holds a table of that name."""
    return bool(
        con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [table]).fetchall()[0][0]
    )
