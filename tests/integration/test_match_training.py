"""Learning from officers: settled cases are labels, the refit is measured on held-out decisions before it is
applied, and nothing changes until `--apply`; the next batch starts from the applied spec."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from vaxlink.domain.errors import VaxlinkError
from vaxlink.matching.spec import MatchSpec
from vaxlink.services.reconciliation.dose_ingest import ingest_batch
from vaxlink.services.reconciliation.match_parameters import (
    apply_spec,
    current_spec,
    run_parameters,
    spec_file,
)
from vaxlink.services.reconciliation.match_training import HELD_OUT, train
from vaxlink.services.reconciliation.registry_import import import_register
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


def test_a_batch_records_the_wrong_links_its_model_expects(settings, engine, reconciled):
    """The batch's links and the sum of their probabilities of being wrong are kept with it and shown; the sum
    is that of the stored scores (score = 1 - the probability of being wrong), counted once per identity."""
    with engine.connect() as conn:
        params = run_parameters(conn)
        scores = conn.execute(
            text("""SELECT min(m.score) FROM match_result m JOIN dose_record d ON d.id = m.dose_record_id
            WHERE m.outcome = 'linked' GROUP BY m.dose_record_id""")
        ).all()
    assert params.linked is not None and params.expected_wrong_links is not None
    assert 0 < params.linked <= len(scores)
    expected_upper = sum(1.0 - float(s[0]) for s in scores)
    # Identities, not records: a person's several records share one probability, so the records' sum bounds it.
    assert 0.0 <= params.expected_wrong_links <= expected_upper + 1e-6
    assert params.expected_wrong_links / params.linked <= MatchSpec().max_wrong_link
