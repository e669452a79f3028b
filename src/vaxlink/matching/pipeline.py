"""The matching pipeline as named SQL steps: block, compare, score, gather, rank, classify.

Input tables (built by `prepare.py`): `rec_ident` (one row per health identity, with its `group_id`: the
identities that share a name and a birth date, a number or a phone are one person's), `reg`, `reg_alias`,
`reg_size`, `reg_given_names` and `reg_household_names`.
Each step is one SELECT that creates a table of its name, so every intermediate result can be inspected:
`reg_keys` and `rec_keys` (the blocking keys, hashed), `pairs` (candidate pairs), `rec_lookup` (what the
record's numbers point at), `compared` (each pair's level per comparison), `scored` (weights and vetoes),
`own_top`, `group_support` and `evidence` (per identity, the best evidence any record of its group gives for
each citizen), `ranked`, `rivals` and `classified`; `tables.py` names them, with who reads each. Every
condition and weight comes from the spec; the SQL uses only constructs that DuckDB and Spark SQL share
(written in DuckDB's dialect; other engines transpile).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vaxlink.matching.levels import BlockingRule, Comparison, Level
from vaxlink.matching.spec import MatchSpec
from vaxlink.matching.tables import (
    CLASSIFIED,
    COMPARED,
    EVIDENCE,
    GROUP_SUPPORT,
    OWN_TOP,
    PAIRS,
    RANKED,
    REC_IDENT,
    REC_KEYS,
    REC_LOOKUP,
    REG,
    REG_ALIAS,
    REG_GIVEN_NAMES,
    REG_HOUSEHOLD_NAMES,
    REG_KEYS,
    REG_SIZE,
    RIVALS,
    SCORED,
    block_keys,
)

# Weights are rounded to a millionth of a bit: engines compute log2 with different libraries, and a
# last-place difference would otherwise decide a threshold met exactly one way on DuckDB and the other on
# Spark.
WEIGHT_DECIMALS = 6
PROBABILITY_DECIMALS = 12
COMPARISONS = ("id", "name", "dob", "sex", "ward", "address", "phone")
LEVEL_COLUMNS = tuple(f"{c}_level" for c in COMPARISONS)
# Each comparison's part of a pair's weight, and the prior: the waterfall a ward officer sees on a case.
WEIGHT_COLUMNS = ("w_prior", *(f"w_{c}" for c in COMPARISONS))


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    sql: str


class PairLimitExceeded(RuntimeError):
    """Blocking would generate more candidate pairs than the spec allows."""


def _rule_side(rule: BlockingRule) -> str:
    return REG_ALIAS if rule.keys == ("id9",) else REG


def _not_blank(alias: str, cols: list[str]) -> str:
    return " AND ".join(f"{alias}.{k} IS NOT NULL AND CAST({alias}.{k} AS VARCHAR) <> ''" for k in cols)


def _filters(rule: BlockingRule) -> tuple[str, str]:
    """The rule's side filters as ` AND ...` suffixes (record side, citizen side)."""
    return (
        f" AND ({rule.record_filter})" if rule.record_filter else "",
        f" AND ({rule.citizen_filter})" if rule.citizen_filter else "",
    )


