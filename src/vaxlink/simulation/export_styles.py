"""A simulated register and dose batch written again the way other systems export the same rows.

The people, their doses and every error the simulator put in stay as they are; only the writing changes,
in the forms `docs/interchange.md` and the domain allow:
- headers: one of each column's Vietnamese names (`domain.interchange`), columns in another order, an
  unknown column added, a byte-order mark;
- dates: ISO, day and month without their zeros, dashes or dots, year first with slashes, written out in
  Vietnamese (ngày 15 tháng 3 năm 1990), and in the dose batch Excel serial numbers;
- phones: written internationally (+84, 0084), grouped by dots, or with the leading 0 a spreadsheet drops;
- numbers: grouped by spaces, or kept as text by a leading apostrophe;
- ward codes read back from a spreadsheet as numbers (26560.0);
- sex as M/F, male/female, Nam giới/Nữ giới, in capitals or small letters;
- dose numbers as `Mũi 2`, `mũi thứ 2` or a spreadsheet's `2.0`;
- names in capitals, in small letters or with stray spaces;
- optionally, the register's wards in the 2025 structure (each old ward the new one it went into; one of
  them, drawn, when it was split), as a register kept after July 2025 writes them, beside doses of 2021.
A reconciliation of the restyled files must end every record as it ends the simulated ones.
"""

from __future__ import annotations

import csv
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from vaxlink.domain.admin_units import Structure, admin_units
from vaxlink.domain.interchange import DOSE_COLUMNS, REGISTER_COLUMNS, Column

_EXCEL_EPOCH = date(1899, 12, 30)
_SEXES = {"Nam": ("M", "male", "NAM", "nam", "Nam giới"), "Nữ": ("F", "female", "NỮ", "nữ", "Nữ giới")}


def _parse(text: str) -> date | None:
    for form in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text.strip(), form).date()
        except ValueError:
            pass
    return None


def _date(text: str, rng: random.Random, *, excel: bool) -> str:
    d = _parse(text)
    if d is None:  # a year alone, or a date the simulator wrote broken on purpose
        return text
    k = rng.random()
    if k < 0.2:
        return d.isoformat()
    if k < 0.4:
        return f"{d.day}/{d.month}/{d.year}"
    if k < 0.5:
        return d.strftime("%d-%m-%Y")
    if k < 0.6:
        return d.strftime("%d.%m.%Y")
    if k < 0.65:
        return d.strftime("%Y/%m/%d")
    if k < 0.7:
        return f"ngày {d.day} tháng {d.month} năm {d.year}"
    if k < 0.8 and excel:
        return str((d - _EXCEL_EPOCH).days)
    return d.strftime("%d/%m/%Y")


def _phone(text: str, rng: random.Random) -> str:
    if not (text.startswith("0") and text.isdigit()):
        return text
    k = rng.random()
    if k < 0.2:
        return f"+84 {text[1:4]} {text[4:7]} {text[7:]}"
    if k < 0.35:
        return text[1:]  # through a spreadsheet as a number
    if k < 0.45:
        return f"0084{text[1:]}"
    if k < 0.55:
        return f"{text[:4]}.{text[4:7]}.{text[7:]}"
    return text


def _number(text: str, rng: random.Random) -> str:
    if not text.isdigit():
        return text
    k = rng.random()
    if k < 0.1:
        return "'" + text
    if k < 0.2:
        return " ".join(text[i : i + 3] for i in range(0, len(text), 3))
    return text


def _sex(text: str, rng: random.Random) -> str:
    return rng.choice(_SEXES[text]) if text in _SEXES and rng.random() < 0.3 else text


def _ward(text: str, rng: random.Random) -> str:
    return f"{text}.0" if text.isdigit() and rng.random() < 0.2 else text


def _dose(text: str, rng: random.Random) -> str:
    k = rng.random()
    if not text.isdigit() or k > 0.3:
        return text
    return f"Mũi {text}" if k < 0.15 else (f"{text}.0" if k < 0.25 else f"mũi thứ {text}")


