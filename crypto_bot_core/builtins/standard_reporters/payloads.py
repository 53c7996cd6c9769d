"""The ledger payloads the standard reporters read, typed, and the one error a bad record gives.

Every reporter reads records through :func:`read_fill` and :func:`read`, never
``record.payload[...]``: a payload that does not fit becomes one
:class:`~crypto_bot_sdk.LedgerError` naming the record's sequence number, its
type and every bad field, instead of a ``KeyError`` deep in a report or a
report that is silently wrong.

A ``fill`` is read with the SDK's :func:`~crypto_bot_sdk.payload_of` as a
:class:`~crypto_bot_sdk.FillPayload`: exactly an SDK ``Fill`` plus the
optional ``intent_id``, the same shape the ledger contract has always had.

``order.intent``, ``decision`` and ``order.<status>`` records are read through
the views below rather than the SDK's full payload models, on purpose. The SDK
models describe everything the current engine writes and require fields no
report uses -- the request's quantity, the blended signal's score, a
decision's outcome, an update's status -- which ledgers written by earlier
engines (an ``Order`` dump as an ``order.submitted`` payload, a decision that
carries only annotations) and other writers following
``docs/builtins/ledger-payloads.md`` do not have. A past day's report must
still render from such a ledger, with the bytes it had. So each view declares
exactly the fields the reports read, optional where the contract makes them
optional, with the SDK's types: exact ``Decimal`` money (``Money``,
``PositiveMoney``), aware UTC times, the SDK's ``RiskVerdict``. Unknown keys
are kept, as in the SDK's models (a newer engine may add evidence); a known
key that is present but does not fit is an error, never a silent default.
Wherever a record also fits the SDK's model, a view reads the same values
from it (``tests/core/builtins/standard_reporters`` checks that).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Final, Literal, TypeVar

from pydantic import BeforeValidator, ValidationError
from pydantic_core import ErrorDetails

from crypto_bot_sdk import (
    FillPayload,
    LedgerError,
    LedgerPayload,
    LedgerRecord,
    Money,
    PositiveMoney,
    RecordType,
    RiskVerdict,
    UtcDatetime,
    payload_of,
)

ALGORITHMIC: Final = "algorithmic"
MANUAL: Final = "manual"

ORDER_UPDATES = frozenset(
    {
        RecordType.ORDER_SUBMITTED,
        RecordType.ORDER_ACKNOWLEDGED,
        RecordType.ORDER_AMENDED,
        RecordType.ORDER_CANCELLED,
        RecordType.ORDER_REJECTED,
        RecordType.ORDER_PARTIALLY_FILLED,
        RecordType.ORDER_FILLED,
        RecordType.ORDER_EXPIRED,
    }
)
ANNOTATING = frozenset({RecordType.DECISION, RecordType.ORDER_INTENT})
"""Records that may carry the model versions and risk flags behind an order."""
LINKING = ANNOTATING | ORDER_UPDATES
"""Records that may link a client order id to its intent id. Other types
(``system.*``, ``funding``, ``model.*``...) say nothing about orders and are
not read for links, so an unrelated payload cannot fail or skew a report."""


def _scalar_text(value: Any) -> Any:
    """A report cell's text for a JSON scalar: ``true``/``false`` for booleans, else ``str``.

    Model versions and risk flags are written as strings, but ledgers hold
    numbers and booleans too and the reports have always shown them as text.
    An object or a list is refused: its ``str()`` would be a Python repr in a
    regulatory report.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float | Decimal):
        return str(value)
    raise ValueError(f"must be text, a number or true/false, not {_json_kind(value)}")


ScalarText = Annotated[str, BeforeValidator(_scalar_text)]
"""A name -> value map's value, as the text a report shows."""


def _present(values: dict[str, str | None] | None) -> dict[str, str]:
    """A name -> value map without its null entries (the contract drops them)."""
    return {name: value for name, value in (values or {}).items() if value is not None}


# --- views -------------------------------------------------------------------------


class _RequestIds(LedgerPayload):
    """The ids an ``OrderRequest`` or ``Order`` dump carries under ``request``."""

    client_order_id: str | None = None
    intent_id: str | None = None


class OrderLinks(LedgerPayload):
    """Which order and which intent a record is about: at its top level or under ``request``.

    The top level wins; an empty id counts as absent. ``request`` is read for
    its ids only, so the ``Order`` dumps older engines wrote as ``order.*``
    payloads link like today's flat updates.
    """

    client_order_id: str | None = None
    intent_id: str | None = None
    request: _RequestIds | None = None

    @property
    def order_id(self) -> str | None:
        nested = self.request.client_order_id if self.request is not None else None
        return self.client_order_id or nested or None

    @property
    def intent(self) -> str | None:
        nested = self.request.intent_id if self.request is not None else None
        return self.intent_id or nested or None