def pair_estimate_sql(rule: BlockingRule) -> str:
    """Pairs the rule would generate, computed from key counts without generating them (after
    `key_steps`: the keys are counted as hashed)."""
    if _rule_side(rule) == REG_ALIAS:
        sides = rule.sides()
        rf, cf = _filters(rule)
        rcols = ", ".join(f"r.{a} AS k{i}" for i, (a, _) in enumerate(sides))
        ccols = ", ".join(f"c.{b} AS k{i}" for i, (_, b) in enumerate(sides))
        groups = ", ".join(f"k{i}" for i in range(len(sides)))
        on = " AND ".join(f"a.k{i} = b.k{i}" for i in range(len(sides)))
        return f"""SELECT coalesce(sum(a.n * b.n), 0) FROM
        (SELECT {groups}, count(*) AS n FROM (SELECT {rcols} FROM {REC_IDENT} r
           WHERE {_not_blank("r", [a for a, _ in sides])}{rf}) x GROUP BY {groups}) a
        JOIN (SELECT {groups}, count(*) AS n FROM (SELECT {ccols} FROM {REG_ALIAS} c
           WHERE {_not_blank("c", [b for _, b in sides])}{cf}) y GROUP BY {groups}) b ON {on}"""
    k = f"k_{rule.name}"
    having = "" if rule.max_citizens_per_key is None else f" HAVING count(*) <= {rule.max_citizens_per_key}"
    return f"""SELECT coalesce(sum(a.n * b.n), 0) FROM
        (SELECT {k} AS k, count(*) AS n FROM {REC_KEYS} WHERE {k} IS NOT NULL GROUP BY {k}) a
        JOIN (SELECT {k} AS k, count(*) AS n FROM {REG_KEYS} WHERE {k} IS NOT NULL GROUP BY {k}{having}) b
        ON a.k = b.k"""


def _key_hash(alias: str, cols: list[str], side_filter: str) -> str:
    """A rule's key on one side as one 64-bit hash; NULL where a key column is blank or the side's filter
    fails, so that such a row never meets the other side."""
    cond = _not_blank(alias, cols) + (f" AND ({side_filter})" if side_filter else "")
    return f"CASE WHEN {cond} THEN hash({', '.join(f'{alias}.{c}' for c in cols)}) END"


def _hashed(rules: Sequence[BlockingRule]) -> list[BlockingRule]:
    return [r for r in rules if _rule_side(r) == REG]


# The household of the citizen who holds the record's number or old CMND (`lookup_step`), and that holder's
# given name and birth date: columns of the record's side for the blocking rules, made from the register
# before the records' keys.
ID_HOUSEHOLD = "id_household"
HOLDER_COLUMNS = (ID_HOUSEHOLD, "holder_given_key", "holder_dob")


def record_key_step(rules: Sequence[BlockingRule]) -> Step:
    """`rec_keys`: every rule's key per identity, hashed once (see `register_key_steps`). Besides the
    identity's own columns a rule may use `HOLDER_COLUMNS` (after `lookup_step`)."""
    cols = ", ".join(
        f"{_key_hash('r', [a for a, _ in r.sides()], r.record_filter)} AS k_{r.name}" for r in _hashed(rules)
    )
    return Step(REC_KEYS, f"SELECT r.ident_id, {cols} FROM {holder_records(REC_LOOKUP)} r")


def holder_records(lookup: str, reg: str = REG) -> str:
    """`rec_ident` with `HOLDER_COLUMNS` (a parenthesised SELECT), from `lookup`: a table or query with
    `ident_id`, `owner_id` and `alias_owner` as `lookup_step` makes them (`number_holders`)."""
    return f"""(SELECT i.*, h.household_id AS {ID_HOUSEHOLD}, h.given_key AS holder_given_key,
               h.dob AS holder_dob
        FROM {REC_IDENT} i LEFT JOIN {lookup} l ON l.ident_id = i.ident_id
        LEFT JOIN {reg} h ON h.citizen_id = coalesce(l.owner_id, l.alias_owner))"""


def number_holders(reg: str = REG, alias: str = REG_ALIAS) -> tuple[str, str]:
    """Who holds a number: the SELECTs of each 12-digit number's holder (`owner_id`, with `owner_household`)
    and of each old CMND's (`alias_owner`), the lowest citizen where several do."""
    return (
        f"SELECT id12, min(citizen_id) AS owner_id, min(household_id) AS owner_household FROM {reg} GROUP BY id12",
        f"SELECT id9, min(citizen_id) AS alias_owner FROM {alias} GROUP BY id9",
    )


