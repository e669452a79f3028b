"""The API's response models against the service dataclasses they mirror: a field added to or dropped
from a dataclass fails here until the model follows, or the difference is declared on purpose."""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import pytest
from pydantic import BaseModel

from vaxlink.services.access.auth import Principal
from vaxlink.services.audit import log
from vaxlink.services.workbench import (
    case_view,
    citizen_record,
    citizen_search,
    counter,
    register_changes,
    worklist,
)
from vaxlink.web.api import models


class Mirror(NamedTuple):
    model: type[BaseModel]
    source: type
    left_out: frozenset[str] = frozenset()  # in the dataclass, not shown by the API
    added: frozenset[str] = frozenset()  # in the answer, worked out by the route


MIRRORS = [
    Mirror(models.WorkItemOut, worklist.WorkItem, left_out=frozenset({"subject", "records", "assigned_to"})),
    Mirror(models.WorklistOut, worklist.Worklist, left_out=frozenset({"records"})),
    Mirror(models.CandidateOut, case_view.Candidate, left_out=frozenset({"doses"})),
    Mirror(
        models.CaseOut,
        case_view.CaseView,
        left_out=frozenset({"citizen_name", "assigned_to", "siblings", "names"}),
        added=frozenset({"reason_words"}),
    ),
    Mirror(models.CitizenOut, citizen_record.CitizenView, left_out=frozenset({"names"})),
    Mirror(models.CorrectionOut, register_changes.CorrectionResult, added=frozenset({"outcome"})),
    # Same fields; the nested citizen view and work items are the models above, not the dataclasses.
    Mirror(models.CounterOut, counter.CounterResult),
    Mirror(models.AuditVerifyOut, log.VerifyReport, added=frozenset({"ok"})),
    Mirror(
        models.MeOut,
        Principal,
        left_out=frozenset({"user_id", "via", "session_id", "csrf_token"}),
    ),
]

# Where the API shows a dataclass whole, the dataclass itself is the response model.
SAME = [
    (models.FieldRowOut, case_view.FieldRow),
    (models.DoseOut, case_view.DoseView),
    (models.CitizenHitOut, citizen_search.CitizenHit),
    (models.ChangeOut, register_changes.ChangeView),
    (models.CardDifferenceOut, counter.CardDifference),
    (models.FindingOut, log.Finding),
]


def _fields(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


@pytest.mark.parametrize("mirror", MIRRORS, ids=lambda m: m.model.__name__)
def test_a_mirror_differs_from_its_dataclass_only_as_declared(mirror: Mirror) -> None:
    shown = set(mirror.model.model_fields)
    source = _fields(mirror.source)
    assert mirror.left_out <= source, "declared as left out, but no longer in the dataclass"
    assert not mirror.added & source, "declared as added, but the dataclass has it now"
    assert shown == (source - mirror.left_out) | mirror.added


@pytest.mark.parametrize(("alias", "source"), SAME, ids=lambda v: getattr(v, "__name__", ""))
def test_a_whole_dataclass_is_its_own_response_model(alias: type, source: type) -> None:
    assert alias is source
    assert dataclasses.is_dataclass(source)
