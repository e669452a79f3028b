"""Simulate provinces into files: the register snapshot, health's dose batch, and the truth behind it."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from vaxlink.domain.admin_units import Level, normalise_code
from vaxlink.domain.errors import InputError
from vaxlink.simulation.absent import add_absent
from vaxlink.simulation.doses import build_lots, build_sites, choose_vaccinated, dose_records
from vaxlink.simulation.population import ProvinceSpec, generate_people
from vaxlink.simulation.rates import ErrorRates
from vaxlink.simulation.records import KINDS, concat_tables, dose_batch, person_texts, register_table
from vaxlink.simulation.units import ward_table
from vaxlink.simulation.vocab import name_vocab

Progress = Callable[[str, float], None]
FILE_FORMATS = ("csv", "parquet")
# Share of people vaccinated in another of the simulated provinces (several provinces only).
AWAY_SHARE = 0.03


@dataclass(frozen=True)
class SimulationSummary:
    citizens: int
    dose_records: int
    persons_vaccinated: int  # in the batch, including those absent from the register
    absent_persons: int
    files: dict[str, Path]  # "register", "doses", "truth"
    seconds: float
    error_counts: dict[str, int]  # records carrying each error kind


@dataclass(frozen=True)
class ProvinceResult:
    register: pa.Table
    doses: pa.Table
    truth: pa.Table
    citizens: int
    persons_vaccinated: int
    absent_persons: int
    error_counts: dict[str, int]


def province_specs(provinces: Sequence[str], citizens: int | Sequence[int], seed: int) -> list[ProvinceSpec]:
    """Specs for simulating several provinces into one register: each its own random stream and its own
    share of the ID serial space, so that no two people anywhere get the same number."""
    codes = []
    for p in provinces:
        code = normalise_code(p, Level.PROVINCE)
        if code is None or code not in ward_table().province_codes:
            raise InputError(f"unknown province code {p!r} (use a pre-2025 two-digit code such as 77)")
        codes.append(code)
    if len(set(codes)) != len(codes):
        raise InputError("each province can be simulated only once")
    counts = [citizens] * len(codes) if isinstance(citizens, int) else list(citizens)
    if len(counts) != len(codes) or any(c < 1 for c in counts):
        raise InputError("give a positive number of citizens for every province")
    return [
        ProvinceSpec(code=c, citizens=n, seed=seed, serial_slot=i, serial_slots=len(codes))
        for i, (c, n) in enumerate(zip(codes, counts, strict=True))
    ]


def generate_province(
    spec: ProvinceSpec, errors: ErrorRates, progress: Progress | None = None
) -> ProvinceResult:
    """The register rows, dose records and truth of one province, all in memory."""

    def report(stage: str, fraction: float) -> None:
        if progress is not None:
            progress(f"{spec.code}: {stage}", fraction)

    wards = ward_table()
    vocab = name_vocab()
    # One independent stream per stage: changing how one stage draws leaves the others as they were.
    streams = np.random.SeedSequence(spec.seed, spawn_key=(int(spec.code),)).spawn(6)
    rng_people, rng_register, rng_absent, rng_doses, rng_sites, rng_errors = (
        np.random.default_rng(s) for s in streams
    )
    report("citizens", 0.0)
    people, households = generate_people(rng_people, spec, wards, vocab)
    report("vaccinations", 0.35)
    vaccinated = np.flatnonzero(choose_vaccinated(rng_doses, people.birth))
    absent = round(errors.absent_person * len(vaccinated) / max(1e-9, 1.0 - errors.absent_person))
    citizens = len(people)
    people, households = add_absent(rng_absent, spec, people, households, absent, wards, vocab)
    texts = person_texts(spec.code, people, households, vocab)
    register = register_table(rng_register, spec.code, people, households, wards, texts)
    vaccinated = np.r_[vaccinated, np.arange(citizens, len(people))]
    sites = build_sites(rng_sites, wards, spec.code)
    lots = build_lots(rng_sites)
    doses = dose_records(rng_doses, people, households, vaccinated, wards, spec.code, sites)
    report("dose records", 0.5)
    batch = dose_batch(
        rng_errors, errors, spec.code, doses, people, households, wards, vocab, sites, lots, texts
    )
    report("dose records", 0.7)
    return ProvinceResult(
        register=register,
        doses=batch.doses,
        truth=batch.truth,
        citizens=citizens,
        persons_vaccinated=len(vaccinated),
        absent_persons=len(people) - citizens,
        error_counts=batch.error_counts,
    )


def _write(table: pa.Table, path: Path, file_format: str) -> None:
    if file_format == "parquet":
        pq.write_table(table, path, compression="zstd")
    else:
        pacsv.write_csv(table, path, pacsv.WriteOptions(batch_size=65536))


def simulate_provinces(
    out_dir: Path,
    specs: Sequence[ProvinceSpec],
    *,
    errors: ErrorRates = ErrorRates(),  # noqa: B008 - frozen, so the shared default is safe
    file_format: str = "csv",
    progress: Progress | None = None,
    away_share: float = AWAY_SHARE,
) -> SimulationSummary:
    """Several provinces into one register snapshot, one dose batch and one truth file.

    `away_share` of the vaccinated people of each province were vaccinated in another of the simulated
    provinces (working or staying there): their records carry that province's ward, address and site."""
    started = time.perf_counter()
    if file_format not in FILE_FORMATS:
        raise InputError(f"unknown file format {file_format!r}: use csv or parquet")
    if not specs:
        raise InputError("no province to simulate")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for i, spec in enumerate(specs):

        def scaled(stage: str, fraction: float, i: int = i) -> None:
            if progress is not None:
                progress(stage, (i + fraction) / len(specs) * 0.7)

        results.append(generate_province(spec, errors, scaled))
    if len(results) > 1 and away_share > 0:
        doses = _vaccinated_away(results, away_share, specs[0].seed)
        results = [replace(r, doses=d) for r, d in zip(results, doses, strict=True)]
    files: dict[str, Path] = {}
    for step, name in enumerate(("register", "doses", "truth")):
        if progress is not None:
            progress(f"writing {name}", 0.7 + 0.1 * step)
        path = out_dir / f"{name}.{file_format}"
        _write(concat_tables([getattr(r, name) for r in results]), path, file_format)
        files[name] = path
    if progress is not None:
        progress("done", 1.0)
    return SimulationSummary(
        citizens=sum(r.citizens for r in results),
        dose_records=sum(r.doses.num_rows for r in results),
        persons_vaccinated=sum(r.persons_vaccinated for r in results),
        absent_persons=sum(r.absent_persons for r in results),
        files=files,
        seconds=time.perf_counter() - started,
        error_counts={k: sum(r.error_counts[k] for r in results) for k in KINDS},
    )


