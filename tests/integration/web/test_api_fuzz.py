"""Property-based API test: schemathesis generates requests from the OpenAPI document for every operation,
fitting the schema and not fitting it; none may end in a server error, and every refusal is a
problem document. Kept short for CI (VAXLINK_FUZZ_EXAMPLES examples per operation and mode; raise it
for the long drill)."""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation.modes import GenerationMode

EXAMPLES = int(os.environ.get("VAXLINK_FUZZ_EXAMPLES", "12"))


@pytest.mark.db
def test_no_server_error_on_any_input(app, world):
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    officer = world.actors[("ward_officer", "own_ward")]
    headers = {"authorization": f"Bearer {officer.token}"}
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) >= 15
    seen = 0
    for op in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=op.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def run(case) -> None:
                nonlocal seen
                seen += 1
                response = case.call(headers=headers)
                assert response.status_code < 500, (
                    case.method,
                    case.path,
                    response.status_code,
                    response.text[:300],
                )
                if response.status_code >= 400 and case.path != "/healthz":
                    ctype = response.headers.get("content-type")
                    ctype = ctype[0] if isinstance(ctype, list) else ctype
                    assert str(ctype).startswith("application/problem+json"), (case.path, ctype)

            try:
                run()
            except Unsatisfiable:
                # Nothing can be made invalid about an operation without parameters.
                assert mode is GenerationMode.NEGATIVE
    print(f"\nfuzzed {len(operations)} operations with {seen} requests")
