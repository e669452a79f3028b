"""SQLAlchemy models: the register, health batches, reconciliation, cases and the audit log.

The schema itself is created by the Alembic migrations; these classes describe it for queries.
Every stored administrative unit code carries the structure it belongs to (`legacy` or `2025`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# Integer on SQLite so that the key is the rowid (auto-increment); BIGINT elsewhere.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def Key(length: int) -> String:
    """Codes and identifiers compared byte by byte: the "C" collation on PostgreSQL keeps their indexes
    several times faster to build and search than a linguistic collation (SQLite compares bytes anyway)."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp on every backend (SQLite stores it naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: every timestamp must carry its time zone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def text_size(model: type[Base], column: str) -> int:
    """How many characters `column` of `model`'s table holds: what an input is checked against before a
    load, which PostgreSQL would otherwise stop halfway."""
    size = getattr(model.__table__.c[column].type, "length", None)
    assert isinstance(size, int), column
    return size


def too_long_sql(model: type[Base], values: dict[str, str]) -> str:
    """SQL: one of `values` (a column of `model` → the expression to be stored in it) is longer than the
    column holds."""
    return " OR ".join(f"coalesce(length({e}), 0) > {text_size(model, c)}" for c, e in values.items())


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# --- reference data -----------------------------------------------------------------------------


class AdminUnitRow(Base):
    """Official administrative units of both structures, loaded from the package data."""

    __tablename__ = "admin_unit"
    structure: Mapped[str] = mapped_column(Key(6), primary_key=True)
    level: Mapped[str] = mapped_column(Key(8), primary_key=True)
    code: Mapped[str] = mapped_column(Key(5), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(40))
    parent_code: Mapped[str | None] = mapped_column(String(5))
    province_code: Mapped[str] = mapped_column(String(2))

    # The wards of a district or a province: every query of a supervisor's jurisdiction reads them.
    __table_args__ = (
        Index("ix_admin_unit_parent", "structure", "level", "parent_code"),
        Index("ix_admin_unit_province", "structure", "level", "province_code"),
    )


class WardConversionRow(Base):
    """The official legacy → 2025 ward table; a split legacy ward has several rows."""

    __tablename__ = "ward_conversion"
    old_code: Mapped[str] = mapped_column(Key(5), primary_key=True)
    new_code: Mapped[str] = mapped_column(Key(5), primary_key=True)
    new_province_code: Mapped[str] = mapped_column(String(2))
    whole: Mapped[bool] = mapped_column(Boolean)


# --- the register -------------------------------------------------------------------------------


class RegisterImport(Base):
    """One run of `registry import`: what file, and how every row ended."""

    __tablename__ = "register_import"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    file_name: Mapped[str] = mapped_column(String(400))
    checksum: Mapped[str] = mapped_column(String(64), index=True)
    units: Mapped[str] = mapped_column(String(6))
    status: Mapped[str] = mapped_column(String(12))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    imported: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    rejects_file: Mapped[str | None] = mapped_column(String(400))


class Citizen(Base):
    """A person in the population register."""

    __tablename__ = "citizen"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    personal_id: Mapped[str] = mapped_column(Key(12), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(Key(200))
    family_name: Mapped[str] = mapped_column(String(60))
    middle_name: Mapped[str] = mapped_column(String(120))
    given_name: Mapped[str] = mapped_column(String(60))
    # Earliest day of the registered date, with its precision (day / month / year).
    birth_date: Mapped[date] = mapped_column(Date)
    birth_precision: Mapped[str] = mapped_column(String(5))
    birth_year: Mapped[int] = mapped_column(Integer)
    sex: Mapped[str] = mapped_column(String(1))
    permanent_ward_code: Mapped[str] = mapped_column(Key(5))
    permanent_units: Mapped[str] = mapped_column(Key(6))
    # Where the person lives now: the permanent ward unless the register says otherwise.
    current_ward_code: Mapped[str] = mapped_column(Key(5))
    current_units: Mapped[str] = mapped_column(Key(6))
    address: Mapped[str | None] = mapped_column(String(400))
    phone: Mapped[str | None] = mapped_column(Key(20))
    household_id: Mapped[str | None] = mapped_column(Key(40))
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default="active")
    # Digest of the registered content: a re-imported unchanged row is recognised without comparing columns.
    row_hash: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Provenance only (no foreign key: a million-row load would pay a trigger call per row for it).
    last_import_id: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_citizen_name_key_birth_year", "name_key", "birth_year"),
        Index("ix_citizen_current_ward", "current_units", "current_ward_code"),
        Index("ix_citizen_household_id", "household_id"),
        Index("ix_citizen_phone", "phone"),
    )