def _vaccinated_away(results: Sequence[ProvinceResult], share: float, seed: int) -> list[pa.Table]:
    """Each province's doses with the records of a `share` of its people moved to a ward, address and
    vaccination site of another simulated province (the same place for all of one person's doses)."""
    rng = np.random.default_rng([seed, 2025])
    out = []
    for i, r in enumerate(results):
        doses, truth = r.doses, r.truth
        if not pc.all(pc.equal(doses["record_id"], truth["record_id"])).as_py():
            raise RuntimeError("doses and truth rows are out of step")  # pragma: no cover
        people, person_of_row = np.unique(
            truth["person_key"].to_numpy(zero_copy_only=False), return_inverse=True
        )
        moved = rng.random(len(people)) < share
        rows = np.flatnonzero(moved[person_of_row])
        others = [j for j in range(len(results)) if j != i]
        if len(rows) == 0 or not others:
            out.append(doses)
            continue
        # One place per person: the place of a random record of a random other province.
        dest = np.asarray(others)[rng.integers(0, len(others), len(people))]
        cols = {name: doses[name].to_pylist() for name in ("ward_code", "address", "site")}
        for j in others:
            donor = results[j].doses
            mine = rows[dest[person_of_row[rows]] == j]
            picks = rng.integers(0, donor.num_rows, len(people))[person_of_row[mine]]
            for name in cols:
                values = donor[name].take(pa.array(picks)).to_pylist()
                for row, v in zip(mine.tolist(), values, strict=True):
                    cols[name][row] = v
        for name, values in cols.items():
            doses = doses.set_column(
                doses.schema.get_field_index(name), name, pa.array(values, doses[name].type)
            )
        out.append(doses)
    return out


def simulate(
    out_dir: Path,
    *,
    province: str = "77",
    citizens: int = 1_200_000,
    seed: int = 0,
    errors: ErrorRates = ErrorRates(),  # noqa: B008 - frozen, so the shared default is safe
    file_format: str = "csv",
    progress: Progress | None = None,
) -> SimulationSummary:
    """A synthetic province: `register`, `doses` and `truth` files in out_dir (csv or parquet).

    The same arguments always write byte-identical files.
    """
    started = time.perf_counter()
    summary = simulate_provinces(
        out_dir,
        province_specs([province], citizens, seed),
        errors=errors,
        file_format=file_format,
        progress=progress,
    )
    return replace(summary, seconds=time.perf_counter() - started)
