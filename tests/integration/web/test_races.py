"""Two officers at the same moment, through the API: settling the same case, answering the same verification
request (one confirms, the other rejects), revoking the same certificate. Every round exactly one wins, the
other gets a 409 problem document, the change is made once (one link, one answer, one revocation and one
reissue, counted in the database) and the audit chain still verifies.

VAXLINK_DRILL_ROUNDS rounds of each (8 in CI; `./scripts/drills` sets 100)."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from tests.drills.support import figure
from tests.integration.certificate_world import linked_citizen
from tests.integration.web import world as w
from vaxlink.credentials import init_keys
from vaxlink.services.access.users import issue_token
from vaxlink.services.audit.log import bind_key, verify_chain
from vaxlink.services.certificates import issuance as certs
from vaxlink.storage.db import transaction
from vaxlink.storage.models import (
    AuditEvent,
    Certificate,
    Citizen,
    MatchResult,
    Revocation,
    VerificationRequest,
)
from vaxlink.storage.models import Case as CaseRow

ROUNDS = int(os.environ.get("VAXLINK_DRILL_ROUNDS", "8"))
PROBLEM = "application/problem+json"


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def officers_of_a(app: Any, world: w.World, engine: Engine) -> list[str]:
    """Tokens of two officers of ward A: the world's and a colleague."""
    with transaction(engine) as s:
        bind_key(s, app.state.vx.audit_key)
        w.add_user(s, "colleague_a", "ward_officer", "ward", w.WARD_A)
        colleague = issue_token(s, "colleague_a", "t")
    return [world.actors[("ward_officer", "own_ward")].token, colleague]


def at_once(app: Any, calls: list[tuple[str, dict[str, Any], str]]) -> list[Any]:
    """POST every (url, body, token) from its own client, released together by a barrier; the answers in
    the order of `calls`."""
    from tests.integration.web.conftest import TestClient

    barrier = threading.Barrier(len(calls))
    answers: list[Any] = [None] * len(calls)

    def post(i: int, url: str, body: dict[str, Any], token: str) -> None:
        with TestClient(app, raise_server_exceptions=False) as c:
            barrier.wait()
            answers[i] = c.post(url, json=body, headers=bearer(token))

    threads = [threading.Thread(target=post, args=(i, *call)) for i, call in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


def one_winner(answers: list[Any], code: str) -> tuple[int, str]:
    """(index of the winner, outcome): 'ok' for one 200 and one 409 problem document of `code`."""
    statuses = sorted(a.status_code for a in answers)
    if statuses != [200, 409]:
        return -1, "statuses " + "/".join(map(str, statuses))
    loser = next(a for a in answers if a.status_code == 409)
    if not loser.headers["content-type"].startswith(PROBLEM) or loser.json().get("code") != code:
        return -1, f"409 without the {code} problem document"
    if not loser.json().get("detail_vi"):
        return -1, "409 without the Vietnamese message"
    return next(i for i, a in enumerate(answers) if a.status_code == 200), "ok"


def events(engine: Engine, action: str, resource_id: int) -> int:
    with engine.connect() as c:
        return int(
            c.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == action, AuditEvent.resource_id == str(resource_id))
            )
            or 0
        )


def report(app: Any, engine: Engine, race: str, outcomes: Counter[str], twice: int, seconds: float) -> None:
    with engine.connect() as c:
        chain = verify_chain(c, app.state.vx.audit_key).ok
    figure(
        "7",
        f"{race} on {engine.dialect.name}: {ROUNDS} rounds, {seconds:.1f} s",
        f"{outcomes['ok']} rounds with one 200 and one 409 problem document, other outcomes "
        f"{sum(n for k, n in outcomes.items() if k != 'ok')} {dict(outcomes) if len(outcomes) > 1 else ''}"
        f"; processed twice {twice}; audit chain {'verifies' if chain else 'BROKEN'}".replace(" ;", ";"),
    )
    assert outcomes == Counter({"ok": ROUNDS}), outcomes
    assert twice == 0
    assert chain


@pytest.mark.db
def test_two_officers_settle_the_same_case(app, world, engine):
    tokens = officers_of_a(app, world, engine)
    outcomes: Counter[str] = Counter()
    twice = 0
    started = time.monotonic()
    for n in range(ROUNDS):
        with transaction(engine) as s:
            citizen = s.get(Citizen, world.citizens[w.WARD_A])
            case = w.add_case(s, world.batch_id, citizen)
            case_id, dose_id = case.id, case.dose_record_id
        body = {"version": 1, "citizen_id": world.citizens[w.WARD_A]}
        # The two officers swap places every round, so that neither is always first through the door.
        order = tokens if n % 2 == 0 else tokens[::-1]
        answers = at_once(app, [(f"/api/v1/cases/{case_id}/link", body, t) for t in order])
        outcomes[one_winner(answers, "VERSION_CONFLICT")[1]] += 1
        with engine.connect() as c:
            row = c.execute(select(CaseRow.status, CaseRow.version).where(CaseRow.id == case_id)).one()
            linked = c.scalar(
                select(func.count())
                .select_from(MatchResult)
                .where(MatchResult.dose_record_id == dose_id, MatchResult.outcome == "confirmed")
            )
        if tuple(row) != ("closed", 2) or linked != 1 or events(engine, "case_linked", case_id) != 1:
            twice += 1
    report(app, engine, "settling the same case", outcomes, twice, time.monotonic() - started)