class RegisterVersion(Base):
    """One row: the register's version, raised (with a fresh token) by every change of the register in the
    changing transaction. The row lock orders the changes as they commit; the token tells a version that
    was rolled back from the one that later took its number."""

    __tablename__ = "register_version"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger)
    token: Mapped[str] = mapped_column(String(32))


class RegisterChange(Base):
    """The citizens a version of the register changed; NULL: any (an import), the whole register is new."""

    __tablename__ = "register_change"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, index=True)
    token: Mapped[str] = mapped_column(String(32))
    # No foreign key: a change log outlives nothing it names, and a million-row import writes one row.
    citizen_id: Mapped[int | None] = mapped_column(BigInteger)


class CitizenAlias(Base):
    """Other numbers that resolve to a citizen: the old CMND, numbers cancelled and re-established."""

    __tablename__ = "citizen_alias"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizen.id"), index=True)
    # Looked up by the unique key below, which begins with it.
    alias: Mapped[str] = mapped_column(Key(20))
    kind: Mapped[str] = mapped_column(String(12))  # cmnd | previous_id
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    __table_args__ = (UniqueConstraint("alias", "kind", "citizen_id"),)


class CitizenChange(Base):
    """History of identity fields: every change of name, birth date, sex or number, with its reason."""

    __tablename__ = "citizen_change"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizen.id"), index=True)
    field: Mapped[str] = mapped_column(String(40))
    old_value: Mapped[str | None] = mapped_column(String(400))
    new_value: Mapped[str | None] = mapped_column(String(400))
    reason: Mapped[str] = mapped_column(String(400))
    source: Mapped[str] = mapped_column(String(60))  # import:<id> | case:<id> | counter
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    changed_by: Mapped[str | None] = mapped_column(String(80))


# --- health batches and reconciliation ----------------------------------------------------------


class Batch(Base):
    """One dose file from health: identified by its source and content checksum."""

    __tablename__ = "batch"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source: Mapped[str] = mapped_column(String(80))
    checksum: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(400))
    status: Mapped[str] = mapped_column(String(12))  # staging | matching | done | failed
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    counts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    spec_version: Mapped[str | None] = mapped_column(String(40))
    spec: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    uploaded_by: Mapped[str | None] = mapped_column(String(80))
    # The jurisdiction the batch belongs to (its uploader's when it was uploaded): who may read it follows
    # this, not the uploader's role today. NULL level: national (loaded from the command line).
    scope_level: Mapped[str | None] = mapped_column(String(10))
    scope_units: Mapped[str | None] = mapped_column(Key(6))
    scope_code: Mapped[str | None] = mapped_column(Key(5))
    __table_args__ = (UniqueConstraint("source", "checksum"),)


class DoseRecord(Base):
    """One version of a health dose record; a later row with the same record_id is a new version."""

    __tablename__ = "dose_record"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # No foreign keys on the bulk tables (dose_record, match_result): PostgreSQL checks each one with a
    # trigger call per row, which made a 1.8 M-row batch spend over a minute on them. The ingest writes
    # these ids from the rows it has just created; `vaxlink db check` verifies them set-based.
    batch_id: Mapped[int] = mapped_column(BigId, index=True)
    source: Mapped[str] = mapped_column(Key(80))
    record_id: Mapped[str] = mapped_column(Key(80))
    version: Mapped[int] = mapped_column(Integer)
    is_latest: Mapped[bool] = mapped_column(Boolean)
    line_no: Mapped[int] = mapped_column(Integer)
    full_name: Mapped[str | None] = mapped_column(String(200))
    date_of_birth: Mapped[str | None] = mapped_column(String(40))
    sex: Mapped[str | None] = mapped_column(String(20))
    id_number: Mapped[str | None] = mapped_column(String(40))
    phone: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(String(400))
    ward_code: Mapped[str | None] = mapped_column(String(10))
    # The structure the ward code was read in (legacy / 2025); NULL when the code is in neither list.
    ward_units: Mapped[str | None] = mapped_column(String(6))
    # primary | additional | booster, as health says it (`dose_kind` of the contract); NULL when not said.
    dose_kind: Mapped[str | None] = mapped_column(String(10))
    vaccination_date: Mapped[date | None] = mapped_column(Date)
    dose_number: Mapped[int | None] = mapped_column(Integer)
    vaccine: Mapped[str | None] = mapped_column(String(120))
    vaccine_code: Mapped[str | None] = mapped_column(String(40))
    # Why the row was unusable (`;`-separated codes); NULL for a usable row.
    problems: Mapped[str | None] = mapped_column(String(400))
    lot_number: Mapped[str | None] = mapped_column(String(60))
    site: Mapped[str | None] = mapped_column(String(200))
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # (source, record_id, version) also serves every lookup of a record's latest version.
    __table_args__ = (UniqueConstraint("source", "record_id", "version"),)