def register_key_steps(rules: Sequence[BlockingRule]) -> list[Step]:
    """`reg_keys`, every rule's key per citizen hashed once, and each capped rule's keys under its cap
    (`block_keys_<rule>`): they depend on the register alone, so a run makes them once for all its
    partitions and its estimation.

    A join on one 64-bit column costs a fraction of a join on three or four text columns, and each rule
    joins the whole register. Two keys that differ share a hash with probability 2^-64: at a million
    keys a side that is one spurious candidate pair in about 10^7 runs, and a spurious pair is compared
    and scored on its fields like any other. The hash is the engine's own and is never stored: both sides
    are hashed in the same run.
    """
    rules = _hashed(rules)
    cols = ", ".join(
        f"{_key_hash('c', [b for _, b in r.sides()], r.citizen_filter)} AS k_{r.name}" for r in rules
    )
    out = [Step(REG_KEYS, f"SELECT c.citizen_id, {cols} FROM {REG} c")]
    for rule in rules:
        if rule.max_citizens_per_key is not None:
            k = f"k_{rule.name}"
            out.append(
                Step(
                    block_keys(rule.name),
                    f"SELECT {k} AS k FROM {REG_KEYS} WHERE {k} IS NOT NULL GROUP BY {k} "
                    f"HAVING count(*) <= {rule.max_citizens_per_key}",
                )
            )
    return out


def key_steps(rules: Sequence[BlockingRule]) -> list[Step]:
    """Every step the rules' pair SELECTs read: the register's keys and caps, what the records' numbers point
    at (`lookup_step`: a rule may pair a record with the household of its number's holder), then the
    records' keys."""
    return [*register_key_steps(rules), lookup_step(), record_key_step(rules)]


def pair_select(rule: BlockingRule) -> str:
    """The SELECT of a rule's candidate pairs (after `key_steps`)."""
    if _rule_side(rule) == REG_ALIAS:
        sides = rule.sides()
        cond = " AND ".join(f"r.{a} = c.{b}" for a, b in sides)
        rf, cf = _filters(rule)
        return f"""SELECT r.ident_id, c.citizen_id FROM {REC_IDENT} r JOIN {REG_ALIAS} c ON {cond}
        WHERE {_not_blank("r", [a for a, _ in sides])}{rf}{cf}"""
    k = f"k_{rule.name}"
    capped = "" if rule.max_citizens_per_key is None else f" JOIN {block_keys(rule.name)} b ON b.k = c.{k}"
    return f"SELECT r.ident_id, c.citizen_id FROM {REC_KEYS} r JOIN {REG_KEYS} c ON r.{k} = c.{k}{capped}"


def blocking_steps(rule: BlockingRule) -> tuple[list[Step], str]:
    """One rule on its own: the steps it needs first and the SELECT of its candidate pairs."""
    return key_steps([rule]), pair_select(rule)


def pairs_step(spec: MatchSpec, name: str = PAIRS) -> Step:
    """`name`: the distinct candidate pairs of every blocking rule (after `key_steps`)."""
    union = " UNION ALL ".join(pair_select(rule) for rule in spec.blocking)
    return Step(name, f"SELECT DISTINCT ident_id, citizen_id FROM ({union}) u")


def level_weight_sql(spec: MatchSpec, comparison: Comparison, level: Level) -> str:
    """The weight of one level on a pair of `compared` (tf counts are columns of it, `total` the register's
    size): for a `tf` level, log2(1 / smoothed share) + log2(m / u)."""
    adj = round(level.weight, WEIGHT_DECIMALS)
    if not level.tf:
        return repr(adj)
    n = "1" if level.tf == "unique" else level.tf
    a = spec.tf_prior_citizens
    share = f"(({n} + {a * level.share!r}) / (total + {a!r}))"
    return f"least({comparison.tf_max_weight!r}, -log2({share}) + {adj!r})"


def comparison_weight_sql(spec: MatchSpec, comparison: Comparison) -> str:
    col = f"{comparison.name}_level"
    whens = " ".join(
        f"WHEN {col} = '{lv.name}' THEN {level_weight_sql(spec, comparison, lv)}" for lv in comparison.levels
    )
    return f"CASE {whens} ELSE 0 END"


