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


# Combining marks left by NFD (Vietnamese tones and vowel marks are all among them): removed by one
# translate, at C speed, since a drill folds megabytes of logs.
_MARKS = dict.fromkeys(range(0x300, 0x370))


def fold_text(text: str) -> str:
    """Text as the personal-data drills compare it: without diacritics (đ as d), case-folded, so that a
    name matches as written, in NFC or NFD, upper or lower case, or typed without its accents."""
    import unicodedata

    text = text.replace("đ", "d").replace("Đ", "D")
    return unicodedata.normalize("NFD", text).translate(_MARKS).casefold()


class Canaries:
    """What must never be found: the canaries' names (and the distinctive part of them) compared folded,
    their numbers (ID, old ID, phone) as written."""

    def __init__(self) -> None:
        self.names: set[str] = set()
        self.numbers: set[str] = set()

    def add_name(self, *names: str) -> None:
        self.names.update(fold_text(n) for n in names if n)

    def add_number(self, *numbers: str | None) -> None:
        self.numbers.update(n for n in numbers if n)

    def __len__(self) -> int:
        return len(self.names) + len(self.numbers)

    def found_in(self, text: str) -> list[str]:
        """The canaries' names and numbers found in `text`."""
        import re

        folded = fold_text(text)
        found, absent = [], []
        # Shortest first: a name that contains one already absent (the full name and its given name) is
        # absent too, without another pass over the text.
        for name in sorted(self.names, key=len):
            if any(a in name for a in absent):
                continue
            (found if name in folded else absent).append(name)
        runs = set(re.findall(r"[0-9]{6,}", text))
        found += [n for n in self.numbers if any(n in run for run in runs)]
        return sorted(found)
