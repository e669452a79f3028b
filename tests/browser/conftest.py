"""Browser tests: Debian's Chromium driven by Playwright against the app served by uvicorn on a free
loopback port, over an SQLite database holding a small simulated province and the demo users."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PASSWORDS = {
    "phuong_a": "mat-khau-phuong-a",
    "phuong_a2": "mat-khau-phuong-a2",
    "phuong_b": "mat-khau-phuong-b",
    "giamsat_huyen": "mat-khau-huyen",
    "giamsat_tinh": "mat-khau-tinh",
    "yte_tinh": "mat-khau-y-te",
    "kiem_tra": "mat-khau-kiem-tra",
}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": "/usr/bin/chromium", "args": ARGS}


@dataclass
class Site:
    url: str
    db_url: str
    wards: dict[str, str]  # username → ward code


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    import uvicorn

    from vaxlink.services.audit.log import bind_key, load_key
    from vaxlink.services.demo.run import run_demo
    from vaxlink.services.demo.users import create_demo_users
    from vaxlink.services.operations.schema import open_database
    from vaxlink.settings import load_settings
    from vaxlink.storage.db import transaction
    from vaxlink.web.app import create_app

    work = tmp_path_factory.mktemp("browser")
    db_path: Path = run_demo(work / "demo", citizens=2000, seed=4, say=lambda _m: None)
    settings = load_settings(
        database_url=f"sqlite:///{db_path}", audit_key_file=work / "audit.key", work_dir=work / "w"
    )
    engine = open_database(settings)
    with transaction(engine) as s:
        bind_key(s, load_key(settings.audit_key_file))
        users = create_demo_users(s, passwords=PASSWORDS)
    wards = {u.username: u.scope.split(":")[-1] for u in users}
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, engine), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the web server did not start"
    yield Site(f"http://127.0.0.1:{port}", settings.database_url, wards)
    server.should_exit = True
    thread.join(10)
    engine.dispose()


@pytest.fixture(scope="session")
def base_url(site: Site) -> str:
    # Replaces pytest-base-url's fixture (defined in a way pytest 9 warns about).
    return site.url
