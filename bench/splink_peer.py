"""Peer benchmark: link a simulated dose batch to the register with Splink 5 (DuckDB backend).

Gives vaxlink's matcher an outside yardstick: the same `register.csv` and `doses.csv` that
`vaxlink simulate` writes are prepared the way a competent Splink user would prepare them (case,
diacritics and đ folded, names split into tokens, the mixed date formats parsed, ID numbers reduced
to digits with a lost leading zero restored, the old 9-digit CMND kept in a column of its own), then
linked with a Fellegi-Sunter model trained without labels: u from random sampling, m by expectation
maximisation on blocked pairs. Nothing here uses vaxlink's own matcher.

Splink scores pairs and has no review class, so each dose record is linked to its best-scoring
register record when that pair's match probability reaches the threshold, and is unmatched otherwise.
The output follows the `reconcile export` columns, so `vaxlink.simulation.evaluate` scores it.

    uv run python bench/splink_peer.py --data DIR --out result.csv [--threshold 0.1]
"""

from __future__ import annotations

import argparse
import logging
import resource
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

from vaxlink.simulation.evaluate import evaluate

# Well under the machine's memory, leaving room for Python and the page cache; DuckDB spills past it.
MEMORY_LIMIT = "8GB"
# Random pairs for the u estimates: ten times the default, which Splink itself warns is too small. The
# cost does not grow with the data (about 40 s on two cores); at a million citizens an exact ID number
# is then too rare among random pairs to be counted, and Splink falls back to u = 1e-6, about right.
U_SAMPLE_PAIRS = 1e7
SEED = 42
# Chosen on tuning data apart from the benchmark's own (another seed, and a batch with three times the
# default error mix): the lowest match probability that kept precision at or above 99.9% there. The
# curve is flat above it; below it, people absent from the register start to be linked to relatives.
DEFAULT_THRESHOLD = 0.1

# Vietnamese names and the date forms health exports use. Accents are stripped after NFC so that
# decomposed names and the two tone-mark placements fold to the same letters; strip_accents leaves
# đ alone, so it is mapped by hand.
PREPARE_MACROS = r"""
CREATE OR REPLACE MACRO fold_name(s) AS
    nullif(trim(regexp_replace(
        strip_accents(replace(lower(nfc_normalize(s)), 'đ', 'd')), '[^a-z ]+|\s+', ' ', 'g')), '');
CREATE OR REPLACE MACRO parse_dob(s) AS CASE
    WHEN s SIMILAR TO '\d{4}-\d{1,2}-\d{1,2}' THEN try_strptime(s, '%Y-%m-%d')::DATE
    WHEN s SIMILAR TO '\d{1,2}/\d{1,2}/\d{4}' THEN try_strptime(s, '%d/%m/%Y')::DATE
    -- Excel serial day numbers count from 1899-12-30.
    WHEN s SIMILAR TO '\d{5}' THEN DATE '1899-12-30' + s::INTEGER
END;
CREATE OR REPLACE MACRO dob_year(s) AS
    CASE WHEN s SIMILAR TO '\d{4}' THEN s::INTEGER ELSE year(parse_dob(s)) END;
CREATE OR REPLACE MACRO digits(s) AS nullif(regexp_replace(coalesce(s, ''), '[^0-9]', '', 'g'), '');
-- A 12-digit number that went through a spreadsheet as a number lost its leading zero.
CREATE OR REPLACE MACRO id12(s) AS CASE
    WHEN length(digits(s)) = 12 THEN digits(s)
    WHEN length(digits(s)) = 11 THEN '0' || digits(s)
END;
CREATE OR REPLACE MACRO cmnd(s) AS CASE WHEN length(digits(s)) = 9 THEN digits(s) END;
CREATE OR REPLACE MACRO fold_sex(s) AS CASE
    WHEN lower(trim(s)) IN ('nam', 'm', 'male') THEN 'm'
    WHEN lower(trim(s)) IN ('nữ', 'nu', 'f', 'female') THEN 'f'
END;
"""

# Both sides get the same columns, as Splink compares like with like. A person's name is family,
# middle(s), given; the given name is what tells people apart, the family name hardly does.
PREPARED_COLUMNS = """
    unique_id, full_name,
    list_extract(string_split(full_name, ' '), 1) AS family_name,
    list_extract(string_split(full_name, ' '), -1) AS given_name,
    array_to_string(list_sort(string_split(full_name, ' ')), ' ') AS name_key,
    dob, strftime(dob, '%Y-%m-%d') AS dob_text, dob_year, sex, id12, cmnd, phone, ward, ward_alt
"""