def _tf_columns(spec: MatchSpec) -> list[str]:
    return sorted({lv.tf for c in spec.comparisons for lv in c.levels if lv.tf and lv.tf != "unique"})


def compare_step(spec: MatchSpec, pairs: str = PAIRS, name: str = COMPARED) -> Step:
    """Each pair's level per comparison, with the citizen's value counts the tf levels need."""
    levels = ", ".join(f"{c.case_sql()} AS {c.name}_level" for c in spec.comparisons)
    tfs = "".join(f", c.{t}" for t in _tf_columns(spec))
    return Step(
        name,
        f"""
        SELECT p.ident_id, r.group_id, p.citizen_id, c.has_marks AS reg_has_marks,
               c.dob_precision AS reg_dob_precision, {levels}{tfs}, z.total
        FROM {pairs} p
        JOIN {REC_IDENT} r ON r.ident_id = p.ident_id
        JOIN {REC_LOOKUP} l ON l.ident_id = p.ident_id
        JOIN {REG} c ON c.citizen_id = p.citizen_id
        LEFT JOIN {REG_HOUSEHOLD_NAMES} h ON h.household_id = c.household_id AND h.family_key = r.family_key
             AND h.given_key = r.given_key
        CROSS JOIN {REG_SIZE} z""",
    )


def lookup_step() -> Step:
    """What the record's numbers point at, looked up once per identity rather than once per pair: the
    owner of its 12-digit number and their household, the owner of its old CMND and theirs, the household
    whose members alone use its phone, and how many citizens carry its given name (none: a slip, not a name)."""
    owners, aliases = number_holders()
    return Step(
        REC_LOOKUP,
        f"""
        SELECT r.ident_id, o.owner_id, o.owner_household, a.alias_owner, ah.household_id AS alias_household,
               h.phone_household, coalesce(g.given_n, 0) AS given_n
        FROM {REC_IDENT} r
        LEFT JOIN ({owners}) o ON o.id12 = r.id12
        LEFT JOIN ({aliases}) a ON a.id9 = r.id9
        LEFT JOIN {REG} ah ON ah.citizen_id = a.alias_owner
        LEFT JOIN (SELECT phone, min(household_id) AS phone_household FROM {REG}
                   WHERE phone <> '' AND household_id IS NOT NULL
                   GROUP BY phone HAVING count(DISTINCT household_id) = 1) h ON h.phone = r.phone
        LEFT JOIN {REG_GIVEN_NAMES} g ON g.given_key = r.given_key""",
    )


def veto_sql(spec: MatchSpec) -> str:
    """1 when a level of the pair forbids an automatic link (see `Level.veto`), else 0."""
    kinds: dict[str, list[str]] = {"always": [], "unless_strong": [], "unless_corroborated": []}
    for c in spec.comparisons:
        for lv in c.levels:
            if lv.veto:
                kinds[lv.veto].append(f"{c.name}_level = '{lv.name}'")
    cases = []
    if kinds["always"]:
        cases.append(f"WHEN {' OR '.join(kinds['always'])} THEN 1")
    for kind, overrides in (("unless_strong", spec.strong), ("unless_corroborated", spec.corroborated)):
        if kinds[kind]:
            cases.append(f"WHEN ({' OR '.join(kinds[kind])}) AND NOT ({overrides}) THEN 1")
    return f"CASE {' '.join(cases)} ELSE 0 END" if cases else "0"


def score_step(spec: MatchSpec) -> Step:
    parts = ", ".join(
        f"round({comparison_weight_sql(spec, c)}, {WEIGHT_DECIMALS}) AS w_{c.name}" for c in spec.comparisons
    )
    total = " + ".join(WEIGHT_COLUMNS)
    cols = ", ".join(LEVEL_COLUMNS)
    return Step(
        SCORED,
        f"""
        SELECT ident_id, group_id, citizen_id, reg_has_marks, reg_dob_precision, {cols}, {", ".join(WEIGHT_COLUMNS)},
               round({total}, {WEIGHT_DECIMALS}) AS weight, veto, another
        FROM (SELECT *, round(log2({spec.presence!r} / total), {WEIGHT_DECIMALS}) AS w_prior, {parts},
                     {veto_sql(spec)} AS veto, CASE WHEN {spec.another_person} THEN 1 ELSE 0 END AS another
              FROM {COMPARED}) x""",
    )


