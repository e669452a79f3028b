"""The matching pipeline as named SQL steps: block, compare, score, rank, classify, explain.

Input tables (built by `prepare.py`): `rec_ident`, `reg`, `reg_alias`, `reg_tf`. Each step is one
SELECT that creates a table of its name, so every intermediate result can be inspected. The SQL uses
only constructs that DuckDB and Spark SQL share (written in DuckDB's dialect; other engines transpile).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from vaxlink.matching.spec import BlockingRule, MatchSpec

SURFACE_LEVELS = frozenset(
    {
        "ID_EXACT",
        "ID_OLD_CMND",
        "ID_LOST_ZERO",
        "ID_MISSING",
        "ID_TYPO",
        "ID_TRANSPOSED",
        "NAME_EXACT",
        "NAME_DIACRITICS",
        "NAME_ORDER",
        "NAME_MIDDLE_DROPPED",
        "NAME_TYPO",
        "DOB_EXACT",
        "DOB_YEAR_ONLY",
        "DOB_DAY_MONTH_SWAPPED",
        "DOB_TYPO",
        "SEX_SAME",
        "SEX_MISSING",
        "SEX_DIFFERS",
        "WARD_SAME",
        "WARD_MISSING",
        "WARD_DIFFERS",
    }
)
# Levels that never allow an automatic link, whatever the total: the record may be another person.
VETO_LEVELS = ("NAME_GIVEN_DIFFERS", "NAME_DIFFERENT", "DOB_DIFFERENT", "DOB_SAME_YEAR")
# Weights are rounded to a millionth of a bit: engines compute log2 with different libraries, and a
# last-place difference would otherwise decide a margin or threshold met exactly (twins whose levels
# differ by exactly min_margin) one way on DuckDB and the other on Spark.
WEIGHT_DECIMALS = 6


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    sql: str


class PairLimitExceeded(RuntimeError):
    """Blocking would generate more candidate pairs than the spec allows."""


def _near_ids(a: str, b: str) -> str:
    """Cheap gate before edit distance: one wrong digit or two swapped neighbours leave the first six or
    the last six digits intact, or both ends when the swap straddles the middle."""
    return (
        f"(substr({a}, 1, 6) = substr({b}, 1, 6) OR substr({a}, 7, 6) = substr({b}, 7, 6)"
        f" OR (substr({a}, 1, 5) = substr({b}, 1, 5) AND substr({a}, 8, 5) = substr({b}, 8, 5)))"
    )


def _transposed(a: str, b: str, n: int) -> str:
    """True when b is a with two adjacent characters swapped (and a <> b)."""
    alts = []
    for i in range(1, n):
        alts.append(
            f"(substr({a}, 1, {i - 1}) = substr({b}, 1, {i - 1}) AND substr({a}, {i}, 1) = substr({b}, {i + 1}, 1)"
            f" AND substr({a}, {i + 1}, 1) = substr({b}, {i}, 1) AND substr({a}, {i + 2}) = substr({b}, {i + 2}))"
        )
    return f"({a} <> {b} AND (" + " OR ".join(alts) + "))"


def _rule_side(rule: BlockingRule) -> str:
    return "reg_alias" if rule.keys == ("id9",) else "reg"


def _not_blank(alias: str, cols: list[str]) -> str:
    return " AND ".join(f"{alias}.{k} IS NOT NULL AND CAST({alias}.{k} AS VARCHAR) <> ''" for k in cols)


def _filters(rule: BlockingRule) -> tuple[str, str]:
    """The rule's side filters as ` AND ...` suffixes (record side, citizen side)."""
    return (
        f" AND ({rule.record_filter})" if rule.record_filter else "",
        f" AND ({rule.citizen_filter})" if rule.citizen_filter else "",
    )


