"""The prepared register kept between batches: Parquet files in the work directory, read in part by each batch.

Preparing the register (canonical and folded names, address keys, birth-date parts, value counts) costs
as much as the whole register; a batch needs only the citizens its blocking keys reach. So the prepared
register is written once (`save`), labelled with the register's version and with a digest of everything
that shapes it (`prepare_digest`), and a batch reads from it the citizens it can reach (`load_reached`):
those that share a blocking key, a number or a phone with one of its identities, and the citizens the
estimation's random pairs are drawn from. Every table the matching steps read is then what it would be
with the whole register (see `load_reached`), so the outcomes are the same; the value counts and the
register's size are the whole register's, kept with it.

When the register changes, the rows of the changed citizens are prepared again and the value counts
recomputed (`patch`); an import rebuilds it. The spec's weights do not shape the prepared register, so a
new estimation or a trained spec does not invalidate it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
from duckdb import DuckDBPyConnection

from vaxlink.domain import addresses, names, phones
from vaxlink.domain.admin_units import units_digest
from vaxlink.matching import normalise, prepare
from vaxlink.matching.estimate import random_citizens
from vaxlink.matching.levels import BlockingRule
from vaxlink.matching.pipeline import (
    HOLDER_COLUMNS,
    _hashed,
    _key_hash,
    holder_records,
    number_holders,
)
from vaxlink.matching.spec import MatchSpec
from vaxlink.matching.tables import (
    REC_IDENT,
    REG,
    REG_ALIAS,
    REG_GIVEN_NAMES,
    REG_HOME,
    REG_HOUSEHOLD_NAMES,
    REG_SIZE,
)

# Bumped when the files' layout changes.
FORMAT = "prepared-register-1"
TABLES = (REG, REG_ALIAS, REG_HOME)
# The whole register's given names (`prepare.register_names`), kept beside it: a batch reads all of the first
# and the names of the households it reaches.
NAME_TABLES = {REG_GIVEN_NAMES: "given_key", REG_HOUSEHOLD_NAMES: "household_id, family_key, given_key"}


def prepare_digest(spec: MatchSpec) -> str:
    """Of what shapes the prepared rows: the code that prepares them, the administrative units (the wards'
    provinces and 2025 wards come from them), the value counts the spec's levels read, the DuckDB version (its
    hash draws the estimation's citizens)."""
    h = hashlib.sha256(FORMAT.encode())
    for module in (prepare, normalise, names, addresses, phones):
        h.update(Path(str(module.__file__)).read_bytes())
    h.update(units_digest().encode())
    tf = sorted({lv.tf for c in spec.comparisons for lv in c.levels if lv.tf})
    h.update(json.dumps([tf, prepare.FREQUENCY_COLUMNS, duckdb.__version__]).encode())
    return h.hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Stored:
    """A prepared register on disk."""

    path: Path
    version: int  # the register's version it was read at, and that version's token
    token: str
    citizens: int

    def file(self, table: str) -> str:
        return str(self.path / f"{table}.parquet")


def _read(path: Path) -> Stored | None:
    meta = path / "meta.json"
    if not meta.exists():  # written last: a directory without it is unfinished
        return None
    m: dict[str, Any] = json.loads(meta.read_text())
    return Stored(path, int(m["version"]), str(m["token"]), int(m["citizens"]))


def find(base: Path, digest: str, version: tuple[int, str] | None = None) -> Stored | None:
    """The stored register of `digest` read at `version` (number, token); without it, the latest stored."""
    root = base / digest
    if not root.is_dir():
        return None
    found = [s for p in root.iterdir() if p.is_dir() and (s := _read(p)) is not None]
    if version is not None:
        found = [s for s in found if (s.version, s.token) == version]
    return max(found, key=lambda s: s.version, default=None)


def save(con: DuckDBPyConnection, base: Path, digest: str, version: int, token: str) -> Stored:
    """Write `reg` (with its value counts), `reg_alias` and `reg_home` of `con` as the register read at
    `version` (its number and token).

    Written beside the others and made visible by its `meta.json` last; older versions are removed (a
    process still reading one keeps its open files)."""
    root = base / digest
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    for t in TABLES:
        # Ordered by citizen: the batches' reads filter on it.
        con.execute(f"COPY (SELECT * FROM {t} ORDER BY citizen_id) TO '{tmp / t}.parquet' (FORMAT parquet)")
    for t, order in NAME_TABLES.items():
        con.execute(f"COPY (SELECT * FROM {t} ORDER BY {order}) TO '{tmp / t}.parquet' (FORMAT parquet)")
    citizens = int(con.execute(f"SELECT count(*) FROM {REG}").fetchall()[0][0])
    (tmp / "meta.json").write_text(json.dumps({"version": version, "token": token, "citizens": citizens}))
    final = root / f"v{version}-{token or 'initial'}"
    try:
        tmp.rename(final)
    except OSError:
        # Another process kept the same version first: the same rows.
        shutil.rmtree(tmp, ignore_errors=True)
    for other in root.iterdir():
        # Only finished ones: another process may be writing its own.
        if other != final and (other / "meta.json").exists():
            shutil.rmtree(other, ignore_errors=True)
    for other in base.iterdir():
        # Registers prepared by other code or for other specs will not be read again.
        if other.is_dir() and other.name != digest:
            shutil.rmtree(other, ignore_errors=True)
    return Stored(final, version, token, citizens)


