"""Certificates of the register: issued on linked doses only, verified green from the rendered QR code,
revoked by a dose correction (red, with the reason) and reissued at once, the revocation list for offline
verifiers, the CLI and the demo round trip. Two revocations racing: tests/integration/web/test_races.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update
from typer.testing import CliRunner

from tests.integration.certificate_world import linked_citizen
from tests.integration.web import world as w
from vaxlink.cli.main import app as cli
from vaxlink.credentials import RevocationList, TrustList, Verifier, codes, init_keys
from vaxlink.credentials.verify import CheckName, Status
from vaxlink.services.audit.log import bind_key, load_key
from vaxlink.services.certificates import issuance as certs
from vaxlink.services.demo.certificates import demo_certificate_round_trip
from vaxlink.services.errors import NotEligible, NotFound
from vaxlink.settings import Settings
from vaxlink.storage.db import transaction
from vaxlink.storage.models import AuditEvent, Certificate, Citizen, MatchResult, Revocation


@pytest.fixture
def cert_settings(settings: Settings, tmp_path: Path) -> Settings:
    s = settings.model_copy(update={"audit_key_file": tmp_path / "audit.key"})
    init_keys(s.keys_dir)
    return s


class Tx:
    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine, self.key = engine, load_key(settings.audit_key_file)

    def __enter__(self):  # type: ignore[no-untyped-def]
        self._t = transaction(self.engine)
        s = self._t.__enter__()
        bind_key(s, self.key)
        return s

    def __exit__(self, *exc):  # type: ignore[no-untyped-def]
        return self._t.__exit__(*exc)


def test_issue_then_verify_green_from_the_png(engine: Engine, cert_settings: Settings) -> None:
    with Tx(engine, cert_settings) as s:
        citizen, doses = linked_citizen(s)
        issued = certs.issue_for_citizen(s, cert_settings, citizen.personal_id, actor="officer")
        pid = citizen.personal_id
    row, cert = issued.row, issued.certificate
    assert row.status == "valid" and sorted(row.dose_record_ids) == sorted(doses)
    assert row.uvci == cert.uvci and row.kid == cert.kid.hex() and len(row.hash_signature) == 24
    assert pid not in cert.hc1 and pid not in str(cert.payload)  # the ID number is never in the QR
    assert cert.payload["nam"]["fn"] == "Nguyễn" and cert.payload["v"][0]["dn"] == 2
    png = codes.qr_png(cert.hc1)
    assert codes.read_code(png).text == cert.hc1
    with Tx(engine, cert_settings) as s:
        result = certs.verifier(s, cert_settings).verify(png)
        assert result.valid, [c.message_en for c in result.failures]
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "certificate_issued")).all()
    assert len(events) == 1 and events[0].resource_id == str(row.id)
    assert "Nguyễn" not in str(events[0].details) and pid not in str(events[0].details)


def test_no_certificate_without_a_linked_dose(engine: Engine, cert_settings: Settings) -> None:
    with Tx(engine, cert_settings) as s:
        citizen = w.add_citizen(s, w.WARD_A, "Lê Văn Tám")
        with pytest.raises(NotEligible):
            certs.issue_for_citizen(s, cert_settings, citizen.id, actor="officer")
        with pytest.raises(NotFound):
            certs.issue_for_citizen(s, cert_settings, "000000000000", actor="officer")


def test_a_correction_revokes_and_reissues(engine: Engine, cert_settings: Settings) -> None:
    with Tx(engine, cert_settings) as s:
        citizen, doses = linked_citizen(s)
        first = certs.issue_for_citizen(s, cert_settings, citizen.id, actor="officer")
    with Tx(engine, cert_settings) as s:
        outcome = certs.revoke_for_doses(s, cert_settings, doses[:1], "dose corrected", actor="ward_a")
        assert outcome.revoked == [first.row.id] and len(outcome.reissued) == 1
        new = outcome.reissued[0]
    with Tx(engine, cert_settings) as s:
        old_row = s.get(Certificate, first.row.id)
        assert old_row is not None
        assert old_row.status == "revoked" and old_row.revoke_reason == "dose corrected"
        assert old_row.replaced_by_id == new.row.id and old_row.version == 2
        hashes = s.scalars(select(Revocation.hash_type).where(Revocation.certificate_id == old_row.id)).all()
        assert sorted(hashes) == ["COUNTRYCODEUCI", "SIGNATURE", "UCI"]
        check = certs.verifier(s, cert_settings)
        old = check.verify(first.certificate.hc1)
        assert not old.valid and old.status(CheckName.REVOCATION) is Status.FAILED
        assert "thu hồi" in old.failures[0].message_vi
        assert check.verify(new.certificate.hc1).valid
        # Nothing left to revoke on those doses: the new certificate rests on the same records, once.
        again = certs.revoke_for_doses(s, cert_settings, [], "nothing", actor="x")
        assert again.revoked == []


def test_unlinked_doses_revoke_without_reissue(engine: Engine, cert_settings: Settings) -> None:
    with Tx(engine, cert_settings) as s:
        citizen, doses = linked_citizen(s)
        first = certs.issue_for_citizen(s, cert_settings, citizen.id, actor="officer")
    with Tx(engine, cert_settings) as s:
        s.execute(update(MatchResult).where(MatchResult.dose_record_id.in_(doses)).values(outcome="review"))
        outcome = certs.revoke_for_doses(s, cert_settings, doses, "unlinked at the ward", actor="ward_a")
        assert outcome.revoked == [first.row.id] and outcome.reissued == []
        assert outcome.citizens_without_doses == [citizen.id]


def test_the_published_list_revokes_offline(engine: Engine, cert_settings: Settings, tmp_path: Path) -> None:
    with Tx(engine, cert_settings) as s:
        citizen, _ = linked_citizen(s)
        first = certs.issue_for_citizen(s, cert_settings, citizen.id, actor="officer")
        certs.revoke_certificate(s, first.row.uvci, "issued in error", actor="officer")
        n = certs.export_revocations(s, tmp_path / "revocations.json")
    assert n == 3
    offline = Verifier(
        TrustList.load(cert_settings.keys_dir / "trust-list.json"),
        RevocationList.load(tmp_path / "revocations.json"),
    )
    result = offline.verify(first.certificate.hc1)
    assert not result.valid and result.status(CheckName.REVOCATION) is Status.FAILED


def test_cli_issue_revoke_and_publish(db_url: str, cert_settings: Settings, tmp_path: Path) -> None:
    runner = CliRunner()
    with Tx_url(db_url, cert_settings) as s:
        citizen, _ = linked_citizen(s)
        pid = citizen.personal_id
    env = {
        "VAXLINK_DATABASE_URL": db_url,
        "VAXLINK_KEYS_DIR": str(cert_settings.keys_dir),
        "VAXLINK_AUDIT_KEY_FILE": str(cert_settings.audit_key_file),
        "COLUMNS": "200",
    }
    out = tmp_path / "out"
    r = runner.invoke(cli, ["certificates", "issue", pid, "--out", str(out)], env=env)
    assert r.exit_code == 0, r.output
    hc1 = (out / "certificate.txt").read_text().strip()
    assert hc1.startswith("HC1:") and codes.read_code((out / "certificate.png").read_bytes()).text == hc1
    assert (out / "certificate.pdf").read_bytes().startswith(b"%PDF")
    r = runner.invoke(
        cli,
        ["verify", str(out / "certificate.png"), "--trust", str(cert_settings.keys_dir / "trust-list.json")],
        env=env,
    )
    assert r.exit_code == 0, r.output
    uvci = r.output.split("certificate id: ")[1].split(" ")[0]
    r = runner.invoke(cli, ["certificates", "revoke", "--uvci", uvci, "--reason", "sai ngày tiêm"], env=env)
    assert r.exit_code == 0, r.output
    assert "cấp lại / reissued: 1" in r.output
    r = runner.invoke(cli, ["certificates", "revoke", "--uvci", uvci, "--reason", "again"], env=env)
    assert r.exit_code == 2 and "thu hồi" in r.output
    rl = tmp_path / "rl.json"
    r = runner.invoke(cli, ["certificates", "revocations", "--out", str(rl)], env=env)
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        cli,
        ["verify", hc1, "--trust", str(cert_settings.keys_dir / "trust-list.json"), "--revocations", str(rl)],
        env=env,
    )
    assert r.exit_code == 1 and "revoked" in r.output
    r = runner.invoke(cli, ["certificates", "issue", "12345", "--out", str(out)], env=env)
    assert r.exit_code == 2


class Tx_url(Tx):
    def __init__(self, url: str, settings: Settings) -> None:
        from vaxlink.storage.db import make_engine

        super().__init__(make_engine(url), settings)

    def __exit__(self, *exc):  # type: ignore[no-untyped-def]
        try:
            return super().__exit__(*exc)
        finally:
            self.engine.dispose()


def test_demo_round_trip(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    s_ = settings.model_copy(
        update={"keys_dir": tmp_path / "demo-keys", "audit_key_file": tmp_path / "a.key"}
    )
    with Tx(engine, s_) as s:
        citizen, _ = linked_citizen(s)
        lines = demo_certificate_round_trip(s, s_, citizen.personal_id)
    text = "\n".join(lines)
    assert "XANH" in lines[3] and "trùng khớp / identical" in lines[2]
    assert "ĐỎ" in lines[5] and "thu hồi" in lines[5] and "corrected" in lines[5]
    assert "XANH" in lines[6] and "Cấp lại / reissued" in lines[6]
    assert citizen.personal_id not in text


def test_an_identity_correction_revokes_the_certificate_at_once(
    engine: Engine, cert_settings: Settings
) -> None:
    from vaxlink.services.workbench import register_changes as register

    with Tx(engine, cert_settings) as s:
        citizen, _doses = linked_citizen(s)
        first = certs.issue_for_citizen(s, cert_settings, citizen.id, actor="officer")
        cid, version = citizen.id, citizen.version
    with Tx(engine, cert_settings) as s:
        fresh = s.get(Citizen, cid)
        assert fresh is not None
        # The one place an approved identity change is applied to the register.
        register._apply(
            s, fresh, version, "full_name", "Nguyễn Thị Hoa", "giấy khai sinh", "counter", "ward_b"
        )
    with Tx(engine, cert_settings) as s:
        row = s.get(Certificate, first.row.id)
        assert (
            row is not None and row.status == "revoked" and "identity corrected" in (row.revoke_reason or "")
        )
        assert not certs.verifier(s, cert_settings).verify(first.certificate.hc1).valid
