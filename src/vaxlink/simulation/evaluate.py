"""Score a reconciliation result against the simulator's truth: precision, recall, review share, absent links."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb


@dataclass(frozen=True)
class Evaluation:
    records: int  # dose records in the truth
    usable: int  # records not rejected
    linked: int  # automatic links
    linked_correct: int
    linkable: int  # usable records whose person is in the register
    review: int
    unmatched: int
    rejected: int
    absent_records: int  # usable records of people absent from the register
    absent_linked: int  # ... wrongly linked to someone
    review_correct_candidate: int

    @property
    def precision(self) -> float:
        return self.linked_correct / self.linked if self.linked else 1.0

    @property
    def recall(self) -> float:
        return self.linked_correct / self.linkable if self.linkable else 1.0

    @property
    def review_share(self) -> float:
        return self.review / self.usable if self.usable else 0.0

    @property
    def absent_link_rate(self) -> float:
        return self.absent_linked / self.absent_records if self.absent_records else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            **asdict(self),
            "precision": self.precision,
            "recall": self.recall,
            "review_share": self.review_share,
            "absent_link_rate": self.absent_link_rate,
        }

    def summary(self) -> str:
        return (
            f"precision {self.precision:.5%} · recall {self.recall:.4%} · review {self.review_share:.3%} · "
            f"absent linked {self.absent_linked}/{self.absent_records} · linked {self.linked:,} · "
            f"review {self.review:,} · unmatched {self.unmatched:,} · rejected {self.rejected:,}"
        )


def evaluate(result_file: Path, truth_file: Path) -> Evaluation:
    """`result_file`: the `reconcile export` contract; `truth_file`: the simulator's truth."""
    con = duckdb.connect()
    try:

        def read(p: Path) -> str:
            return f"read_parquet('{p}')" if p.suffix == ".parquet" else f"read_csv('{p}', all_varchar=true)"

        row = con.execute(f"""
            WITH j AS (
              SELECT t.record_id, nullif(t.personal_id, '') AS truth, r.outcome, nullif(r.personal_id, '') AS got,
                     nullif(r.candidate_personal_id, '') AS cand
              FROM {read(truth_file)} t LEFT JOIN {read(result_file)} r USING (record_id))
            SELECT count(*),
                   count(*) FILTER (WHERE outcome <> 'rejected'),
                   count(*) FILTER (WHERE outcome = 'linked'),
                   count(*) FILTER (WHERE outcome = 'linked' AND got = truth),
                   count(*) FILTER (WHERE outcome <> 'rejected' AND truth IS NOT NULL),
                   count(*) FILTER (WHERE outcome = 'review'),
                   count(*) FILTER (WHERE outcome = 'unmatched'),
                   count(*) FILTER (WHERE outcome = 'rejected' OR outcome IS NULL),
                   count(*) FILTER (WHERE outcome <> 'rejected' AND truth IS NULL),
                   count(*) FILTER (WHERE outcome = 'linked' AND truth IS NULL),
                   count(*) FILTER (WHERE outcome = 'review' AND cand = truth)
            FROM j""").fetchall()[0]
        return Evaluation(*(int(v) for v in row))
    finally:
        con.close()
