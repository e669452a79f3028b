"""The web application factory."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import func, select

from vaxlink import __version__
from vaxlink.services.schema import open_database
from vaxlink.settings import Settings
from vaxlink.storage.db import session_factory
from vaxlink.storage.models import Citizen


def create_app(settings: Settings) -> FastAPI:
    app = FastAPI(title="vaxlink", version=__version__)
    engine = open_database(settings)
    sessions = session_factory(engine)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, object]:
        """Liveness and database reachability (public: reveals no personal data)."""
        with sessions() as s:
            citizens = s.scalar(select(func.count()).select_from(Citizen))
        return {"status": "ok", "version": __version__, "citizens": citizens}

    return app
