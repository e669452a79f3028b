"""Every level the matcher can name has words in Vietnamese and English: no raw code reaches a page."""

from __future__ import annotations

from vaxlink.matching.spec import MatchSpec
from vaxlink.services.reconciliation.taken_doses import REASON
from vaxlink.web.i18n import REASONS


def test_every_level_and_reason_has_words() -> None:
    codes = {lv.name for c in MatchSpec().comparisons for lv in c.levels}
    codes |= {"AMBIGUOUS_CANDIDATES", "NO_CANDIDATE", "EVIDENCE_FROM_OTHER_RECORDS", REASON}
    missing = sorted(code for code in codes if code not in REASONS)
    assert missing == []
    assert all(vi and en and vi != en for vi, en in (REASONS[c] for c in codes))
