"""Serving the application: uvicorn with its compiled event loop and HTTP parser when they are installed.

uvloop and httptools (both pinned dependencies) take a third to a half of the per-request cost of the
asyncio loop and the pure-Python h11 parser off every request. One process: the verifier lookup's rate
limit is kept per user in the process, so more workers would each grant a user the full rate.
"""

from __future__ import annotations

import gc
from importlib.util import find_spec
from typing import Any


def server_options() -> dict[str, Any]:
    """The event loop and HTTP implementation to run with: the compiled ones when installed."""
    return {
        "loop": "uvloop" if find_spec("uvloop") else "asyncio",
        "http": "httptools" if find_spec("httptools") else "h11",
    }


def run(app: Any, host: str, port: int, *, log_level: str = "info", access_log: bool = True) -> None:
    import uvicorn

    # What start-up built (routes, models, templates, the ORM's mappers) lives as long as the process:
    # moved out of the collector's generations, it is no longer walked by every full collection.
    gc.collect()
    gc.freeze()
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=access_log, **server_options())