def evidence_steps(spec: MatchSpec) -> list[Step]:
    """From `scored`: each record's own strongest candidate (`own_top`), what the other records of its health
    identity say of each citizen (`group_support`), and each pair's evidence with what they lend it
    (`evidence`)."""
    lift = (
        f"s.veto = 0 AND t.citizen_id = s.citizen_id AND coalesce(t.second, -1.0E9) < s.weight - {spec.borrow_margin!r}"
        " AND o.weight > s.weight"
    )
    return [
        # The record's own strongest candidate, and how far the next one stays below it.
        Step(
            OWN_TOP,
            f"""
        SELECT ident_id, citizen_id, second FROM (
          SELECT ident_id, citizen_id,
                 row_number() OVER (PARTITION BY ident_id ORDER BY weight DESC, citizen_id) AS rn,
                 lead(weight) OVER (PARTITION BY ident_id ORDER BY weight DESC, citizen_id) AS second
          FROM {SCORED}) x WHERE rn = 1""",
        ),
        # What the other records of the same health identity say of each citizen (none that a veto stops).
        Step(
            GROUP_SUPPORT,
            f"""
        SELECT g.ident_id, s.citizen_id, max(s.weight) AS weight
        FROM {REC_IDENT} g JOIN {SCORED} s ON s.group_id = g.group_id AND s.ident_id <> g.ident_id AND s.veto = 0
        GROUP BY g.ident_id, s.citizen_id""",
        ),
        # A person's several records in the batch are one health identity: a record whose own data single out
        # a citizen (no rival within `borrow_margin`, no veto) takes the stronger evidence its sibling records
        # give for that citizen. It never gains a candidate it did not find itself, so a namesake born the
        # same day, whom the record cannot tell apart, keeps it in review.
        # Only what the ranking and the rivals read, for every pair: the levels and each field's weight are
        # joined back from `scored` for the ranked candidates alone (about a third of the pairs), rather than
        # carried through this step for all of them.
        # A candidate that is another person (`MatchSpec.another_person`: a name not the candidate's with a
        # birth date a generation from theirs, or a number of the record's own that the register does not
        # know) is not the record's person. Where a candidate who could be (no veto, and at least worth a
        # review) stands beside it, it ranks after every other candidate (`after`): a child's name and birth
        # date with a parent's number are weighed on the child. Otherwise it keeps its place, and the record
        # whose best candidate it is goes to the people to collect (`classify_step`): a parent's number on a
        # child not in the register, whatever other member of the household the blocking found.
        # A candidate a generation from the record's birth date (`MatchSpec.generation_apart`) ranks after a
        # member of its household whom the record's number names and whose birth date the record carries
        # (`MatchSpec.dated_member`), where that member is worth a review: a parent's name and number on a
        # child's dose are weighed on the child first, and neither is linked without an officer.
        # Only the few identities with another person, or one a generation apart, among their candidates are
        # looked at for one who could be the record's: a join on them, not a window over every pair.
        Step(
            EVIDENCE,
            f"""
        WITH x AS (
          SELECT s.ident_id, s.citizen_id,
                 CASE WHEN {lift} THEN o.weight ELSE s.weight END AS weight, s.veto, s.another,
                 CASE WHEN {lift} THEN 1 ELSE 0 END AS borrowed,
                 CASE WHEN {spec.generation_apart} THEN 1 ELSE 0 END AS apart,
                 CASE WHEN {spec.dated_member} THEN 1 ELSE 0 END AS dated
          FROM {SCORED} s
          JOIN {OWN_TOP} t ON t.ident_id = s.ident_id
          LEFT JOIN {GROUP_SUPPORT} o ON o.ident_id = s.ident_id AND o.citizen_id = s.citizen_id),
        could AS (
          SELECT ident_id FROM x
          WHERE another = 0 AND veto = 0 AND weight >= {spec.review_threshold!r}
            AND ident_id IN (SELECT ident_id FROM x WHERE another = 1)
          GROUP BY ident_id),
        named AS (
          SELECT ident_id FROM x
          WHERE dated = 1 AND weight >= {spec.review_threshold!r}
            AND ident_id IN (SELECT ident_id FROM x WHERE apart = 1)
          GROUP BY ident_id)
        SELECT x.ident_id, x.citizen_id, x.weight, x.veto, x.another, x.borrowed,
               CASE WHEN (x.another = 1 AND c.ident_id IS NOT NULL) OR (x.apart = 1 AND n.ident_id IS NOT NULL)
                    THEN 1 ELSE 0 END AS after
        FROM x LEFT JOIN could c ON c.ident_id = x.ident_id LEFT JOIN named n ON n.ident_id = x.ident_id""",
        ),
    ]