def patch(
    con: DuckDBPyConnection, stored: Stored, changed_ids: str, citizens: str, aliases: str, homes: str
) -> None:
    """`reg`, `reg_alias`, `reg_home` of the whole register: `stored` with the citizens `changed_ids` (a
    query of citizen_id) replaced by their rows now, `citizens`, `aliases` and `homes` (the sources of
    `prepare_citizens` and of `reg_home`, holding only the changed citizens, and only those still active),
    and every value count recomputed."""
    prepare.prepare_citizens(con, citizens, aliases, "reg_changed")
    drop = ", ".join(prepare.FREQUENCY_COLUMNS)
    con.execute(f"""CREATE OR REPLACE TABLE reg_base AS
        SELECT * EXCLUDE ({drop}) FROM read_parquet('{stored.file(REG)}')
        WHERE citizen_id NOT IN ({changed_ids})
        UNION ALL BY NAME SELECT * FROM reg_changed""")
    prepare.add_frequencies(con, "reg_base")
    con.execute(f"""CREATE OR REPLACE TABLE {REG_ALIAS} AS
        SELECT * FROM read_parquet('{stored.file(REG_ALIAS)}') WHERE citizen_id NOT IN ({changed_ids})
        UNION ALL BY NAME SELECT * FROM reg_changed_alias""")
    con.execute(f"""CREATE OR REPLACE TABLE {REG_HOME} AS
        SELECT * FROM read_parquet('{stored.file(REG_HOME)}') WHERE citizen_id NOT IN ({changed_ids})
        UNION ALL BY NAME SELECT * FROM {homes}""")
    for t in ("reg_base", "reg_changed", "reg_changed_alias"):
        con.execute(f"DROP TABLE {t}")


def keys_file(stored: Stored, spec: MatchSpec) -> Path:
    """Where the register's blocking keys for `spec`'s rules are kept beside `stored`: named by a digest of the
    rules' citizen sides (the hashes are DuckDB's own, and the prepared register is labelled with its version)."""
    sides = [(r.name, [b for _, b in r.sides()], r.citizen_filter) for r in _hashed(spec.blocking)]
    digest = hashlib.sha256(json.dumps(sides).encode()).hexdigest()[:12]
    return stored.path / f"reg_keys-{digest}.parquet"


def write_keys(con: DuckDBPyConnection, stored: Stored, spec: MatchSpec) -> str:
    """The register's blocking keys for `spec`'s rules, each hashed as the matching hashes it
    (`pipeline._key_hash`), with the number and the phone the reach reads too: kept beside `stored` once made,
    so that a batch reads one number a rule rather than the rule's text columns. Returns what to read them
    from: the file, or a table of `con` when the file cannot be written (a full disk, a store mounted
    read-only)."""
    path = keys_file(stored, spec)
    if path.exists():
        return f"read_parquet('{path}')"
    cols = ", ".join(
        f"{_key_hash('c', [b for _, b in r.sides()], r.citizen_filter)} AS k_{r.name}"
        for r in _hashed(spec.blocking)
    )
    select = f"SELECT c.citizen_id, c.id12, c.phone, {cols} FROM read_parquet('{stored.file(REG)}') c"
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    try:
        con.execute(f"COPY ({select}) TO '{tmp}' (FORMAT parquet)")
        tmp.replace(path)
    except (OSError, duckdb.IOException):
        tmp.unlink(missing_ok=True)
        con.execute(f"CREATE OR REPLACE TABLE _reg_keys_read AS {select}")
        return "_reg_keys_read"
    return f"read_parquet('{path}')"


def _reads_holders(rule: BlockingRule) -> bool:
    """Whether the rule's record side reads the holder of the record's number (`pipeline.HOLDER_COLUMNS`)."""
    used = " ".join([*(a for a, _ in rule.sides()), rule.record_filter])
    return any(col in used for col in HOLDER_COLUMNS)