def _name(text: str, rng: random.Random) -> str:
    k = rng.random()
    if not text or k > 0.15:
        return text
    if k < 0.05:
        return f"  {text.replace(' ', '  ', 1)} "
    return text.upper() if k < 0.1 else text.lower()


Restyle = Callable[[str, random.Random], str]
_REGISTER: dict[str, Restyle] = {
    "personal_id": _number,
    "old_id": _number,
    "date_of_birth": lambda v, rng: _date(v, rng, excel=False),
    "sex": _sex,
    "phone": _phone,
}
_DOSES: dict[str, Restyle] = {
    "full_name": _name,
    "date_of_birth": lambda v, rng: _date(v, rng, excel=True),
    "vaccination_date": lambda v, rng: _date(v, rng, excel=True),
    "sex": _sex,
    "id_number": _number,
    "phone": _phone,
    "ward_code": _ward,
    "dose_number": _dose,
}


def _rows(path: Path) -> list[dict[str, str]]:
    if path.suffix != ".parquet":
        with path.open(encoding="utf-8-sig", newline="") as f:
            return list(csv.DictReader(f))
    table = pq.read_table(path)
    table = table.cast(pa.schema([pa.field(f.name, pa.string()) for f in table.schema]))
    return [{k: ("" if v is None else v) for k, v in row.items()} for row in table.to_pylist()]


def _write(
    rows: list[dict[str, str]],
    contract: tuple[Column, ...],
    styles: dict[str, Restyle],
    target: Path,
    rng: random.Random,
    leave_out: Sequence[str],
) -> int:
    aliases = {c.name: c.aliases for c in contract}
    columns = [c for c in rows[0] if c not in leave_out]
    rng.shuffle(columns)
    header = [rng.choice(aliases[c]) if aliases.get(c) else c for c in columns]
    changed = 0
    with target.open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow([*header, "Ghi chú"])
        for row in rows:
            out = []
            for c in columns:
                value = row[c]
                new = styles[c](value, rng) if c in styles and value else value
                changed += new != value
                out.append(new)
            w.writerow([*out, ""])
    return changed


def _in_2025(rows: list[dict[str, str]], rng: random.Random) -> None:
    """The register's ward codes (legacy) replaced by the 2025 wards they went into. The official table does not
    list 19 old wards: each is given the 2025 ward most of its district's other wards went into."""
    units = admin_units()
    targets = dict(units.ward_targets())
    by_district: dict[str, Counter[str]] = defaultdict(Counter)
    for w in units.wards(Structure.LEGACY):
        for t in targets.get(w.code, ()):
            by_district[w.parent_code or ""][t] += 1
    for w in units.wards(Structure.LEGACY):
        if w.code not in targets and by_district[w.parent_code or ""]:
            targets[w.code] = (by_district[w.parent_code or ""].most_common(1)[0][0],)
    for row in rows:
        for c in ("current_ward_code", "permanent_ward_code"):
            if row.get(c) in targets:
                row[c] = rng.choice(targets[row[c]])


def restyle(
    source: Path,
    target: Path,
    seed: int,
    *,
    leave_out: Sequence[str] = (),
    register_units: Structure = Structure.LEGACY,
) -> int:
    """`register` and `doses` of the simulated set in `source` (CSV or Parquet) written to `target` as
    `register.csv` and `doses.csv` in other exporters' forms; `leave_out`: register columns not written
    (the optional ones another register may not have); `register_units`: the structure of the register's
    wards (the simulated ones are legacy). Returns how many values were written otherwise."""
    rng = random.Random(seed)
    target.mkdir(parents=True, exist_ok=True)

    def find(name: str) -> Path:
        return next(p for p in (source / f"{name}.parquet", source / f"{name}.csv") if p.exists())

    register = _rows(find("register"))
    if register_units is Structure.CURRENT:
        _in_2025(register, rng)
    changed = _write(register, REGISTER_COLUMNS, _REGISTER, target / "register.csv", rng, leave_out)
    return changed + _write(_rows(find("doses")), DOSE_COLUMNS, _DOSES, target / "doses.csv", rng, ())
