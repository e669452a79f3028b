"""Keys made once per session: EC key generation is quick, but hundreds of tests share them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from vaxlink.credentials import (
    IssuedCertificate,
    Name,
    Signer,
    TrustList,
    Verifier,
    dose_from_product,
    init_keys,
    issue,
    load_signer,
)
from vaxlink.credentials.keys import TRUST_JSON

NOW = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="session")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "dcc"
    init_keys(path, now=NOW - dt.timedelta(days=1))
    return path


@pytest.fixture(scope="session")
def signer(key_dir: Path) -> Signer:
    return load_signer(key_dir)


@pytest.fixture(scope="session")
def trust(key_dir: Path) -> TrustList:
    return TrustList.load(key_dir / TRUST_JSON)


@pytest.fixture(scope="session")
def verifier(trust: TrustList) -> Verifier:
    return Verifier(trust)


def make_certificate(signer: Signer, *, now: dt.datetime = NOW) -> IssuedCertificate:
    doses = [
        dose_from_product(dt.date(2021, 9, 1), 1, "EU/1/21/1529"),
        dose_from_product(dt.date(2021, 11, 20), 2, "EU/1/21/1529"),
        dose_from_product(dt.date(2022, 5, 2), 3, "EU/1/20/1528"),
    ]
    return issue(Name("Nguyễn", "Thị Thu", "Hà"), "1990-03-15", doses, signer, now=now)


@pytest.fixture(scope="session")
def certificate(signer: Signer) -> IssuedCertificate:
    return make_certificate(signer)