def rank_steps(spec: MatchSpec) -> list[Step]:
    """From `evidence`: the candidates worth reviewing, ranked, with their levels and weights (`ranked`), and
    the odds of the others against the best one (`rivals`)."""
    own = ", ".join(
        f"s.{c}"
        for c in ("citizen_id", "reg_has_marks", "reg_dob_precision", *LEVEL_COLUMNS, *WEIGHT_COLUMNS)
    )
    # Candidates too weak to be reviewed are not ranked (they still count among the rivals). A pair of
    # `scored` is one (identity, citizen): `pairs` is distinct on both, so the join back finds exactly one row.
    # Another person ranks last where `evidence` says so (`after`).
    order = "after, weight DESC, citizen_id"
    floor = min(spec.review_threshold, -spec.min_margin)
    ranked = Step(
        RANKED,
        f"""
        SELECT e.ident_id, {own}, e.weight, e.veto, e.another, e.borrowed, e.rank, e.n_candidates
        FROM (SELECT *, row_number() OVER (PARTITION BY ident_id ORDER BY {order}) AS rank,
                     count(*) OVER (PARTITION BY ident_id) AS n_candidates
              FROM {EVIDENCE} WHERE weight >= {floor!r}) e
        JOIN {SCORED} s ON s.ident_id = e.ident_id AND s.citizen_id = e.citizen_id""",
    )
    # The odds of the other citizens against the best one (ranked as `ranked` ranks them; another person is
    # nobody's rival): with the odds that the person is nobody in the register, what stands between the best
    # candidate and certainty.
    # The best is the strongest of the candidates `after` leaves first (the lowest citizen among equals); its own
    # odds, 1, come off the sum where it was counted (not another person). A citizen id and the flag are packed
    # into one number, so that the lowest id among the strongest carries its flag through a plain min.
    rivals = Step(
        RIVALS,
        f"""
        SELECT ident_id, max(top) AS best_weight,
               coalesce(sum(CASE WHEN another = 0 THEN pow(2.0, weight - top) END), 0.0)
                 - CASE WHEN min(CASE WHEN after = 0 AND weight = top THEN citizen_id * 2 + another END) % 2 = 0
                        THEN 1.0 ELSE 0.0 END AS rival_odds
        FROM (SELECT ident_id, citizen_id, weight, another, after,
                     max(CASE WHEN after = 0 THEN weight END) OVER (PARTITION BY ident_id) AS top
              FROM {EVIDENCE}) e
        GROUP BY ident_id""",
    )
    return [ranked, rivals]