def pair_estimate_sql(rule: BlockingRule) -> str:
    """Pairs the rule would generate, computed from key counts without generating them."""
    sides = rule.sides()
    rf, cf = _filters(rule)
    rcols = ", ".join(f"r.{a} AS k{i}" for i, (a, _) in enumerate(sides))
    ccols = ", ".join(f"c.{b} AS k{i}" for i, (_, b) in enumerate(sides))
    groups = ", ".join(f"k{i}" for i in range(len(sides)))
    on = " AND ".join(f"a.k{i} = b.k{i}" for i in range(len(sides)))
    having = "" if rule.max_citizens_per_key is None else f"HAVING count(*) <= {rule.max_citizens_per_key}"
    return f"""SELECT coalesce(sum(a.n * b.n), 0) FROM
        (SELECT {groups}, count(*) AS n FROM (SELECT {rcols} FROM rec_ident r
           WHERE {_not_blank("r", [a for a, _ in sides])}{rf}) x GROUP BY {groups}) a
        JOIN (SELECT {groups}, count(*) AS n FROM (SELECT {ccols} FROM {_rule_side(rule)} c
           WHERE {_not_blank("c", [b for _, b in sides])}{cf}) y GROUP BY {groups}
              {having}) b ON {on}"""


def _weights(spec: MatchSpec, comparison: str, column: str) -> str:
    c = spec.comparison(comparison)
    return (
        "CASE "
        + " ".join(f"WHEN {column} = '{lv.name}' THEN {lv.weight!r}" for lv in c.levels)
        + " ELSE 0 END"
    )


def blocking_steps(rule: BlockingRule) -> tuple[list[Step], str]:
    """The steps a rule needs first (the keys under its cap) and the SELECT of its candidate pairs."""
    side, sides = _rule_side(rule), rule.sides()
    ccols = ", ".join(b for _, b in sides)
    cond = " AND ".join(f"r.{a} = c.{b}" for a, b in sides)
    rf, cf = _filters(rule)
    before, capped = [], ""
    if rule.max_citizens_per_key is not None:
        before.append(
            Step(
                f"block_keys_{rule.name}",
                f"""
            SELECT {ccols} FROM {side} c WHERE {_not_blank("c", [b for _, b in sides])}{cf}
            GROUP BY {ccols} HAVING count(*) <= {rule.max_citizens_per_key}""",
            )
        )
        key_on = " AND ".join(f"k.{b} = c.{b}" for _, b in sides)
        capped = f"JOIN block_keys_{rule.name} k ON {key_on}"
    select = f"""SELECT r.ident_id, c.citizen_id FROM rec_ident r
        JOIN {side} c ON {cond} {capped}
        WHERE {_not_blank("r", [a for a, _ in sides])}{rf}{cf}"""
    return before, select