@pytest.mark.db
def test_two_officers_answer_the_same_verification_request(app, world, engine):
    tokens = officers_of_a(app, world, engine)
    b = world.actors[("ward_officer", "sibling_ward")].token
    outcomes: Counter[str] = Counter()
    twice = 0
    started = time.monotonic()
    person = {
        "full_name": "Trần Thị Bích",
        "birth_date": "15/03/1990",
        "sex": "Nữ",
        "permanent_ward_code": w.WARD_A,
        "phone": "0912345678",
    }
    decisions = [
        {"version": 1, "decision": "confirm", "citizen_id": world.citizens[w.WARD_A]},
        {"version": 1, "decision": "reject", "reason": "không có người này trong sổ"},
    ]
    from tests.integration.web.conftest import TestClient

    for n in range(ROUNDS):
        # Ward B collects a person of one of its open cases and asks ward A, where they live permanently.
        with transaction(engine) as s:
            citizen_b = s.get(Citizen, world.citizens[w.WARD_B])
            case_id = w.add_case(s, world.batch_id, citizen_b).id
        with TestClient(app) as c:
            r = c.post(
                f"/api/v1/cases/{case_id}/collect", json={"version": 1, "note": "tạm trú"}, headers=bearer(b)
            )
            assert r.status_code == 200, r.text
            body = {"case_id": case_id, "case_version": 2, "person": person}
            r = c.post("/api/v1/verification-requests", json=body, headers=bearer(b))
            assert r.status_code == 200, r.text
            rid = r.json()["request_id"]
        # One officer of A confirms, the other rejects; they swap every round.
        pairs = list(zip(tokens, decisions if n % 2 == 0 else decisions[::-1], strict=True))
        answers = at_once(app, [(f"/api/v1/verification-requests/{rid}/answer", d, t) for t, d in pairs])
        winner, outcome = one_winner(answers, "VERSION_CONFLICT")
        outcomes[outcome] += 1
        with engine.connect() as c:
            req = c.execute(
                select(VerificationRequest.status, VerificationRequest.version).where(
                    VerificationRequest.id == rid
                )
            ).one()
            case_status = c.scalar(select(CaseRow.status).where(CaseRow.id == case_id))
        answered = events(engine, "verification_confirmed", rid) + events(
            engine, "verification_rejected", rid
        )
        expected = None
        if winner >= 0:
            confirmed = pairs[winner][1]["decision"] == "confirm"
            expected = ("confirmed" if confirmed else "rejected", 2, "closed" if confirmed else "open")
        if (req.status, req.version, case_status) != expected or answered != 1:
            twice += 1
    report(
        app, engine, "answering the same verification request", outcomes, twice, time.monotonic() - started
    )


@pytest.mark.db
def test_two_officers_revoke_the_same_certificate(app, world, engine, web_settings):
    tokens = officers_of_a(app, world, engine)
    init_keys(web_settings.keys_dir)
    with transaction(engine) as s:
        bind_key(s, app.state.vx.audit_key)
        citizen, _ = linked_citizen(s)
        citizen_id = citizen.id
        cert_id = certs.issue_for_citizen(s, web_settings, citizen.id, actor="officer").row.id
    outcomes: Counter[str] = Counter()
    twice = 0
    started = time.monotonic()
    for n in range(ROUNDS):
        order = tokens if n % 2 == 0 else tokens[::-1]
        body = {"version": 1, "reason": "cấp nhầm", "reissue": True}
        answers = at_once(app, [(f"/api/v1/certificates/{cert_id}/revoke", body, t) for t in order])
        winner, outcome = one_winner(answers, "CERTIFICATE_CONFLICT")
        outcomes[outcome] += 1
        with engine.connect() as c:
            row = c.execute(
                select(Certificate.status, Certificate.version, Certificate.replaced_by_id).where(
                    Certificate.id == cert_id
                )
            ).one()
            hashes = c.scalar(
                select(func.count()).select_from(Revocation).where(Revocation.certificate_id == cert_id)
            )
            valid = c.scalar(
                select(func.count())
                .select_from(Certificate)
                .where(Certificate.citizen_id == citizen_id, Certificate.status == "valid")
            )
        reissued = answers[winner].json()["reissued"] if winner >= 0 else None
        if (
            (row.status, row.version) != ("revoked", 2)
            or row.replaced_by_id != reissued
            or hashes != 3
            or valid != 1
            or events(engine, "certificate_revoked", cert_id) != 1
        ):
            twice += 1
        if reissued is None:
            break
        # The next round revokes the certificate this one issued in its place.
        cert_id = reissued
    with engine.connect() as c:
        issued = c.scalar(
            select(func.count()).select_from(Certificate).where(Certificate.citizen_id == citizen_id)
        )
    if issued != ROUNDS + 1:
        twice += 1
    report(app, engine, "revoking the same certificate", outcomes, twice, time.monotonic() - started)
