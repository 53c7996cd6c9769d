"""Operations: liveness, readiness, metrics, plugins, the engine's status and the kill switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from crypto_bot_core.service.auth import Principal, Scope
from crypto_bot_core.service.context import ServiceContext
from crypto_bot_core.service.control import EngineBusyError, EngineNotRunningError
from crypto_bot_core.service.errors import ServiceError, error_responses
from crypto_bot_core.service.models import (
    Check,
    ComponentView,
    EngineStatus,
    Health,
    Plugins,
    PluginView,
    Readiness,
    ShutdownRequest,
    ShutdownResult,
)
from crypto_bot_core.service.security import principal_of, require, secured

router = APIRouter()
NO_ENGINE = (
    "no engine is attached to this service: it was started alone (cryptobot serve), so there "
    "is nothing to stop here; pull the kill switch of the process that runs the engine"
)


def context_of(request: Request) -> ServiceContext:
    context: ServiceContext = request.app.state.context
    return context


Context = Annotated[ServiceContext, Depends(context_of)]


@router.get(
    "/healthz",
    tags=["operations"],
    summary="Liveness: the process answers and an attached engine's loop advances.",
    description="503 when the attached engine is running but has not completed a tick "
    "within its loop budget (`budgets.loop`): its loop is blocked, and a restart is the cure.",
    responses=error_responses(503),
)
async def healthz(context: Context) -> Health:
    if context.control is not None:
        problem = context.control.liveness()
        if problem is not None:
            raise ServiceError(503, "Engine loop stalled", problem)
    return Health()


def _ledger_check(context: ServiceContext) -> Check:
    """The ledger store can be read (its head) and written (a write transaction is granted).

    The write probe takes the store's write lock and commits nothing: an
    append-only chain must not collect probe records, yet a read-only mount, a
    lost lock or revoked privileges must make the service unready.
    """
    try:
        head = context.ledger.head()
        with context.ledger.store.write() as tx:
            tx.head()
    except Exception as exc:  # a probe reports any failure, it does not raise
        return Check(name="ledger", ok=False, detail=f"{type(exc).__name__}: {exc}")
    if head is None:
        return Check(name="ledger", ok=True, detail="reachable, no records yet; writable")
    return Check(
        name="ledger",
        ok=True,
        detail=f"reachable, {head.sequence + 1} records, head {head.hash[:16]}; writable",
    )


@router.get(
    "/readyz",
    tags=["operations"],
    summary="Readiness: the ledger store and every exchange answer.",
    responses={503: {"model": Readiness, "description": "A dependency does not answer."}},
)
async def readyz(context: Context) -> JSONResponse:
    checks = [await run_in_threadpool(_ledger_check, context)]
    for venue, problem in (await context.exchange_health()).items():
        checks.append(
            Check(
                name=f"exchange:{venue}",
                ok=problem is None,
                detail=problem or "reachable (balances fetched)",
            )
        )
    ready = all(check.ok for check in checks)
    body = Readiness(ready=ready, checks=checks)
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if ready else 503)


@router.get(
    "/metrics",
    tags=["operations"],
    summary="Prometheus metrics of the service and of the attached engine.",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
        **error_responses(401, 403),
    },
    openapi_extra={"x-required-scopes-when-private": [Scope.METRICS_READ.value]},
)
async def metrics(request: Request, context: Context) -> Response:
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    if not context.settings.metrics_public:
        require(Scope.METRICS_READ)(request)
    body = b"".join(generate_latest(registry) for registry in context.registries)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


@router.get(
    "/plugins",
    tags=["operations"],
    summary="Installed plugins: loaded, refused (with the reason and remedy) or disabled.",
    **secured(Scope.OPS_READ),
)
async def plugins(context: Context) -> Plugins:
    views = []
    for record in context.host.records:
        data = record.to_dict()
        views.append(
            PluginView(
                name=data["name"],
                status=data["status"],
                version=data["version"],
                kinds=data["kinds"],
                distribution=data["distribution"],
                api_range=data["api_range"],
                capabilities=data["capabilities"],
                reason=data["reason"],
                remedy=data["remedy"],
                components=[
                    ComponentView(kind=c["kind"], name=c["name"], address=c["address"])
                    for c in data["components"]
                ],
            )
        )
    return Plugins(plugins=views)


@router.get(
    "/engine",
    tags=["operations"],
    summary="The attached engine: state, open orders, positions, whether it is flat.",
    **secured(Scope.OPS_READ, 404),
)
async def engine_status(context: Context) -> EngineStatus:
    if context.control is None:
        raise ServiceError(404, "No engine attached", NO_ENGINE)
    return context.control.status()


@router.post(
    "/shutdown",
    tags=["operations"],
    summary="The kill switch: cancel every open order, flatten every position, record why.",
    description="Answers 200 when the engine is flat afterwards, 202 while the flattening "
    "orders are still working (poll GET /engine until `flat`). The ledger gets a "
    "system.kill_switch record and a final system.stop record listing any problem.",
    response_model=ShutdownResult,
    **secured(
        Scope.OPS_KILL,
        409,
        422,
        503,
        responses={
            200: {"description": "Killed; the engine is flat."},
            202: {"model": ShutdownResult, "description": "Killed; orders still working."},
        },
    ),
)
async def shutdown(
    request: Request,
    context: Context,
    body: Annotated[ShutdownRequest, Body()],
) -> JSONResponse:
    principal: Principal = principal_of(request)
    if context.control is None:
        raise ServiceError(409, "No engine attached", NO_ENGINE)
    try:
        problems = await context.control.kill(body.reason, requested_by=principal.subject)
    except EngineNotRunningError as exc:
        raise ServiceError(409, "Engine not running", f"{exc}; there is nothing to stop") from exc
    except EngineBusyError as exc:
        raise ServiceError(503, "Engine busy", str(exc)) from exc
    status = context.control.status()
    result = ShutdownResult(
        reason=body.reason, requested_by=principal.subject, problems=problems, status=status
    )
    return JSONResponse(result.model_dump(mode="json"), status_code=200 if status.flat else 202)
