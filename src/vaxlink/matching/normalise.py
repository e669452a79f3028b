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

from vaxlink.domain import names, personal_ids


def connect(
    memory_limit: str = "4GB", threads: int = 2, temp_dir: str | None = None
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with bounded memory: bulk work spills to disk instead of growing without limit."""
    con = duckdb.connect(
        config={"memory_limit": memory_limit, "threads": threads, "preserve_insertion_order": True}
    )
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
    values = [
        r[0]
        for r in con.execute(f"SELECT DISTINCT v FROM ({source_sql}) t(v) WHERE v IS NOT NULL").fetchall()
    ]
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


# What the domain's separators match (`personal_ids._SEPARATORS`: Python's `\s`, which is Unicode, plus dots,
# dashes and apostrophes): RE2's `\s` is ASCII only and lacks \v. Written for a single-quoted SQL literal
# (the straight apostrophe doubled).
ID_SEPARATORS = (
    "[\\s\\x{000b}\\x{001c}-\\x{001f}\\x{0085}\\x{00a0}\\x{1680}\\x{2000}-\\x{200a}"
    "\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}.\\-''\\x{2018}\\x{2019}`]"
)


def _place_list() -> str:
    codes = sorted("0" + c for c in personal_ids.LEGACY_PROVINCE_CODES)
    return ", ".join(f"'{c}'" for c in codes)


def id_digits_sql(expr: str) -> str:
    """The candidate number with the separators people type between digit groups removed."""
    return f"regexp_replace({expr}, '{ID_SEPARATORS}', '', 'g')"


def personal_id_sql(expr: str, today: date | None = None, *, cleaned: bool = False) -> dict[str, str]:
    """SQL expressions over a text expression holding a candidate personal id.

    Keys: `digits` (separators removed), `problem` (NULL when valid, else the domain's problem code),
    `sex` ('M'/'F'), `birth_year`. Mirrors vaxlink.domain.personal_ids.parse_personal_id.
    """
    year_now = (today or date.today()).year
    # `cleaned`: expr already went through id_digits_sql (compute it once, in an inner projection).
    d = expr if cleaned else id_digits_sql(expr)
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


# Unicode spaces that the domain's NFKD split treats as separators (RE2's \s is ASCII only).
_SPACES = "[\\s\\x{00a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}]+"


# Before a word of a name typed wholly without marks (its Telex letters may be read: `names.read_telex`).
_UNMARKED = "\x1f"


def _word_keys(word: str) -> tuple[str, str, bool, str, str, bool, int]:
    """A word's canonical form, folded key and marks, as written and as its Telex reading (the same when it has
    none, or the word is of a name with marks), and how sure that reading is."""
    plain = word[1:] if word.startswith(_UNMARKED) else word
    read, sure = names.telex_reading(plain) if word.startswith(_UNMARKED) else (None, names.TELEX_NONE)
    canon = names.canonical_name(plain)
    read_canon = names.canonical_name(read) if read else canon
    return (
        canon,
        names.fold_name(canon),
        names.has_diacritics(canon),
        read_canon,
        names.fold_name(read_canon),
        names.has_diacritics(read_canon),
        sure,
    )


# The characters a folded name holds, as bits of a BIGINT (a character's code modulo 63: two characters may
# share a bit). Two keys within k edits differ by at most k characters each way, and so by at most k bits: a
# test on bits rules out most pairs of other people before an edit distance is computed, and never a pair
# within k edits, whatever bits the characters share.
LETTER_BITS = "coalesce(list_aggregate(list_transform(list_filter(string_split({key}, ''), lambda x: x <> ''), lambda x: 1::BIGINT << (ord(x) % 63)), 'bit_or'), 0)"


def name_table(con: duckdb.DuckDBPyConnection, source_sql: str, target: str) -> int:
    """Create `target` with, per distinct name of `source_sql`: canonical, name_key, family/middle/given (canonical),
    family_key/middle_key/given_key/sorted_key (folded), has_marks, name_sig: the name's letters in
    sorted order, equal for two names that differ by swapped letters ("Tragn" / "Trang"), and
    name_letters: which characters the folded name holds (`LETTER_BITS`).

    Names repeat a small vocabulary of words, so the domain's rules run once per distinct word and the
    names are reassembled in SQL; the result equals applying vaxlink.domain.names to each name (`read_telex`,
    then `canonical_name`).
    """
    # A word of a name with no character beyond ASCII is marked so (`_UNMARKED`): it is read as Telex.
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _name_words AS
        SELECT value, generate_subscripts(words, 1) AS pos,
               unnest(list_transform(words, lambda x: CASE WHEN unmarked AND x <> '' THEN chr(31) || x ELSE x END))
                 AS word
        FROM (SELECT value, string_split_regex(trim(regexp_replace(value, '{_SPACES}', ' ', 'g')), ' ') AS words,
                     regexp_full_match(regexp_replace(value, '{_SPACES}', ' ', 'g'), '[\x00-\x7f]*') AS unmarked
              FROM (SELECT DISTINCT v AS value FROM ({source_sql}) t(v) WHERE v IS NOT NULL))""")
    map_distinct(
        con,
        "SELECT word FROM _name_words WHERE word <> ''",
        _word_keys,
        pa.schema(
            [
                ("canon", pa.string()),
                ("fold", pa.string()),
                ("marks", pa.bool_()),
                ("canon_t", pa.string()),
                ("fold_t", pa.string()),
                ("marks_t", pa.bool_()),
                ("sure", pa.int32()),
            ]
        ),
        "_word_map",
    )
    # A name's words are read as Telex when the readings are sure enough (`names.reads_as_telex`): one with a
    # vowel's quality or đ, or two with a tone key.
    con.execute(f"""CREATE OR REPLACE TABLE {quote(target)} AS
        WITH read AS (
          SELECT w.value, w.pos, m.*, (bool_or(m.sure = {names.TELEX_QUALITY}) OVER named
                 OR sum(CASE WHEN m.sure <> {names.TELEX_NONE} THEN 1 ELSE 0 END) OVER named >= 2) AS telex
          FROM _name_words w JOIN _word_map m ON m.value = w.word
          WINDOW named AS (PARTITION BY w.value)),
        chosen AS (
          SELECT value, pos, CASE WHEN telex THEN canon_t ELSE canon END AS canon,
                 CASE WHEN telex THEN fold_t ELSE fold END AS fold, CASE WHEN telex THEN marks_t ELSE marks END AS marks
          FROM read),
        parts AS (
          SELECT value, pos, generate_subscripts(string_split(canon, ' '), 1) AS sub,
                 unnest(string_split(canon, ' ')) AS cw, unnest(string_split(fold, ' ')) AS fw, marks
          FROM chosen WHERE canon <> ''),
        agg AS (
          SELECT value, list(cw ORDER BY pos, sub) AS cws, list(fw ORDER BY pos, sub) AS fws,
                 bool_or(marks) AS has_marks
          FROM parts GROUP BY value)
        SELECT value, array_to_string(cws, ' ') AS canonical, array_to_string(fws, ' ') AS name_key,
               CASE WHEN len(cws) > 1 THEN cws[1] ELSE '' END AS family,
               CASE WHEN len(cws) > 2 THEN array_to_string(cws[2:len(cws) - 1], ' ') ELSE '' END AS middle,
               cws[len(cws)] AS given,
               CASE WHEN len(fws) > 1 THEN fws[1] ELSE '' END AS family_key,
               CASE WHEN len(fws) > 2 THEN array_to_string(fws[2:len(fws) - 1], ' ') ELSE '' END AS middle_key,
               fws[len(fws)] AS given_key, array_to_string(list_sort(fws), ' ') AS sorted_key, has_marks,
               array_to_string(list_sort(string_split(array_to_string(fws, ''), '')), '') AS name_sig,
               {LETTER_BITS.format(key="array_to_string(fws, ' ')")} AS name_letters
        FROM agg""")
    con.execute("DROP TABLE _name_words")
    return int(con.execute(f"SELECT count(*) FROM {quote(target)}").fetchall()[0][0])