def _reasons_sql(spec: MatchSpec) -> str:
    """The best candidate's reasons (`b`, of `ranked`), for the officer: each field that does not agree
    exactly, and whether a second candidate (`s`) stands too close (`v`, of `rivals`)."""
    rival_bound = min(spec.max_wrong_link, spec.max_wrong_citizen)
    limit = rival_bound / (1.0 - rival_bound)
    return (
        "concat_ws(';', "
        + ", ".join(
            [
                "CASE WHEN b.id_level <> 'ID_EXACT' THEN b.id_level END",
                "CASE WHEN b.name_level <> 'NAME_EXACT' THEN b.name_level END",
                "CASE WHEN b.dob_level <> 'DOB_EXACT' THEN b.dob_level END",
                "CASE WHEN b.sex_level IN ('SEX_DIFFERS', 'SEX_MISSING') THEN b.sex_level END",
                "CASE WHEN b.ward_level = 'WARD_DIFFERS' THEN b.ward_level END",
                f"CASE WHEN s.weight IS NOT NULL AND v.rival_odds > {limit!r} THEN 'AMBIGUOUS_CANDIDATES' END",
            ]
        )
        + ")"
    )


def classify_step(spec: MatchSpec) -> Step:
    """`classified`, from `ranked` and `rivals`: each identity's outcome, best and second candidate, the
    probability that the best is wrong, its levels, reasons and whose data are to blame."""
    # The probability that the best candidate is not the record's person: rivals, or nobody at all.
    # Rounded: the rivals' odds are a sum whose order (and so its last bits) depends on the threads and on the
    # engine; the same inputs must give the same outcome and score.
    wrong = (
        "round((pow(2.0, -b.weight) + v.rival_odds) / (1.0 + pow(2.0, -b.weight) + v.rival_odds), "
        f"{PROBABILITY_DECIMALS})"
    )
    # Of it, the probability that another citizen of the register is the person.
    other = f"round(v.rival_odds / (1.0 + pow(2.0, -b.weight) + v.rival_odds), {PROBABILITY_DECIMALS})"
    return Step(
        CLASSIFIED,
        f"""
        SELECT i.ident_id,
               CASE WHEN b.citizen_id IS NULL OR b.weight < {spec.review_threshold!r}
                         OR b.another = 1 THEN 'unmatched'
                    WHEN b.veto = 0 AND {wrong} <= {spec.max_wrong_link!r}
                         AND {other} <= {spec.max_wrong_citizen!r} THEN 'linked'
                    ELSE 'review' END AS outcome,
               b.citizen_id AS best_citizen_id, b.weight AS best_weight, s.citizen_id AS second_citizen_id,
               s.weight AS second_weight, coalesce(b.n_candidates, 0) AS n_candidates,
               CASE WHEN b.citizen_id IS NULL THEN NULL ELSE {wrong} END AS wrong_link,
               b.id_level, b.name_level, b.dob_level, b.sex_level, b.ward_level, b.address_level, b.phone_level,
               coalesce(b.borrowed, 0) AS borrowed,
               CASE WHEN b.citizen_id IS NULL THEN 'NO_CANDIDATE' ELSE {_reasons_sql(spec)} END AS reasons,
               CASE WHEN b.name_level = 'NAME_DIACRITICS' AND NOT b.reg_has_marks THEN 'register'
                    WHEN b.dob_level = 'DOB_YEAR_ONLY' AND b.reg_dob_precision <> 'day' THEN 'register'
                    ELSE 'health' END AS blame
        FROM {REC_IDENT} i
        LEFT JOIN {RANKED} b ON b.ident_id = i.ident_id AND b.rank = 1
        LEFT JOIN {RANKED} s ON s.ident_id = i.ident_id AND s.rank = 2
        LEFT JOIN {RIVALS} v ON v.ident_id = i.ident_id""",
    )


def decide_steps(spec: MatchSpec) -> list[Step]:
    """From `scored`: the evidence per identity, the ranking and the classification."""
    return [*evidence_steps(spec), *rank_steps(spec), classify_step(spec)]


def steps(spec: MatchSpec) -> list[Step]:
    return [
        *key_steps(spec.blocking),
        pairs_step(spec),
        compare_step(spec),
        score_step(spec),
        *decide_steps(spec),
    ]
