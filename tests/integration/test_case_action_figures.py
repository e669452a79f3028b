"""Officers' actions keep the statistics current: after a series of case actions of every kind on a small
simulated province (link, health wrong with and without a citizen, pass to another ward, collection and
verification between wards confirmed with a new or an existing citizen or rejected, register corrections
approved and rejected, a new resident, a citizen's online request), the kept figures equal the same
figures recomputed from scratch, cell by cell, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import secrets
import threading
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from tests.figures import differences, differing_cells, from_scratch, kept
from tests.integration.web import world as w
from vaxlink.domain.permissions import Level, Role, permissions_of
from vaxlink.services.access.auth import Principal
from vaxlink.services.audit.log import bind_key
from vaxlink.services.figures import refresh as stats
from vaxlink.services.figures.status import status_of
from vaxlink.services.reconciliation.dose_ingest import ingest_batch
from vaxlink.services.reconciliation.registry_import import import_register
from vaxlink.services.workbench import case_actions as cases
from vaxlink.services.workbench import citizen_requests, new_residents, ward_requests
from vaxlink.services.workbench import register_changes as register
from vaxlink.settings import Settings
from vaxlink.simulation import SimulationSummary, simulate
from vaxlink.storage.db import transaction
from vaxlink.storage.models import Case, Citizen
from vaxlink.storage.scope import Scope

PROVINCE = "77"
KEY = secrets.token_bytes(32)


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> SimulationSummary:
    return simulate(tmp_path_factory.mktemp("province"), province=PROVINCE, citizens=1_500, seed=8)


def officer(name: str, level: Level, code: str | None) -> Principal:
    role = Role.WARD_OFFICER if level is Level.WARD else Role.SUPERVISOR
    return Principal(
        user_id=0,
        username=name,
        display_name=name,
        role=role.value,
        scope=Scope(level, "legacy", code),
        permissions=permissions_of(role.value),
        via="token",
    )


class Office:
    """Actions as the web layer runs them: one transaction each, with the audit key bound."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __call__(self, action: Any, *args: Any, **kwargs: Any) -> Any:
        with transaction(self.engine) as s:
            bind_key(s, KEY)
            return action(s, *args, **kwargs)

    def query(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as c:
            return list(c.execute(text(sql), params).all())


def open_cases(office: Office) -> list[tuple[int, str | None, int]]:
    """(id, ward, version) of the open cases that have a dose record, oldest first."""
    return [
        (r[0], r[1], r[2])
        for r in office.query(
            "SELECT id, ward_code, version FROM work_case WHERE status = 'open' AND dose_record_id IS NOT NULL "
            "ORDER BY id"
        )
    ]


def citizen_of(
    office: Office, ward: str | None = None, *, not_ward: str | None = None, vaccinated: bool | None = True
) -> tuple[int, str, str, int]:
    """A citizen (id, ward, permanent ward, version), in or away from a ward, with or without doses."""
    where = ["c.status = 'active'"]
    if vaccinated is not None:
        where.append(f"s.citizen_id IS {'NOT ' if vaccinated else ''}NULL")
    if ward is not None:
        where.append("c.current_ward_code = :w")
    if not_ward is not None:
        where.append("c.current_ward_code <> :n")
    rows = office.query(
        f"""SELECT c.id, c.current_ward_code, c.permanent_ward_code, c.version FROM citizen c
        LEFT JOIN citizen_status s ON s.citizen_id = c.id WHERE {" AND ".join(where)} ORDER BY c.id LIMIT 1""",
        w=ward,
        n=not_ward,
    )
    assert rows, (ward, not_ward, vaccinated)
    return (int(rows[0][0]), str(rows[0][1]), str(rows[0][2]), int(rows[0][3]))


def version_of(office: Office, table: str, row_id: int) -> int:
    return int(office.query(f"SELECT version FROM {table} WHERE id = :i", i=row_id)[0][0])


def other_ward(office: Office, ward: str) -> str:
    """Another ward of the province where people live."""
    return citizen_of(office, not_ward=ward, vaccinated=None)[1]


def person_of(office: Office, case_id: int, permanent_ward: str) -> ward_requests.Person:
    """The person of a case's dose record as the collecting ward writes them down."""
    name = office.query(
        "SELECT d.full_name FROM work_case k JOIN dose_record d ON d.id = k.dose_record_id WHERE k.id = :i",
        i=case_id,
    )[0][0]
    return ward_requests.Person(
        full_name=name or "Nguyễn Văn Mới",
        birth_date="01/01/1990",
        sex="Nam",
        permanent_ward_code=permanent_ward,
    )


@pytest.mark.db
def test_case_actions_keep_the_statistics_equal_to_a_recomputation(
    settings: Settings, engine: Engine, province: SimulationSummary
) -> None:
    with transaction(engine) as s:
        import_register(s, settings, province.files["register"])
    with transaction(engine) as s:
        ingest_batch(s, settings, province.files["doses"])
    office = Office(engine)
    boss = officer("supervisor_77", Level.PROVINCE, PROVINCE)
    deputy = officer("deputy_77", Level.PROVINCE, PROVINCE)
    waiting = open_cases(office)
    assert len(waiting) >= 8, waiting
    with_ward = [c for c in waiting if c[1] is not None]
    unknown = [c for c in waiting if c[1] is None]

    # Link: the record leaves its ward's unmatched count for a citizen of another ward.
    (case, ward, version) = with_ward[0]
    someone = citizen_of(office, not_ward=ward)
    office(cases.link_case, boss, case, version, someone[0], "cùng người")
    # Health wrong, with the citizen (linked, and a correction for health) and without.
    (case, ward, version) = with_ward[1]
    office(cases.declare_health_wrong, boss, case, version, citizen_of(office, ward=None)[0], "sai tên")
    (case, ward, version) = with_ward[2]
    office(cases.declare_health_wrong, boss, case, version, None, "không rõ người")
    # Pass to another ward, and a case no ward could be told for passed to one.
    (case, ward, version) = with_ward[3]
    office(cases.pass_case, boss, case, version, other_ward(office, str(ward)), "người ở phường khác")
    if unknown:
        # Such a case waits in no province's queue: the country's supervisor passes it.
        (case, _, version) = unknown[0]
        nation = officer("supervisor_vn", Level.COUNTRY, None)
        office(cases.pass_case, nation, case, version, with_ward[0][1], "đã xác định phường")

    def collect(case: int, ward: str, version: int, asked: str, **answer: Any) -> Principal:
        """The case's person collected, the ward of permanent residence asked, and its answer."""
        here = officer(f"officer_{ward}", Level.WARD, ward)
        office(cases.start_collection, boss, case, version, None)
        request = office(
            ward_requests.send_request,
            here,
            person_of(office, case, asked),
            case_id=case,
            case_version=version_of(office, "work_case", case),
        )
        there = officer(f"officer_{asked}", Level.WARD, asked)
        version = version_of(office, "verification_request", request)
        office(ward_requests.answer_request, None, there, request, version, **answer)
        return here

    # Collection: the asked ward registers a new citizen, or finds them in its register, or rejects (the
    # case goes back to the worklist).
    (case, ward, version) = with_ward[4]
    asked = other_ward(office, str(ward))
    collect(case, str(ward), version, asked, confirm=True, create_new=True, birth_province=PROVINCE)
    (case, ward, version) = with_ward[5]
    asked = other_ward(office, str(ward))
    resident = citizen_of(office, ward=asked, vaccinated=None)
    collect(case, str(ward), version, asked, confirm=True, citizen_id=resident[0])
    (case, ward, version) = with_ward[6]
    asked = other_ward(office, str(ward))
    here = collect(case, str(ward), version, asked, confirm=False, reason="không có người này")
    # A request from the counter, left open (due in a week).
    office(ward_requests.send_request, here, person_of(office, case, asked))

    # Register corrections: an identity change waits as a case, then is approved (birth year: another
    # age band; sex) or rejected; a contact field changes at once.
    person = citizen_of(office)
    asked = office(
        register.correct_citizen,
        boss,
        person[0],
        person[3],
        "birth_date",
        "01/01/1931",
        "sai năm",
        "giấy khai sinh",
    )
    office(
        register.decide_change,
        deputy,
        asked.change_id,
        version_of(office, "work_case", asked.change_id),
        True,
    )
    person = citizen_of(office)
    asked = office(register.correct_citizen, boss, person[0], person[3], "sex", "Nữ", "sai giới tính", "CCCD")
    office(
        register.decide_change,
        deputy,
        asked.change_id,
        version_of(office, "work_case", asked.change_id),
        True,
    )
    person = citizen_of(office)
    asked = office(
        register.correct_citizen, boss, person[0], person[3], "full_name", "Nguyễn Thị Sửa", "sai tên", "CCCD"
    )
    office(
        register.decide_change,
        deputy,
        asked.change_id,
        version_of(office, "work_case", asked.change_id),
        False,
    )
    person = citizen_of(office)
    office(register.correct_citizen, boss, person[0], person[3], "phone", "0912345678", "số mới", "tự khai")

    # A new resident at the counter, and a citizen's own correction request filed online.
    office(
        new_residents.register_in_ward,
        here,
        new_residents.NewPerson(
            full_name="Trần Văn Mới",
            birth_date="02/03/2001",
            sex="Nam",
            permanent_ward_code=str(here.scope.code),
            current_ward_code="",
        ),
    )
    office(citizen_requests.file_request, citizen_of(office)[0], "doses", "thiếu một mũi")

    with Session(engine) as s:
        assert s.scalar(select(Case).where(Case.resolution == "verified")) is not None
        assert s.scalar(select(Citizen).where(Citizen.full_name == "Trần Văn Mới")) is not None
    with engine.connect() as conn:
        before = kept(conn)
        scratch = from_scratch(conn)
    differ = differing_cells(before, scratch)
    assert differ == dict.fromkeys(before, 0), "\n".join([f"{differ}", *differences(before, scratch)])


@pytest.mark.db
# PostgreSQL only: SQLite has one writer at a time, so no refresh ever runs beside an action there.
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_an_action_during_a_refresh_leaves_the_cells_to_it_without_waiting(
    settings: Settings, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """A refresh holds its lock until its transaction ends (an ingest can take minutes more): an action that
    meets it is not held up, and leaves the cells as they are."""
    with transaction(engine) as s:
        bind_key(s, KEY)
        world = w.build(s, settings, actors=False)
    with engine.begin() as c:
        stats.refresh_statistics(c)
    with engine.connect() as c:
        cells = kept(c, ("stats_backlog_cell",))
    office = Office(engine)
    clerk = officer("officer_a", Level.WARD, w.WARD_A)
    done = threading.Event()

    def link() -> None:
        office(cases.link_case, clerk, world.cases[w.WARD_A], 1, world.citizens[w.WARD_A])
        done.set()

    with engine.connect() as refresh, caplog.at_level(logging.WARNING, "vaxlink.stats"):
        refresh.execute(text("SELECT pg_advisory_xact_lock(:space, 0)"), {"space": stats.REFRESH_LOCKS})
        action = threading.Thread(target=link)
        action.start()
        action.join(30)
        finished_beside_the_refresh = done.is_set()
        refresh.rollback()
        action.join()
    assert finished_beside_the_refresh
    assert "statistics refresh under way" in caplog.text
    with engine.connect() as c:
        assert status_of(c, world.citizens[w.WARD_A]).doses == 1
        assert kept(c, ("stats_backlog_cell",)) == cells