PREPARE_REGISTER = f"""
CREATE OR REPLACE TABLE register_prepared AS
SELECT {PREPARED_COLUMNS} FROM (
    SELECT personal_id AS unique_id, fold_name(full_name) AS full_name,
           parse_dob(date_of_birth) AS dob, dob_year(date_of_birth) AS dob_year,
           fold_sex(sex) AS sex, id12(personal_id) AS id12, cmnd(old_id) AS cmnd,
           digits(phone) AS phone, permanent_ward_code AS ward,
           nullif(current_ward_code, permanent_ward_code) AS ward_alt
    FROM register_raw)
"""

PREPARE_DOSES = f"""
CREATE OR REPLACE TABLE doses_prepared AS
SELECT {PREPARED_COLUMNS} FROM (
    SELECT record_id AS unique_id, fold_name(full_name) AS full_name,
           parse_dob(date_of_birth) AS dob, dob_year(date_of_birth) AS dob_year,
           fold_sex(sex) AS sex, id12(id_number) AS id12, cmnd(id_number) AS cmnd,
           digits(phone) AS phone, ward_code AS ward, NULL::VARCHAR AS ward_alt
    FROM doses_raw)
"""


def comparisons() -> list[cl.CustomComparison]:
    name = cl.CustomComparison(
        output_column_name="full_name",
        comparison_levels=[
            cll.NullLevel("full_name"),
            # Term frequencies: "nguyen van an" agreeing says far less than a rare name agreeing.
            cll.ExactMatchLevel("full_name").configure(tf_adjustment_column="full_name"),
            cll.CustomLevel("name_key_l = name_key_r", "same words, another order"),
            cll.And(cll.ExactMatchLevel("family_name"), cll.ExactMatchLevel("given_name")).configure(
                label_for_charts="family and given name agree, middle name differs"
            ),
            cll.JaroWinklerLevel("full_name", 0.95),
            cll.JaroWinklerLevel("full_name", 0.88),
            cll.ExactMatchLevel("given_name").configure(tf_adjustment_column="given_name"),
            cll.ElseLevel(),
        ],
    )
    dob = cl.CustomComparison(
        output_column_name="dob",
        comparison_levels=[
            cll.CustomLevel("dob_year_l IS NULL OR dob_year_r IS NULL").configure(is_null_level=True),
            cll.CustomLevel("dob_l = dob_r", "exact"),
            cll.CustomLevel(
                "day(dob_l) = month(dob_r) AND month(dob_l) = day(dob_r) AND year(dob_l) = year(dob_r)",
                "day and month swapped",
            ),
            cll.LevenshteinLevel("dob_text", 1),
            # A birth registered or recorded as a year only.
            cll.CustomLevel(
                "(dob_l IS NULL OR dob_r IS NULL) AND dob_year_l = dob_year_r",
                "same year, one side year only",
            ),
            cll.CustomLevel("abs(date_diff('day', dob_l, dob_r)) <= 366", "within a year"),
            cll.ElseLevel(),
        ],
    )
    # A dose record carries one number, the 12-digit one or the old 9-digit CMND; the register has
    # both. One comparison over the two columns, since they are one piece of evidence.
    id_number = cl.CustomComparison(
        output_column_name="id_number",
        comparison_levels=[
            cll.CustomLevel(
                "(id12_l IS NULL OR id12_r IS NULL) AND (cmnd_l IS NULL OR cmnd_r IS NULL)",
                "no number to compare",
            ).configure(is_null_level=True),
            # A parent's number typed on a child's record: the number agrees, the person does not.
            # Random pairs never show this, so its weight would be learnt as huge; it is held at
            # zero instead, which leaves the decision to the name and the date.
            cll.CustomLevel(
                "id12_l = id12_r AND given_name_l <> given_name_r AND dob_year_l <> dob_year_r",
                "same number, another given name and birth year",
            ).configure(m_probability=0.5, u_probability=0.5, fix_m_probability=True, fix_u_probability=True),
            cll.ExactMatchLevel("id12"),
            cll.ExactMatchLevel("cmnd"),
            # Damerau covers the two typing slips seen in exports: one digit wrong, two swapped.
            cll.DamerauLevenshteinLevel("id12", 1),
            cll.ElseLevel(),
        ],
    )
    ward = cl.CustomComparison(
        output_column_name="ward",
        comparison_levels=[
            cll.NullLevel("ward"),
            # Health records where a person lives now, the register both permanent and current ward.
            cll.CustomLevel("ward_l = ward_r OR ward_l = ward_alt_r OR ward_alt_l = ward_r", "same ward"),
            cll.ElseLevel(),
        ],
    )
    return [name, dob, id_number, cl.ExactMatch("sex"), ward, cl.ExactMatch("phone")]


