"""What the benchmarks share: a fresh PostgreSQL database on a given server, dropped afterwards, and a step
measured in a child process of its own."""

from __future__ import annotations

import multiprocessing as mp
import queue
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from sqlalchemy import create_engine, text


def fresh_pg(url: str, label: str) -> tuple[str, Callable[[], None]]:
    """A new database `vaxlink_bench_<label>_<random>` on the server of `url`: its URL and how to drop it."""
    name = f"vaxlink_bench_{label}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.rsplit("/", 1)[0] + "/" + name, drop


def in_child(
    target: Callable[..., None], *args: Any, watch: Callable[[int], AbstractContextManager[Any]] | None = None
) -> Any:
    """Run `target(*args, out)` in a fresh process and return what it puts on `out`. A child that dies before it
    answers (an exception, a kill) stops the benchmark with its exit code rather than leaving it waiting.
    `watch`, given the child's pid, is a context held while the child runs (a memory monitor, say)."""
    ctx = mp.get_context("spawn")
    out: Any = ctx.Queue()
    p = ctx.Process(target=target, args=(*args, out))
    p.start()
    assert p.pid is not None
    with watch(p.pid) if watch is not None else nullcontext():
        while True:
            try:
                res = out.get(timeout=1.0)
                break
            except queue.Empty:
                if not p.is_alive():
                    name = getattr(target, "__name__", target)
                    raise SystemExit(f"{name} failed in its process (exit {p.exitcode})") from None
        p.join()
    return res
