"""Drill 10 (the web), personal data stays put: canary citizens with unique names, ID numbers, old ID numbers
and phones are entered in the register, get dose records from health's uploads, and are pushed through
every route of the web app: the worklist and every case action, register search, citizen pages,
corrections and approvals, the counter, verification between wards, new residents and their notice, the
verifier's lookups, the citizen's self-service with a one-time code, certificates, the dashboard, and the
error paths (malformed bodies, 403, 404, 405, 409, 422, 429).

Searched for them (names folded: as written, NFC or NFD, any case, without diacritics; numbers as written):

- every URL requested and every URL the app produced: Location and other headers, href/src/action/
  formaction attributes of pages, URL-like strings of JSON bodies (percent- and base64-decoded too);
- every log record of every logger at DEBUG, and what reached stdout and stderr;
- every error answer (status 400 and above), whole.

Every route of the app must have been exercised: a route the drill does not reach fails it, as a route
missing from the access matrix's policy does.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import html
import io
import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, unquote_plus, urlsplit

import pytest
from sqlalchemy import Engine, select, update
from starlette.routing import Mount, compile_path

from tests.drills.support import Canaries, figure
from tests.drills.test_personal_data import CANARIES, DOSE_HEADER, REGISTER_HEADER, canaries
from tests.integration.web import conftest as web_fixtures
from tests.integration.web import world as w
from vaxlink.credentials import codes, init_keys
from vaxlink.services.audit.log import bind_key, load_key
from vaxlink.services.reconciliation.registry_import import import_register
from vaxlink.settings import Settings
from vaxlink.storage.db import transaction
from vaxlink.storage.models import Certificate, Citizen, OutboxMessage, VerificationRequest
from vaxlink.web.security import all_routes

# The web tests' fixtures: the app on a migrated database (both backends), its world of wards and users.
app, client, web_settings, world = (
    web_fixtures.app,
    web_fixtures.client,
    web_fixtures.web_settings,
    web_fixtures.world,
)

# Routes the drill need not reach, with the reason. Empty: every route is exercised.
NOT_EXERCISED: dict[tuple[str, str], str] = {}
# Headers that carry URLs.
URL_HEADERS = ("location", "content-location", "refresh", "link")
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "cite", "poster", "data-href", "data-url"}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SELF_CSRF = re.compile(r'name="self_csrf" value="([^"]+)"')
LOGIN_CSRF = re.compile(r'name="login_csrf" value="([^"]+)"')
# The register's canaries live in ward A but for every tenth, in ward B.
WARD_OF = {True: w.WARD_B, False: w.WARD_A}
UNREGISTERED = 20


# --- the canaries ---------------------------------------------------------------------------------


def registered() -> list[dict[str, str]]:
    people = canaries()
    for i, c in enumerate(people):
        c["ward"] = WARD_OF[i % 10 == 9]
        c["dmy"] = datetime.strptime(c["date_of_birth"], "%Y-%m-%d").strftime("%d/%m/%Y")
    return people


def unregistered() -> list[dict[str, str]]:
    """People health vaccinated who are not in the register: the same distinctive given names under another
    family name, another phone, no number (new residents get one from the drill's requests)."""
    out = []
    for i, c in enumerate(canaries()[:UNREGISTERED]):
        out.append(
            {
                **c,
                "full_name": c["full_name"].replace("Khúc Thừa", "Ông Ích Đức"),
                "personal_id": "",
                "old_id": "",
                "phone": "0966" + c["phone"][4:],
                "ward": w.WARD_B if i % 2 else w.WARD_A,
                "dmy": datetime.strptime(c["date_of_birth"], "%Y-%m-%d").strftime("%d/%m/%Y"),
            }
        )
    return out


def the_canaries(people: list[dict[str, str]]) -> Canaries:
    found = Canaries()
    for c in people:
        *family, given = c["full_name"].split()
        found.add_name(c["full_name"], " ".join(family), given, c["address"])
        found.add_number(c["personal_id"], c["old_id"], c["phone"])
    return found


def chip_text(c: dict[str, str], name: str | None = None) -> str:
    """The chip card's QR text: number, old number, name, birth date, sex, address, date of issue."""
    dob = c["dmy"].replace("/", "")
    return f"{c['personal_id']}|{c['old_id']}|{name or c['full_name']}|{dob}|Nam|{c['address']}|01072021"


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def plain(text: str) -> str:
    """As typed on a keyboard without Vietnamese input: no diacritics."""
    return "".join(
        ch for ch in nfd(text.replace("đ", "d").replace("Đ", "D")) if not unicodedata.combining(ch)
    )


# --- what the drill saw ---------------------------------------------------------------------------


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name, value in attrs:
            if name in URL_ATTRIBUTES and value is not None:
                self.urls.append(value)
        if tag == "meta" and (values.get("http-equiv") or "").lower() == "refresh":
            self.urls.append(values.get("content") or "")


def _json_urls(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _json_urls(v)
    elif isinstance(value, list):
        for v in value:
            yield from _json_urls(v)
    elif isinstance(value, str) and (value.startswith("/") or "://" in value):
        yield value


def url_forms(url: str) -> list[str]:
    """A URL as a reader of logs would see it, percent-decoded, and any token of it that is base64."""
    forms = [url, unquote(url), unquote_plus(url)]
    for token in re.split(r"[/?&=#;:.,\s]+", unquote(url)):
        if len(token) >= 8 and re.fullmatch(r"[A-Za-z0-9_+-]+", token):
            with contextlib.suppress(ValueError):
                forms.append(
                    base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("utf-8", "ignore")
                )
    return forms


@dataclass
class Seen:
    requested: list[str] = field(default_factory=list)  # METHOD URL
    produced: list[str] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # METHOD URL status, then the body
    statuses: Counter[int] = field(default_factory=Counter)
    exercised: Counter[tuple[str, str]] = field(default_factory=Counter)
    succeeded: Counter[tuple[str, str]] = field(default_factory=Counter)


class Drill:
    """The web client of the drill: each request as an officer (bearer token on the API, session cookie and
    form token on pages) or as the browser's own cookies, and everything the answer carries noted."""

    def __init__(self, client: Any, app: Any) -> None:
        self.client, self.app = client, app
        self.seen = Seen()
        self.routes: list[tuple[str, str, re.Pattern[str], int]] = []
        for method, path, route in all_routes(app.routes):
            mounted = isinstance(route, Mount)
            pattern = re.compile("^" + re.escape(path) + "/.*$") if mounted else compile_path(path)[0]
            self.routes.append((method, path, pattern, path.count("{")))

    def route_of(self, method: str, url: str) -> tuple[str, str] | None:
        path = urlsplit(url).path
        found = [(n, p) for m, p, rx, n in self.routes if m == method and rx.match(path)]
        return (method, min(found)[1]) if found else None

    def __call__(
        self,
        method: str,
        url: str,
        who: w.Actor | None = None,
        *,
        expect: int | tuple[int, ...],
        json: Any = None,
        data: dict[str, Any] | None = None,
        files: dict[str, Any] | None = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        h = dict(headers or {})
        if who is not None:
            if url.startswith("/api/"):
                h["authorization"] = f"Bearer {who.token}"
            else:
                h["cookie"] = f"vaxlink_session={who.cookie}"
                if method != "GET":
                    data = {"csrf_token": who.csrf, **(data or {})}
        kwargs: dict[str, Any] = {"headers": h}
        if json is not None:
            kwargs["json"] = json
        if data is not None:
            kwargs["data"] = data
        if files is not None:
            kwargs["files"] = files
        if content is not None:
            kwargs["content"] = content
        r = self.client.request(method, url, **kwargs)
        # A form sent back with its mistake shows the user what they typed, beside the message: the
        # answer may repeat the request's own values, and nothing else of a person.
        sent = [str(v) for v in (data or {}).values() if isinstance(v, str) and len(v) >= 3]
        self.note(method, url, r, sent)
        wanted = expect if isinstance(expect, tuple) else (expect,)
        assert r.status_code in wanted, f"{method} {url}: {r.status_code}, expected {wanted}\n{r.text[:600]}"
        return r

    def note(self, method: str, url: str, r: Any, sent: list[str] | None = None) -> None:
        s = self.seen
        s.requested.append(f"{method} {url}")
        s.statuses[r.status_code] += 1
        route = self.route_of(method, url)
        if route is not None and r.status_code < 500:
            s.exercised[route] += 1
            if r.status_code < 400:
                s.succeeded[route] += 1
        for name, value in r.headers.items():
            s.headers.append(f"{name}: {value}")
            if name.lower() in URL_HEADERS:
                s.produced.append(value)
        ctype = r.headers.get("content-type", "")
        if ctype.startswith("text/html"):
            parser = _Links()
            parser.feed(r.text)
            s.produced.extend(parser.urls)
        elif "json" in ctype:
            with contextlib.suppress(ValueError):
                s.produced.extend(_json_urls(r.json()))
        if r.status_code >= 400:
            text = r.text
            if ctype.startswith("text/html"):
                for value in sent or ():
                    text = text.replace(html.escape(value), "").replace(value, "")
            s.errors.append(f"{method} {url} {r.status_code}\n{text}")

    def page(self, url: str, who: w.Actor, expect: int | tuple[int, ...] = 200) -> Any:
        return self("GET", url, who, expect=expect)


def links(html: str, pattern: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    return [u for u in parser.urls if re.fullmatch(pattern, u)]


# --- the world of the drill -----------------------------------------------------------------------


def register_file(path: Path, people: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.DictWriter(f, REGISTER_HEADER, extrasaction="ignore")
        out.writeheader()
        for c in people:
            out.writerow({**c, "sex": "Nam", "permanent_ward_code": c["ward"]})
    return path


def dose_file(people: list[tuple[int, dict[str, str]]], tag: str) -> bytes:
    """Health's records of the canaries, in the shapes health sends: with the number, upper case without it,
    a birth date off by a day, without diacritics and three years off; two doses for the first shape."""
    out = io.StringIO()
    rows = csv.DictWriter(out, DOSE_HEADER, extrasaction="ignore")
    rows.writeheader()
    for i, c in people:
        day, month, year = c["dmy"].split("/")
        shape = i % 4
        name = (c["full_name"], c["full_name"].upper(), c["full_name"], plain(c["full_name"]))[shape]
        dob = (c["dmy"], c["dmy"], f"{int(day) + 1:02d}/{month}/{year}", f"{day}/{month}/{int(year) + 3}")[
            shape
        ]
        doses = ((1, "2021-08-01"), (2, "2021-09-01")) if shape == 0 else ((1, "2021-08-01"),)
        for n, given_on in doses:
            record = f"{tag}-{'r' if c['personal_id'] else 'u'}{i}-{n}"
            rows.writerow(
                {**c, "record_id": record, "full_name": name, "date_of_birth": dob, "sex": "Nam",
                 "id_number": c["personal_id"] if shape == 0 else "", "ward_code": c["ward"],
                 "vaccination_date": given_on, "dose_number": n, "vaccine": "AstraZeneca"}
            )  # fmt: skip
    return out.getvalue().encode("utf-8")


@pytest.fixture
def canary_world(world: w.World, engine: Engine, web_settings: Settings, tmp_path: Path) -> w.World:
    init_keys(web_settings.keys_dir)
    with transaction(engine) as s:
        bind_key(s, load_key(web_settings.audit_key_file))
        result = import_register(
            s,
            web_settings,
            register_file(tmp_path / "register.csv", registered()),
            rejects_path=tmp_path / "r.csv",
        )
        assert result.imported == CANARIES, result
    return world


@dataclass
class Logs:
    records: list[str] = field(default_factory=list)
    rows_left_out: int = 0


class _Keep(logging.Handler):
    def __init__(self, logs: Logs) -> None:
        super().__init__(logging.DEBUG)
        self.logs = logs
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        # SQLAlchemy at DEBUG echoes every result row: the data the query read, by design of that switch
        # (statements and their parameters, which are hidden, are kept and searched).
        if record.name.startswith("sqlalchemy.engine") and record.msg == "Row %r":
            self.logs.rows_left_out += 1
            return
        try:
            self.logs.records.append(self.format(record) + f" {record.args!r}")
        except Exception:  # a record that cannot be formatted is kept as its parts
            self.logs.records.append(f"{record.name} {record.msg!r} {record.args!r}")


@pytest.fixture
def all_logs() -> Iterator[Logs]:
    """Every log record of every logger at DEBUG while the drill runs."""
    logs = Logs()
    handler = _Keep(logs)
    named = [
        "",
        "sqlalchemy",
        "httpx",
        "httpcore",
        "uvicorn",
        "uvicorn.error",
        "uvicorn.access",
        "starlette",
        "fastapi",
        "multipart",
        "python_multipart",
        "vaxlink",
        "asyncio",
        "PIL",
        "duckdb",
        "psycopg",
    ]
    names = set(named) | set(logging.root.manager.loggerDict)
    old: dict[str, tuple[int, bool]] = {}
    for name in names:
        logger = logging.getLogger(name)
        old[name] = (logger.level, logger.disabled)
        logger.setLevel(logging.DEBUG)
        logger.disabled = False
        if not logger.propagate or name == "":
            logger.addHandler(handler)
    try:
        yield logs
    finally:
        for name, (level, disabled) in old.items():
            logger = logging.getLogger(name)
            logger.setLevel(level)
            logger.disabled = disabled
            logger.removeHandler(handler)


# --- the route families ---------------------------------------------------------------------------


@dataclass
class Cast:
    """Who plays which part (world actors: role and jurisdiction relation with ward A)."""

    world: w.World

    def __getattr__(self, name: str) -> w.Actor:
        parts = {
            "ward_a": ("ward_officer", "own_ward"),
            "ward_b": ("ward_officer", "sibling_ward"),
            "ward_other": ("ward_officer", "other_province"),
            "supervisor": ("supervisor", "parent_district"),
            "health": ("health_officer", "parent_district"),
            "verifier": ("verifier", "own_ward"),
            "admin": ("admin", "own_ward"),
        }
        return self.world.actors[parts[name]]


def health_uploads(d: Drill, cast: Cast) -> None:
    ours, strangers = list(enumerate(registered())), list(enumerate(unregistered()))
    by_api = ours[: CANARIES // 2] + strangers[: UNREGISTERED // 2]
    by_page = ours[CANARIES // 2 :] + strangers[UNREGISTERED // 2 :]
    r = d(
        "POST",
        "/api/v1/batches",
        cast.health,
        expect=202,
        files={"file": ("tiem-chung-1.csv", dose_file(by_api, "api"), "text/csv")},
        data={"source": "hcdc"},
    )
    first = r.json()["batch_id"]
    r = d(
        "POST",
        "/batches",
        cast.health,
        expect=303,
        files={"file": ("tiem-chung-2.csv", dose_file(by_page, "page"), "text/csv")},
        data={"source": "hcdc"},
    )
    second = int(r.headers["location"].rsplit("/", 1)[1])
    # The page's upload answers at once; the server's worker ingests it.
    assert d.app.state.vx.jobs.wait_idle(300)
    for bid in (first, second):
        d("GET", f"/api/v1/batches/{bid}", cast.health, expect=200)
        d("GET", f"/api/v1/batches/{bid}/answer?format=csv", cast.health, expect=200)
        d("GET", f"/api/v1/batches/{bid}/answer?format=xlsx&corrections=true", cast.health, expect=200)
        page = d.page(f"/batches/{bid}", cast.health)
        for url in links(page.text, r"/batches/\d+/answer\.\w+(\?.*)?"):
            d.page(url, cast.health)
    d("GET", "/api/v1/batches", cast.health, expect=200)
    d.page("/batches", cast.health)
    # Refused files carry canaries too: a file without its header row, a file of the wrong type named
    # after a person; the refusal must not quote them.
    c = registered()[0]
    headerless = dose_file([(0, c)], "x").split(b"\n", 1)[1]
    # Through the API and the page the worker refuses it: the batch's status and page say why, quoting
    # nothing of the file.
    r = d(
        "POST", "/api/v1/batches", cast.health, expect=202, files={"file": ("lo.csv", headerless, "text/csv")}
    )
    assert d.app.state.vx.jobs.wait_idle(300)
    assert d("GET", r.json()["status_url"], cast.health, expect=200).json()["status"] == "failed"
    r = d(
        "POST",
        "/batches",
        cast.health,
        expect=303,
        files={"file": ("lo-2.csv", headerless + b"\n", "text/csv")},
    )
    assert d.app.state.vx.jobs.wait_idle(300)
    assert 'data-status="failed"' in d.page(r.headers["location"], cast.health).text
    for url in ("/api/v1/batches", "/batches"):
        d(
            "POST",
            url,
            cast.health,
            expect=422,
            files={"file": (f"{c['full_name']} {c['phone']}.docx", b"x", "application/octet-stream")},
        )
        d("POST", url, cast.health, expect=422, data={"source": c["full_name"]})
        d("POST", url, cast.ward_a, expect=403, files={"file": ("lo.csv", headerless, "text/csv")})
    d("GET", "/api/v1/batches/987654321", cast.health, expect=404)
    d("GET", "/batches/987654321/answer.csv", cast.health, expect=404)


def _items(d: Drill, who: w.Actor, query: str = "") -> list[dict[str, Any]]:
    """Every item of the worklist through the API, page by page (the cursor is opaque)."""
    items, cursor = [], None
    while True:
        url = f"/api/v1/cases?limit=50{query}" + (f"&cursor={cursor}" if cursor else "")
        body = d("GET", url, who, expect=200).json()
        items.extend(body["items"])
        cursor = body["next_cursor"]
        if not cursor:
            return items


def canary_cases(d: Drill, who: w.Actor, found: Canaries) -> list[dict[str, Any]]:
    return [i for i in _items(d, who) if i["health_name"] and found.found_in(i["health_name"])]


def worklist_and_cases(d: Drill, cast: Cast, found: Canaries) -> None:
    a = cast.ward_a
    page = d.page("/cases", a)
    for url in links(page.text, r"/cases\?.*")[:6]:
        d.page(url, a)
    seen_pages = 0
    url: str | None = "/cases"
    while url and seen_pages < 5:  # the pages' own next links, as a person follows them
        page = d.page(url, a)
        nxt = links(page.text, r"/cases\?cursor=.*")
        url, seen_pages = (nxt[0] if nxt else None), seen_pages + 1
    d.page("/cases?kind=conflict&reason=DOB_TYPO&min_age_days=0", a)
    for kind in ("conflict", "unmatched"):
        _items(d, a, f"&kind={kind}")
    cases = canary_cases(d, a, found)
    assert len(cases) >= 12, f"only {len(cases)} canary cases in ward A"
    for item in cases[:16]:
        d.page(f"/cases/{item['id']}", a)
        d("GET", f"/api/v1/cases/{item['id']}", a, expect=200)
    # Searching the register from a case, with what health wrote.
    for item in cases[:10]:
        posted = d(
            "POST",
            f"/cases/{item['id']}/search",
            a,
            expect=303,
            data={"name": item["health_name"], "birth_date": "", "personal_id": "", "phone": ""},
        )
        d.page(posted.headers["location"], a)
    people = registered()
    pool = iter(cases)
    anyone = int(
        d(
            "POST", "/api/v1/citizens/search", a, expect=200, json={"personal_id": people[2]["personal_id"]}
        ).json()[0]["id"]
    )
    for api in (False, True):
        ok = 200 if api else 303

        def act(case: int, action: str, body: dict[str, Any], expect: int | tuple[int, ...]) -> Any:
            if api:
                return d("POST", f"/api/v1/cases/{case}/{action}", a, expect=expect, json=body)
            return d("POST", f"/cases/{case}/{action}", a, expect=expect, data=body)

        for action, body in (
            ("link", {"note": "đúng người"}),
            ("health-wrong", {"note": "y tế ghi sai ngày sinh"}),
            ("health-wrong", {"note": "không phải người trong sổ", "citizen_id": None}),
            ("pass", {"ward_code": w.WARD_B, "reason": "sống ở phường khác"}),
            ("collect", {"note": "cư trú dài hạn"}),
        ):
            item = next(pool)
            detail = d("GET", f"/api/v1/cases/{item['id']}", a, expect=200).json()
            cand = detail["candidates"][0]["citizen_id"] if detail["candidates"] else anyone
            full = {"version": detail["version"], "citizen_id": cand, **body}
            full = {k: v for k, v in full.items() if v is not None}
            act(item["id"], action, full, ok)
            # Settled already (a case passed on has left the ward: not found).
            act(item["id"], action, full, 404 if action == "pass" else 409)
        # Malformed and unacceptable: the person's own data typed where it does not belong.
        c, cid = people[1], next(pool)["id"]
        version = d("GET", f"/api/v1/cases/{cid}", a, expect=200).json()["version"]
        act(cid, "pass", {"version": version, "ward_code": c["personal_id"], "reason": c["full_name"]}, 422)
        act(cid, "link", {"version": version, "citizen_id": c["full_name"]}, 422)
        act(cid, "link", {"version": version, "citizen_id": c["personal_id"]}, (404, 422))
        act(cid, "health-wrong", {"version": version, "note": ""}, 422)
        act(cid, "collect", {"version": version + 7, "note": c["phone"]}, 409)
        base = "/api/v1/cases" if api else "/cases"
        if api:
            d(
                "POST",
                f"{base}/{cid}/link",
                a,
                expect=422,
                headers={"content-type": "application/json"},
                content=f'{{"version": 1, "citizen_id": "{c["full_name"]}"'.encode(),
            )
        d("GET", f"{base}/987654321", a, expect=404)
        d("GET", f"{base}/{cid}", cast.ward_other, expect=404)
        d("GET", f"{base}/{cid}", cast.verifier, expect=403)
    posted = d(
        "POST",
        f"/cases/{cases[-1]['id']}/search",
        a,
        expect=303,
        data={"name": "", "birth_date": people[2]["full_name"], "personal_id": "", "phone": ""},
    )
    d.page(posted.headers["location"], a)


def register_search(d: Drill, cast: Cast) -> None:
    d.page("/citizens/search", cast.ward_a)
    for i, c in enumerate(registered()):
        who = cast.ward_b if c["ward"] == w.WARD_B else cast.ward_a
        form = {"name": "", "birth_date": "", "personal_id": "", "phone": ""}
        shape = i % 7
        if shape == 0:
            form["name"] = c["full_name"]
        elif shape == 1:
            form["name"] = nfd(c["full_name"])
        elif shape == 2:
            form["name"], form["birth_date"] = plain(c["full_name"]).upper(), c["dmy"]
        elif shape == 3:
            form["personal_id"] = c["personal_id"]
        elif shape == 4:
            form["personal_id"] = c["old_id"]
        elif shape == 5:
            form["phone"] = c["phone"]
        else:
            form["name"] = plain(c["full_name"]).lower()
        if i % 2 == 0:  # the page (POST-redirect-GET), and the citizen's page it links to
            posted = d("POST", "/citizens/search", who, expect=303, data=form)
            page = d.page(posted.headers["location"], who)
            found = links(page.text, r"/citizens/\d+")
            assert found, f"canary {i} not found by {shape}"
            d.page(found[0], who)
        else:
            body = {k: v for k, v in form.items() if v}
            hits = d("POST", "/api/v1/citizens/search", who, expect=200, json=body).json()
            assert hits, f"canary {i} not found through the API by {shape}"
            d("GET", f"/api/v1/citizens/{hits[0]['id']}", who, expect=200)
    c = registered()[3]
    a = cast.ward_a
    # Unacceptable criteria, malformed bodies, someone else's jurisdiction, no permission.
    d("POST", "/citizens/search", a, expect=422, data={"birth_date": c["full_name"], "name": ""})
    d("POST", "/citizens/search", a, expect=422, data={"personal_id": c["full_name"]})
    d("POST", "/citizens/search", a, expect=422, data={"name": "", "phone": ""})
    d("POST", "/citizens/search", a, expect=422, data={"name": c["full_name"] * 20})
    d("POST", "/api/v1/citizens/search", a, expect=422, json={"personal_id": c["full_name"] + c["phone"]})
    d(
        "POST",
        "/api/v1/citizens/search",
        a,
        expect=422,
        json={"name": [c["full_name"]], "phone": {"x": c["phone"]}},
    )
    d(
        "POST",
        "/api/v1/citizens/search",
        a,
        expect=422,
        content=f"name={c['full_name']}&phone={c['phone']}".encode(),
        headers={"content-type": "application/json"},
    )
    other = d(
        "POST", "/api/v1/citizens/search", cast.ward_other, expect=200, json={"personal_id": c["personal_id"]}
    )
    assert other.json() == []
    cid = d("POST", "/api/v1/citizens/search", a, expect=200, json={"personal_id": c["personal_id"]}).json()[
        0
    ]["id"]
    d.page(f"/citizens/{cid}", cast.ward_other, expect=404)
    d("GET", f"/api/v1/citizens/{cid}", cast.ward_other, expect=404)
    d("POST", "/api/v1/citizens/search", cast.health, expect=403, json={"name": c["full_name"]})
    d("POST", "/citizens/search", cast.verifier, expect=403, data={"name": c["full_name"]})
    d.page("/citizens/987654321", a, expect=404)


def citizen_id(d: Drill, who: w.Actor, c: dict[str, str]) -> tuple[int, int]:
    hit = d(
        "POST", "/api/v1/citizens/search", who, expect=200, json={"personal_id": c["personal_id"]}
    ).json()[0]
    return int(hit["id"]), int(hit["version"])


def corrections(d: Drill, cast: Cast, found: Canaries) -> None:
    a, second = cast.ward_a, cast.supervisor
    people = [c for c in registered() if c["ward"] == w.WARD_A]
    for n, c in enumerate(people[10:16]):
        cid, version = citizen_id(d, a, c)
        api = n % 2 == 1
        new_phone = "0955" + c["phone"][4:]
        found.add_number(new_phone)
        other = {
            "version": version,
            "field": "phone",
            "value": new_phone,
            "reason": "đổi số",
            "evidence": "CCCD",
        }
        name = c["full_name"] + " Ánh"
        identity = {
            "version": version,
            "field": "full_name",
            "value": name,
            "reason": "theo thẻ",
            "evidence": "CCCD",
        }
        if api:
            url = f"/api/v1/citizens/{cid}/corrections"
            # The phone receives one-time codes: it waits for a second officer, one change at a time.
            assert not d("POST", url, a, expect=200, json=other).json()["applied"]
            d("POST", url, a, expect=422, json=other)
            d("POST", url, a, expect=409, json={**other, "version": version + 7})
            d("POST", url, a, expect=422, json={**identity, "field": "phone", "value": c["full_name"]})
            d(
                "POST",
                url,
                a,
                expect=422,
                json={**identity, "field": "personal_id", "value": people[0]["personal_id"]},
            )
            assert not d("POST", url, a, expect=200, json=identity).json()["applied"]
            d("GET", f"/api/v1/citizens/{cid}", a, expect=200)
        else:
            url = f"/citizens/{cid}/correct"
            r = d("POST", url, a, expect=303, data=other)
            d.page(r.headers["location"], a)
            d("POST", url, a, expect=409, data={**other, "version": version + 7})
            # Mistakes come back on the citizen's page, the input kept (POST-redirect-GET).
            for bad in (
                {**identity, "field": "birth_date", "value": c["full_name"]},
                {**identity, "field": "personal_id", "value": c["old_id"] + "x"},
                other,
            ):
                r = d("POST", url, a, expect=303, data=bad)
                assert "?e=" in r.headers["location"]
                d.page(r.headers["location"].split("#")[0], a)
            r = d("POST", url, a, expect=303, data=identity)
            d.page(r.headers["location"], a)
    pending = d("GET", "/api/v1/changes", second, expect=200).json()
    assert len(pending) >= 6, pending
    d.page("/changes", second)
    d.page("/changes", a)
    for n, ch in enumerate(pending[:6]):
        decision = "approve" if n % 3 else "reject"
        if n % 2:
            url = f"/api/v1/changes/{ch['id']}/{decision}"
            d("POST", url, a, expect=422, json={"version": ch["version"]})  # who asked does not approve
            d("POST", url, second, expect=200, json={"version": ch["version"], "note": "đã xem CCCD"})
            d("POST", url, second, expect=409, json={"version": ch["version"]})
        else:
            url = f"/changes/{ch['id']}/{decision}"
            d("POST", url, a, expect=422, data={"version": ch["version"]})
            d("POST", url, second, expect=303, data={"version": ch["version"], "note": "đã xem CCCD"})
            d("POST", url, second, expect=409, data={"version": ch["version"]})
    d("POST", "/api/v1/changes/987654321/approve", second, expect=404, json={"version": 1})
    d("POST", "/changes/987654321/reject", second, expect=404, data={"version": 1})
    d("POST", f"/api/v1/changes/{pending[0]['id']}/approve", second, expect=422, json={"version": "một"})


def counter(d: Drill, cast: Cast) -> None:
    a = cast.ward_a
    d.page("/counter", a)
    for i, c in enumerate([c for c in registered() if c["ward"] == w.WARD_A][22:38]):
        text = (chip_text(c), c["personal_id"], c["old_id"], chip_text(c, c["full_name"] + " Văn"))[i % 4]
        posted = d("POST", "/counter", a, expect=303, data={"text": text})
        page = d.page(posted.headers["location"], a)
        assert "Kanari" in page.text
        d("POST", "/api/v1/counter/lookup", a, expect=200, json={"text": text})
    c = registered()[5]
    b_person = next(p for p in registered() if p["ward"] == w.WARD_B)
    for text, status in (
        (f"{c['personal_id']}|{c['full_name']}|{c['phone']}", 422),
        (c["full_name"], 422),
        (c["phone"], 422),
        ("077085999999", 404),
        (b_person["personal_id"], 404),  # another ward's citizen: not found
        (chip_text(b_person), 404),
    ):
        d("POST", "/counter", a, expect=status, data={"text": text})
        d("POST", "/api/v1/counter/lookup", a, expect=status, json={"text": text})
    d("POST", "/api/v1/counter/lookup", a, expect=422, json={"text": ""})
    d("POST", "/api/v1/counter/lookup", a, expect=422, json={"number": c["personal_id"]})
    d("POST", "/counter", cast.health, expect=403, data={"text": c["personal_id"]})


def verification(d: Drill, cast: Cast, engine: Engine, found: Canaries) -> None:
    a, b, sup = cast.ward_a, cast.ward_b, cast.supervisor
    strangers = unregistered()
    # Ward B's cases of people who are not in the register: collected, then asked of ward A.
    b_cases = canary_cases(d, b, found)
    assert len(b_cases) >= 4, b_cases
    sent: list[int] = []
    for n, item in enumerate(b_cases[:4]):
        detail = d("GET", f"/api/v1/cases/{item['id']}", b, expect=200).json()
        if n % 2:
            d(
                "POST",
                f"/api/v1/cases/{item['id']}/collect",
                b,
                expect=200,
                json={"version": detail["version"]},
            )
        else:
            d("POST", f"/cases/{item['id']}/collect", b, expect=303, data={"version": detail["version"]})
    inbox = d.page("/verification", b)
    for url in links(inbox.text, r"/verification/new\?case_id=\d+"):
        # The form comes filled in from the case's health record; the officer adds the permanent ward.
        page = d.page(url, b).text
        form = {k: html.unescape(v) for k, v in re.findall(r'<input name="(\w+)" value="([^"]*)"', page)}
        assert found.found_in(form["full_name"]), form
        hidden = dict(re.findall(r'type="hidden" name="(case_id|case_version)" value="(\d+)"', page))
        r = d(
            "POST",
            "/verification/new",
            b,
            expect=303,
            data={**form, **hidden, "sex": "M", "permanent_ward_code": w.WARD_A},
        )
        d.page(r.headers["location"], b)
        sent.append(int(urlsplit(r.headers["location"]).path.rsplit("/", 1)[1]))
    d.page("/verification/new", b)
    # From the counter, without a case: registered canaries of ward A and strangers.
    for n, s in enumerate([*registered()[30:33], *strangers[10:13]]):
        person = {
            "full_name": s["full_name"],
            "birth_date": s["dmy"],
            "sex": "Nam",
            "permanent_ward_code": w.WARD_A,
            "phone": s["phone"],
            "address": s["address"],
        }
        if s["personal_id"]:
            person["personal_id"] = s["personal_id"]
        r = d("POST", "/api/v1/verification-requests", b, expect=200, json={"person": person})
        sent.append(r.json()["request_id"])
    s = strangers[15]
    bad = {
        "full_name": s["full_name"],
        "birth_date": s["full_name"],
        "sex": "Nam",
        "permanent_ward_code": w.WARD_A,
    }
    d("POST", "/api/v1/verification-requests", b, expect=422, json={"person": bad})
    d(
        "POST",
        "/api/v1/verification-requests",
        b,
        expect=422,
        json={"person": {**bad, "birth_date": s["dmy"], "personal_id": s["phone"]}},
    )
    d(
        "POST",
        "/api/v1/verification-requests",
        b,
        expect=422,
        json={"person": {**bad, "birth_date": s["dmy"], "permanent_ward_code": w.WARD_B}},
    )
    d("POST", "/verification/new", b, expect=422, data={**bad, "permanent_ward_code": s["phone"]})
    d("POST", "/verification/new", b, expect=422, data={**bad, "sex": "M"})
    for box in ("incoming", "outgoing", "all"):
        d("GET", f"/api/v1/verification-requests?box={box}", a, expect=200)
    d("GET", "/api/v1/verification-requests?box=outgoing&only_open=true", b, expect=200)
    d.page("/verification", a)
    # Ward A answers: the one suggested, a new resident, a rejection; by page and by API.
    for n, rid in enumerate(sent):
        page = d.page(f"/verification/{rid}", a)
        detail = d("GET", f"/api/v1/verification-requests/{rid}", a, expect=200).json()
        version, suggested = detail["version"], [h["id"] for h in detail["suggestions"]]
        if n >= 8:
            continue  # left open for the overdue list
        if n % 3 == 0 and suggested:
            answer: dict[str, Any] = {"version": version, "decision": "confirm", "citizen_id": suggested[0]}
        elif n % 3 in (0, 1):
            answer = {"version": version, "decision": "new", "birth_province": "77"}
        else:
            answer = {"version": version, "decision": "reject", "reason": "không có người này"}
        if n % 2:
            body = {**answer, "create_new": answer["decision"] == "new"}
            body["decision"] = "confirm" if body["decision"] == "new" else body["decision"]
            d("POST", f"/api/v1/verification-requests/{rid}/answer", b, expect=403, json=body)
            # A new number for a stranger also in another open request is refused (SAME_PERSON): the drill
            # sends some strangers twice, from a case and from the counter.
            d("POST", f"/api/v1/verification-requests/{rid}/answer", a, expect=(200, 409), json=body)
            d("POST", f"/api/v1/verification-requests/{rid}/answer", a, expect=409, json=body)
        else:
            r = d("POST", f"/verification/{rid}/answer", a, expect=(303, 409), data=answer)
            if r.status_code == 303:
                d.page(r.headers["location"], a)
            d("POST", f"/verification/{rid}/answer", a, expect=409, data=answer)
        seen = d.page(f"/verification/{rid}", a)
        for url in links(seen.text, r"/citizens/\d+(/notice\.pdf)?"):
            d.page(url, a, expect=(200, 404))  # a new resident living in ward B is B's
        assert "Kanari" in page.text
    # The numbers issued to new residents by these answers are personal data as well.
    before = len(found)
    with transaction(engine) as s:
        found.add_number(*s.scalars(select(Citizen.personal_id).where(Citizen.given_name.like("Kanari%"))))
    assert len(found) > before, "no new resident registered"
    # Overdue: the rest, a supervisor escalates them.
    with transaction(engine) as s:
        s.execute(
            update(VerificationRequest)
            .where(VerificationRequest.status == "open")
            .values(due_at=datetime.now(UTC) - timedelta(days=2))
        )
    overdue = d.page("/verification/overdue", sup)
    open_ids = [int(x) for x in re.findall(r'data-request="(\d+)"', overdue.text)]
    assert len(open_ids) >= 2, open_ids
    for n, rid in enumerate(open_ids[:2]):
        version = d("GET", f"/api/v1/verification-requests/{rid}", sup, expect=200).json()["version"]
        if n:
            d(
                "POST",
                f"/api/v1/verification-requests/{rid}/escalate",
                sup,
                expect=200,
                json={"version": version, "note": "quá hạn"},
            )
            d(
                "POST",
                f"/api/v1/verification-requests/{rid}/escalate",
                sup,
                expect=409,
                json={"version": version},
            )
        else:
            r = d(
                "POST",
                f"/verification/{rid}/escalate",
                sup,
                expect=303,
                data={"version": version, "note": "quá hạn"},
            )
            d.page(r.headers["location"], sup)
            d("POST", f"/verification/{rid}/escalate", sup, expect=409, data={"version": version})
    d("GET", "/api/v1/verification-requests?box=overdue", sup, expect=200)
    d.page("/verification/987654321", a, expect=404)
    d("GET", f"/api/v1/verification-requests/{sent[0]}", cast.ward_other, expect=404)
    d("POST", f"/verification/{sent[0]}/escalate", a, expect=403, data={"version": 1})
    d("GET", "/api/v1/verification-requests?box=khong-co", a, expect=422)


def new_residents(d: Drill, cast: Cast, found: Canaries) -> None:
    a = cast.ward_a
    for s in unregistered()[16:20]:
        body = {
            "full_name": s["full_name"],
            "birth_date": s["dmy"],
            "sex": "Nam",
            "permanent_ward_code": w.WARD_A,
            "phone": s["phone"],
            "address": s["address"],
            "birth_province": "77",
        }
        r = d("POST", "/api/v1/residents", a, expect=200, json=body).json()
        found.add_number(r["personal_id"])
        pdf = d.page(f"/citizens/{r['citizen_id']}/notice.pdf", a)
        assert pdf.content.startswith(b"%PDF")
        d.page(f"/citizens/{r['citizen_id']}/notice.pdf", cast.ward_b, expect=404)
        d("POST", "/api/v1/residents", a, expect=422, json={**body, "birth_date": s["full_name"]})
        d("POST", "/api/v1/residents", a, expect=422, json={**body, "permanent_ward_code": s["phone"]})
    d(
        "POST",
        "/api/v1/residents",
        cast.supervisor,
        expect=403,
        json={"full_name": unregistered()[0]["full_name"]},
    )
    d.page("/citizens/987654321/notice.pdf", a, expect=404)


def verifier(d: Drill, cast: Cast) -> None:
    v = cast.verifier
    # The canaries' numbers are neighbours by construction: a checkpoint's visitors' are not, and a run of
    # them would pause this verifier (tests/integration/web/test_lookup.py covers that).
    d.app.state.vx_lookup.watch.run = 10**6
    d.page("/verify", v)
    for i, c in enumerate(registered()[:20]):
        # What the holder's card says is what the register says now (earlier steps corrected a few entries).
        with d.app.state.vx.sessions() as s:
            now = s.scalar(select(Citizen).where(Citizen.personal_id == c["personal_id"]))
            assert now is not None
            c = {**c, "full_name": now.full_name, "dmy": now.birth_date.strftime("%d/%m/%Y")}
            c["date_of_birth"] = now.birth_date.isoformat()
        text = (c["personal_id"], chip_text(c))[i % 2]
        born = c["date_of_birth"]
        d("POST", "/verify", v, expect=200, data={"text": text, "date_of_birth": born})
        d("POST", "/api/v1/lookup/status", v, expect=200, json={"text": text, "date_of_birth": born})
        if i % 5 == 0:
            png = codes.qr_png(chip_text(c))
            d("POST", "/verify/image", v, expect=200, files={"file": ("the.png", png, "image/png")})
            d(
                "POST",
                "/api/v1/lookup/status/image",
                v,
                expect=200,
                files={"file": ("the.png", png, "image/png")},
            )
    c = registered()[7]
    for text, status in (
        (c["full_name"], 422),
        (c["phone"], 422),
        ("077085999999", 404),
        (c["old_id"] + "|x", 422),
    ):
        d("POST", "/verify", v, expect=status, data={"text": text, "date_of_birth": c["date_of_birth"]})
        d(
            "POST",
            "/api/v1/lookup/status",
            v,
            expect=status,
            json={"text": text, "date_of_birth": c["date_of_birth"]},
        )
    garbage = ("Khúc Thừa " + c["full_name"] + c["personal_id"]).encode()
    d(
        "POST",
        "/verify/image",
        v,
        expect=422,
        files={"file": (f"{c['personal_id']}.png", garbage, "image/png")},
    )
    d("POST", "/api/v1/lookup/status/image", v, expect=422, files={"file": ("x.png", garbage, "image/png")})
    d("POST", "/api/v1/lookup/status", v, expect=422, json={"text": c["personal_id"], "name": c["full_name"]})
    d("POST", "/api/v1/lookup/status", cast.ward_a, expect=403, json={"text": c["personal_id"]})
    d("POST", "/verify", cast.health, expect=403, data={"text": c["personal_id"]})


def self_service_and_certificates(d: Drill, cast: Cast, engine: Engine) -> None:
    client = d.client
    # With two doses linked (health sent them with the number): status complete, a certificate.
    people = [c for i, c in enumerate(registered()) if i % 4 == 0 and c["ward"] == w.WARD_A][:3]
    hc1s: list[str] = []
    for n, c in enumerate(people):
        client.cookies.clear()
        token = SELF_CSRF.search(d("GET", "/self", expect=200).text).group(1)  # type: ignore[union-attr]
        d(
            "POST",
            "/self",
            expect=200,
            data={"personal_id": c["personal_id"], "date_of_birth": c["dmy"], "self_csrf": token},
        )
        with transaction(engine) as s:
            sms = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
            assert sms is not None and sms.recipient[4:] == c["phone"][4:]  # the phone, maybe corrected
            code = re.search(r"\b(\d{6})\b", sms.body).group(1)  # type: ignore[union-attr]
        wrong = "000000" if code != "000000" else "111111"
        d("POST", "/self/code", expect=422, data={"code": wrong, "self_csrf": token})
        r = d("POST", "/self/code", expect=303, data={"code": code, "self_csrf": token})
        status = d("GET", r.headers["location"], expect=200)
        assert "Kanari" in status.text
        png = d("POST", "/self/certificate", expect=200, data={"fmt": "png", "self_csrf": token})
        d("POST", "/self/certificate", expect=200, data={"fmt": "pdf", "self_csrf": token})
        hc1s.append(codes.read_code(png.content).text)
        form = d("GET", "/self/correction", expect=200)
        assert 'name="text"' in form.text
        text = f"Tên đúng là {c['full_name']} Ánh, số điện thoại {c['phone']}"
        d(
            "POST",
            "/self/correction",
            expect=200,
            data={"field": "full_name", "text": text, "self_csrf": token},
        )
        d(
            "POST",
            "/self/correction",
            expect=422,
            data={"field": c["full_name"], "text": " ", "self_csrf": token},
        )
        if n == 0:
            d("POST", "/self/certificate", expect=422, data={"fmt": c["personal_id"], "self_csrf": token})
            d(
                "POST",
                "/self/correction",
                expect=303,
                data={"field": "other", "text": text, "self_csrf": "forged"},
            )
        r = d("POST", "/self/logout", expect=303)
        d("GET", "/self/status", expect=303)
        d("GET", "/self/correction", expect=303)
        d("POST", "/self/certificate", expect=303, data={"fmt": "pdf", "self_csrf": token})
    # The same answer for a wrong birth date or an unknown number; then the address is throttled.
    c = registered()[8]
    client.cookies.clear()
    token = SELF_CSRF.search(d("GET", "/self", expect=200).text).group(1)  # type: ignore[union-attr]
    d(
        "POST",
        "/self",
        expect=200,
        data={"personal_id": c["personal_id"], "date_of_birth": "01/01/2000", "self_csrf": token},
    )
    d(
        "POST",
        "/self",
        expect=403,
        data={"personal_id": c["personal_id"], "date_of_birth": c["dmy"], "self_csrf": "x"},
    )
    d("POST", "/self", expect=422, data={"personal_id": c["personal_id"], "self_csrf": token})
    statuses = [
        d(
            "POST",
            "/self",
            expect=(200, 429),
            data={"personal_id": c["personal_id"], "date_of_birth": c["dmy"], "self_csrf": token},
        ).status_code
        for _ in range(6)
    ]
    assert 429 in statuses, statuses
    d("POST", "/self/code", expect=(403, 422), data={"code": "123456", "self_csrf": token})
    client.cookies.clear()
    # Certificates checked by a verifier (text and picture, page and API), one revoked and checked again.
    v = cast.verifier
    d.page("/verify/certificate", v)
    for hc1 in hc1s:
        png = codes.qr_png(hc1)
        assert 'data-valid="true"' in d("POST", "/verify/certificate", v, expect=200, data={"text": hc1}).text
        d(
            "POST",
            "/verify/certificate",
            v,
            expect=200,
            files={"file": ("c.png", png, "image/png")},
            data={"text": ""},
        )
        assert d("POST", "/api/v1/certificates/verify", v, expect=200, json={"text": hc1}).json()["valid"]
        d(
            "POST",
            "/api/v1/certificates/verify/image",
            v,
            expect=200,
            files={"file": ("c.png", png, "image/png")},
        )
    tampered = hc1s[0][:-12] + ("A" if hc1s[0][-12] != "A" else "B") + hc1s[0][-11:]
    assert not d("POST", "/api/v1/certificates/verify", v, expect=200, json={"text": tampered}).json()[
        "valid"
    ]
    d("POST", "/verify/certificate", v, expect=422, data={"text": ""})
    d(
        "POST",
        "/api/v1/certificates/verify",
        v,
        expect=422,
        json={"text": people[0]["full_name"], "pid": people[0]["personal_id"]},
    )
    d(
        "POST",
        "/api/v1/certificates/verify/image",
        v,
        expect=200,
        files={"file": ("c.png", people[0]["full_name"].encode(), "image/png")},
    )
    with transaction(engine) as s:
        certs = s.execute(select(Certificate.id, Certificate.version).order_by(Certificate.id)).all()
    assert len(certs) >= len(hc1s)
    a = cast.ward_a
    cert_id, version = certs[0]
    url = f"/api/v1/certificates/{cert_id}/revoke"
    d("POST", url, cast.ward_other, expect=404, json={"version": version, "reason": "nhầm mũi"})
    d("POST", url, a, expect=200, json={"version": version, "reason": "nhầm mũi", "reissue": True})
    d("POST", url, a, expect=409, json={"version": version, "reason": "nhầm mũi"})
    d("POST", url, a, expect=422, json={"version": version, "reason": ""})
    d("POST", "/api/v1/certificates/987654321/revoke", a, expect=404, json={"version": 1, "reason": "x"})
    d("POST", "/verify/certificate", v, expect=200, data={"text": hc1s[0]})
    d("GET", "/api/v1/certificates/revocations", expect=200)
    d("GET", "/api/v1/certificates/trust-list", expect=200)


def dashboard_and_system(d: Drill, cast: Cast) -> None:
    sup = cast.supervisor
    page = d.page("/dashboard", sup)
    for url in links(page.text, r"/dashboard/[^?]*")[:4]:
        d.page(url, sup)
    d.page("/dashboard?units=2025", sup)
    for fmt in ("csv", "xlsx", "json"):
        d.page(f"/dashboard/coverage.{fmt}?suppress=5", sup)
    d.page(f"/dashboard/legacy/ward/{w.WARD_A}", sup)
    d.page(f"/dashboard/legacy/ward/{w.WARD_A}/coverage.csv", sup)
    d.page(f"/dashboard/legacy/ward/{w.WARD_C}", sup, expect=404)
    d.page("/dashboard/legacy/ward/1", sup, expect=422)
    d("GET", "/api/v1/stats", sup, expect=200)
    d("GET", f"/api/v1/stats/legacy/ward/{w.WARD_A}", sup, expect=200)
    d("GET", f"/api/v1/stats/legacy/district/{w.DISTRICT}?units=2025", sup, expect=200)
    d("GET", f"/api/v1/stats/legacy/ward/{w.WARD_C}", sup, expect=404)
    d.page("/dashboard", cast.ward_a, expect=403)
    # Who is asking, the other system routes.
    d("GET", "/healthz", expect=200)
    d("GET", "/openapi.json", expect=200)
    d("GET", "/static/app.css", expect=200)
    d("GET", "/static/nothing-here.css", expect=404)
    d("GET", "/api/v1/me", cast.ward_a, expect=200)
    d("GET", "/api/v1/users", cast.admin, expect=200)
    d("POST", "/api/v1/audit/verify", cast.admin, expect=200)
    d("GET", "/api/v1/users", cast.ward_a, expect=403)
    d("GET", "/", cast.ward_a, expect=303)
    d("GET", "/", cast.verifier, expect=303)
    c = registered()[11]
    cid = citizen_id(d, cast.ward_a, c)[0]
    r = d("GET", f"/citizens/{cid}", expect=303)  # not signed in: to the sign-in page
    d("GET", r.headers["location"], expect=200)
    d("GET", f"/api/v1/citizens/{cid}", expect=401)
    d("GET", f"/citizens/{cid}?lang=en", cast.ward_other, expect=404)
    d.page(f"/citizens/{cid}?done=saved&lang=vi", cast.ward_a)
    # Signing in with a citizen's number and name typed in the fields: refused, and not repeated back.
    login = d("GET", f"/login?next=/citizens/{cid}", expect=200)
    attempts = (
        ({"username": c["personal_id"], "password": c["full_name"]}, 401),
        ({"username": c["phone"], "password": c["old_id"], "login_csrf": "x"}, 403),
        ({"username": cast.ward_a.username, "password": w.PASSWORD}, 303),
    )
    for fields, status in attempts:
        token = LOGIN_CSRF.search(login.text).group(1)  # type: ignore[union-attr]
        login = r = d(
            "POST", "/login", expect=status, data={"login_csrf": token, "next": f"/citizens/{cid}", **fields}
        )
    page = d("GET", r.headers["location"], expect=200)
    csrf = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    d("POST", "/logout", expect=303, data={"csrf_token": csrf})
    d.client.cookies.clear()
    # Methods and paths that do not exist, bodies that are not what they claim.
    d("DELETE", f"/api/v1/citizens/{cid}", cast.ward_a, expect=405)
    d("PUT", "/citizens/search", cast.ward_a, expect=405)
    d("GET", f"/api/v1/khong-co/{cid}", cast.ward_a, expect=404)
    d("GET", "/khong-co", cast.ward_a, expect=404)
    d(
        "POST",
        "/api/v1/citizens/search",
        cast.ward_a,
        expect=400,  # not even JSON
        content=("\x00" + c["full_name"]).encode(),
        headers={"content-type": "application/json"},
    )
    d("POST", "/api/v1/citizens/search", cast.ward_a, expect=422, json={"name": c["full_name"] + "\x00"})


# --- the drill ------------------------------------------------------------------------------------


def _hits(
    where: str, items: list[str], found: Canaries, expand: Callable[[str], list[str]] = lambda i: [i]
) -> list[str]:
    """Each canary found in `items` (each as `expand` gives its forms), with the first item it is in."""
    texts = ["\n".join(expand(i)) for i in items]
    out = []
    for needle in found.found_in("\n".join(texts)):
        example = next((t for t in texts if needle in found.found_in(t)), "?")
        out.append(f"{where}: {needle!r} in {example[:400]!r}")
    return out


@pytest.mark.db
def citizen_requests_closed(d: Drill, cast: Cast) -> None:
    """The ward reads a citizen's online request and closes it with what was done."""
    closed = 0
    for who in (cast.ward_a, cast.ward_b):
        items = d("GET", "/api/v1/cases?kind=correction", who, expect=200).json()["items"]
        for item in items[:1]:
            page = d.page(f"/cases/{item['id']}", who)
            assert "Kanari" in page.text
            d("POST", f"/cases/{item['id']}/take", who, expect=303, data={"version": item["version"]})
            d("POST", f"/cases/{item['id']}/take", who, expect=409, data={"version": item["version"]})
            item = {**item, "version": item["version"] + 1}
            d.page("/cases?mine=1&q=t%C3%AAn", who)
            # The filter kept under a name, found on the worklist, and forgotten.
            d("POST", "/cases/filters", who, expect=303, data={"name": "Của tôi", "query": "mine=1&q=tên"})
            d("POST", "/cases/filters", who, expect=422, data={"name": " ", "query": "mine=1"})
            kept = re.search(r'action="/cases/filters/(\d+)/delete"', d.page("/cases", who).text)
            assert kept is not None
            d("POST", f"/cases/filters/{kept.group(1)}/delete", who, expect=303)
            url = f"/cases/{item['id']}/close"
            d("POST", url, who, expect=422, data={"version": item["version"], "note": " "})
            d("POST", url, who, expect=303, data={"version": item["version"], "note": "đã sửa theo CCCD"})
            d("POST", url, who, expect=409, data={"version": item["version"], "note": "lần nữa"})
            closed += 1
    assert closed, "no citizen's request reached a ward"


def test_canaries_never_reach_urls_logs_or_error_pages(app, client, canary_world, engine, all_logs, capfd):
    cast = Cast(canary_world)
    d = Drill(client, app)
    found = the_canaries(registered() + unregistered())
    health_uploads(d, cast)
    worklist_and_cases(d, cast, found)
    register_search(d, cast)
    corrections(d, cast, found)
    counter(d, cast)
    verification(d, cast, engine, found)
    new_residents(d, cast, found)
    verifier(d, cast)
    self_service_and_certificates(d, cast, engine)
    citizen_requests_closed(d, cast)
    dashboard_and_system(d, cast)

    out, err = capfd.readouterr()
    s = d.seen
    hits = (
        _hits("URL requested", s.requested, found, url_forms)
        + _hits("URL produced", s.produced, found, url_forms)
        + _hits("header", s.headers, found)
        + _hits("log", all_logs.records, found)
        + _hits("stdout/stderr", [out, err], found)
        + _hits("error answer", s.errors, found)
    )
    routes = {(m, p) for m, p, _ in all_routes(app.routes)}
    missed = sorted(routes - set(s.exercised) - set(NOT_EXERCISED))
    never_ok = sorted(routes - set(s.succeeded) - set(NOT_EXERCISED))
    server_errors = s.statuses[500] + sum(n for code, n in s.statuses.items() if code > 500)
    figure(
        "10",
        f"web: {CANARIES} registered and {UNREGISTERED} unregistered canaries through {len(s.exercised)} of "
        f"{len(routes)} routes; {len(s.requested):,} URLs requested, {len(s.produced):,} produced, "
        f"{len(s.headers):,} headers, {len(all_logs.records):,} log records "
        f"({all_logs.rows_left_out:,} SQL result rows left out), {len(s.errors):,} error answers searched",
        f"{len(hits)} hits",
    )
    assert server_errors == 0, s.statuses
    assert not missed, f"routes the drill did not exercise: {missed}"
    assert not never_ok, f"routes the drill never used successfully: {never_ok}"
    assert hits == [], "\n".join(hits[:30])