def load_reached(con: DuckDBPyConnection, stored: Stored, spec: MatchSpec) -> int:
    """`reg`, `reg_alias`, `reg_home`, `reg_size` and the name tables for the identities of `rec_ident`, read
    from `stored`:
    the citizens the batch can reach. Returns how many were read.

    What each step of the pipeline reads of the register is then what it would read of the whole one:
    - a blocking rule's pairs, and its cap (citizens per key), for every key a record has (with the holder of
      its number, for the rules that read the holder: `pipeline.holder_records`): every citizen with that key
      is read, but where the rule's own filters leave a side out (a record's birth date known
      to the day, for the rule of imprecise records' dates): a record the rule's filter leaves out is
      paired by it with no one, and the rule neither pairs nor counts under its cap a citizen its filter
      leaves out (their key is NULL);
    - the owner of a record's number or old CMND, the household of its phone: every citizen holding them;
    - the estimation's random pairs: the first citizens by hash of their id, as many as it draws;
    - the value counts, the register's size and how many citizens carry each given name are the whole
      register's, stored with it; the given names of every household a reached citizen belongs to.
    """
    reg = f"read_parquet('{stored.file(REG)}')"
    alias = f"read_parquet('{stored.file(REG_ALIAS)}')"
    # The records with their numbers' holders (`pipeline.holder_records`), for the rules that read them: the
    # holders of the batch's numbers, and their rows, read once.
    owners, aliases = number_holders(
        f"(SELECT * FROM {reg} WHERE id12 IN (SELECT id12 FROM {REC_IDENT} WHERE id12 IS NOT NULL))",
        f"(SELECT * FROM {alias} WHERE id9 IN (SELECT id9 FROM {REC_IDENT} WHERE id9 IS NOT NULL))",
    )
    con.execute(f"""CREATE OR REPLACE TABLE _holder_of AS SELECT i.ident_id, o.owner_id, a.alias_owner FROM {REC_IDENT} i
        LEFT JOIN ({owners}) o ON o.id12 = i.id12 LEFT JOIN ({aliases}) a ON a.id9 = i.id9""")
    con.execute(f"""CREATE OR REPLACE TABLE _holders AS
        SELECT citizen_id, household_id, given_key, dob FROM {reg} WHERE citizen_id IN (
        SELECT owner_id FROM _holder_of UNION SELECT alias_owner FROM _holder_of)""")
    con.execute(
        f"CREATE OR REPLACE TABLE _rec_holders AS SELECT * FROM {holder_records('_holder_of', '_holders')}"
    )
    # One pass over the register's kept keys: a citizen is read when any of its keys is among the batch's,
    # hashed as the matching hashes them (NULL where a side is blank or the rule's own filter leaves it out).
    keys = write_keys(con, stored, spec)
    wanted = []
    for rule in _hashed(spec.blocking):
        records = "_rec_holders" if _reads_holders(rule) else REC_IDENT
        rec = _key_hash("r", [a for a, _ in rule.sides()], rule.record_filter)
        wanted.append(
            f"c.k_{rule.name} IN (SELECT k FROM (SELECT DISTINCT {rec} AS k FROM {records} r) x WHERE k IS NOT NULL)"
        )
    wanted += [
        f"c.id12 IN (SELECT id12 FROM {REC_IDENT} WHERE id12 IS NOT NULL)",
        f"(c.phone <> '' AND c.phone IN (SELECT phone FROM {REC_IDENT} WHERE phone IS NOT NULL))",
    ]
    identities = int(con.execute(f"SELECT count(*) FROM {REC_IDENT}").fetchall()[0][0])
    k = random_citizens(spec, identities)
    con.execute(
        f"""CREATE OR REPLACE TABLE _reached AS
        SELECT c.citizen_id FROM {keys} c WHERE {" OR ".join(wanted)}
        UNION SELECT citizen_id FROM {alias} WHERE id9 IN (SELECT id9 FROM {REC_IDENT} WHERE id9 IS NOT NULL)
        UNION SELECT citizen_id FROM (SELECT citizen_id FROM {reg} ORDER BY hash(citizen_id), citizen_id LIMIT {k})"""
    )
    con.execute(f"CREATE OR REPLACE TABLE {REG} AS SELECT * FROM {reg} SEMI JOIN _reached USING (citizen_id)")
    # Every alias of a reached citizen, and every citizen's alias a record's old CMND names.
    con.execute(f"""CREATE OR REPLACE TABLE {REG_ALIAS} AS SELECT * FROM {alias} a
        WHERE a.citizen_id IN (SELECT citizen_id FROM _reached)
           OR a.id9 IN (SELECT id9 FROM {REC_IDENT} WHERE id9 IS NOT NULL)""")
    con.execute(f"""CREATE OR REPLACE TABLE {REG_HOME} AS
        SELECT * FROM read_parquet('{stored.file(REG_HOME)}') SEMI JOIN _reached USING (citizen_id)""")
    con.execute(f"CREATE OR REPLACE TABLE {REG_SIZE} AS SELECT CAST({stored.citizens} AS BIGINT) AS total")
    con.execute(
        f"CREATE OR REPLACE TABLE {REG_GIVEN_NAMES} AS SELECT * FROM read_parquet('{stored.file(REG_GIVEN_NAMES)}')"
    )
    con.execute(f"""CREATE OR REPLACE TABLE {REG_HOUSEHOLD_NAMES} AS
        SELECT * FROM read_parquet('{stored.file(REG_HOUSEHOLD_NAMES)}')
        WHERE household_id IN (SELECT household_id FROM {REG} WHERE household_id IS NOT NULL)""")
    con.execute("DROP TABLE _reached")
    for t in ("_rec_holders", "_holders", "_holder_of", "_reg_keys_read"):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    return int(con.execute(f"SELECT count(*) FROM {REG}").fetchall()[0][0])
