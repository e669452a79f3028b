"""Every route × every role × every jurisdiction relation, against the policy table below.

A route missing from the table fails the test. For each combination the answer must be exactly the one
the policy gives: no leak (a record of ward A seen, listed or changed from outside A's jurisdiction) and
no over-denial (a user refused what the role and jurisdiction allow). Every denied request must leave
the data unchanged and exactly one `access_denied` audit event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from tests.integration.web import world as w
from vaxlink.domain.permissions import ROLE_PERMISSIONS, Permission, Role
from vaxlink.services.audit.log import bind_key
from vaxlink.storage.db import transaction
from vaxlink.storage.models import AuditEvent, Citizen
from vaxlink.web.security import PUBLIC, all_routes, declared_permission

P = Permission


@dataclass(frozen=True)
class Rule:
    permission: Permission | str
    # public: anyone; self: any signed-in holder; global: not tied to a place; resource: a record of
    # ward A named in the request; collection: a list that must show ward A's record only to those
    # whose jurisdiction covers A.
    kind: str
    make: str = ""  # the fresh ward-A record an unsafe request consumes: case | citizen | change


POLICY: dict[tuple[str, str], Rule] = {
    ("GET", "/healthz"): Rule(PUBLIC, "public"),
    ("GET", "/openapi.json"): Rule(PUBLIC, "public"),
    ("GET", "/static"): Rule(PUBLIC, "public"),
    ("GET", "/login"): Rule(PUBLIC, "public"),
    ("POST", "/login"): Rule(PUBLIC, "public"),
    ("GET", "/api/v1/me"): Rule(P.SESSION_READ, "self"),
    ("GET", "/api/v1/users"): Rule(P.USER_MANAGE, "global"),
    ("POST", "/api/v1/audit/verify"): Rule(P.AUDIT_VERIFY, "global"),
    ("GET", "/api/v1/cases"): Rule(P.CASE_LIST, "collection"),
    ("GET", "/api/v1/cases/{case_id}"): Rule(P.CASE_READ, "resource"),
    ("POST", "/api/v1/cases/{case_id}/link"): Rule(P.CASE_ACT, "resource", "case"),
    ("POST", "/api/v1/cases/{case_id}/health-wrong"): Rule(P.CASE_ACT, "resource", "case"),
    ("POST", "/api/v1/cases/{case_id}/pass"): Rule(P.CASE_ACT, "resource", "case"),
    ("POST", "/api/v1/cases/{case_id}/collect"): Rule(P.CASE_ACT, "resource", "case"),
    ("POST", "/api/v1/citizens/search"): Rule(P.CITIZEN_SEARCH, "collection"),
    ("GET", "/api/v1/citizens/{citizen_id}"): Rule(P.CITIZEN_READ, "resource"),
    ("POST", "/api/v1/citizens/{citizen_id}/corrections"): Rule(P.CITIZEN_CORRECT, "resource", "citizen"),
    ("GET", "/api/v1/changes"): Rule(P.CHANGE_APPROVE, "collection"),
    ("POST", "/api/v1/changes/{change_id}/approve"): Rule(P.CHANGE_APPROVE, "resource", "change"),
    ("POST", "/api/v1/changes/{change_id}/reject"): Rule(P.CHANGE_APPROVE, "resource", "change"),
    ("POST", "/api/v1/counter/lookup"): Rule(P.CITIZEN_READ, "resource"),
    ("GET", "/"): Rule(P.SESSION_READ, "self"),
    ("POST", "/logout"): Rule(P.SESSION_READ, "self", "session"),
    ("GET", "/cases"): Rule(P.CASE_LIST, "collection"),
    ("GET", "/cases/{case_id}"): Rule(P.CASE_READ, "resource"),
    ("POST", "/cases/{case_id}/search"): Rule(P.CITIZEN_SEARCH, "resource"),
    ("POST", "/cases/{case_id}/link"): Rule(P.CASE_ACT, "resource", "case"),
    ("POST", "/cases/{case_id}/health-wrong"): Rule(P.CASE_ACT, "resource", "case"),
    ("POST", "/cases/{case_id}/pass"): Rule(P.CASE_ACT, "resource", "case"),
    ("POST", "/cases/{case_id}/collect"): Rule(P.CASE_ACT, "resource", "case"),
    ("POST", "/cases/{case_id}/close"): Rule(P.CASE_ACT, "resource", "request"),
    ("POST", "/cases/{case_id}/take"): Rule(P.CASE_ACT, "resource", "case"),
    # An officer's own saved filters: not tied to a place (the worklist they open is the scoped list).
    ("POST", "/cases/filters"): Rule(P.CASE_LIST, "global"),
    ("POST", "/cases/filters/{filter_id}/delete"): Rule(P.CASE_LIST, "global"),
    ("GET", "/citizens/search"): Rule(P.CITIZEN_SEARCH, "global"),
    ("POST", "/citizens/search"): Rule(P.CITIZEN_SEARCH, "collection"),
    ("GET", "/citizens/{citizen_id}"): Rule(P.CITIZEN_READ, "resource"),
    ("POST", "/citizens/{citizen_id}/correct"): Rule(P.CITIZEN_CORRECT, "resource", "citizen"),
    ("GET", "/changes"): Rule(P.CHANGE_APPROVE, "collection"),
    ("POST", "/changes/{change_id}/approve"): Rule(P.CHANGE_APPROVE, "resource", "change"),
    ("POST", "/changes/{change_id}/reject"): Rule(P.CHANGE_APPROVE, "resource", "change"),
    ("GET", "/counter"): Rule(P.CITIZEN_READ, "global"),
    ("POST", "/counter"): Rule(P.CITIZEN_READ, "resource"),
    # Verifier, certificate and citizen self-service routes: here only who may call them is checked
    # (401/403 for the rest, no server error for holders); what they answer is their own tests' matter.
    ("POST", "/api/v1/lookup/status"): Rule(P.LOOKUP_STATUS, "permission"),
    ("POST", "/api/v1/lookup/status/image"): Rule(P.LOOKUP_STATUS, "permission"),
    ("POST", "/api/v1/certificates/verify"): Rule(P.LOOKUP_STATUS, "permission"),
    ("POST", "/api/v1/certificates/verify/image"): Rule(P.LOOKUP_STATUS, "permission"),
    ("POST", "/api/v1/certificates/{certificate_id}/revoke"): Rule(P.CITIZEN_CORRECT, "permission"),
    ("GET", "/api/v1/certificates/revocations"): Rule(PUBLIC, "public"),
    ("GET", "/api/v1/certificates/trust-list"): Rule(PUBLIC, "public"),
    ("GET", "/verify"): Rule(P.LOOKUP_STATUS, "permission"),
    ("POST", "/verify"): Rule(P.LOOKUP_STATUS, "permission"),
    ("POST", "/verify/image"): Rule(P.LOOKUP_STATUS, "permission"),
    ("GET", "/verify/certificate"): Rule(P.LOOKUP_STATUS, "permission"),
    ("POST", "/verify/certificate"): Rule(P.LOOKUP_STATUS, "permission"),
    # The dashboard: the reader's own jurisdiction (global), or a unit named in the path (ward A).
    ("GET", "/api/v1/stats"): Rule(P.STATS_READ, "global"),
    ("GET", "/api/v1/stats/{unit_units}/{level}/{code}"): Rule(P.STATS_READ, "resource"),
    ("GET", "/dashboard"): Rule(P.STATS_READ, "global"),
    ("GET", "/dashboard/coverage.{fmt}"): Rule(P.STATS_READ, "global"),
    ("GET", "/dashboard/{unit_units}/{level}/{code}"): Rule(P.STATS_READ, "resource"),
    ("GET", "/dashboard/{unit_units}/{level}/{code}/coverage.{fmt}"): Rule(P.STATS_READ, "resource"),
    ("GET", "/self"): Rule(PUBLIC, "public"),
    ("POST", "/self"): Rule(PUBLIC, "public"),
    ("POST", "/self/code"): Rule(PUBLIC, "public"),
    ("GET", "/self/status"): Rule(PUBLIC, "public"),
    ("POST", "/self/certificate"): Rule(PUBLIC, "public"),
    ("POST", "/self/logout"): Rule(PUBLIC, "public"),
    # Verification between wards and new residents: who may call them; what each jurisdiction sees is
    # test_verification's and test_new_residents' matter. The notice names a citizen of ward A.
    ("POST", "/api/v1/verification-requests"): Rule(P.VERIFICATION_SEND, "permission"),
    ("GET", "/api/v1/verification-requests"): Rule(P.CASE_LIST, "permission"),
    ("GET", "/api/v1/verification-requests/{request_id}"): Rule(P.CASE_READ, "permission"),
    ("POST", "/api/v1/verification-requests/{request_id}/answer"): Rule(P.VERIFICATION_ANSWER, "permission"),
    ("POST", "/api/v1/verification-requests/{request_id}/escalate"): Rule(P.CASE_ASSIGN, "permission"),
    ("POST", "/api/v1/residents"): Rule(P.CITIZEN_CORRECT, "permission"),
    ("GET", "/citizens/{citizen_id}/notice.pdf"): Rule(P.CITIZEN_READ, "resource"),
    ("GET", "/verification"): Rule(P.CASE_LIST, "permission"),
    ("GET", "/verification/overdue"): Rule(P.CASE_LIST, "permission"),
    ("GET", "/verification/new"): Rule(P.VERIFICATION_SEND, "permission"),
    ("POST", "/verification/new"): Rule(P.VERIFICATION_SEND, "permission"),
    ("GET", "/verification/{request_id}"): Rule(P.CASE_READ, "permission"),
    ("POST", "/verification/{request_id}/answer"): Rule(P.VERIFICATION_ANSWER, "permission"),
    ("POST", "/verification/{request_id}/escalate"): Rule(P.CASE_ASSIGN, "permission"),
    # Health's batches, scoped by the uploader's jurisdiction (test_batches checks who sees which).
    ("POST", "/api/v1/batches"): Rule(P.BATCH_UPLOAD, "permission"),
    ("GET", "/api/v1/batches"): Rule(P.BATCH_READ, "permission"),
    ("GET", "/api/v1/batches/{batch_id}"): Rule(P.BATCH_READ, "permission"),
    ("GET", "/api/v1/batches/{batch_id}/answer"): Rule(P.BATCH_READ, "permission"),
    ("GET", "/batches"): Rule(P.BATCH_READ, "permission"),
    ("POST", "/batches"): Rule(P.BATCH_UPLOAD, "permission"),
    ("GET", "/batches/{batch_id}"): Rule(P.BATCH_READ, "permission"),
    ("GET", "/batches/{batch_id}/answer.{fmt}"): Rule(P.BATCH_READ, "permission"),
    # A citizen's correction request: public, admitted by the self-service pass (test_citizen_request).
    ("GET", "/self/correction"): Rule(PUBLIC, "public"),
    ("POST", "/self/correction"): Rule(PUBLIC, "public"),
}


def app_routes(app: Any) -> dict[tuple[str, str], Any]:
    return {(m, path): route for m, path, route in all_routes(app.routes)}


def test_every_route_declares_its_permission_and_is_in_the_policy(app):
    routes = app_routes(app)
    missing = sorted(set(routes) - set(POLICY))
    assert not missing, f"routes without a policy entry: {missing}"
    stale = sorted(set(POLICY) - set(routes))
    assert not stale, f"policy entries without a route: {stale}"
    for key, route in routes.items():
        declared = declared_permission(route)
        assert declared is not None, f"{key} declares no permission"
        assert declared == POLICY[key].permission, (
            f"{key} declares {declared}, policy says {POLICY[key].permission}"
        )


@dataclass
class Fresh:
    case_id: int
    citizen_id: int
    citizen_version: int
    change_id: int
    pid: str
    citizen_name: str


def _fresh(engine: Engine, key: bytes, world: w.World, make: str) -> Fresh:
    with transaction(engine) as s:
        bind_key(s, key)
        a = s.get(Citizen, world.citizens[w.WARD_A])
        assert a is not None
        case_id, citizen, change_id = world.cases[w.WARD_A], a, 0
        if make == "case":
            case_id = w.add_case(s, world.batch_id, a).id
        if make in ("citizen", "change"):
            citizen = w.add_citizen(s, w.WARD_A, "Hoàng Thị Mai")
        if make == "change":
            change_id = w.add_pending_change(s, citizen).id
        if make == "request":
            from vaxlink.services.workbench.citizen_requests import file_request

            case_id = file_request(s, w.add_citizen(s, w.WARD_A, "Đỗ Thị Lan").id, "address", "sai địa chỉ")
        return Fresh(case_id, citizen.id, citizen.version, change_id, a.personal_id, a.full_name)


def _request(path: str, method: str, f: Fresh, csrf: str) -> tuple[str, dict[str, Any]]:
    url = (
        path.replace("{case_id}", str(f.case_id))
        .replace("{citizen_id}", str(f.citizen_id))
        .replace("{change_id}", str(f.change_id))
        .replace("{certificate_id}", "1")
        .replace("{request_id}", "1")
        .replace("{filter_id}", "1")
        .replace("{batch_id}", "1")
        .replace("{unit_units}", "legacy")
        .replace("{level}", "ward")
        .replace("{code}", w.WARD_A)
        .replace("{fmt}", "csv")
    )
    if path == "/static":
        return "/static/app.css", {}
    api = path.startswith("/api/")
    bodies: dict[str, dict[str, Any]] = {
        "/link": {"version": 1, "citizen_id": f.citizen_id},
        "/health-wrong": {"version": 1, "citizen_id": f.citizen_id, "note": "y tế ghi sai ngày sinh"},
        "/pass": {"version": 1, "ward_code": w.WARD_B, "reason": "người này sống ở phường khác"},
        "/collect": {"version": 1, "note": "cư trú dài hạn"},
        "/close": {"version": 1, "note": "đã sửa địa chỉ theo CCCD"},
        "/take": {"version": 1},
        "/cases/filters": {"name": "Của tôi", "query": "mine=1"},
        "/corrections": {
            "version": f.citizen_version,
            "field": "phone",
            "value": "0912345678",
            "reason": "đổi số",
            "evidence": "CCCD",
        },
        "/correct": {
            "version": f.citizen_version,
            "field": "phone",
            "value": "0912345678",
            "reason": "đổi số",
            "evidence": "CCCD",
        },
        "/approve": {"version": 1},
        "/reject": {"version": 1},
        "/citizens/search": {"name": "Tran Thi Bich"},
        "/counter/lookup": {"text": f.pid},
        "/lookup/status": {"text": f.pid},
        "/counter": {"text": f.pid},
        "/cases/{case_id}/search": {"name": "tran thi bich"},
        "/login": {"username": "x", "password": "y"},
        "/audit/verify": {},
    }
    body: dict[str, Any] | None = None
    if method == "POST":
        for suffix, b in bodies.items():
            if path.endswith(suffix.replace("{case_id}", "")) or path == suffix or path.endswith(suffix):
                body = dict(b)
        body = body or {}
    if body is None:
        return url, {}
    if api:
        return url, {"json": body}
    return url, {"data": {**body, "csrf_token": csrf}}


def _follow(client: Any, response: Any) -> Any:
    if response.status_code != 303:
        return response
    return client.get(response.headers["location"], headers={"cookie": response.request.headers["cookie"]})


def _no_ward_cases_shown(path: str, response: Any, world: w.World) -> set[str]:
    """The provinces whose no-ward case a worklist shows."""
    if path == "/api/v1/cases":
        ids = {i["id"] for i in response.json()["items"]}
        return {p for p, case in world.no_ward_cases.items() if case in ids}
    return {p for p, case in world.no_ward_cases.items() if f'data-case="{case}"' in response.text}


def _leaked(client: Any, path: str, response: Any, f: Fresh, world: w.World) -> bool:
    """Does a list show ward A's record?"""
    case_a, citizen_a = world.cases[w.WARD_A], world.citizens[w.WARD_A]
    if path == "/api/v1/cases":
        return case_a in [i["id"] for i in response.json()["items"]]
    if path == "/api/v1/citizens/search":
        return citizen_a in [c["id"] for c in response.json()]
    if path == "/api/v1/changes":
        return bool(response.json())
    if path == "/cases":
        return f'data-case="{case_a}"' in response.text
    if path == "/citizens/search":
        # POST-redirect-GET: the results are on the page the answer points to.
        return f.citizen_name in _follow(client, response).text
    if path == "/changes":
        return "data-change=" in response.text
    raise AssertionError(path)


