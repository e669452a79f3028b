"""A PostgreSQL cluster of the drill's own, which it may stop and start at will (never the shared one
that VAXLINK_TEST_POSTGRES_URL names)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def pg_bin() -> Path | None:
    given = os.environ.get("VAXLINK_PG_BIN")
    if given and (Path(given) / "pg_ctl").is_file():
        return Path(given)
    found = sorted(
        (d for d in Path("/usr/lib/postgresql").glob("*/bin") if (d / "pg_ctl").is_file()),
        key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0,
    )
    return found[-1] if found else None


class Cluster:
    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.dir = Path(tempfile.mkdtemp(prefix="vaxlink-drill-pg-"))
        self.data = self.dir / "data"
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.root = os.geteuid() == 0
        if self.root:
            shutil.chown(self.dir, "postgres")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _pg(self, *args: str) -> None:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self.root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        self._pg(
            "initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8"
        )

    def start(self) -> None:
        # Commits wait for their WAL record to be written (synchronous_commit on, the default); fsync off
        # only spares the disk: `-m immediate` kills the server processes, the machine's cache survives.
        self._pg(
            "pg_ctl", "-D", str(self.data), "-l", str(self.dir / "log"), "-w", "start", "-o",
            f"-k {self.dir} -p {self.port} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=on",
        )  # fmt: skip

    def stop(self, mode: str = "immediate") -> None:
        self._pg("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)