class MatchResult(Base):
    """The reconciliation outcome of the latest version of a dose record."""

    __tablename__ = "match_result"
    dose_record_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    outcome: Mapped[str] = mapped_column(String(10))  # linked | confirmed | review | unmatched | rejected
    citizen_id: Mapped[int | None] = mapped_column(BigId)
    candidate_citizen_id: Mapped[int | None] = mapped_column(BigId)
    score: Mapped[float | None] = mapped_column(Float)
    reasons: Mapped[str] = mapped_column(String(400), default="")
    # Dose-sequence findings for the linked citizen: DOSE_DUPLICATE, DOSE_ORDER, DOSE_INTERVAL.
    flags: Mapped[str] = mapped_column(String(200), default="")
    blame: Mapped[str | None] = mapped_column(String(10))  # health | register | both
    ward_code: Mapped[str | None] = mapped_column(Key(5))
    ward_units: Mapped[str | None] = mapped_column(Key(6))
    spec_version: Mapped[str | None] = mapped_column(String(40))
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(80))
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Partial indexes: a ward's open records are a few percent of all, and most records link to someone.
    __table_args__ = (
        Index(
            "ix_match_result_citizen_id",
            "citizen_id",
            postgresql_where=text("citizen_id IS NOT NULL"),
            sqlite_where=text("citizen_id IS NOT NULL"),
        ),
        Index(
            "ix_match_result_ward_outcome",
            "ward_units",
            "ward_code",
            "outcome",
            postgresql_where=text("outcome IN ('review', 'unmatched')"),
            sqlite_where=text("outcome IN ('review', 'unmatched')"),
        ),
    )


class Case(Base):
    """A piece of work on a ward's worklist: a conflict, an unmatched record, a correction or verification request."""

    __tablename__ = "work_case"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(16))  # open | pending_approval | closed
    priority: Mapped[int] = mapped_column(Integer, default=0)
    # NULL when no ward can be told (no candidate, no usable ward on the record): the province's queue.
    ward_code: Mapped[str | None] = mapped_column(Key(5))
    ward_units: Mapped[str] = mapped_column(Key(6))
    province_code: Mapped[str | None] = mapped_column(String(2))
    dose_record_id: Mapped[int | None] = mapped_column(ForeignKey("dose_record.id"), index=True)
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizen.id"), index=True)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolution: Mapped[str | None] = mapped_column(String(24))
    resolution_note: Mapped[str | None] = mapped_column(Text)
    assigned_to: Mapped[str | None] = mapped_column(String(80))
    # The health identity (one person as the matcher grouped their records) the case's record belongs to:
    # open cases of one person at one desk are shown as one row and settled together. NULL: a case of its own.
    person_key: Mapped[str | None] = mapped_column(Key(40), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    __table_args__ = (Index("ix_work_case_ward_status", "ward_units", "ward_code", "status", "created_at"),)


class AuditEvent(Base):
    """Who did what to which record, in which jurisdiction, when and why; hash-chained."""

    __tablename__ = "audit_event"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(60))
    resource_type: Mapped[str] = mapped_column(String(40))
    resource_id: Mapped[str | None] = mapped_column(String(80))
    jurisdiction: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(400))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Keyed MAC of `hash` with a key kept outside the database: a rewritten chain cannot be re-signed.
    mac: Mapped[str | None] = mapped_column(String(64))


# --- people who use the system ------------------------------------------------------------------


class RateCounter(Base):
    """Hits of one bucket (a user's lookups, failed sign-ins of a name from an address...) in one fixed
    window: shared by every server process and host through the database."""

    __tablename__ = "rate_counter"
    bucket: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True, index=True)
    hits: Mapped[int] = mapped_column(Integer)


class LoginAddress(Base):
    """An address a user has signed in from with the right password: the right password from there is
    never refused by throttles that others' failures set off."""

    __tablename__ = "login_address"
    username: Mapped[str] = mapped_column(String(60), primary_key=True)
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_ok_at: Mapped[int] = mapped_column(BigInteger)


class AppUser(Base):
    """An officer or machine client: one role bound to one jurisdiction (a ward, district, province or
    the whole country). `token_version` is raised to cut every session and token of the user at once."""

    __tablename__ = "app_user"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(Key(60), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(24))
    scope_level: Mapped[str] = mapped_column(String(10))  # ward | district | province | country
    scope_units: Mapped[str] = mapped_column(Key(6))  # legacy | 2025
    scope_code: Mapped[str | None] = mapped_column(Key(5))  # NULL for the whole country
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    token_version: Mapped[int] = mapped_column(Integer, default=1)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    phone: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class SavedFilter(Base):
    """A worklist filter an officer named to find again (the query string of the worklist, never a result)."""

    __tablename__ = "saved_filter"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    name: Mapped[str] = mapped_column(String(40))
    query: Mapped[str] = mapped_column(String(400))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    __table_args__ = (UniqueConstraint("user_id", "name"),)


