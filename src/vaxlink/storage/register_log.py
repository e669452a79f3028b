"""The register's version and the citizens each version changed (tables `register_version`, `register_change`).

Every change of the register calls `register_changed` in its own transaction; the matcher's prepared
register (`matching/register_store.py`) is labelled with the version it was read at, and brought up to
date from the citizens changed since (or rebuilt, after an import).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, insert, text

from vaxlink.storage.models import RegisterChange

# More changed citizens than this since a prepared register was read: preparing it again is cheaper.
PATCH_LIMIT = 50_000


@dataclass(frozen=True, slots=True)
class RegisterVersion:
    version: int
    token: str

    @property
    def label(self) -> str:
        return f"{self.version}-{self.token or 'initial'}"


def register_changed(conn: Connection, citizen_ids: Iterable[int] | None) -> RegisterVersion:
    """Raise the register's version for a change of `citizen_ids` (None: any citizen, as an import does).

    The UPDATE takes the row's lock until the transaction ends, so that versions follow commit order: a
    reader that sees version v sees every change up to v."""
    token = secrets.token_hex(8)
    n = conn.execute(
        text("UPDATE register_version SET version = version + 1, token = :t WHERE id = 1"), {"t": token}
    ).rowcount
    if not n:
        conn.execute(
            text("INSERT INTO register_version (id, version, token) VALUES (1, 1, :t)"), {"t": token}
        )
    version = int(conn.execute(text("SELECT version FROM register_version WHERE id = 1")).scalar_one())
    ids = None if citizen_ids is None else sorted(set(citizen_ids))
    rows = [{"version": version, "token": token, "citizen_id": c} for c in ids] if ids else []
    if not rows:
        rows = [{"version": version, "token": token, "citizen_id": None}]
    conn.execute(insert(RegisterChange), rows)
    return RegisterVersion(version, token)


def current_version(conn: Connection) -> RegisterVersion:
    row = conn.execute(text("SELECT version, token FROM register_version WHERE id = 1")).first()
    return RegisterVersion(0, "") if row is None else RegisterVersion(int(row[0]), str(row[1]))


def changed_since(conn: Connection, since: RegisterVersion, limit: int = PATCH_LIMIT) -> list[int] | None:
    """The citizens changed after `since`, or None when they cannot be told: `since` was never committed
    (its transaction rolled back and the number went to another change), an import changed the register
    since, or more than `limit` citizens changed."""
    if since.version:
        real = conn.execute(
            text("SELECT 1 FROM register_change WHERE version = :v AND token = :t LIMIT 1"),
            {"v": since.version, "t": since.token},
        ).first()
        if real is None:
            return None
    rows = conn.execute(
        text("SELECT DISTINCT citizen_id FROM register_change WHERE version > :v LIMIT :n"),
        {"v": since.version, "n": limit + 2},
    ).all()
    ids = [r[0] for r in rows]
    if len(ids) > limit or any(c is None for c in ids):
        return None
    return sorted(int(c) for c in ids)