# Candidate pairs: any one rule suffices. The ID numbers find most records; the name rules find the
# rest when the number is missing or mistyped, each tolerating a different error (the word order,
# the day and month, the given name, the family name). Given name with birth year alone would also
# tolerate a wrong date, but in one province its blocks grow with the square of the population
# (about 350 M pairs at a million citizens) for a handful of extra true pairs.
BLOCKING_RULES = [
    block_on("id12"),
    block_on("cmnd"),
    block_on("name_key", "dob_year"),
    block_on("family_name", "dob"),
    block_on("given_name", "dob"),
    # Households share a phone: finds records whose name and number both went wrong.
    block_on("phone"),
]


def settings(register_rows: int) -> SettingsCreator:
    return SettingsCreator(
        link_type="link_only",
        comparisons=comparisons(),
        blocking_rules_to_generate_predictions=BLOCKING_RULES,
        # Starting value only; estimated below from deterministic rules.
        probability_two_random_records_match=1 / max(register_rows, 1),
        retain_matching_columns=False,
    )


def peak_rss_mib() -> float:
    # ru_maxrss is in KiB on Linux and in bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _read(con: duckdb.DuckDBPyConnection, table: str, data_dir: Path, name: str) -> None:
    """`name`.csv of `data_dir`, or `name`.parquet when there is no CSV (`vaxlink simulate --format parquet`)."""
    csv = data_dir / f"{name}.csv"
    if csv.exists():
        source = "read_csv(?, all_varchar = true, header = true)"
        path = csv
    else:
        source = "read_parquet(?)"
        path = data_dir / f"{name}.parquet"
    con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {source}", [str(path)])


def run_splink(
    data_dir: Path,
    out_csv: Path,
    threshold: float = DEFAULT_THRESHOLD,
    u_sample_pairs: float = U_SAMPLE_PAIRS,
) -> dict[str, float | int]:
    """Link the dose batch of `data_dir` to its register (`doses` and `register`, CSV or Parquet); write one
    row per dose record to `out_csv`.

    Returns the wall and CPU time of the matching step (training, predict, best match per record),
    the process's peak RSS, the number of pairs scored and the outcome counts.
    """
    with tempfile.TemporaryDirectory(prefix="splink-peer-") as spill:
        con = duckdb.connect()
        con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        con.execute("SET temp_directory = ?", [spill])
        try:
            started = time.perf_counter()
            _read(con, "register_raw", data_dir, "register")
            _read(con, "doses_raw", data_dir, "doses")
            load_seconds = time.perf_counter() - started

            started = time.perf_counter()
            con.execute(PREPARE_MACROS)
            con.execute(PREPARE_REGISTER)
            con.execute(PREPARE_DOSES)
            con.execute("DROP TABLE register_raw; DROP TABLE doses_raw")
            prepare_seconds = time.perf_counter() - started
            register_rows = con.execute("SELECT count(*) FROM register_prepared").fetchall()[0][0]

            started, cpu_started = time.perf_counter(), time.process_time()
            stats = _match(con, register_rows, threshold, u_sample_pairs)
            match_seconds = time.perf_counter() - started
            # CPU time of all the process's threads: less disturbed than wall time on a shared machine.
            match_cpu_seconds = time.process_time() - cpu_started

            out_csv.parent.mkdir(parents=True, exist_ok=True)
            con.execute(f"COPY best_match TO '{out_csv}' (HEADER, DELIMITER ',')")
        finally:
            con.close()
    return {
        "load_seconds": load_seconds,
        "prepare_seconds": prepare_seconds,
        "match_seconds": match_seconds,
        "match_cpu_seconds": match_cpu_seconds,
        "peak_rss_mib": peak_rss_mib(),
        "register_rows": register_rows,
        "threshold": threshold,
        **stats,
    }


