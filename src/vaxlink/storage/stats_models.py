"""Aggregate tables behind the coverage statistics, refreshed at the end of every ingest.

Each cell is keyed by the ward a person or record is attributed to, as stored (`src_units`,
`src_ward_code`), and carries that ward's units in both structures, so that any report (legacy or
2025, any level, any jurisdiction) is a GROUP BY over a few thousand rows. NULL unit codes mean
"unknown" (a record no ward can be told for, a ward code not in the official lists).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from vaxlink.storage.models import Base, BigId, Key, UtcDateTime


class _Units:
    """The ward's units in both structures (a split legacy ward resolved to one 2025 ward)."""

    legacy_province_code: Mapped[str | None] = mapped_column(Key(2))
    legacy_district_code: Mapped[str | None] = mapped_column(Key(3))
    legacy_ward_code: Mapped[str | None] = mapped_column(Key(5))
    new_province_code: Mapped[str | None] = mapped_column(Key(2))
    new_ward_code: Mapped[str | None] = mapped_column(Key(5))


class StatsWardMap(Base):
    """Every official ward of either structure → its units in both structures. `rule` says how the other
    structure's ward was chosen: same (the unit itself), whole (converted whole), split_main (a split
    legacy ward: its main successor), merged_main (a 2025 ward made of several: its main legacy source),
    none (no counterpart)."""

    __tablename__ = "stats_ward_map"
    src_units: Mapped[str] = mapped_column(Key(6), primary_key=True)
    src_ward_code: Mapped[str] = mapped_column(Key(5), primary_key=True)
    legacy_province_code: Mapped[str | None] = mapped_column(Key(2))
    legacy_district_code: Mapped[str | None] = mapped_column(Key(3))
    legacy_ward_code: Mapped[str | None] = mapped_column(Key(5))
    new_province_code: Mapped[str | None] = mapped_column(Key(2))
    new_ward_code: Mapped[str | None] = mapped_column(Key(5))
    rule: Mapped[str] = mapped_column(String(12))


class StatsCoverageCell(_Units, Base):
    """Residents (active citizens by current residence) and their status, per ward, age band and sex."""

    __tablename__ = "stats_coverage_cell"
    src_units: Mapped[str] = mapped_column(Key(6), primary_key=True)
    src_ward_code: Mapped[str] = mapped_column(Key(5), primary_key=True)
    age_band: Mapped[str] = mapped_column(Key(8), primary_key=True)
    sex: Mapped[str] = mapped_column(Key(1), primary_key=True)
    residents: Mapped[int] = mapped_column(Integer)
    at_least_one_dose: Mapped[int] = mapped_column(Integer)
    primary_complete: Mapped[int] = mapped_column(Integer)
    booster: Mapped[int] = mapped_column(Integer)
    __table_args__ = (
        Index("ix_stats_coverage_cell_legacy", "legacy_province_code", "legacy_district_code"),
        Index("ix_stats_coverage_cell_new", "new_province_code"),
    )


class StatsDoseDay(_Units, Base):
    """Usable dose records (latest versions) per day, vaccine and ward: linked ones by the citizen's
    current ward, the others by the ward whose worklist holds them."""

    __tablename__ = "stats_dose_day"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    src_units: Mapped[str | None] = mapped_column(Key(6))
    src_ward_code: Mapped[str | None] = mapped_column(Key(5))
    day: Mapped[date] = mapped_column(Date)
    vaccine_code: Mapped[str | None] = mapped_column(String(40))
    records: Mapped[int] = mapped_column(Integer)
    linked: Mapped[int] = mapped_column(Integer)
    __table_args__ = (
        Index("ix_stats_dose_day_legacy", "legacy_province_code", "day"),
        Index("ix_stats_dose_day_new", "new_province_code", "day"),
    )


class StatsBacklogCell(_Units, Base):
    """The reconciliation side per ward: `measure` is a record outcome (linked, confirmed, review,
    unmatched, rejected), corrections_to_health, case_open or verification_open; open work is bucketed by
    its due day so that "overdue" is counted when asked, without a refresh."""

    __tablename__ = "stats_backlog_cell"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    src_units: Mapped[str | None] = mapped_column(Key(6))
    src_ward_code: Mapped[str | None] = mapped_column(Key(5))
    measure: Mapped[str] = mapped_column(Key(24))
    due_day: Mapped[date | None] = mapped_column(Date)
    n: Mapped[int] = mapped_column(Integer)
    __table_args__ = (
        Index("ix_stats_backlog_cell_legacy", "legacy_province_code", "legacy_district_code"),
        Index("ix_stats_backlog_cell_new", "new_province_code"),
    )


class StatsRefresh(Base):
    """When the aggregates were last rebuilt, which parts, and the reference year of the age bands."""

    __tablename__ = "stats_refresh"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    refreshed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    parts: Mapped[str] = mapped_column(String(60))
    reference_year: Mapped[int] = mapped_column(Integer)
    seconds: Mapped[float] = mapped_column(Float)
