"""One aftermath for every change of a link: whichever path moves a dose (a re-sent record version in a
batch, the re-examination after a register import, an officer's action), the certificate resting on it
is revoked with the reason and listed for verifiers, a new one is issued where the remaining doses still
support one (and the keys are at hand), the holder is told through the outbox, and the status follows."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from tests.integration.certificate_world import linked_citizen
from tests.integration.web import world as w
from vaxlink.credentials import init_keys
from vaxlink.domain.permissions import Level, Role, permissions_of
from vaxlink.services.access.auth import Principal
from vaxlink.services.audit.log import bind_key, load_key
from vaxlink.services.certificates import issuance as certs
from vaxlink.services.figures.status import status_of
from vaxlink.services.reconciliation.dose_ingest import ingest_batch
from vaxlink.services.reconciliation.reexamine import reexamine_after_import
from vaxlink.services.reconciliation.registry_import import import_register
from vaxlink.services.workbench import case_actions as cases
from vaxlink.settings import Settings
from vaxlink.storage.db import transaction
from vaxlink.storage.models import Case, Certificate, Citizen, OutboxMessage, Revocation
from vaxlink.storage.scope import Scope

HEADER = [
    "record_id",
    "full_name",
    "date_of_birth",
    "sex",
    "id_number",
    "vaccination_date",
    "dose_number",
    "vaccine",
]
AN = ["Nguyễn Văn An", "15/03/1990", "Nam", "077090001234"]
HOA = ["Nguyễn Thị Hòa", "02/07/1990", "Nữ", "077190004321"]
REGISTER = """personal_id,full_name,date_of_birth,sex,permanent_ward_code,phone
077090001234,Nguyễn Văn An,1990-03-15,Nam,26560,0901000001
077190004321,Nguyễn Thị Hòa,1990-07-02,Nữ,26560,0901000002
"""


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


def _doses(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(HEADER)
        out.writerows(rows)
    return path


def _register(engine: Engine, settings: Settings, path: Path, text: str) -> int:
    path.write_text(text, encoding="utf-8")
    with Tx(engine, settings) as s:
        return import_register(s, settings, path, rejects_path=path.with_suffix(".rej.csv")).import_id


def _citizen_id(engine: Engine, personal_id: str) -> int:
    with transaction(engine) as s:
        found = s.scalar(select(Citizen.id).where(Citizen.personal_id == personal_id))
        assert found is not None
        return int(found)


def _issue(engine: Engine, settings: Settings, citizen_id: int) -> int:
    with Tx(engine, settings) as s:
        return certs.issue_for_citizen(s, settings, citizen_id, actor="officer").row.id


def _certificates(engine: Engine, citizen_id: int) -> list[tuple[int, str, str | None, int | None]]:
    with transaction(engine) as s:
        return [
            (c.id, c.status, c.revoke_reason, c.replaced_by_id)
            for c in s.scalars(
                select(Certificate).where(Certificate.citizen_id == citizen_id).order_by(Certificate.id)
            )
        ]


def _told(engine: Engine, phone: str) -> list[str]:
    with transaction(engine) as s:
        return list(s.scalars(select(OutboxMessage.body).where(OutboxMessage.recipient == phone)))


def _revocation_rows(engine: Engine, cert_id: int) -> int:
    with transaction(engine) as s:
        return int(
            s.scalar(select(func.count()).select_from(Revocation).where(Revocation.certificate_id == cert_id))
            or 0
        )


@pytest.mark.db
def test_a_resent_record_that_describes_someone_else_revokes_and_reissues(
    engine: Engine, cert_settings: Settings, tmp_path: Path
) -> None:
    _register(engine, cert_settings, tmp_path / "reg.csv", REGISTER)
    first = [["r1", *AN, "2021-08-01", "1", "AZ"], ["r2", *AN, "2021-09-01", "2", "AZ"]]
    with Tx(engine, cert_settings) as s:
        ingest_batch(s, cert_settings, _doses(tmp_path / "d1.csv", first), source="his")
    an = _citizen_id(engine, "077090001234")
    cert = _issue(engine, cert_settings, an)
    # Health sends r2 again: the same record id now describes Hòa.
    with Tx(engine, cert_settings) as s:
        r = ingest_batch(
            s,
            cert_settings,
            _doses(tmp_path / "d2.csv", [["r2", *HOA, "2021-09-01", "1", "AZ"]]),
            source="his",
        )
    assert r.counts["linked"] == 1
    got = _certificates(engine, an)
    assert got[0][0] == cert and got[0][1] == "revoked" and "no longer linked" in (got[0][2] or "")
    assert _revocation_rows(engine, cert) == 3
    # r1 is still An's: a new certificate rests on it alone.
    assert len(got) == 2 and got[1][1] == "valid" and got[0][3] == got[1][0]
    with transaction(engine) as s:
        assert s.get(Certificate, got[1][0]).dose_record_ids == [  # type: ignore[union-attr]
            d for d, _day, _p in certs.linked_doses(s, an)
        ]
        assert status_of(s.connection(), an).level.value == "partial"
    told = _told(engine, "0901000001")
    assert len(told) == 1 and "thu hồi" in told[0] and "cấp" in told[0]


@pytest.mark.db
def test_the_reexamination_after_a_register_import_revokes_a_certificate_whose_dose_left(
    engine: Engine, cert_settings: Settings, tmp_path: Path
) -> None:
    _register(engine, cert_settings, tmp_path / "reg.csv", REGISTER)
    doses = [["r1", *AN, "2021-08-01", "1", "AZ"], ["r2", *AN, "2021-09-01", "2", "AZ"]]
    with Tx(engine, cert_settings) as s:
        ingest_batch(s, cert_settings, _doses(tmp_path / "d1.csv", doses), source="his")
    an = _citizen_id(engine, "077090001234")
    cert = _issue(engine, cert_settings, an)
    # The register corrects the holder of this number: another name, another birth date.
    changed = REGISTER.replace(
        "077090001234,Nguyễn Văn An,1990-03-15", "077090001234,Trần Quốc Bảo,1990-11-30"
    )
    import_id = _register(engine, cert_settings, tmp_path / "reg2.csv", changed)
    with Tx(engine, cert_settings) as s:
        again = reexamine_after_import(s, cert_settings, import_id)
    assert again.outcomes.get("linked", 0) == 0
    got = _certificates(engine, an)
    assert got[0][0] == cert and got[0][1] == "revoked"
    assert _revocation_rows(engine, cert) == 3
    # No dose is linked to the holder any more: nothing to reissue; the holder is told to see the ward.
    assert len(got) == 1
    told = _told(engine, "0901000001")
    assert len(told) == 1 and "công an phường" in told[0]
    with transaction(engine) as s:
        assert status_of(s.connection(), an).level.value == "none"


def _officer() -> Principal:
    return Principal(
        user_id=0,
        username="phuong_a",
        display_name="phuong_a",
        role=Role.WARD_OFFICER.value,
        scope=Scope(Level.WARD, "legacy", w.WARD_A),
        permissions=permissions_of(Role.WARD_OFFICER.value),
        via="token",
    )


@pytest.mark.db
def test_an_officer_moving_a_dose_to_another_person_revokes_the_certificate_resting_on_it(
    engine: Engine, cert_settings: Settings
) -> None:
    with Tx(engine, cert_settings) as s:
        holder, doses = linked_citizen(s)
        other = w.add_citizen(s, w.WARD_A, "Nguyễn Thị Thu Hà", phone="0912000222")
        ids = (holder.id, other.id)
    cert = _issue(engine, cert_settings, ids[0])
    with Tx(engine, cert_settings) as s:
        # A case on the second dose: the officer finds it is the other person's.
        case = Case(
            kind="conflict",
            status="open",
            priority=2,
            ward_code=w.WARD_A,
            ward_units="legacy",
            province_code=w.PROVINCE,
            dose_record_id=doses[1],
            citizen_id=ids[1],
            details={"candidates": []},
            created_at=datetime.now(UTC),
            due_at=datetime.now(UTC) + timedelta(days=7),
            version=1,
        )
        s.add(case)
        s.flush()
        case_id = case.id
    with Tx(engine, cert_settings) as s:
        cases.link_case(s, _officer(), case_id, 1, ids[1], "người khác", settings=cert_settings)
    got = _certificates(engine, ids[0])
    assert got[0][0] == cert and got[0][1] == "revoked" and _revocation_rows(engine, cert) == 3
    # The holder keeps the first dose: a new certificate rests on it.
    assert len(got) == 2 and got[1][1] == "valid" and got[0][3] == got[1][0]
    assert len(_told(engine, "0912000111")) == 1
    with transaction(engine) as s:
        assert status_of(s.connection(), ids[0]).doses == 1
        assert status_of(s.connection(), ids[1]).doses == 1
