"""The audit chain: every mutation of the stored events is detected, an untouched chain raises no alarm."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import delete, select, text, update
from typer.testing import CliRunner

from tests.integration.web import world as w
from vaxlink.services import audit
from vaxlink.storage.db import transaction
from vaxlink.storage.models import AuditEvent


def _chain(engine, key: bytes, n: int = 12) -> list[int]:
    with transaction(engine) as s:
        audit.bind_key(s, key)
        return [
            audit.record(s, f"officer{i}", "case_viewed", "case", i, "ward:legacy:26560", None, {"i": i}).id
            for i in range(n)
        ]


def _verify(engine, key: bytes, head=None):
    with engine.connect() as c:
        return audit.verify_chain(c, key, head)


def _kinds(report) -> set[str]:
    return {f.kind for f in report.findings}


@pytest.mark.db
def test_untouched_chain_verifies(engine, app):
    key = app.state.vx.audit_key
    _chain(engine, key)
    report = _verify(engine, key)
    assert report.ok and report.events == 12


@pytest.mark.parametrize("mutation", ["edit", "delete", "forge", "swap", "truncate", "rewrite"])
@pytest.mark.db
def test_every_mutation_is_detected(engine, app, mutation):
    key = app.state.vx.audit_key
    ids = _chain(engine, key)
    with engine.connect() as c:
        head = audit.export_head(c, key)
    with transaction(engine) as s:
        if mutation == "edit":
            s.execute(update(AuditEvent).where(AuditEvent.id == ids[4]).values(actor="someone_else"))
        elif mutation == "delete":
            s.execute(delete(AuditEvent).where(AuditEvent.id == ids[4]))
        elif mutation == "forge":
            # A consistent event appended by someone with database access but without the key.
            last = s.get(AuditEvent, ids[-1])
            fake = audit._canonical(
                last.hash, last.at, "intruder", "case_linked", "case", "1", None, None, None
            )
            digest = audit._hash(fake)
            s.add(
                AuditEvent(
                    at=last.at,
                    actor="intruder",
                    action="case_linked",
                    resource_type="case",
                    resource_id="1",
                    prev_hash=last.hash,
                    hash=digest,
                    mac=audit._mac(b"k" * 32, digest),
                )
            )
        elif mutation == "swap":
            a, b = s.get(AuditEvent, ids[3]), s.get(AuditEvent, ids[6])
            fields = ("actor", "resource_id", "details", "prev_hash", "hash", "mac")
            va, vb = {f: getattr(a, f) for f in fields}, {f: getattr(b, f) for f in fields}
            for f in fields:
                setattr(a, f, f"tmp-{f}" if f == "hash" else vb[f])
            s.flush()
            for f in fields:
                setattr(b, f, va[f])
            s.flush()
            a.hash = vb["hash"]
        elif mutation == "truncate":
            s.execute(delete(AuditEvent).where(AuditEvent.id >= ids[-2]))
        elif mutation == "rewrite":
            # Every event re-chained consistently, but without the key.
            prev = audit.GENESIS
            for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id)):
                digest = audit._hash(
                    audit._canonical(
                        prev,
                        e.at,
                        "x",
                        e.action,
                        e.resource_type,
                        e.resource_id,
                        e.jurisdiction,
                        e.reason,
                        e.details,
                    )
                )
                e.actor, e.prev_hash, e.hash, e.mac = "x", prev, digest, audit._mac(b"z" * 32, digest)
                prev = digest
    report = _verify(engine, key, head)
    assert not report.ok, mutation
    expected = {
        "edit": "altered",
        "delete": "broken_link",
        "forge": "bad_mac",
        "swap": "broken_link",
        "truncate": "truncated",
        "rewrite": "bad_mac",
    }[mutation]
    assert expected in _kinds(report), (mutation, report.findings)


@pytest.mark.db
def test_cli_verify_and_head(engine, app, web_settings, tmp_path):
    from vaxlink.cli.main import app as cli

    key = app.state.vx.audit_key
    _chain(engine, key, 3)
    env = {
        "VAXLINK_DATABASE_URL": web_settings.database_url,
        "VAXLINK_AUDIT_KEY_FILE": str(web_settings.audit_key_file),
    }
    runner = CliRunner()
    head = tmp_path / "head.json"
    assert runner.invoke(cli, ["audit", "head", "--out", str(head)], env=env).exit_code == 0
    assert json.loads(head.read_text())["id"] > 0
    ok = runner.invoke(cli, ["audit", "verify", "--head", str(head)], env=env)
    assert ok.exit_code == 0, ok.output
    with transaction(engine) as s:
        s.execute(text("DELETE FROM audit_event WHERE id = (SELECT max(id) FROM audit_event)"))
    bad = runner.invoke(cli, ["audit", "verify", "--head", str(head)], env=env)
    assert bad.exit_code == 1 and "truncated" in bad.output


@pytest.mark.db
def test_requests_leave_no_personal_data_in_audit_details(client, world, engine):
    a = world.actors[("ward_officer", "own_ward")]
    client.post(
        "/api/v1/citizens/search",
        json={"name": "Trần Thị Bích"},
        headers={"authorization": f"Bearer {a.token}"},
    )
    client.post(
        "/api/v1/counter/lookup",
        json={"text": "077090999999"},
        headers={"authorization": f"Bearer {a.token}"},
    )
    with engine.connect() as c:
        rows = c.execute(select(AuditEvent.details, AuditEvent.reason, AuditEvent.resource_id)).all()
    blob = json.dumps([list(map(str, r)) for r in rows], ensure_ascii=False)
    assert "Bích" not in blob and "Bich" not in blob and "077090999999" not in blob
    assert w.WARD_A  # the ward code itself is a jurisdiction, not personal data
