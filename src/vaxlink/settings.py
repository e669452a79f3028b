"""Settings: one object built at start-up from the environment (prefix VAXLINK_) and passed in."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VAXLINK_", extra="ignore")

    database_url: str = Field(
        default_factory=lambda: f"sqlite:///{Path.cwd() / 'vaxlink.db'}",
        description="SQLAlchemy URL; postgresql+psycopg://... for PostgreSQL",
    )
    engine: Literal["duckdb", "spark"] = "duckdb"
    # DuckDB resources for bulk work: these machines have 2 cores and 24 GB.
    duckdb_memory_limit: str = "4GB"
    duckdb_threads: int = 2
    work_dir: Path = Field(default_factory=lambda: Path.cwd() / ".vaxlink-work")
    # The audit log's MAC key lives outside the database, so that whoever can rewrite the table cannot
    # re-sign it; created on first use with mode 0600.
    audit_key_file: Path = Field(default_factory=lambda: Path.cwd() / ".vaxlink-keys" / "audit.key")
    session_idle_minutes: int = 30
    session_max_hours: int = 12
    # Certificate signing keys (private keys: kept out of the database); `vaxlink keys init --dir` makes them.
    keys_dir: Path = Field(default_factory=lambda data: Path(data["work_dir"]) / "vaxlink-keys")
    # Status lookups each verifier may make per minute (a checkpoint scans about one card a second).
    lookup_rate_per_minute: int = 600
    # ... and every verifier of one organisation (one jurisdiction) together: a stolen set of accounts
    # cannot multiply the rate by their number.
    lookup_org_rate_per_minute: int = 3000
    # Colour rule of each province for verifiers (JSON, see domain.status.ColourRules.from_json).
    colour_rules: str = ""

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith("postgresql")


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
