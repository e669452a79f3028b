"""One audited transaction for a command: the database opened, the audit key bound, operator errors
turned into a clear message and exit code 2."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import typer
from rich.console import Console
from sqlalchemy.orm import Session

from vaxlink.domain.errors import VaxlinkError

T = TypeVar("T")
err = Console(stderr=True)


def run_in_session(fn: Callable[[Session], T]) -> T:
    """Run `fn` in one transaction (committed when it returns) with the audit key bound to the session."""
    from vaxlink.services.audit.log import bind_key, load_key
    from vaxlink.services.operations.schema import database
    from vaxlink.settings import load_settings
    from vaxlink.storage.db import transaction

    s = load_settings()
    try:
        with database(s) as engine, transaction(engine) as session:
            bind_key(session, load_key(s.audit_key_file))
            return fn(session)
    except VaxlinkError as e:
        err.print(f"[bold red]Lỗi / error:[/] {e}")
        raise typer.Exit(2) from None
