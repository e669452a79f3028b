"""The parameters routes share: row ids, the fields of the pages' forms, who may call (the principal
holding a permission), and the statistics' units by structure, level and code."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Form, Path, Query

from vaxlink.domain.permissions import Permission
from vaxlink.services.access.auth import Principal
from vaxlink.web.security import require

RowId = Annotated[int, Path(ge=1, le=2**53)]
FormVersion = Annotated[int, Form(ge=1, le=2**31 - 1)]
FormText = Annotated[str, Form(max_length=400)]
# What a page says was just done (`?done=linked`), and the token of a result kept for the page (held.py).
Done = Annotated[str | None, Query(pattern=r"^[a-z_]{0,24}$")]
HeldToken = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{0,40}$")]

Acting = Annotated[Principal, Depends(require(Permission.CASE_ACT))]
Listing = Annotated[Principal, Depends(require(Permission.CASE_LIST))]
CaseReading = Annotated[Principal, Depends(require(Permission.CASE_READ))]
Assigning = Annotated[Principal, Depends(require(Permission.CASE_ASSIGN))]
Reading = Annotated[Principal, Depends(require(Permission.CITIZEN_READ))]
Searching = Annotated[Principal, Depends(require(Permission.CITIZEN_SEARCH))]
Correcting = Annotated[Principal, Depends(require(Permission.CITIZEN_CORRECT))]
Approving = Annotated[Principal, Depends(require(Permission.CHANGE_APPROVE))]
Sending = Annotated[Principal, Depends(require(Permission.VERIFICATION_SEND))]
Answering = Annotated[Principal, Depends(require(Permission.VERIFICATION_ANSWER))]
BatchReading = Annotated[Principal, Depends(require(Permission.BATCH_READ))]
Uploading = Annotated[Principal, Depends(require(Permission.BATCH_UPLOAD))]
Checking = Annotated[Principal, Depends(require(Permission.LOOKUP_STATUS))]
StatsReading = Annotated[Principal, Depends(require(Permission.STATS_READ))]
SessionReading = Annotated[Principal, Depends(require(Permission.SESSION_READ))]

UnitsParam = Literal["legacy", "2025"]
LevelParam = Literal["province", "district", "ward"]
UnitsPath = Annotated[UnitsParam, Path()]
LevelPath = Annotated[LevelParam, Path()]
CodePath = Annotated[str, Path(pattern=r"^[0-9]{2,5}$")]
ViewQuery = Annotated[UnitsParam | None, Query(description="structure of the breakdown")]


async def unit_path(unit_units: UnitsPath, level: LevelPath, code: CodePath) -> tuple[str, str, str]:
    """The unit a URL names: /{unit_units}/{level}/{code}."""
    return unit_units, level, code


UnitPath = Annotated[tuple[str, str, str], Depends(unit_path)]
