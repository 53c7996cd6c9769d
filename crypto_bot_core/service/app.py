"""The FastAPI application: routes, error handling, request metrics, the OpenAPI document.

``create_app(settings)`` builds everything at startup (plugins, config,
ledger); pass ``control`` to attach a running engine and ``engine_metrics`` to
serve its metrics. The OpenAPI document is post-processed so that it tells the
truth: every error is ``application/problem+json``, and every guarded
operation lists the bearer scheme with the scope it needs. ``/docs`` and
``/redoc`` load their assets from the service, never from a CDN.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from crypto_bot_core import __version__
from crypto_bot_core.service.auth import SCOPE_HELP
from crypto_bot_core.service.context import ServiceContext, build_context
from crypto_bot_core.service.control import EngineControl
from crypto_bot_core.service.errors import (
    PROBLEM_MEDIA_TYPE,
    FieldProblem,
    Problem,
    ServiceError,
    problem_body,
)
from crypto_bot_core.service.security import SCHEME, SCOPES_KEY
from crypto_bot_core.service.settings import ServiceSettings

if TYPE_CHECKING:
    from crypto_bot_core.host import Host
    from crypto_bot_core.ledger import Ledger
    from crypto_bot_core.observability import EngineMetrics

DESCRIPTION = """The operator's and compliance's HTTP surface of crypto-bot.

Authenticate with `Authorization: Bearer <JWT>`; each operation names the scope
it needs. Errors are RFC 9457 problem details."""


def _problem_response(problem: Problem, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        problem_body(problem),
        status_code=problem.status,
        headers=headers,
        media_type=PROBLEM_MEDIA_TYPE,
    )


def _install_handlers(app: FastAPI) -> None:
    async def service_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ServiceError)
        return _problem_response(exc.problem, exc.headers)

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [
            FieldProblem(
                location=".".join(str(part) for part in error["loc"]),
                message=error["msg"],
            )
            for error in exc.errors()
        ]
        detail = "; ".join(f"{e.location}: {e.message}" for e in errors) or "invalid request"
        problem = Problem(status=422, title="Invalid request", detail=detail, errors=errors)
        return _problem_response(problem)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 400:
            return _problem_response(_unreadable_body(exc))
        detail = str(exc.detail)
        if exc.status_code == 404:
            detail = f"there is no {request.url.path}; GET /openapi.json lists the operations"
        elif exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}"
        problem = Problem(status=exc.status_code, title=_title(exc.status_code), detail=detail)
        return _problem_response(problem, dict(exc.headers or {}))

    app.add_exception_handler(ServiceError, service_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)


def _unreadable_body(exc: StarletteHTTPException) -> Problem:
    """A body FastAPI cannot even decode, as the 422 every operation with a body declares.

    FastAPI answers invalid JSON with a 422, but bytes that are not UTF-8 or JSON
    nested past the parser's depth with a bare 400 that no OpenAPI document lists.
    Nothing else in this service answers 400, so each is a body that is not JSON:
    say so, with the decoder's reason, in the status the document declares.
    """
    cause = exc.__cause__
    reason = f"{type(cause).__name__}: {cause}" if cause is not None else str(exc.detail)
    message = f"the request body cannot be read as JSON ({reason}); send a UTF-8 JSON object"
    return Problem(
        status=422,
        title="Invalid request",
        detail=message,
        errors=[FieldProblem(location="body", message=message)],
    )


def _title(status: int) -> str:
    from http import HTTPStatus

    return HTTPStatus(status).phrase


def _install_metrics(app: FastAPI, registry: Any) -> None:
    from prometheus_client import Counter, Histogram

    requests = Counter(
        "cryptobot_http_requests",
        "HTTP requests served, by route template, method and status.",
        ["route", "method", "status"],
        registry=registry,
    )
    latency = Histogram(
        "cryptobot_http_request_seconds", "Time to serve a request.", ["route"], registry=registry
    )

    @app.middleware("http")
    async def count(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        template = getattr(route, "path", "unmatched")
        requests.labels(template, request.method, str(response.status_code)).inc()
        latency.labels(template).observe(time.perf_counter() - started)
        return response


def _openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        from fastapi.openapi.utils import get_openapi

        spec = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
        )
        components = spec.setdefault("components", {})
        scopes = "\n".join(f"* `{scope.value}`: {text}" for scope, text in SCOPE_HELP.items())
        components["securitySchemes"] = {
            SCHEME: {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "A JWT signed with the service's key, with a `scope` claim "
                f"(space-separated). Scopes:\n{scopes}",
            }
        }
        problem = {"$ref": "#/components/schemas/Problem"}
        for operations in spec.get("paths", {}).values():
            for operation in operations.values():
                required = operation.pop(SCOPES_KEY, None)
                if required:
                    operation["security"] = [{SCHEME: required}]
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if status[0] in "45" and "application/json" in content:
                        response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": problem}}
        schemas = components.get("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        app.openapi_schema = spec
        return spec

    return build


def create_app(
    settings: ServiceSettings,
    *,
    host: Host | None = None,
    ledger: Ledger | None = None,
    control: EngineControl | None = None,
    engine_metrics: EngineMetrics | None = None,
) -> FastAPI:
    """The service app; everything is built here, so a bad setting fails before serving."""
    from prometheus_client import CollectorRegistry

    from crypto_bot_core.service.routes_data import router as data_router
    from crypto_bot_core.service.routes_ops import router as ops_router

    registry = CollectorRegistry()
    registries = [registry] + ([engine_metrics.registry] if engine_metrics is not None else [])
    context: ServiceContext = build_context(
        settings, host=host, ledger=ledger, control=control, registries=registries
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await context.start()
        try:
            yield
        finally:
            await context.close()

    from fastapi_offline import FastAPIOffline

    # /docs and /redoc with their scripts, styles and icon served by the service itself
    # (from the fastapi-offline package) instead of a CDN: the service works offline,
    # and an operator's browser fetches nothing from a third party.
    app = FastAPIOffline(
        title="crypto-bot service",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_tags=[
            {"name": "operations", "description": "Health, metrics, plugins, kill switch."},
            {"name": "reports", "description": "Reports rendered by the configured reporters."},
            {"name": "ledger", "description": "The audit ledger: verification, GDPR erasure."},
        ],
    )
    app.state.context = context
    _install_handlers(app)
    _install_metrics(app, registry)
    app.include_router(ops_router)
    app.include_router(data_router)
    app.openapi = _openapi(app)  # type: ignore[method-assign]
    return app
