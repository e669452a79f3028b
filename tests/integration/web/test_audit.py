"""The audit chain: every mutation of the stored events is detected, an untouched chain raises no alarm.

The stored events cannot be changed through the application (append-only triggers on both backends, and
on PostgreSQL no UPDATE/DELETE/TRUNCATE for the service's role: tests/integration/test_audit_role.py);
the mutations here are made as someone with the owner's rights would, triggers out of the way first.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.integration.web import world as w
from vaxlink.domain.audit_actions import AuditAction
from vaxlink.services.audit import log as audit
from vaxlink.storage.db import transaction
from vaxlink.storage.models import AuditEvent


def _chain(engine, key: bytes, n: int = 12) -> list[int]:
    with transaction(engine) as s:
        audit.bind_key(s, key)
        return [
            audit.record(
                s,
                actor=f"officer{i}",
                action=AuditAction.CASE_VIEWED,
                resource_type="case",
                resource_id=i,
                jurisdiction="ward:legacy:26560",
                details={"i": i},
            ).id
            for i in range(n)
        ]


def _verify(engine, key: bytes, head=None):
    with engine.connect() as c:
        return audit.verify_chain(c, key, head)


def _kinds(report) -> set[str]:
    return {f.kind for f in report.findings}


def _as_owner_attacker(s: Session) -> None:
    """What someone with the owner's rights does first: the append-only triggers out of the way."""
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
    else:
        s.execute(text("DROP TRIGGER audit_event_no_update"))
        s.execute(text("DROP TRIGGER audit_event_no_delete"))


@pytest.mark.db
def test_untouched_chain_verifies(engine, app, monkeypatch):
    key = app.state.vx.audit_key
    _chain(engine, key)
    report = _verify(engine, key)
    assert report.ok and report.events == 12
    monkeypatch.setattr(audit, "_PARALLEL_FROM", 0)
    parallel = audit.verify_chain_parallel(engine, key, workers=3)
    assert parallel.ok and parallel.events == 12 and parallel.head_hash == report.head_hash


@pytest.mark.parametrize(
    "mutation",
    ["edit", "edit_time", "edit_details", "delete", "forge", "swap", "truncate", "wipe", "rewrite"],
)
@pytest.mark.db
def test_every_mutation_is_detected(engine, app, mutation, monkeypatch):
    key = app.state.vx.audit_key
    ids = _chain(engine, key)
    with engine.connect() as c:
        head = audit.export_head(c, key)
    with transaction(engine) as s:
        _as_owner_attacker(s)
        if mutation == "edit":
            s.execute(update(AuditEvent).where(AuditEvent.id == ids[4]).values(actor="someone_else"))
        elif mutation == "edit_time":
            e = s.get(AuditEvent, ids[4])
            e.at = e.at + timedelta(microseconds=1)
        elif mutation == "edit_details":
            s.execute(update(AuditEvent).where(AuditEvent.id == ids[4]).values(details={"i": 40}))
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
        elif mutation == "wipe":
            s.execute(
                text(
                    "TRUNCATE audit_event"
                    if s.get_bind().dialect.name == "postgresql"
                    else "DELETE FROM audit_event"
                )
            )
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
    # Walked in three processes over ranges of four events (a mutation at a range's edge too), the
    # findings are the same.
    monkeypatch.setattr(audit, "_PARALLEL_FROM", 0)
    parallel = audit.verify_chain_parallel(engine, key, head, workers=3)
    assert [(f.event_id, f.kind) for f in parallel.findings] == [
        (f.event_id, f.kind) for f in report.findings
    ]
    assert (parallel.events, parallel.head_id, parallel.head_hash) == (
        report.events,
        report.head_id,
        report.head_hash,
    )
    expected = {
        "edit": "altered",
        "edit_time": "altered",
        "edit_details": "altered",
        "delete": "broken_link",
        "forge": "bad_mac",
        "swap": "broken_link",
        "truncate": "truncated",
        "wipe": "truncated",
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
        _as_owner_attacker(s)
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


@pytest.mark.db
def test_long_actor_and_reason_are_hashed_as_stored(engine, app):
    """Cut to the columns' sizes before hashing: an officer's long note raises no false alarm."""
    key = app.state.vx.audit_key
    with transaction(engine) as s:
        audit.bind_key(s, key)
        audit.record(
            s,
            actor="x" * 120,
            action=AuditAction.CASE_LINKED,
            resource_type="case",
            resource_id=1,
            reason="Ghi chú rất dài. " * 60,
            details={"i": 1},
        )
    report = _verify(engine, key)
    assert report.ok and report.events == 1, report.findings


@pytest.mark.db
def test_stored_events_are_append_only_even_for_the_owner(engine, app):
    key = app.state.vx.audit_key
    ids = _chain(engine, key, 3)
    refused = [
        "UPDATE audit_event SET actor = 'someone_else'",
        "DELETE FROM audit_event",
        f"DELETE FROM audit_event WHERE id = {ids[-1]}",
    ]
    if engine.dialect.name == "postgresql":
        refused.append("TRUNCATE audit_event")
    for sql in refused:
        with pytest.raises(DBAPIError, match="append-only"), transaction(engine) as s:
            s.execute(text(sql))
    report = _verify(engine, key)
    assert report.ok and report.events == 3
    # Appending stays open: the chain goes on.
    _chain(engine, key, 2)
    assert _verify(engine, key).ok


_text = st.one_of(st.none(), st.text(max_size=30))
_json = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=12)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(
    actor=st.text(max_size=30),
    action=st.text(max_size=20),
    rtype=st.text(max_size=20),
    rid=_text,
    juris=_text,
    reason=_text,
    details=st.one_of(st.none(), st.dictionaries(st.text(max_size=8), _json, max_size=5)),
    micros=st.integers(min_value=0, max_value=10**15),
)
@settings(max_examples=300, deadline=None)
def test_canonical_form_is_json_dumps_byte_for_byte(
    actor, action, rtype, rid, juris, reason, details, micros
):
    """The canonical form assembled field by field is exactly the sorted, compact, UTF-8 JSON that every
    chain stored so far was hashed over."""
    at = datetime(2021, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)
    body = {
        "prev": audit.GENESIS,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "resource_type": rtype,
        "resource_id": rid,
        "jurisdiction": juris,
        "reason": reason,
        "details": details,
    }
    expected = json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode()
    got = audit._canonical(audit.GENESIS, at, actor, action, rtype, rid, juris, reason, details)
    assert got == expected
    # And the stored SQLite text of the timestamp gives the same canonical timestamp.
    stored = at.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    assert audit._sqlite_iso(stored) == body["at"]
