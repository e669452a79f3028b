"""The verifier's lookup answers every state of a bearer token as every other route does: the lookup
(`POST /api/v1/lookup/status`: on PostgreSQL the fast path in front of the router, on SQLite its own
gate) against a route behind `web.security.require` (`POST /api/v1/lookup/status/image`, the same lookup
from a picture of the ID notice's barcode). Same HTTP status and error code, same audit event."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from tests.integration.web import world as w
from vaxlink.credentials import codes
from vaxlink.domain.permissions import Role
from vaxlink.services.access.auth import token_digest, user_scope
from vaxlink.services.access.users import disable_user, get_user, set_role
from vaxlink.services.audit.log import bind_key, load_key
from vaxlink.settings import Settings
from vaxlink.storage.db import transaction
from vaxlink.storage.models import ApiToken, AppUser, AuditEvent, Citizen, utcnow

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

BORN = "1990-03-15"
VERIFIER = ("verifier", "own_ward")


def _token_of(raw: str) -> Any:
    return update(ApiToken).where(ApiToken.token_hash == token_digest(raw))


def _expired(s: Session, a: w.Actor) -> None:
    s.execute(_token_of(a.token).values(expires_at=utcnow() - timedelta(minutes=1)))


def _revoked(s: Session, a: w.Actor) -> None:
    s.execute(_token_of(a.token).values(revoked_at=utcnow()))


def _disabled(s: Session, a: w.Actor) -> None:
    disable_user(s, a.username, actor="test")


def _role_withdrawn(s: Session, a: w.Actor) -> None:
    # A new role raises the user's token_version: the tokens issued before it are outdated.
    set_role(s, a.username, Role.WARD_OFFICER, user_scope(get_user(s, a.username)), actor="test")


def _version_raised(s: Session, a: w.Actor) -> None:
    s.execute(
        update(AppUser).where(AppUser.username == a.username).values(token_version=AppUser.token_version + 1)
    )


# state -> (what is done to the verifier's token first, the request's headers)
STATES: dict[str, tuple[Callable[[Session, w.Actor], None] | None, Callable[[w.World], dict[str, str]]]] = {
    "valid": (None, lambda world: _bearer(world.actors[VERIFIER].token)),
    "expired": (_expired, lambda world: _bearer(world.actors[VERIFIER].token)),
    "revoked": (_revoked, lambda world: _bearer(world.actors[VERIFIER].token)),
    "user disabled": (_disabled, lambda world: _bearer(world.actors[VERIFIER].token)),
    "role withdrawn": (_role_withdrawn, lambda world: _bearer(world.actors[VERIFIER].token)),
    "token_version raised": (_version_raised, lambda world: _bearer(world.actors[VERIFIER].token)),
    "role without the permission": (
        None,
        lambda world: _bearer(world.actors[("ward_officer", "own_ward")].token),
    ),
    "unknown token": (None, lambda world: _bearer("vx_" + "unknown" * 6)),
    "malformed header": (None, lambda world: {"authorization": "Token abc"}),
    "missing header": (None, lambda world: {}),
}


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def _events_after(engine: Engine, last: int) -> list[AuditEvent]:
    with transaction(engine) as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.id > last).order_by(AuditEvent.id)))


def _head(engine: Engine) -> int:
    with transaction(engine) as s:
        return s.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)) or 0


def _audited(e: AuditEvent) -> tuple[Any, ...]:
    """An event as both paths must write it: everything but the route's path (an event of a refusal names
    the route) and, of a lookup's event, the channel the number came by (typed, or from a picture)."""
    details = {k: v for k, v in (e.details or {}).items() if k != "via"}
    route = e.resource_type == "route"
    return (
        e.action,
        e.actor,
        e.resource_type,
        None if route else e.resource_id,
        e.jurisdiction,
        e.reason,
        details,
    )


def _answer(r: Any) -> tuple[int, Any]:
    body = r.json()
    return r.status_code, body if r.status_code == 200 else body.get("code")


@pytest.mark.parametrize("state", list(STATES))
def test_every_token_state_gets_the_same_answer_and_audit_on_both_paths(
    state: str, app: FastAPI, engine: Engine, world: w.World, web_settings: Settings
) -> None:
    change, headers = STATES[state]
    with transaction(engine) as s:
        bind_key(s, load_key(web_settings.audit_key_file))
        citizen = s.get(Citizen, world.citizens[w.WARD_A])
        assert citizen is not None
        pid = citizen.personal_id
        if change is not None:
            change(s, world.actors[VERIFIER])
    picture = codes.code128_png(pid)
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as client:
        start = _head(engine)
        fast = client.post(
            "/api/v1/lookup/status", json={"text": pid, "date_of_birth": BORN}, headers=headers(world)
        )
        middle = _head(engine)
        ordinary = client.post(
            "/api/v1/lookup/status/image",
            files={"file": ("code.png", picture, "image/png")},
            data={"date_of_birth": BORN},
            headers=headers(world),
        )
        pool = app.state.vx_lookup.pool
        pooled = 0 if pool is None else pool._open  # connections the fast path opened
    by_fast, by_ordinary = _events_after(engine, start), _events_after(engine, middle)
    by_fast = [e for e in by_fast if e.id <= middle]

    assert _answer(fast) == _answer(ordinary), (fast.text, ordinary.text)
    expected = {"valid": 200, "role without the permission": 403}.get(state, 401)
    assert fast.status_code == expected
    assert [_audited(e) for e in by_fast] == [_audited(e) for e in by_ordinary]
    assert len(by_fast) == 1
    if expected == 200:
        assert [e.details["via"] for e in by_fast + by_ordinary] == ["number", "image"]
    else:
        assert by_fast[0].action == "access_denied"
        assert by_fast[0].resource_id == "/api/v1/lookup/status"
        assert by_ordinary[0].resource_id == "/api/v1/lookup/status/image"
    if (
        engine.dialect.name == "postgresql"
        and "authorization" in headers(world)
        and state != "malformed header"
    ):
        assert pooled >= 1  # the fast path answered