class UserSession(Base):
    """A browser session; the cookie carries a random token whose SHA-256 is the key here."""

    __tablename__ = "user_session"
    id: Mapped[str] = mapped_column(Key(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    token_version: Mapped[int] = mapped_column(Integer)
    csrf_secret: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ApiToken(Base):
    """A bearer token for a machine client (health's batch upload); only its SHA-256 is stored."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(Key(64), unique=True)
    token_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class OtpChallenge(Base):
    """A one-time code sent to a citizen (through the outbox) to confirm their identity."""

    __tablename__ = "otp_challenge"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    purpose: Mapped[str] = mapped_column(String(24))  # status | correction
    # Keyed digest of the personal id the code was sent for: the number itself is not kept here.
    subject: Mapped[str] = mapped_column(Key(64), index=True)
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizen.id"))
    code_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class OutboxMessage(Base):
    """A message for a citizen (SMS); no gateway is attached, so messages wait here to be delivered."""

    __tablename__ = "outbox_message"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))
    recipient: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


# --- work between wards and new residents -------------------------------------------------------


class VerificationRequest(Base):
    """A ward that collected a person asks the ward of permanent residence to confirm who they are."""

    __tablename__ = "verification_request"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    from_units: Mapped[str] = mapped_column(Key(6))
    from_ward_code: Mapped[str] = mapped_column(Key(5))
    to_units: Mapped[str] = mapped_column(Key(6))
    to_ward_code: Mapped[str] = mapped_column(Key(5))
    # The person as collected: name, birth date, sex, claimed number, permanent address, phone.
    person: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The case in the requesting ward whose dose records wait for the answer.
    case_id: Mapped[int | None] = mapped_column(ForeignKey("work_case.id"), index=True)
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizen.id"))
    status: Mapped[str] = mapped_column(String(12))  # open | confirmed | rejected | withdrawn
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(80))
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    answered_by: Mapped[str | None] = mapped_column(String(80))
    answer_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    __table_args__ = (
        Index("ix_verification_request_to", "to_units", "to_ward_code", "status", "due_at"),
        Index("ix_verification_request_from", "from_units", "from_ward_code", "status"),
    )


class IssuedNumber(Base):
    """Every personal identification number this system has issued: a number is never issued twice."""

    __tablename__ = "issued_number"
    personal_id: Mapped[str] = mapped_column(Key(12), primary_key=True)
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizen.id"))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    issued_by: Mapped[str] = mapped_column(String(80))


# --- status and certificates --------------------------------------------------------------------


class CitizenStatus(Base):
    """A citizen's vaccination status, derived from the doses linked to them; kept current by every
    change of links (ingest, case actions, counter corrections)."""

    __tablename__ = "citizen_status"
    # No foreign key: the ingest rewrites up to a province's worth of rows at once (see dose_record).
    citizen_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    doses: Mapped[int] = mapped_column(Integer)
    first_dose_date: Mapped[date | None] = mapped_column(Date)
    last_dose_date: Mapped[date | None] = mapped_column(Date)
    # The day the primary series was complete (respecting one-dose products); NULL if not yet.
    complete_date: Mapped[date | None] = mapped_column(Date)
    boosters: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(10))  # none | partial | complete | booster
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Certificate(Base):
    """An EU DCC issued for a citizen; revoked (and replaced) when a dose it rests on changes."""

    __tablename__ = "certificate"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    uvci: Mapped[str] = mapped_column(Key(80), unique=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizen.id"), index=True)
    dose_record_ids: Mapped[list[int]] = mapped_column(JSON)
    kid: Mapped[str] = mapped_column(String(24))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(10))  # valid | revoked
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoke_reason: Mapped[str | None] = mapped_column(String(200))
    replaced_by_id: Mapped[int | None] = mapped_column(BigInteger)
    # The three revocation hashes of the EU scheme (base64 of the first 128 bits of SHA-256).
    hash_uci: Mapped[str] = mapped_column(Key(44))
    hash_country_uci: Mapped[str] = mapped_column(Key(44))
    hash_signature: Mapped[str] = mapped_column(Key(44))
    version: Mapped[int] = mapped_column(Integer, default=1)


class Revocation(Base):
    """One entry of the published revocation list."""

    __tablename__ = "revocation"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("certificate.id"), index=True)
    hash_type: Mapped[str] = mapped_column(Key(16))  # UCI | COUNTRYCODEUCI | SIGNATURE
    hash: Mapped[str] = mapped_column(Key(44))
    revoked_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    reason: Mapped[str | None] = mapped_column(String(200))
    __table_args__ = (UniqueConstraint("hash_type", "hash"),)
