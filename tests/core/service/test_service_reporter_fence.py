"""A reporter is a plugin: the service calls it through its fence, so a crashing or
misbehaving reporter is a named 500 problem, never a traceback."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from crypto_bot_core.builtins.standard_reporters import DailyTradesReporter
from service.service_fixtures import bearer

PARAMS = {"date": "2024-06-01", "format": "csv"}


def test_a_crashing_reporter_is_a_named_500(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(self: DailyTradesReporter, *args: Any) -> Any:
        raise KeyError("price")

    monkeypatch.setattr(DailyTradesReporter, "render", crash)
    response = client.get("/report/daily", params=PARAMS, headers=bearer("report:read"))
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["title"] == "Reporter failed"
    assert "standard-reporters" in body["detail"]
    assert "KeyError" in body["detail"]


def test_a_reporter_answering_something_else_is_refused(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(DailyTradesReporter, "render", lambda self, *args: b"raw bytes")
    response = client.get("/report/daily", params=PARAMS, headers=bearer("report:read"))
    assert response.status_code == 500
    assert response.json()["detail"] == (
        "reporter 'daily_trades' returned bytes, not a ReportArtefact"
    )
