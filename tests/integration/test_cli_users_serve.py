"""The `users` commands an operator runs, and `vaxlink serve` started as it is in production: on a free
port, answering /healthz and the bearer tokens the commands issued, then stopped."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, select
from typer.testing import CliRunner

from vaxlink.cli.main import app
from vaxlink.storage.models import AppUser

runner = CliRunner()


def _env(db_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "VAXLINK_DATABASE_URL": db_url,
        "VAXLINK_WORK_DIR": str(tmp_path / "work"),
        "VAXLINK_AUDIT_KEY_FILE": str(tmp_path / "keys" / "audit.key"),
        "COLUMNS": "200",
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[str]:
    """`vaxlink serve` in its own process, until /healthz answers; stopped with SIGINT like Ctrl-C."""
    port = _free_port()
    exe = Path(sys.executable).parent / "vaxlink"
    env = {**os.environ, **_env(db_url, tmp_path)}
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [str(exe), "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    try:
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text(errors="replace")
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "vaxlink serve did not answer within 90 s"
            time.sleep(0.3)
        yield base
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
        log.close()
    assert code == 0, (tmp_path / "serve.log").read_text(errors="replace")


@pytest.mark.db
def test_users_commands_and_serve(db_url: str, tmp_path: Path, server: str) -> None:
    env = _env(db_url, tmp_path)

    def run(*args: str):
        result = runner.invoke(app, ["users", *args], env=env)
        return result

    health = httpx.get(f"{server}/healthz").json()
    # Public: it says the service is up, and nothing of the data.
    assert health["status"] == "ok" and "citizens" not in health

    added = run(
        "add",
        "phuong_x",
        "--role",
        "ward_officer",
        "--level",
        "ward",
        "--code",
        "26560",
        "--password",
        "mat-khau-dai-du-12",
    )
    assert added.exit_code == 0, added.output
    assert "phuong_x" in added.output and "ward:legacy:26560" in added.output
    client = run("add", "may_tram", "--role", "verifier", "--level", "country", "--no-password")
    assert client.exit_code == 0, client.output
    # A ward without its code: refused with the reason, nothing created.
    no_code = run(
        "add", "phuong_y", "--role", "ward_officer", "--level", "ward", "--password", "mat-khau-dai-du-12"
    )
    assert no_code.exit_code == 2
    assert "--code" in no_code.output

    listed = run("list")
    assert listed.exit_code == 0, listed.output
    assert "phuong_x" in listed.output and "26560" in listed.output and "may_tram" in listed.output
    assert "phuong_y" not in listed.output

    issued = run("token", "phuong_x", "--name", "ci", "--days", "2")
    assert issued.exit_code == 0, issued.output
    token = issued.output.strip().splitlines()[-1].strip()
    me = httpx.get(f"{server}/api/v1/me", headers={"authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text
    assert me.json()["username"] == "phuong_x"

    moved = run("set-role", "phuong_x", "--role", "supervisor", "--level", "district", "--code", "748")
    assert moved.exit_code == 0, moved.output
    assert "supervisor" in moved.output and "district:legacy:748" in moved.output
    engine = create_engine(db_url)
    try:
        with engine.connect() as c:
            row = c.execute(
                select(AppUser.role, AppUser.scope_level, AppUser.scope_code, AppUser.active).where(
                    AppUser.username == "phuong_x"
                )
            ).one()
        assert tuple(row) == ("supervisor", "district", "748", True)

        off = run("disable", "phuong_x")
        assert off.exit_code == 0, off.output
        with engine.connect() as c:
            assert c.scalar(select(AppUser.active).where(AppUser.username == "phuong_x")) is False
    finally:
        engine.dispose()
    # A disabled user's token stops working at once, on the running server.
    refused = httpx.get(f"{server}/api/v1/me", headers={"authorization": f"Bearer {token}"})
    assert refused.status_code == 401

    demo = run("demo")
    assert demo.exit_code == 0, demo.output
    for name in ("phuong_a", "giamsat_tinh", "yte_tinh"):
        assert name in demo.output
