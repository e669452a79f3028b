"""Sessions and tokens are rejected at once when expired, idle, logged out, outdated by a role change or a
disabled user, tampered with or unknown; failed logins are throttled; pages refuse a missing CSRF token."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from tests.integration.web import world as w
from vaxlink.domain.permissions import Level, Role
from vaxlink.services.access.users import disable_user, set_role
from vaxlink.services.audit.log import bind_key
from vaxlink.storage.db import transaction
from vaxlink.storage.models import AppUser, AuditEvent, UserSession, utcnow
from vaxlink.storage.scope import Scope
from vaxlink.web.app import create_app


def _officer(world: w.World) -> w.Actor:
    return world.actors[("ward_officer", "own_ward")]


def _page_ok(client, a: w.Actor) -> bool:
    return client.get("/cases", headers=w.cookie_headers(a)).status_code == 200


def _api_ok(client, a: w.Actor) -> bool:
    return client.get("/api/v1/cases", headers={"authorization": f"Bearer {a.token}"}).status_code == 200


@pytest.mark.db
def test_expired_idle_and_tampered_sessions_are_refused(client, world, engine):
    a = _officer(world)
    assert _page_ok(client, a)
    tampered = w.Actor(
        a.username, a.role, a.relation, cookie=a.cookie[:-1] + ("A" if a.cookie[-1] != "A" else "B")
    )
    r = client.get("/cases", headers=w.cookie_headers(tampered))
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    with transaction(engine) as s:
        s.execute(update(UserSession).values(last_seen_at=utcnow() - timedelta(hours=2)))
    assert not _page_ok(client, a)
    with transaction(engine) as s:
        s.execute(
            update(UserSession).values(last_seen_at=utcnow(), expires_at=utcnow() - timedelta(seconds=1))
        )
    assert not _page_ok(client, a)


@pytest.mark.db
def test_logout_ends_the_session(client, world):
    a = _officer(world)
    assert _page_ok(client, a)
    r = client.post("/logout", headers=w.cookie_headers(a), data={"csrf_token": a.csrf})
    assert r.status_code == 303
    assert not _page_ok(client, a)


@pytest.mark.db
def test_role_withdrawn_or_user_disabled_cuts_sessions_and_tokens_at_once(client, world, engine, app):
    a = _officer(world)
    assert _page_ok(client, a) and _api_ok(client, a)
    with transaction(engine) as s:
        bind_key(s, app.state.vx.audit_key)
        set_role(s, a.username, Role.VERIFIER, Scope(Level.WARD, "legacy", w.WARD_A))
    assert not _page_ok(client, a) and not _api_ok(client, a)
    b = world.actors[("supervisor", "parent_district")]
    assert _api_ok(client, b)
    with transaction(engine) as s:
        bind_key(s, app.state.vx.audit_key)
        disable_user(s, b.username)
    assert not _api_ok(client, b) and not _page_ok(client, b)


@pytest.mark.parametrize(
    "header",
    [
        "Bearer vxt_not-a-token",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        # An unsigned JWT ("alg": "none") means nothing here: tokens are opaque and looked up by digest.
        "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiIsInNjb3BlIjoiY291bnRyeSJ9.",
    ],
)
@pytest.mark.db
def test_wrong_bearer_tokens_are_refused(client, world, header):
    r = client.get("/api/v1/cases", headers={"authorization": header})
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")


@pytest.mark.db
def test_pages_refuse_an_unsafe_request_without_the_csrf_token(client, world, engine):
    a = _officer(world)
    with engine.connect() as c:
        before = c.scalar(select(func.count()).select_from(AuditEvent))
    r = client.post(
        f"/cases/{world.cases[w.WARD_A]}/collect", headers=w.cookie_headers(a), data={"version": "1"}
    )
    assert r.status_code == 403
    with engine.connect() as c:
        assert c.scalar(select(func.count()).select_from(AuditEvent)) == before + 1
        assert c.scalar(select(AuditEvent.reason).order_by(AuditEvent.id.desc()).limit(1)) == "CSRF"


def _login(client, username: str, password: str):
    page = client.get("/login")
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text).group(1)
    return client.post("/login", data={"username": username, "password": password, "login_csrf": token})


@pytest.mark.db
def test_login_opens_a_session_with_a_secure_cookie(client, world):
    r = _login(client, "ward_officer_own_ward", w.PASSWORD)
    assert r.status_code == 303, r.text
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert client.get("/cases").status_code == 200


def _client_from(app, address: str):
    return TestClient(app, base_url="http://testserver", follow_redirects=False, client=(address, 50000))


@pytest.mark.db
def test_wrong_passwords_elsewhere_never_lock_out_the_right_password_from_a_known_address(app, world):
    user = "ward_officer_own_ward"
    with _client_from(app, "10.0.0.1") as own:
        assert _login(own, user, w.PASSWORD).status_code == 303  # the officer's usual address
    with _client_from(app, "10.0.0.66") as attacker:
        codes = [_login(attacker, user, "wrong-password!").status_code for _ in range(7)]
        assert codes[:5] == [401] * 5 and codes[5:] == [429, 429]
        # The right password from the attacker's (unknown) address is throttled too: no oracle.
        assert _login(attacker, user, w.PASSWORD).status_code == 429
    with _client_from(app, "10.0.0.1") as own:
        assert _login(own, user, w.PASSWORD).status_code == 303


@pytest.mark.db
def test_unknown_names_are_counted_and_answered_like_known_ones(app, world, engine):
    def attempts(address: str, name: str) -> list[int]:
        with _client_from(app, address) as c:
            return [_login(c, name, "wrong-password!").status_code for _ in range(7)]

    assert attempts("10.0.1.1", "ward_officer_own_ward") == attempts("10.0.1.2", "khong_co_ai_ten_nay")
    with engine.connect() as c:
        locked = c.scalar(select(AppUser.locked_until).where(AppUser.username == "ward_officer_own_ward"))
    assert locked is None  # no account-wide lock any more


@pytest.mark.db
def test_sign_in_throttles_are_shared_by_every_server_process(app, world, web_settings, engine):
    # A second app on the same database stands for a second worker process or host.
    second = create_app(web_settings, engine)
    with _client_from(app, "10.0.2.1") as one, _client_from(second, "10.0.2.1") as two:
        for i in range(5):
            assert (
                _login(one if i % 2 else two, "ward_officer_own_ward", "wrong-password!").status_code == 401
            )
        assert _login(one, "ward_officer_own_ward", "wrong-password!").status_code == 429
        assert _login(two, "ward_officer_own_ward", "wrong-password!").status_code == 429


@pytest.mark.db
def test_failed_logins_from_one_address_are_throttled(client, world, app):
    app.state.vx.login_limits.address_limit = 6
    for i in range(6):
        assert _login(client, f"nobody{i}", "wrong-password!").status_code == 401
    assert _login(client, "ward_officer_own_ward", w.PASSWORD).status_code == 429
