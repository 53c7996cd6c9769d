"""Each endpoint: 200 with the right scope, 401 without a token, 403 with another scope, 422."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from typing import Any

import pytest
from compliance.ledger_fixtures import DRIVER, PERIOD, schemas_or_skip, trading_day
from fastapi.testclient import TestClient
from lxml import etree

from crypto_bot_core.builtins.standard_reporters import DailyTradesReporter
from crypto_bot_core.ledger import Ledger, verify_receipt
from crypto_bot_core.observability import EngineMetrics
from service.service_fixtures import HELD, bearer

GUARDED: list[tuple[str, str, str, dict[str, Any]]] = [
    ("GET", "/plugins", "ops:read", {}),
    ("GET", "/engine", "ops:read", {}),
    ("GET", "/report/daily", "report:read", {"params": {"date": "2024-06-01"}}),
    (
        "GET",
        "/regulatory/export",
        "regulatory:export",
        {"params": {"start": "2024-06-01T00:00:00Z", "end": "2024-06-02T00:00:00Z"}},
    ),
    ("GET", "/ledger/verify", "ledger:read", {}),
    ("POST", "/subjects/customer-42/erase", "gdpr:erase", {"json": {"reason": "gdpr-art17"}}),
    ("POST", "/shutdown", "ops:kill", {"json": {"reason": "end of test"}}),
]


@pytest.mark.parametrize(("method", "path", "scope", "kwargs"), GUARDED)
def test_no_token_is_401_with_a_bearer_challenge(
    client: TestClient, method: str, path: str, scope: str, kwargs: dict[str, Any]
) -> None:
    response = client.request(method, path, **kwargs)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="cryptobot"'
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["title"] == "Unauthorized"
    assert "Authorization: Bearer <token>" in body["detail"]


@pytest.mark.parametrize(("method", "path", "scope", "kwargs"), GUARDED)
def test_other_scope_is_403_naming_the_missing_one(
    client: TestClient, method: str, path: str, scope: str, kwargs: dict[str, Any]
) -> None:
    other = "metrics:read"
    response = client.request(method, path, headers=bearer(other), **kwargs)
    assert response.status_code == 403
    body = response.json()
    assert (body["required_scope"], body["granted_scopes"]) == (scope, [other])
    assert f"--scope {scope}" in body["detail"]
    challenge = response.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert f'scope="{scope}"' in challenge


def test_healthz_and_readyz_need_no_token(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    checks = {c["name"]: c for c in ready.json()["checks"]}
    assert set(checks) == {"ledger", "exchange:beta"}
    assert checks["ledger"]["ok"]
    assert checks["ledger"]["detail"].startswith("reachable, 12 records, head ")
    assert checks["exchange:beta"] == {
        "name": "exchange:beta",
        "ok": True,
        "detail": "reachable (balances fetched)",
    }


def test_readyz_is_503_when_the_ledger_store_is_gone(
    served: tuple[TestClient, Ledger, EngineMetrics],
) -> None:
    client, ledger, _ = served
    ledger.store.close()
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["ready"] is False
    assert [c["ok"] for c in body["checks"] if c["name"] == "ledger"] == [False]


def test_daily_report_is_the_reporters_bytes(client: TestClient) -> None:
    response = client.get(
        "/report/daily",
        params={"date": "2024-06-01", "format": "csv"},
        headers=bearer("report:read"),
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == (
        'attachment; filename="daily-trades_2024-06-01.csv"'
    )
    expected = DailyTradesReporter.from_config({}).render(trading_day(), PERIOD, "csv").content
    assert response.content == expected
    assert response.headers["x-report-sha256"] == hashlib.sha256(expected).hexdigest()
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["trade_id"] for r in rows] == ["b1", "a1", "a2", "c1", "e1"]


@pytest.mark.parametrize(
    ("params", "location"),
    [
        ({"date": "2024-13-01"}, "query.date"),
        ({}, "query.date"),
        ({"date": "2024-06-01", "format": "CSV!"}, "query.format"),
        ({"date": "2024-06-01", "reporter": "../etc"}, "query.reporter"),
    ],
)
def test_daily_report_inputs_are_validated(
    client: TestClient, params: dict[str, str], location: str
) -> None:
    response = client.get("/report/daily", params=params, headers=bearer("report:read"))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["location"] for e in response.json()["errors"]] == [location]


def test_unknown_format_and_reporter_are_explained(client: TestClient) -> None:
    headers = bearer("report:read")
    response = client.get(
        "/report/daily", params={"date": "2024-06-01", "format": "xml"}, headers=headers
    )
    assert response.status_code == 422
    assert response.json()["detail"] == (
        "reporter 'daily_trades' has no format 'xml'; choose one of csv, json"
    )
    response = client.get(
        "/report/daily", params={"date": "2024-06-01", "reporter": "nope"}, headers=headers
    )
    assert response.status_code == 404
    assert (
        "configured: best_execution, daily_trades, execution_venues, mifir_transactions"
        in (response.json()["detail"])
    )


@pytest.mark.parametrize("report", ["mifir_transactions", "best_execution", "execution_venues"])
def test_a_report_read_token_cannot_fetch_a_regulatory_report_through_the_daily_route(
    client: TestClient, report: str
) -> None:
    """Scopes go by report family: ``/report/daily?reporter=mifir_transactions`` used to
    hand the MiFIR transaction file (traders, decision makers) to any report:read token."""
    params = {"date": "2024-06-01", "reporter": report}
    response = client.get("/report/daily", params=params, headers=bearer("report:read"))
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert (body["required_scope"], body["granted_scopes"]) == (
        "regulatory:export",
        ["report:read"],
    )
    assert body["detail"].startswith(
        f"the report {report!r} is a regulatory report: reading it needs the scope "
        "'regulatory:export'; the token of 'alice' grants report:read."
    )
    assert 'scope="regulatory:export"' in response.headers["www-authenticate"]
    # A token holding both scopes reads it through either route.
    both = bearer("report:read", "regulatory:export")
    allowed = client.get("/report/daily", params={**params, "format": "json"}, headers=both)
    assert allowed.status_code != 403
    if report != "mifir_transactions":  # MiFIR has one format and needs the ISO schemas
        assert allowed.status_code == 200


def test_regulatory_export_reads_every_report_family(client: TestClient) -> None:
    day = {"start": "2024-06-01T00:00:00Z", "end": "2024-06-02T00:00:00Z"}
    trades = client.get(
        "/regulatory/export",
        params={**day, "report": "daily_trades", "format": "csv"},
        headers=bearer("regulatory:export"),
    )
    assert trades.status_code == 200
    rows = list(csv.DictReader(io.StringIO(trades.text)))
    assert [r["trade_id"] for r in rows] == ["b1", "a1", "a2", "c1", "e1"]


def test_regulatory_export_is_schema_valid_mifir_xml(client: TestClient) -> None:
    schemas_or_skip()
    response = client.get(
        "/regulatory/export",
        params={"start": "2024-06-01T00:00:00Z", "end": "2024-06-02T00:00:00+00:00"},
        headers=bearer("regulatory:export"),
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/xml"
    root = etree.fromstring(response.content)
    assert etree.XMLSchema(etree.parse(str(DRIVER))).validate(root)
    news = root.xpath("//a:New", namespaces={"a": "urn:iso:std:iso:20022:tech:xsd:auth.016.001.01"})
    assert isinstance(news, list)
    assert len(news) == 1  # spot excluded: only the perpetual's fill


def test_regulatory_export_other_reports_and_bad_periods(client: TestClient) -> None:
    headers = bearer("regulatory:export")
    day = {"start": "2024-06-01T00:00:00Z", "end": "2024-06-02T00:00:00Z"}
    venues = client.get(
        "/regulatory/export",
        params={**day, "report": "execution_venues", "format": "json"},
        headers=headers,
    )
    assert venues.status_code == 200
    assert [c["instrument_class"] for c in venues.json()["classes"]] == [
        "crypto_perpetual",
        "crypto_spot",
    ]
    naive = client.get(
        "/regulatory/export", params={**day, "start": "2024-06-01T00:00:00"}, headers=headers
    )
    assert naive.status_code == 422
    assert naive.json()["errors"][0]["location"] == "query.start"
    backwards = client.get(
        "/regulatory/export", params={"start": day["end"], "end": day["start"]}, headers=headers
    )
    assert backwards.status_code == 422
    assert "must be after start" in backwards.json()["detail"]
    too_long = client.get(
        "/regulatory/export",
        params={"start": "2020-01-01T00:00:00Z", "end": "2024-01-01T00:00:00Z"},
        headers=headers,
    )
    assert too_long.status_code == 422
    assert "longer than 366 days" in too_long.json()["detail"]
    empty = client.get(
        "/regulatory/export",
        params={"start": "2024-07-01T00:00:00Z", "end": "2024-07-02T00:00:00Z"},
        headers=headers,
    )
    assert empty.status_code == 422
    assert "nothing to submit" in empty.json()["detail"]


def test_ledger_verify_reports_the_chain(client: TestClient) -> None:
    response = client.get("/ledger/verify", headers=bearer("ledger:read"))
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert body["records"] == 12
    assert body["problems"] == []
    assert "source" not in body  # the ledger URL may hold credentials
    bad = client.get(
        "/ledger/verify", params={"require_signatures": "maybe"}, headers=bearer("ledger:read")
    )
    assert bad.status_code == 422


def test_erasure_returns_a_verifiable_receipt_and_refuses_held_subjects(
    served: tuple[TestClient, Ledger, EngineMetrics],
) -> None:
    client, ledger, _ = served
    headers = bearer("gdpr:erase")
    response = client.post(
        "/subjects/customer-42/erase",
        json={"reason": "gdpr-art17", "request_id": "T-1"},
        headers=headers,
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["vault_rows_deleted"], body["key_destroyed"]) == (1, True)
    assert body["subject_ref"] == ledger.subjects.ref("customer-42")
    assert ledger.subjects.get("customer-42") == []
    receipt = verify_receipt(
        {
            "receipt": body["receipt"],
            "signature": body["signature"],
            "subject_ref": body["subject_ref"],
        },
        ledger.keys.trusted_keys() or ledger.keys.signing_key().public_key(),
    )
    assert receipt["request_id"] == "T-1"
    assert ledger.get(body["receipt_sequence"]).hash == body["receipt_hash"]

    refused = client.post(f"/subjects/{HELD}/erase", headers=headers)
    assert refused.status_code == 409
    assert "retention rule 'litigation'" in refused.json()["detail"]
    assert ledger.subjects.get(HELD) == [{"name": "Bob"}]

    bad_reason = client.post(
        "/subjects/customer-7/erase", json={"reason": "because I say so"}, headers=headers
    )
    assert bad_reason.status_code == 422
    assert bad_reason.json()["errors"][0]["location"] == "body.reason"
    bad_id = client.post("/subjects/..%2Fx/erase", headers=headers)
    assert bad_id.status_code in (404, 422)


def test_plugins_lists_the_reporters(client: TestClient) -> None:
    response = client.get("/plugins", headers=bearer("ops:read"))
    assert response.status_code == 200
    plugins = {p["name"]: p for p in response.json()["plugins"]}
    reporters = plugins["standard-reporters"]
    assert reporters["status"] == "loaded"
    assert sorted(c["name"] for c in reporters["components"]) == [
        "best_execution",
        "daily_trades",
        "execution_venues",
        "mifir_transactions",
    ]


def test_engine_and_shutdown_without_an_engine_say_so(client: TestClient) -> None:
    status = client.get("/engine", headers=bearer("ops:read"))
    assert status.status_code == 404
    assert "no engine is attached" in status.json()["detail"]
    kill = client.post("/shutdown", json={"reason": "stop"}, headers=bearer("ops:kill"))
    assert kill.status_code == 409
    assert kill.json()["title"] == "No engine attached"
    bad = client.post("/shutdown", json={"reason": "x"}, headers=bearer("ops:kill"))
    assert bad.status_code == 422
    extra = client.post(
        "/shutdown", json={"reason": "stop now", "force": True}, headers=bearer("ops:kill")
    )
    assert extra.status_code == 422


def test_metrics_expose_service_and_engine_figures(
    served: tuple[TestClient, Ledger, EngineMetrics],
) -> None:
    client, _, metrics = served
    metrics.verdict("max_drawdown", "reject")
    metrics.agent_fallback("sentiment")
    client.get("/healthz")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'cryptobot_risk_verdicts_total{action="reject",rule="max_drawdown"} 1.0' in text
    assert 'cryptobot_agent_fallback_total{agent="sentiment"} 1.0' in text
    assert 'cryptobot_http_requests_total{method="GET",route="/healthz",status="200"} 1.0' in text


def test_unknown_path_is_a_problem_document(client: TestClient) -> None:
    response = client.get("/nope")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert json.loads(response.text)["detail"].startswith("there is no /nope")
