"""Reports, regulatory exports, ledger verification and GDPR erasure."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request, Response
from pydantic import AwareDatetime

from crypto_bot_core.host.fence import DEFAULT_BUDGETS, Fence
from crypto_bot_core.service.auth import Principal, Scope, forbidden
from crypto_bot_core.service.context import ServiceContext
from crypto_bot_core.service.errors import ServiceError
from crypto_bot_core.service.models import (
    EraseRequest,
    ErasureReceipt,
    LedgerVerification,
    VerifyProblem,
)
from crypto_bot_core.service.routes_ops import Context
from crypto_bot_core.service.security import secured
from crypto_bot_sdk import (
    ConfigError,
    CryptoBotError,
    ErasureRefusedError,
    LedgerError,
    PluginError,
    ReportArtefact,
    Reporter,
    ReportPeriod,
)

router = APIRouter()
NAME = r"^[A-Za-z][A-Za-z0-9_.-]{0,62}$"
FORMAT = r"^[a-z0-9][a-z0-9_-]{0,15}$"
SUBJECT = r"^[A-Za-z0-9][A-Za-z0-9_.:@+-]{0,127}$"
REPORT_CONTENT = {
    "text/csv": {"schema": {"type": "string"}},
    "application/json": {"schema": {"type": "object"}},
    "application/xml": {"schema": {"type": "string"}},
}
REPORT_HEADERS = {
    "Content-Disposition": {
        "description": "attachment; filename=...",
        "schema": {"type": "string"},
    },
    "X-Report-SHA256": {"description": "SHA-256 of the body", "schema": {"type": "string"}},
}


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def _check_period(start: datetime, end: datetime, longest: int) -> None:
    if end <= start:
        raise ServiceError(422, "Invalid period", f"end {end} must be after start {start}")
    if start < EARLIEST or end > LATEST:
        raise ServiceError(
            422,
            "Invalid period",
            f"the period from {start} to {end} is outside {EARLIEST.date()} to {LATEST.date()}",
        )
    if end - start > timedelta(days=longest):
        raise ServiceError(
            422,
            "Invalid period",
            f"the period from {start} to {end} is longer than {longest} days; split it",
        )


def report_scope(reporter: Reporter[Any]) -> Scope:
    """The scope that reading ``reporter``'s report needs: its report family's.

    Scopes go by what a report holds, not by the route that serves it, or a
    ``report:read`` token would fetch the MiFIR file through ``/report/daily``.
    Trade reports (the built-in daily trade list, the desk's own fills) need
    ``report:read``. Regulatory reports need ``regulatory:export``: the MiFIR
    transaction report (decision makers, traders, client identifiers), best
    execution and the venue summary, and any reporter of another distribution,
    whose content the service cannot judge (its type, not its name, decides: a
    plugin may call a component anything). ``regulatory:export`` reads every family.
    """
    from crypto_bot_core.builtins.standard_reporters.daily_trades import DailyTradesReporter

    if type(reporter) is DailyTradesReporter:
        return Scope.REPORT_READ
    return Scope.REGULATORY_EXPORT


def _check_report_scope(principal: Principal, name: str, reporter: Reporter[Any]) -> None:
    needed = report_scope(reporter)
    if needed.value in principal.scopes or Scope.REGULATORY_EXPORT.value in principal.scopes:
        return
    family = "a trade report" if needed is Scope.REPORT_READ else "a regulatory report"
    raise forbidden(needed.value, principal, what=f"the report {name!r} is {family}: reading it")


def _render(
    context: ServiceContext,
    principal: Principal,
    *,
    name: str,
    start: datetime,
    end: datetime,
    fmt: str | None,
) -> Response:
    _check_period(start, end, context.settings.max_report_days)
    reporter = context.reporters.get(name)
    if reporter is None:
        configured = ", ".join(sorted(context.reporters)) or "none"
        raise ServiceError(
            404,
            "Reporter not configured",
            f"no reporter named {name!r} is configured (configured: {configured}); add it to "
            "the reporters section of the config file",
        )
    _check_report_scope(principal, name, reporter)
    chosen = fmt or reporter.formats[0]
    if chosen not in reporter.formats:
        raise ServiceError(
            422,
            "Unknown format",
            f"reporter {name!r} has no format {chosen!r}; choose one of "
            f"{', '.join(reporter.formats)}",
        )
    period = ReportPeriod(start=start, end=end)
    since = start - timedelta(days=context.settings.report_lookback_days)
    try:
        fence = context.host.fence_for(reporter)
    except KeyError:  # a reporter handed to the app without its plugin: still fenced
        fence = Fence(name)
    try:
        records = list(context.ledger.records(since=since, until=end))
        # Through the plugin's fence with the reporter budget: a crashing reporter is a
        # named 500, never a traceback; a slow one is recorded as late (a synchronous
        # render cannot be stopped) and its report still served.
        artefact: object = fence.call(
            reporter.render, records, period, chosen, budget=DEFAULT_BUDGETS["reporter"]
        )
    except LedgerError as exc:
        raise ServiceError(500, "Ledger records unreadable", str(exc)) from exc
    except PluginError as exc:
        raise ServiceError(500, "Reporter failed", str(exc)) from exc
    except (ConfigError, CryptoBotError) as exc:
        raise ServiceError(422, "Report not possible", str(exc)) from exc
    if not isinstance(artefact, ReportArtefact):
        raise ServiceError(
            500,
            "Reporter failed",
            f"reporter {name!r} returned {type(artefact).__name__}, not a ReportArtefact",
        )
    return Response(
        artefact.content,
        media_type=artefact.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{artefact.filename}"',
            "X-Report-SHA256": artefact.sha256,
        },
    )


@router.get(
    "/report/daily",
    tags=["reports"],
    summary="One UTC day of a report, by default the daily trade report.",
    description="Scopes go by report family: `report:read` reads trade reports (the built-in "
    "daily trade report); a regulatory report (MiFIR transactions, best execution, the venue "
    "summary, any other distribution's reporter) needs `regulatory:export`, else 403.",
    response_class=Response,
    **secured(
        Scope.REPORT_READ,
        404,
        422,
        500,
        responses={200: {"content": REPORT_CONTENT, "headers": REPORT_HEADERS}},
    ),
)
def report_daily(
    request: Request,
    context: Context,
    day: Annotated[date, Query(alias="date", description="The UTC day, YYYY-MM-DD.")],
    fmt: Annotated[
        str | None, Query(alias="format", pattern=FORMAT, description="csv or json.")
    ] = None,
    reporter: Annotated[
        str, Query(pattern=NAME, description="Configured reporter instance.")
    ] = "daily_trades",
) -> Response:
    if not EARLIEST.date() <= day < LATEST.date():
        raise ServiceError(
            422, "Invalid date", f"date {day} is outside {EARLIEST.date()} to {LATEST.date()}"
        )
    start = datetime.combine(day, time.min, tzinfo=UTC)
    principal: Principal = request.state.principal
    return _render(
        context, principal, name=reporter, start=start, end=start + timedelta(days=1), fmt=fmt
    )


@router.get(
    "/regulatory/export",
    tags=["reports"],
    summary="A regulatory report over a period (MiFIR XML, best execution, venue summary).",
    response_class=Response,
    **secured(
        Scope.REGULATORY_EXPORT,
        404,
        422,
        500,
        responses={200: {"content": REPORT_CONTENT, "headers": REPORT_HEADERS}},
    ),
)
def regulatory_export(
    request: Request,
    context: Context,
    *,
    start: Annotated[AwareDatetime, Query(description="Period start, ISO 8601 with offset.")],
    end: Annotated[AwareDatetime, Query(description="Period end (exclusive).")],
    fmt: Annotated[
        str | None,
        Query(alias="format", pattern=FORMAT, description="Default: the report's first."),
    ] = None,
    report: Annotated[
        str, Query(pattern=NAME, description="Configured reporter instance.")
    ] = "mifir_transactions",
) -> Response:
    principal: Principal = request.state.principal
    return _render(context, principal, name=report, start=start, end=end, fmt=fmt)


@router.get(
    "/ledger/verify",
    tags=["ledger"],
    summary="Verify the audit ledger: chain, Merkle roots, checkpoint signatures, receipts.",
    description="200 whatever the outcome: `ok` says whether the ledger is intact and "
    "`first_bad_record` where it is not.",
    **secured(Scope.LEDGER_READ, 422, 500),
)
def ledger_verify(
    context: Context,
    require_signatures: Annotated[
        bool, Query(description="Fail unsigned checkpoints when no public key is set.")
    ] = True,
) -> LedgerVerification:
    # The ledger picks its own parallelism (one process for small ledgers): a request
    # must not be able to make the service spawn processes.
    try:
        report = context.ledger.verify(require_signatures=require_signatures)
    except CryptoBotError as exc:
        raise ServiceError(500, "Verification failed to run", str(exc)) from exc
    data: dict[str, Any] = report.to_dict()
    return LedgerVerification(
        ok=data["ok"],
        records=data["records"],
        checkpoints=data["checkpoints"],
        signatures_checked=data["signatures_checked"],
        receipts_checked=data["receipts_checked"],
        head_hash=data["head_hash"],
        first_bad_record=data["first_bad_record"],
        elapsed_s=data["elapsed_s"],
        problems=[VerifyProblem(**p) for p in data["problems"]],
        notes=data["notes"],
    )


@router.post(
    "/subjects/{subject_id}/erase",
    tags=["ledger"],
    summary="GDPR erasure: destroy a subject's personal data, append a signed receipt.",
    description="The hash chain holds only pseudonymous references, so erasure never breaks "
    "it. While a retention rule holds the subject, the answer is 409 and processing of the "
    "subject is restricted (that decision is recorded too).",
    **secured(Scope.GDPR_ERASE, 409, 422, 500),
)
def erase_subject(
    context: Context,
    subject_id: Annotated[str, Path(pattern=SUBJECT, description="The subject's identifier.")],
    body: Annotated[EraseRequest | None, Body()] = None,
) -> ErasureReceipt:
    request = body or EraseRequest()
    try:
        result = context.ledger.subjects.erase(
            subject_id, reason=request.reason, request_id=request.request_id
        )
    except ErasureRefusedError as exc:
        raise ServiceError(409, "Erasure refused", str(exc)) from exc
    except CryptoBotError as exc:
        raise ServiceError(500, "Erasure failed", str(exc)) from exc
    payload = result.receipt.payload
    return ErasureReceipt(
        subject_ref=payload["subject_ref"],
        receipt_sequence=result.receipt.sequence,
        receipt_hash=result.receipt.hash,
        vault_rows_deleted=result.vault_rows_deleted,
        key_destroyed=result.key_destroyed,
        receipt=payload["receipt"],
        signature=payload["signature"],
    )
