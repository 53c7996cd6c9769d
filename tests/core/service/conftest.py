"""Fixtures: a service over a real SQLite ledger holding a hand-checked trading day."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from crypto_bot_core.host import Host
from crypto_bot_core.ledger import Ledger
from crypto_bot_core.observability import EngineMetrics
from service.service_fixtures import build_app


@pytest.fixture(scope="session")
def host() -> Host:
    return Host(environ={}).load()


@pytest.fixture
def served(tmp_path: Path, host: Host) -> Iterator[tuple[TestClient, Ledger, EngineMetrics]]:
    app, ledger, metrics = build_app(tmp_path, host)
    with TestClient(app) as client:
        yield client, ledger, metrics


@pytest.fixture
def client(served: tuple[TestClient, Ledger, EngineMetrics]) -> TestClient:
    return served[0]
