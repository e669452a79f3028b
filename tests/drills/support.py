"""What the drills share: their size (short in CI, long behind scripts/drills) and the figures they report.

`VAXLINK_DRILL_LONG=1` selects the long versions; `VAXLINK_DRILL_FIGURES=FILE` collects every figure as a
JSON line (scripts/drills prints them as a table at the end)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

LONG = os.environ.get("VAXLINK_DRILL_LONG") == "1"


def size(short: int, long: int, env: str | None = None) -> int:
    """The drill's size: `env` (a VAXLINK_DRILL_* variable) when set, else the short or the long one."""
    if env and os.environ.get(env):
        return int(os.environ[env])
    return long if LONG else short


def figure(drill: str, what: str, value: object) -> None:
    """Report one measured figure: printed (pytest -s shows it) and collected for the summary."""
    line = {"drill": drill, "what": what, "value": value}
    print(f"FIGURE drill {drill}: {what} = {value}", file=sys.stderr)
    out = os.environ.get("VAXLINK_DRILL_FIGURES")
    if out:
        with Path(out).open("a", encoding="utf-8") as f:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
