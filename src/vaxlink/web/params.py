"""The path and query parameters of the statistics API and the dashboard pages: a unit by structure, level
and code, and the structure a breakdown is shown in."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Path, Query

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