def _match(
    con: duckdb.DuckDBPyConnection, register_rows: int, threshold: float, u_sample_pairs: float
) -> dict[str, int]:
    db_api = DuckDBAPI(connection=con)
    register = db_api.register("register_prepared", dataset_display_name="register")
    doses = db_api.register("doses_prepared", dataset_display_name="doses")
    linker = Linker([register, doses], settings(register_rows), log_level=logging.WARNING)

    # One dose record belongs to at most one citizen; an exact 12-digit or CMND number agreeing is
    # right for nearly all records that carry one, and about nine in ten records carry one.
    linker.training.estimate_probability_two_random_records_match(
        [block_on("id12"), block_on("cmnd")], recall=0.9
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=u_sample_pairs, seed=SEED)
    # Two passes so that every comparison is estimated in at least one: blocking on the ID number
    # frees the name, date and the rest; blocking on name and date frees the ID numbers.
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("id12"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("name_key", "dob"))

    blocked = linker.inference.compute_blocked_pairs_for_predict()
    pairs = con.execute(f"SELECT count(*) FROM {blocked.physical_name}").fetchall()[0][0]
    predictions = linker.inference.predict(threshold_match_probability=threshold)

    # Splink writes the two datasets to the _l/_r sides in its own order: take whichever is the dose.
    con.execute(f"""
        CREATE OR REPLACE TABLE best_match AS
        WITH scored AS (
            SELECT CASE WHEN source_dataset_l = 'doses' THEN unique_id_l ELSE unique_id_r END AS record_id,
                   CASE WHEN source_dataset_l = 'doses' THEN unique_id_r ELSE unique_id_l END AS personal_id,
                   match_probability, match_weight
            FROM {predictions.physical_name}
            WHERE match_probability >= {threshold}),
        best AS (
            SELECT * FROM scored
            QUALIFY row_number() OVER (PARTITION BY record_id
                                       ORDER BY match_weight DESC, personal_id) = 1)
        SELECT d.unique_id AS record_id,
               CASE WHEN b.personal_id IS NULL THEN 'unmatched' ELSE 'linked' END AS outcome,
               coalesce(b.personal_id, '') AS personal_id,
               b.match_probability AS score,
               -- The export contract's review column; Splink has no review class.
               '' AS candidate_personal_id
        FROM doses_prepared d LEFT JOIN best b ON b.record_id = d.unique_id
        ORDER BY d.unique_id""")
    linked, unmatched = con.execute(
        "SELECT count(*) FILTER (WHERE outcome = 'linked'), count(*) FILTER (WHERE outcome = 'unmatched') "
        "FROM best_match"
    ).fetchall()[0]
    above = predictions.as_duckdbpyrelation().count("*").fetchall()[0][0]
    return {"pairs_scored": pairs, "pairs_above_threshold": above, "linked": linked, "unmatched": unmatched}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, required=True, help="directory with register.csv and doses.csv")
    parser.add_argument("--out", type=Path, required=True, help="result CSV to write")
    parser.add_argument(
        "--threshold", type=float, default=DEFAULT_THRESHOLD, help="match probability to link at"
    )
    args = parser.parse_args()

    result = run_splink(args.data, args.out, args.threshold)
    print(f"register rows       {result['register_rows']:>12,}")
    print(
        f"pairs scored        {result['pairs_scored']:>12,}  ({result['pairs_above_threshold']:,} above threshold)"
    )
    print(
        f"linked / unmatched  {result['linked']:>12,} / {result['unmatched']:,}  (threshold {args.threshold})"
    )
    print(f"load / prepare      {result['load_seconds']:>12.1f} s / {result['prepare_seconds']:.1f} s")
    print(
        f"matching wall time  {result['match_seconds']:>12.1f} s  (training + predict + best match; "
        f"CPU {result['match_cpu_seconds']:.1f} s)"
    )
    print(f"peak RSS            {result['peak_rss_mib']:>12,.0f} MiB")

    truth = next((p for p in (args.data / "truth.csv", args.data / "truth.parquet") if p.exists()), None)
    if truth is not None:
        print(evaluate(args.out, truth).summary())


if __name__ == "__main__":
    main()
