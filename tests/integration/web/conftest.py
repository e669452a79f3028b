"""Fixtures of the web tests: the app on a migrated database (both backends), a small world, clients."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from tests.integration.web import world as w
from vaxlink.services.audit.log import bind_key, load_key
from vaxlink.settings import Settings, load_settings
from vaxlink.storage.db import transaction
from vaxlink.web.app import create_app

with warnings.catch_warnings():
    # Starlette 1.x would rather drive its test client with httpx2, which is not among the pinned
    # dependencies; httpx still works.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture
def web_settings(db_url: str, tmp_path: Path) -> Settings:
    return load_settings(
        database_url=db_url,
        work_dir=tmp_path / "work",
        duckdb_memory_limit="1GB",
        audit_key_file=tmp_path / "keys" / "audit.key",
    )


@pytest.fixture
def app(web_settings: Settings, engine: Engine) -> FastAPI:
    return create_app(web_settings, engine)


@pytest.fixture
def world(app: FastAPI, web_settings: Settings, engine: Engine) -> w.World:
    with transaction(engine) as s:
        bind_key(s, load_key(web_settings.audit_key_file))
        return w.build(s, web_settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as c:
        yield c