def _expected(rule: Rule, role: str | None, relation: str, api: bool, method: str) -> str:
    if rule.kind == "public":
        return "public"
    if role is None:
        return "unauthenticated"
    if rule.permission not in ROLE_PERMISSIONS[Role(role)]:
        return "forbidden"
    if rule.kind == "resource" and relation not in w.COVERS_A:
        return "not_found"
    return "allowed"


@pytest.mark.db
def test_access_matrix(app, client, world, engine, request):
    key = app.state.vx.audit_key
    # A pending change in ward A, so that the lists of changes have something to leak.
    fixed_change = _fresh(engine, key, world, "change").change_id
    checked, failures = 0, []
    actors: list[tuple[str | None, str]] = [(r.value, rel) for r in Role for rel in w.RELATIONS] + [
        (None, "none")
    ]
    base = _fresh(engine, key, world, "")
    for (method, path), rule in POLICY.items():
        api = path.startswith("/api/")
        for role, relation in actors:
            expect = _expected(rule, role, relation, api, method)
            denied = expect in ("unauthenticated", "forbidden", "not_found")
            make = rule.make if rule.make != "session" else ""
            # Out of reach, the request names the standing records of ward A; allowed, a fresh one it may consume.
            f = _fresh(engine, key, world, make) if make and not denied else base
            if make == "change" and denied:
                f = Fresh(
                    base.case_id,
                    base.citizen_id,
                    base.citizen_version,
                    fixed_change,
                    base.pid,
                    base.citizen_name,
                )
            actor = world.actors.get((role, relation)) if role else None
            headers: dict[str, str] = {}
            csrf = ""
            if actor is not None:
                if rule.make == "session":
                    actor = _fresh_session(engine, key, app, actor)
                csrf = actor.csrf
                headers = {"authorization": f"Bearer {actor.token}"} if api else w.cookie_headers(actor)
            url, kwargs = _request(path, method, f, csrf)
            if denied:
                with engine.connect() as c:
                    before_events = c.scalar(select(func.count()).select_from(AuditEvent))
                with transaction(engine) as s:
                    before = w.fingerprint(s)
            r = client.request(method, url, headers=headers, **kwargs)
            checked += 1
            where = f"{method} {path} as {role}/{relation}: {r.status_code}"
            if r.status_code >= 500:
                failures.append(f"{where} server error")
                continue
            if expect == "public":
                continue
            if denied:
                want = {"unauthenticated": 401 if api else 303, "forbidden": 403, "not_found": 404}[expect]
                if r.status_code != want:
                    failures.append(f"{where}, expected {want} ({expect}) — a leak")
                    continue
                with transaction(engine) as s:
                    after = w.fingerprint(s)
                with engine.connect() as c:
                    events = (
                        c.execute(
                            select(AuditEvent.action)
                            .where(AuditEvent.id > 0)
                            .order_by(AuditEvent.id.desc())
                            .limit(3)
                        )
                        .scalars()
                        .all()
                    )
                    n_events = c.scalar(select(func.count()).select_from(AuditEvent)) - before_events
                if after != before:
                    failures.append(f"{where} denied but data changed")
                if n_events != 1 or events[0] != "access_denied":
                    failures.append(f"{where} denied with {n_events} audit events ({events[:n_events]})")
                continue
            if rule.kind == "permission":
                if r.status_code in (401, 403) or "/login" in r.headers.get("location", ""):
                    failures.append(f"{where}, expected the permission to let it through — an over-denial")
                continue
            ok = r.status_code in ((200,) if api else (200, 303))
            if not ok:
                failures.append(f"{where}, expected success — an over-denial")
                continue
            if r.status_code == 303 and "/login" in r.headers.get("location", "") and path != "/logout":
                failures.append(f"{where} redirected to login — an over-denial")
            if rule.kind == "collection":
                leaked = _leaked(client, path, r, f, world)
                if leaked != (relation in w.COVERS_A):
                    failures.append(f"{where} {'shows' if leaked else 'hides'} ward A's record")
                if path in ("/api/v1/cases", "/cases"):
                    shown = _no_ward_cases_shown(path, r, world)
                    want = {p for p, seen_by in w.NO_WARD_SEEN_BY.items() if relation in seen_by}
                    if shown != want:
                        failures.append(
                            f"{where} shows the no-ward queues of {sorted(shown)}, not {sorted(want)}"
                        )
    n_routes = len(POLICY)
    print(f"\naccess matrix: {n_routes} routes × {len(actors)} principals = {checked} combinations checked")
    assert not failures, f"{len(failures)} of {checked} combinations wrong:\n" + "\n".join(failures[:60])


def _fresh_session(engine: Engine, key: bytes, app: Any, actor: w.Actor) -> w.Actor:
    from vaxlink.services.access.auth import open_session
    from vaxlink.storage.models import AppUser

    with transaction(engine) as s:
        bind_key(s, key)
        user = s.scalar(select(AppUser).where(AppUser.username == actor.username))
        raw, us = open_session(s, app.state.vx.settings, user)
        return w.Actor(actor.username, actor.role, actor.relation, actor.token, raw, us.csrf_secret)
