"""The web application factory: the JSON API (`/api/v1`), the server-rendered pages, static files."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vaxlink import __version__
from vaxlink.services.access.auth import LoginLimits
from vaxlink.services.audit.log import load_key
from vaxlink.services.operations.schema import open_database
from vaxlink.services.reconciliation.ingest_jobs import IngestJobs
from vaxlink.settings import Settings
from vaxlink.storage.db import FairLock, session_factory
from vaxlink.web import errors
from vaxlink.web.api import batches as api_batches
from vaxlink.web.api import cases as api_cases
from vaxlink.web.api import certificates as api_certificates
from vaxlink.web.api import citizens as api_citizens
from vaxlink.web.api import lookup as api_lookup
from vaxlink.web.api import stats as api_stats
from vaxlink.web.api import system as api_system
from vaxlink.web.api import verification as api_verification
from vaxlink.web.limits import BodyLimits
from vaxlink.web.pages import auth as page_auth
from vaxlink.web.pages import batches as page_batches
from vaxlink.web.pages import cases as page_cases
from vaxlink.web.pages import citizen_request as page_citizen_request
from vaxlink.web.pages import citizen_self as page_citizen_self
from vaxlink.web.pages import citizens as page_citizens
from vaxlink.web.pages import dashboard as page_dashboard
from vaxlink.web.pages import verification as page_verification
from vaxlink.web.pages import verify as page_verify
from vaxlink.web.security import AppState

HERE = Path(__file__).parent
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


HSTS = b"max-age=31536000; includeSubDomains"


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), *SECURITY_HEADERS]
                if https:
                    # Only over TLS (browsers ignore it otherwise); behind a proxy the scheme comes from
                    # its X-Forwarded-Proto, trusted only from the proxies named (`serve --trusted-proxies`).
                    headers.append((b"strict-transport-security", HSTS))
                if not scope["path"].startswith("/static/") and not any(
                    k == b"cache-control" for k, _ in headers
                ):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _run_ingests(app: FastAPI) -> None:
    """The ingest worker starts with the server (resuming batches a stopped server left waiting) and
    stops with it."""
    jobs: IngestJobs = app.state.vx.jobs
    original = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        jobs.start()
        async with original(a) as inner:
            try:
                yield inner
            finally:
                await run_in_threadpool(jobs.close)

    app.router.lifespan_context = lifespan


def create_app(settings: Settings, engine: Engine | None = None) -> FastAPI:
    app = FastAPI(
        title="vaxlink",
        version=__version__,
        description="Đối soát tiêm chủng với CSDL dân cư / vaccination records against the population register",
        docs_url=None,  # the interactive pages load scripts from a CDN; the OpenAPI document stays
        redoc_url=None,
    )
    engine = engine or open_database(settings)
    sessions = session_factory(engine)
    audit_key = load_key(settings.audit_key_file)
    # Handed over in turn (`FairLock`), so that a request waits for the ingest worker's transaction under
    # way, not for its next ones too; it is used exactly as a plain lock is.
    write_lock = cast(threading.Lock, FairLock()) if engine.dialect.name == "sqlite" else None
    app.state.vx = AppState(
        settings=settings,
        engine=engine,
        sessions=sessions,
        audit_key=audit_key,
        login_limits=LoginLimits(),
        write_lock=write_lock,
        jobs=IngestJobs(settings, engine, sessions, audit_key, write_lock),
    )
    errors.install(app)
    app.include_router(api_system.router)
    app.include_router(api_cases.router)
    app.include_router(api_citizens.router)
    app.include_router(page_auth.router)
    app.include_router(page_cases.router)
    app.include_router(page_citizens.router)
    app.include_router(api_lookup.router)
    app.include_router(api_certificates.router)
    app.include_router(page_verify.router)
    app.include_router(page_citizen_self.router)
    app.include_router(api_stats.router)
    app.include_router(page_dashboard.router)
    app.include_router(api_verification.router)
    app.include_router(api_verification.notice_router)
    app.include_router(page_verification.router)
    app.include_router(api_batches.router)
    app.include_router(page_batches.router)
    app.include_router(page_citizen_request.router)
    api_lookup.install(app)
    _run_ingests(app)
    errors.document_problems(app)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_middleware(BodyLimits)
    app.add_middleware(SecurityHeaders)
    return app
