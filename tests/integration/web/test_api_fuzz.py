"""Property-based API test, role by role: schemathesis generates requests from the OpenAPI document for every
operation, fitting the schema and not fitting it, and sends them as the officers of two peer wards (A and B,
both in district 748), a district supervisor, a health data officer, a verifier, an administrator and a
caller without credentials. Every answer goes through schemathesis's checks; none may be a server error,
every refusal is a problem document, and no body may show a person the caller's jurisdiction does not
hold. Then each peer officer asks every GET operation with an id in its path for the other ward's records:
each must be refused as a missing record is.

VAXLINK_FUZZ_EXAMPLES examples per operation and mode, each sent as every caller (2 in CI; `./scripts/drills` sets 100)."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import CHECKS, is_check_class, load_all_checks
from schemathesis.core.failures import AcceptedNegativeData, Failure, FailureGroup
from schemathesis.generation.modes import GenerationMode
from sqlalchemy import select

from tests.drills.support import figure
from tests.integration.web import world as w
from vaxlink.domain.permissions import permissions_of
from vaxlink.services.audit.log import bind_key
from vaxlink.storage.db import transaction
from vaxlink.storage.models import Citizen
from vaxlink.web.security import PUBLIC, all_routes, declared_permission

EXAMPLES = int(os.environ.get("VAXLINK_FUZZ_EXAMPLES", "2"))
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class Caller:
    label: str
    actor: tuple[str, str] | None  # the world's actor (role, relation); None: no credentials at all
    wards: frozenset[str]  # the wards whose people this caller may be shown


A, B, C = w.WARD_A, w.WARD_B, w.WARD_C
# One caller per role of the world, bound where the role may be bound (the world has no country-wide
# user; the administrator holds no place-bound permission but statistics), and both peer wards.
CALLERS = (
    Caller("ward officer of A", ("ward_officer", "own_ward"), frozenset({A})),
    Caller("ward officer of B", ("ward_officer", "sibling_ward"), frozenset({B})),
    Caller("supervisor of district 748", ("supervisor", "parent_district"), frozenset({A, B})),
    # Health, checkpoints and administrators read no person's record, wherever they sit.
    Caller("health data officer of province 79", ("health_officer", "other_province"), frozenset()),
    Caller("verifier of ward A", ("verifier", "own_ward"), frozenset()),
    Caller("administrator", ("admin", "parent_district"), frozenset()),
    Caller("no credentials", None, frozenset()),
)
PEERS = (("ward officer of A", B), ("ward officer of B", A))


def checks() -> list[Any]:
    """Every check schemathesis registers but `positive_data_acceptance`, which is wrong about this API:
    it takes any 4xx but 401/403/404/409 to a request that fits the schema for a fault, while the rules
    refuse well-formed input the schema cannot express with 422 (a search without any criterion, a ward
    code of five digits that is no ward, a date of the right shape that is not a date, a file whose rows
    cannot be read, a personal ID whose check digits are wrong).

    Some checks cannot act in this test and stay silent: `ignored_auth` and `object_level_authorization`
    act on security the document declares (it declares none: a bearer token or the session cookie) and
    on schemathesis's own peer identities; the requests without credentials and the cross-ward probe
    below do their work. `use_after_free`, `ensure_resource_availability`, `missing_required_header`,
    `unsupported_method` and `allow_header_conformance` belong to the stateful and coverage phases (the API
    has no DELETE and no required header)."""
    load_all_checks()
    wrong_here = {"positive_data_acceptance"}
    return [c for c in CHECKS.get_all() if not is_check_class(c) and c.__name__ not in wrong_here]


def explained(f: Failure, response: Any, case: Any) -> str | None:
    """A failure that is known and not the answers' fault: counted and reported apart, by kind.

    One mistake of a check: multipart has no null, number or boolean, so a file part "made" null is sent as
    a file holding the bytes `null`, which is a file like any other. Anything else a check finds fails the
    test."""
    if (
        isinstance(f, AcceptedNegativeData)
        and str(case.media_type).startswith("multipart/form-data")
        and "at /properties/file (was string" in f.message
    ):
        return "check: a file part of another JSON type is sent as a file of those bytes"
    return None


def secrets_of(
    engine: Any, persons: list[tuple[frozenset[str], dict[str, Any]]]
) -> list[tuple[frozenset[str], str]]:
    """(wards that may see it, text) for every citizen's ID number, name (as written, in capitals and
    folded) and phone, and for the people named in verification requests."""
    out: list[tuple[frozenset[str], str]] = []
    with engine.connect() as c:
        rows = c.execute(
            select(
                Citizen.personal_id,
                Citizen.full_name,
                Citizen.name_key,
                Citizen.phone,
                Citizen.current_ward_code,
            )
        )
        for row in rows:
            for text in (row.personal_id, row.full_name, row.full_name.upper(), row.name_key, row.phone):
                if text:
                    out.append((frozenset({row.current_ward_code}), text))
    for wards, person in persons:
        for text in (person["full_name"], person["full_name"].upper(), person.get("phone")):
            if text:
                out.append((wards, text))
    return out


def body_of(response: Any) -> str:
    text = str(response.text)
    try:
        # Whatever escaping the encoder chose, the decoded text is what a client reads.
        return text + json.dumps(json.loads(text), ensure_ascii=False)
    except ValueError:
        return text


@pytest.mark.db
def test_every_role_fuzzes_every_operation(app, world, engine):
    started = time.monotonic()
    # Records of the peer wards beyond the world's own: a verification request each sent to ward C.
    request_ids: dict[str, int] = {}
    persons: list[tuple[frozenset[str], dict[str, Any]]] = []
    with transaction(engine) as s:
        bind_key(s, app.state.vx.audit_key)
        for ward, name, phone in ((A, "Đoàn Thị Hạnh", "0987000111"), (B, "Vũ Quang Khải", "0987000222")):
            person = {
                "full_name": name,
                "birth_date": "02/02/1985",
                "sex": "Nam",
                "permanent_ward_code": C,
                "phone": phone,
            }
            request_ids[ward] = w.add_verification_request(s, ward, C, person).id
            persons.append((frozenset({ward, C}), person))
    secrets = secrets_of(engine, persons)
    assert {a.role for a in world.actors.values()} == {c.actor[0] for c in CALLERS if c.actor}, (
        "every role of the world is fuzzed"
    )

    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) >= 30
    permission = {(m, path): declared_permission(route) for m, path, route in all_routes(app.routes)}
    check_list = checks()
    sent = 0
    examples: Counter[tuple[str, str]] = Counter()
    statuses: Counter[int] = Counter()
    server_errors: list[tuple[str, str, int, str]] = []
    failures: list[tuple[str, str, str]] = []
    apart: Counter[str] = Counter()
    leaks: list[tuple[str, str, str]] = []

    def headers_of(caller: Caller) -> dict[str, str]:
        if caller.actor is None:
            return {}
        return {"authorization": f"Bearer {world.actors[caller.actor].token}"}

    def send(caller: Caller, case: Any) -> Any:
        nonlocal sent
        sent += 1
        label = f"{case.method} {case.path}"
        try:
            response = case.call(headers=headers_of(caller))
        except Exception as e:
            # The in-process client hands on what the app raised after answering 500.
            statuses[500] += 1
            server_errors.append((caller.label, label, 500, f"{type(e).__name__}: {str(e)[:200]}"))
            return None
        statuses[response.status_code] += 1
        if response.status_code >= 500:
            server_errors.append((caller.label, label, response.status_code, response.text[:300]))
        try:
            case.validate_response(response, checks=check_list, headers=headers_of(caller))
        except FailureGroup as group:
            found = list(group.exceptions)
        except Failure as f:
            found = [f]
        else:
            found = []
        for f in found:
            known = explained(f, response, case)
            if known:
                apart[known] += 1
            else:
                failures.append((caller.label, label, f"{f.title}: {f.message[:200]}".replace("\n", " ")))
        if response.status_code >= 400 and case.path != "/healthz":
            ctype = response.headers.get("content-type")
            ctype = ctype[0] if isinstance(ctype, list) else ctype
            if not str(ctype).startswith(PROBLEM):
                failures.append((caller.label, label, f"a refusal as {ctype}, not a problem document"))
        # No credentials: 401, or 400/422 for a request malformed before anyone is asked for.
        if (
            caller.actor is None
            and permission[(case.method, case.path)] != PUBLIC
            and response.status_code not in (400, 401, 422)
        ):
            failures.append((caller.label, label, f"{response.status_code} without credentials"))
        text = body_of(response).lower()
        leaks.extend(
            (caller.label, label, secret)
            for wards, secret in secrets
            if not wards & caller.wards and secret.lower() in text
        )
        return response

    # The peer wards, first (the fuzzing below may move or close their records): every record of the
    # other ward named in a path is refused as a missing one is.
    cross_reads: list[tuple[str, str, int]] = []
    wrong_refusals: list[tuple[str, str, int]] = []
    probes = 0
    for caller_label, other in PEERS:
        caller = next(c for c in CALLERS if c.label == caller_label)
        owner = next(c for c in CALLERS if c.wards == frozenset({other}))
        assert caller.actor is not None
        ids = {
            "case_id": world.cases[other],
            "citizen_id": world.citizens[other],
            "request_id": request_ids[other],
            "batch_id": world.batch_id,
            "unit_units": "legacy",
            "level": "ward",
            "code": other,
        }
        for op in operations:
            names = [p.name for p in op.iter_parameters() if p.location.value == "path"]
            if op.method.upper() != "GET" or not names:
                continue
            missing = [n for n in names if n not in ids]
            assert not missing, f"{op.label}: name a record of ward {other} for {missing}"
            params = {n: ids[n] for n in names}
            needed = permission[("GET", op.path)]
            allowed = needed == PUBLIC or needed in permissions_of(caller.actor[0])
            if allowed:
                # The id is real: the ward that holds the record reads it.
                mine = send(owner, op.Case(path_parameters=params))
                assert mine is not None and mine.status_code == 200, (op.label, mine and mine.text[:200])
            probes += 1
            r = send(caller, op.Case(path_parameters=params))
            status = 500 if r is None else r.status_code
            if 200 <= status < 400:
                cross_reads.append((caller.label, op.label, status))
            elif status != (404 if allowed else 403):
                wrong_refusals.append((caller.label, op.label, status))

    probed = sent

    def fuzz(strategy: Any) -> None:
        # Each example goes to every caller: the same input, answered by role.
        @given(case=strategy)
        @settings(
            max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def run(case: Any) -> None:
            for caller in CALLERS:
                examples[(caller.label, f"{case.method} {case.path}")] += 1
                send(caller, case)

        run()

    without_inputs = {op.label for op in operations if not list(op.iter_parameters()) and not len(op.body)}
    for op in operations:
        # Nothing can be made invalid about an operation without parameters or body.
        for mode in MODES if op.label not in without_inputs else (GenerationMode.POSITIVE,):
            fuzz(op.as_strategy(generation_mode=mode))
    fuzzed = sent - probed

    seconds = time.monotonic() - started
    # Every caller is sent the same examples; an operation whose inputs run out gets fewer.
    per_op = {label: n for (c, label), n in examples.items() if c == CALLERS[0].label}
    short = {label: n for label, n in sorted(per_op.items()) if n < EXAMPLES and label not in without_inputs}
    print(
        f"\nfuzzed {len(operations)} operations as {len(CALLERS)} callers: {fuzzed} requests, statuses "
        f"{dict(sorted(statuses.items()))}, then {probes} cross-ward probes; {len(server_errors)} server "
        f"errors, {len(failures)} check failures, known and apart {dict(apart)}, {len(leaks)} leaks, "
        f"{len(cross_reads)} cross-ward reads in {seconds:.0f} s"
    )
    figure(
        "3",
        f"fuzzed API on {engine.dialect.name}: {len(operations)} operations × {len(CALLERS)} callers "
        f"(5 roles, the peer ward, no credentials), {EXAMPLES} examples per operation and mode, each as every caller "
        f"(both modes together: at least {EXAMPLES} for every operation with inputs"
        f"{' but ' + ', '.join(f'{k} {n}' for k, n in short.items()) if short else ''}), {fuzzed:,} requests, "
        f"{probes} cross-ward probes, {seconds:.0f} s",
        f"server errors {len(server_errors)}, check failures {len(failures)} "
        f"(known and counted apart: {', '.join(f'{n} {k}' for k, n in sorted(apart.items()))}), "
        f"cross-ward reads {len(cross_reads)}, "
        f"answers showing another jurisdiction's person {len(leaks)}",
    )
    assert server_errors == [], server_errors[:10]
    assert failures == [], "\n".join(
        f"{n:5} {op}: {what} (as {', '.join(sorted({c for c, o, t in failures if (o, t) == (op, what)}))})"
        for (op, what), n in sorted(Counter((o, t) for _, o, t in failures).items())
    )
    assert cross_reads == [], cross_reads
    assert wrong_refusals == [], wrong_refusals
    assert leaks == [], leaks[:10]