def steps(spec: MatchSpec) -> list[Step]:
    out: list[Step] = []
    pair_selects = []
    for rule in spec.blocking:
        before, select = blocking_steps(rule)
        out.extend(before)
        pair_selects.append(select)
    out.append(
        Step(
            "pairs", "SELECT DISTINCT ident_id, citizen_id FROM (" + " UNION ALL ".join(pair_selects) + ") u"
        )
    )

    id_level = f"""CASE
        WHEN r.id12 IS NOT NULL AND r.id12 = c.personal_id AND r.id_kind = 'lost_zero' THEN 'ID_LOST_ZERO'
        WHEN r.id12 IS NOT NULL AND r.id12 = c.personal_id THEN 'ID_EXACT'
        WHEN r.id9 IS NOT NULL AND l.alias_owner = c.citizen_id THEN 'ID_OLD_CMND'
        WHEN r.id12 IS NOT NULL AND l.owner_id IS NOT NULL AND l.owner_id <> c.citizen_id
             AND l.owner_household = c.household_id THEN 'ID_OF_HOUSEHOLD_MEMBER'
        WHEN r.id12 IS NOT NULL AND {_near_ids("r.id12", "c.personal_id")}
             THEN CASE WHEN levenshtein(r.id12, c.personal_id) = 1 THEN 'ID_TYPO'
                       WHEN {_transposed("r.id12", "c.personal_id", 12)} THEN 'ID_TRANSPOSED'
                       ELSE 'ID_DIFFERENT' END
        WHEN r.id_kind = 'empty' THEN 'ID_MISSING'
        WHEN r.id_kind = 'other' THEN 'ID_OTHER_DOCUMENT'
        ELSE 'ID_DIFFERENT' END"""
    typo = """(abs(length(r.name_key) - length(c.name_key)) <= 2 AND (levenshtein(r.name_key, c.name_key) <= 1
               OR (length(c.name_key) >= 14 AND levenshtein(r.name_key, c.name_key) <= 2)))"""
    name_level = f"""CASE
        WHEN r.full_name = c.full_name THEN 'NAME_EXACT'
        WHEN r.name_key = c.name_key AND (NOT r.has_marks OR NOT c.has_marks) THEN 'NAME_DIACRITICS'
        WHEN r.name_key = c.name_key THEN 'NAME_MARKS_DIFFER'
        WHEN r.sorted_key = c.sorted_key THEN 'NAME_ORDER'
        WHEN r.family_key = c.family_key AND r.given_key = c.given_key
             AND (r.middle_key = '' OR c.middle_key = '' OR position(r.middle_key IN c.middle_key) > 0
                  OR position(c.middle_key IN r.middle_key) > 0) THEN 'NAME_MIDDLE_DROPPED'
        WHEN r.name_sig = c.name_sig AND levenshtein(r.name_key, c.name_key) <= 2 THEN 'NAME_TYPO'
        WHEN r.family_key = c.family_key AND r.given_key <> c.given_key
             AND levenshtein(r.given_key, c.given_key) > 1 THEN 'NAME_GIVEN_DIFFERS'
        WHEN {typo} THEN 'NAME_TYPO'
        ELSE 'NAME_DIFFERENT' END"""
    dob_level = """CASE
        WHEN r.dob IS NOT NULL AND r.dob = c.dob THEN 'DOB_EXACT'
        WHEN (r.dob_precision IN ('year', 'month') OR c.dob_precision IN ('year', 'month'))
             AND r.dob_year = c.dob_year
             AND (r.dob_month IS NULL OR c.dob_month IS NULL OR r.dob_month = c.dob_month) THEN 'DOB_YEAR_ONLY'
        WHEN r.dob IS NOT NULL AND c.dob IS NOT NULL AND r.dob_year = c.dob_year
             AND r.dob_month = c.dob_day AND r.dob_day = c.dob_month THEN 'DOB_DAY_MONTH_SWAPPED'
        WHEN r.dob IS NOT NULL AND c.dob IS NOT NULL
             AND (CASE WHEN r.dob_year = c.dob_year THEN 1 ELSE 0 END + CASE WHEN r.dob_month = c.dob_month
                  THEN 1 ELSE 0 END + CASE WHEN r.dob_day = c.dob_day THEN 1 ELSE 0 END) = 2
             AND levenshtein(r.dob, c.dob) = 1 THEN 'DOB_TYPO'
        WHEN r.dob_year = c.dob_year THEN 'DOB_SAME_YEAR'
        ELSE 'DOB_DIFFERENT' END"""
    # What the record's numbers point at, looked up once per identity rather than once per pair.
    out.append(
        Step(
            "rec_lookup",
            """
        SELECT r.ident_id, min(o.citizen_id) AS owner_id, min(o.household_id) AS owner_household,
               min(a.citizen_id) AS alias_owner
        FROM rec_ident r
        LEFT JOIN reg o ON o.id12 = r.id12
        LEFT JOIN reg_alias a ON a.id9 = r.id9
        GROUP BY r.ident_id""",
        )
    )
    name_w = _weights(spec, "name", "name_level")
    veto = ", ".join(f"'{v}'" for v in VETO_LEVELS)
    out.append(
        Step(
            "scored",
            f"""
        SELECT ident_id, citizen_id, reg_has_marks, reg_dob_precision, id_level, name_level, dob_level,
               sex_level, ward_level, phone_level,
               round(prior + ({_weights(spec, "id", "id_level")})
               + (CASE WHEN name_level IN ('NAME_EXACT', 'NAME_DIACRITICS', 'NAME_ORDER')
                       THEN name_tf_weight ELSE 0 END) + ({name_w})
               + ({_weights(spec, "dob", "dob_level")})
               + ({_weights(spec, "sex", "sex_level")})
               + (CASE WHEN ward_level = 'WARD_SAME' THEN ward_tf_weight ELSE 0 END)
               + ({_weights(spec, "ward", "ward_level")})
               + ({_weights(spec, "phone", "phone_level")}), {WEIGHT_DECIMALS}) AS weight,
               CASE WHEN name_level IN ({veto}) OR dob_level IN ({veto}) THEN 1 ELSE 0 END AS veto
        FROM (
          SELECT p.ident_id, p.citizen_id, c.has_marks AS reg_has_marks, c.dob_precision AS reg_dob_precision,
                 {id_level} AS id_level, {name_level} AS name_level, {dob_level} AS dob_level,
                 CASE WHEN r.sex IS NULL THEN 'SEX_MISSING' WHEN r.sex = c.sex THEN 'SEX_SAME'
                      ELSE 'SEX_DIFFERS' END AS sex_level,
                 CASE WHEN r.ward IS NULL THEN 'WARD_MISSING' WHEN r.ward = c.ward OR r.ward = c.home_ward
                      THEN 'WARD_SAME' ELSE 'WARD_DIFFERS' END AS ward_level,
                 CASE WHEN r.phone IS NULL OR c.phone = '' THEN 'PHONE_MISSING' WHEN r.phone = c.phone
                      THEN 'PHONE_SAME' ELSE 'PHONE_DIFFERS' END AS phone_level,
                 least({spec.name_tf_max_weight!r}, log2({spec.name_m!r} * z.total /
                       CASE WHEN r.full_name = c.full_name THEN c.tf_exact_n ELSE c.tf_key_n END)) AS name_tf_weight,
                 least({spec.ward_tf_max_weight!r}, log2({spec.ward_m!r} * z.total / coalesce(c.tf_ward_n, z.total)))
                   AS ward_tf_weight,
                 log2({spec.presence!r} / z.total) AS prior
          FROM pairs p
          JOIN rec_ident r ON r.ident_id = p.ident_id
          JOIN rec_lookup l ON l.ident_id = p.ident_id
          JOIN reg c ON c.citizen_id = p.citizen_id
          CROSS JOIN reg_size z) x""",
        )
    )
    # Candidates too weak to be reviewed, or to stand between the best one and a link, are not ranked.
    floor = min(spec.review_threshold, spec.link_threshold - spec.min_margin)
    out.append(
        Step(
            "ranked",
            f"""
        SELECT *, row_number() OVER (PARTITION BY ident_id ORDER BY weight DESC, citizen_id) AS rank,
               count(*) OVER (PARTITION BY ident_id) AS n_candidates
        FROM scored WHERE weight >= {floor!r}""",
        )
    )
    reasons = (
        "concat_ws(';', "
        + ", ".join(
            [
                "CASE WHEN b.id_level <> 'ID_EXACT' THEN b.id_level END",
                "CASE WHEN b.name_level <> 'NAME_EXACT' THEN b.name_level END",
                "CASE WHEN b.dob_level <> 'DOB_EXACT' THEN b.dob_level END",
                "CASE WHEN b.sex_level IN ('SEX_DIFFERS', 'SEX_MISSING') THEN b.sex_level END",
                "CASE WHEN b.ward_level = 'WARD_DIFFERS' THEN b.ward_level END",
                "CASE WHEN s.weight IS NOT NULL AND b.weight - s.weight < "
                + repr(spec.min_margin)
                + " THEN 'AMBIGUOUS_CANDIDATES' END",
            ]
        )
        + ")"
    )
    out.append(
        Step(
            "classified",
            f"""
        SELECT i.ident_id,
               CASE WHEN b.citizen_id IS NULL OR b.weight < {spec.review_threshold!r} THEN 'unmatched'
                    WHEN b.weight >= {spec.link_threshold!r} AND b.veto = 0
                         AND (s.weight IS NULL OR b.weight - s.weight >= {spec.min_margin!r}) THEN 'linked'
                    ELSE 'review' END AS outcome,
               b.citizen_id AS best_citizen_id, b.weight AS best_weight, s.citizen_id AS second_citizen_id,
               s.weight AS second_weight, coalesce(b.n_candidates, 0) AS n_candidates,
               b.id_level, b.name_level, b.dob_level, b.sex_level, b.ward_level, b.phone_level,
               CASE WHEN b.citizen_id IS NULL THEN 'NO_CANDIDATE' ELSE {reasons} END AS reasons,
               CASE WHEN b.name_level = 'NAME_DIACRITICS' AND NOT b.reg_has_marks THEN 'register'
                    WHEN b.dob_level = 'DOB_YEAR_ONLY' AND b.reg_dob_precision <> 'day' THEN 'register'
                    ELSE 'health' END AS blame
        FROM rec_ident i
        LEFT JOIN ranked b ON b.ident_id = i.ident_id AND b.rank = 1
        LEFT JOIN ranked s ON s.ident_id = i.ident_id AND s.rank = 2""",
        )
    )
    return out


Runner = Callable[[Step], None]
