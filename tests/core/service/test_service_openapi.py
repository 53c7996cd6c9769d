"""The OpenAPI document is valid and complete, and a spec-driven fuzzer finds no 500."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis.specs.openapi.checks import positive_data_acceptance

from crypto_bot_core.host import Host
from service.service_fixtures import bearer, build_app

PUBLIC = {"/healthz", "/readyz", "/metrics"}
ALL_SCOPES = (
    "report:read",
    "regulatory:export",
    "ledger:read",
    "gdpr:erase",
    "ops:read",
    "ops:kill",
    "metrics:read",
)


@pytest.fixture
def app(tmp_path: Path, host: Host) -> Iterator[FastAPI]:
    application, ledger, _ = build_app(tmp_path, host)
    yield application
    ledger.close()


def test_spec_is_valid_openapi(app: FastAPI) -> None:
    spec = app.openapi()
    validate(spec)  # raises on any violation of the OpenAPI 3.1 schema
    assert spec["openapi"].startswith("3.1")


def test_every_operation_is_documented_and_guarded(app: FastAPI) -> None:
    spec = app.openapi()
    scheme = spec["components"]["securitySchemes"]["bearer"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            assert operation.get("summary"), where
            responses: dict[str, Any] = operation["responses"]
            assert any(code.startswith("2") for code in responses), where
            for code, response in responses.items():
                if code[0] in "45" and "content" in response:
                    assert list(response["content"]) == ["application/problem+json"], where
            if path in PUBLIC:
                assert "security" not in operation, where
            else:
                (requirement,) = operation["security"]
                (scopes,) = requirement.values()
                assert len(scopes) == 1, where
                assert {"401", "403"} <= set(responses), where
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def test_fuzzed_requests_get_no_500_and_match_the_spec(app: FastAPI) -> None:
    """schemathesis generates requests from the spec (fixed seed) for every operation.

    ``call_and_validate`` checks each response: no 5xx, a status, content type,
    headers and body the spec documents. Driven through hypothesis directly,
    since schemathesis' pytest fixture integration does not run on pytest 9.
    One check is left out: "a schema-valid request is accepted". Rules across
    inputs that OpenAPI cannot state (end after start, a format the chosen
    reporter offers, a period with something to report) answer 422 with a
    problem document, which that check counts as a failure.
    """
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = bearer(*ALL_SCOPES)
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) == 10
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=15,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case: Any) -> None:
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        fuzz()
