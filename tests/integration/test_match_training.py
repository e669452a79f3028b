"""Learning from officers: settled cases are labels, the refit is measured on held-out decisions before it is
applied, and nothing changes until `--apply`; the next batch starts from the applied spec."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from vaxlink.domain.errors import VaxlinkError
from vaxlink.services.dose_ingest import ingest_batch
from vaxlink.services.match_parameters import apply_spec, current_spec, run_parameters, spec_file
from vaxlink.services.match_training import HELD_OUT, train
from vaxlink.services.registry_import import import_register
from vaxlink.simulation import simulate
from vaxlink.storage.db import transaction

pytestmark = pytest.mark.db


@pytest.fixture
def reconciled(settings, engine, tmp_path):
    data = tmp_path / "sim"
    simulate(data, citizens=1500, seed=3)
    with transaction(engine) as s:
        import_register(s, settings, data / "register.csv", rejects_path=tmp_path / "rej.csv")
    with transaction(engine) as s:
        ingest_batch(s, settings, data / "doses.csv", source="a")
    return data


def _confirm(engine, n: int) -> list[int]:
    """Officers' decisions: n automatic links confirmed as a person would (the simulator's truth agrees with
    them: the links are exact on number, name and birth date)."""
    with transaction(engine) as s:
        ids = [
            int(r[0])
            for r in s.execute(
                text("""SELECT m.dose_record_id FROM match_result m WHERE m.outcome = 'linked' AND m.reasons = ''
                ORDER BY m.dose_record_id LIMIT :n"""),
                {"n": n},
            ).all()
        ]
        s.execute(
            text(
                f"UPDATE match_result SET outcome = 'confirmed' WHERE dose_record_id IN ({','.join(map(str, ids))})"
            )
        )
    return ids


def test_too_few_decisions_is_said_plainly(settings, engine, reconciled):
    _confirm(engine, 10)
    with engine.connect() as conn, pytest.raises(VaxlinkError, match="at least 50"):
        train(conn, settings)


def test_the_refit_is_measured_on_held_out_decisions_and_applied_only_when_asked(
    settings, engine, reconciled
):
    ids = _confirm(engine, 200)
    with engine.connect() as conn:
        report = train(conn, settings)
    assert report.matches == 200
    assert report.held_out_records == sum(1 for i in ids if i % HELD_OUT == 0)
    # Clean pairs: linked before and after, none wrongly.
    assert (
        report.before.linked_right == report.before.records
        and report.after.linked_right == report.after.records
    )
    assert report.after.linked_wrong == 0
    assert report.spec is not None and report.spec.version.endswith(
        f"+officers.{200 - report.held_out_records}"
    )
    assert report.spec.digest != current_spec(settings).digest
    # Nothing applied yet.
    assert not spec_file(settings).exists()
    apply_spec(settings, report.spec)
    assert current_spec(settings).digest == report.spec.digest
    # The next batch starts from it (and estimates on its own data from there): another file, since the
    # same content again would be the same batch.
    lines = (reconciled / "doses.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    later = reconciled / "later.csv"
    later.write_text("".join(lines[:1] + lines[1::2]), encoding="utf-8")
    with transaction(engine) as s:
        result = ingest_batch(s, settings, later, source="b")
        assert not result.already_ingested
        params = run_parameters(s.connection())
    assert params.spec_version == report.spec.version
