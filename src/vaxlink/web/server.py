"""Serving the application: uvicorn with its compiled event loop and HTTP parser when they are installed.

uvloop and httptools (both pinned dependencies) take a third to a half of the per-request cost of the
asyncio loop and the pure-Python h11 parser off every request. Several worker processes share everything
a request depends on through the database (sessions, rate limits, sign-in throttles), so `--workers N`
(or several hosts behind one proxy) grants nobody more than one process would.

Proxy headers (X-Forwarded-For, X-Forwarded-Proto) are believed only from the addresses named in
`trusted_proxies`; with none named they are ignored, and the client address is the connection's.
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


def proxy_options(trusted_proxies: str) -> dict[str, Any]:
    trusted = ",".join(p.strip() for p in trusted_proxies.split(",") if p.strip())
    if not trusted:
        return {"proxy_headers": False, "forwarded_allow_ips": ""}
    return {"proxy_headers": True, "forwarded_allow_ips": trusted}


def build_app() -> Any:
    """The application of one worker process, from the environment's settings (uvicorn's factory)."""
    from vaxlink.settings import load_settings
    from vaxlink.web.app import create_app

    app = create_app(load_settings())
    gc.collect()
    gc.freeze()
    return app


def run(
    app: Any,
    host: str,
    port: int,
    *,
    log_level: str = "info",
    access_log: bool = True,
    workers: int = 1,
    trusted_proxies: str = "",
) -> None:
    import uvicorn

    options = {**server_options(), **proxy_options(trusted_proxies)}
    if workers > 1:
        # Each worker builds its own app (engine, pools) after the fork.
        uvicorn.run(
            "vaxlink.web.server:build_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            # A worker's first start-up (imports, the app) can take long on a loaded machine; the default
            # 5 s would have the supervisor kill and restart it for ever.
            timeout_worker_healthcheck=120,
            log_level=log_level,
            access_log=access_log,
            **options,
        )
        return
    # What start-up built (routes, models, templates, the ORM's mappers) lives as long as the process:
    # moved out of the collector's generations, it is no longer walked by every full collection.
    gc.collect()
    gc.freeze()
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=access_log, **options)