class Annotations(OrderLinks):
    """What a ``decision`` or ``order.intent`` says about the models and risk behind an order.

    All optional (absent or null = empty): a refusal names no model, an
    older engine wrote no ``risk_flags``.
    """

    model_versions: dict[str, ScalarText | None] | None = None
    risk_flags: dict[str, ScalarText | None] | None = None
    risk_verdicts: tuple[RiskVerdict, ...] | None = None

    @property
    def versions(self) -> dict[str, str]:
        return _present(self.model_versions)

    @property
    def flags(self) -> dict[str, str]:
        return _present(self.risk_flags)

    @property
    def verdicts(self) -> tuple[RiskVerdict, ...]:
        return self.risk_verdicts or ()


class QuoteView(LedgerPayload):
    """One venue's quote at routing time.

    Only ``price`` is required: an ``effective_price`` that was not recorded
    is the price itself (no fee known), and ``taker_fee`` and ``mid`` are
    shown only when present (``mid`` is the preferred arrival benchmark).
    """

    price: PositiveMoney
    effective_price: PositiveMoney | None = None
    taker_fee: Money | None = None
    mid: PositiveMoney | None = None


class RoutingView(LedgerPayload):
    """Where the router sent the order and what every venue quoted then."""

    venue: str | None = None
    reason: str | None = None
    quotes: dict[str, QuoteView] | None = None
    ts: UtcDatetime | None = None
    instrument_kind: str | None = None


class _Stamped(LedgerPayload):
    """The blended signal (``combined``), read for its time only: the decision's time."""

    ts: UtcDatetime | None = None


class RoutedIntent(OrderLinks):
    """An ``order.intent`` record as the best-execution and MiFIR reports read it.

    Every field is optional: the kill switch's orders carry no ``routing``,
    ``origin`` defaults to ``algorithmic``, and the decision time falls back
    from ``combined.ts`` to ``ts`` (an ``OrderIntent`` dump) to the record's.
    """

    policy: str | None = None
    reason: str | None = None
    origin: Literal["algorithmic", "manual"] = ALGORITHMIC
    decided_by: str | None = None
    """The person behind a manual order (a kill ordered through the service or the CLI)."""
    kill_switch: bool | None = None
    ts: UtcDatetime | None = None
    combined: _Stamped | None = None
    routing: RoutingView | None = None


# --- reading, and the error that names the record ------------------------------------

V = TypeVar("V", bound=LedgerPayload)


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, str):
        return "text"
    if isinstance(value, int | float | Decimal):
        return "a number"
    return type(value).__name__


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


_DECIMAL_ERRORS = frozenset({"decimal_parsing", "decimal_type"})
_TIME_ERRORS = frozenset({"datetime_parsing", "datetime_from_date_parsing", "datetime_type"})
_OBJECT_ERRORS = frozenset({"dict_type", "model_type"})
_BOOL_ERRORS = frozenset({"bool_parsing", "bool_type"})


def _problem(error: ErrorDetails) -> str:
    """One bad field as a reader of the ledger wants it: where, what was there, what fits."""
    where = ".".join(str(part) for part in error["loc"]) or "<payload>"
    kind = error["type"]
    value = error.get("input")
    if kind in _DECIMAL_ERRORS:
        return f"{where} is {_shown(value)}, not a decimal number"
    if kind in _TIME_ERRORS:
        return f"{where} is {_shown(value)}, not an ISO 8601 timestamp"
    if kind in _BOOL_ERRORS:
        return f"{where} is {_shown(value)}, not true or false"
    if kind in _OBJECT_ERRORS:
        return f"'{where}' must be an object, not {_json_kind(value)}"
    if kind == "value_error":
        return f"{where}: {error.get('ctx', {}).get('error', error['msg'])}"
    return f"{where}: {error['msg']}"


def problems(exc: ValidationError) -> str:
    """Every bad field of one payload, ``; ``-separated, in the model's field order."""
    return "; ".join(_problem(error) for error in exc.errors())


def read(record: LedgerRecord, view: type[V]) -> V:
    """``record``'s payload as ``view``; a payload that does not fit raises ``LedgerError``.

    The message starts ``ledger record <sequence> (<type>): `` and lists every
    bad field, e.g. ``routing.quotes.beta.price is 'abc', not a decimal number``.
    """
    try:
        return view.model_validate(record.payload)
    except ValidationError as exc:
        raise LedgerError(
            f"ledger record {record.sequence} ({record.type.value}): {problems(exc)}"
        ) from exc


def read_fill(record: LedgerRecord) -> FillPayload:
    """A ``fill`` record as the SDK's :class:`FillPayload` (a ``Fill`` with its ``intent_id``).

    Read with :func:`payload_of`, so a record of another type is refused as
    the SDK refuses it; a payload that does not fit keeps the message the
    reports have always given (``ledger record 100 (fill) is not a Fill:
    price: Input should be greater than 0``), with the fields as :func:`read`
    names them.
    """
    try:
        return payload_of(record, FillPayload)
    except LedgerError as exc:
        cause = exc.__cause__
        if not isinstance(cause, ValidationError):
            raise
        raise LedgerError(
            f"ledger record {record.sequence} ({record.type.value}) is not a Fill: "
            f"{problems(cause)}"
        ) from cause
