"""Typed ledger payloads: what the engine and the model registry write, per record type.

A :class:`LedgerRecord`'s ``payload`` is canonical JSON (decimals and times
as strings). Readers such as reporters should not pick it apart by hand:
:func:`payload_of` validates a record's payload against the model of its
type and returns typed values (``Decimal``, aware ``datetime``, the SDK's
own ``OrderRequest``, ``Signal``, ``RiskVerdict``...), and a payload that
does not fit becomes one :class:`LedgerError` naming the record, its type and
every bad field.

Payload models accept keys they do not know (kept in ``model_extra``): a
newer engine may add evidence to a record, and an older reporter must still
read the fields it knows. Added in API 1.1.0.
"""

from __future__ import annotations

from typing import TypeVar, overload

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from crypto_bot_sdk._base import Money, NonNegativeMoney, PositiveMoney, UtcDatetime
from crypto_bot_sdk._decisions import LedgerRecord, RecordType, RiskVerdict, Signal
from crypto_bot_sdk._errors import LedgerError
from crypto_bot_sdk._orders import Fill, OrderRequest, OrderStatus

_SHA256 = r"^[0-9a-f]{64}$"
_SUBJECT_REF = r"^sr_[0-9a-f]{64}$"


class LedgerPayload(BaseModel):
    """Base of the payload models: immutable, tolerant of keys added by newer writers."""

    model_config = ConfigDict(frozen=True, extra="allow")


# --- decisions and orders -----------------------------------------------------------


class RouteQuote(LedgerPayload):
    """One venue's quote the router compared.

    ``mid`` is the venue's book mid when the writer saw one: best-execution
    reports take it as the arrival benchmark in preference to the last
    ``price``, so it is typed here rather than left in ``model_extra``.
    """

    price: PositiveMoney
    taker_fee: Money
    effective_price: PositiveMoney
    mid: PositiveMoney | None = None


class RoutingEvidence(LedgerPayload):
    """Why the router sent the order where it did.

    ``ts`` is the routing time where it differs from the decision's (a live
    router quoting after the decision); ``instrument_kind`` (``spot``,
    ``perpetual``) the kind of the routed instrument. Both are optional: a
    reader falls back to the record's time and to the kind the symbol implies.
    """

    venue: str = Field(min_length=1)
    reason: str = ""
    quotes: dict[str, RouteQuote] = Field(default_factory=dict)
    ts: UtcDatetime | None = None
    instrument_kind: str | None = None


class DecisionPayload(LedgerPayload):
    """``decision``: a decision that sent no order, with the evidence why.

    ``outcome`` is ``"rejected"`` (a risk rule refused the intent: see
    ``risk_verdicts``), ``"unroutable"`` (no venue could take it: see
    ``reason``) or ``"arbitrage refused"`` (a leg of a pair was refused: see
    ``edge_bps`` and ``risk_verdicts``); newer engines may add outcomes.

    ``client_order_id``, ``model_versions`` and ``risk_flags`` are the
    annotations a decision may carry for the daily trade report
    (``docs/builtins/ledger-payloads.md``); the engine does not write them on
    refusals today, so they are optional.
    """

    outcome: str = Field(min_length=1)
    symbol: str
    intent_id: str | None = None
    policy: str | None = None
    signals: dict[str, Signal] = Field(default_factory=dict)
    risk_verdicts: tuple[RiskVerdict, ...] = ()
    reason: str | None = None
    edge_bps: Money | None = None
    evidence: dict[str, str] = Field(default_factory=dict)
    client_order_id: str | None = None
    model_versions: dict[str, str] = Field(default_factory=dict)
    risk_flags: dict[str, str] = Field(default_factory=dict)


class OrderIntentPayload(LedgerPayload):
    """``order.intent``: an order about to be sent, written before the exchange call.

    ``request`` is the exact order sent; the rest is the decision behind it:
    the agents' signals and their blend, model versions, risk verdicts and
    routing, or for a paired order (arbitrage) the pair's evidence.

    ``kill_switch`` marks the kill switch's flattening orders (the engine
    writes it on them); ``risk_flags`` holds free-form risk figures, name to
    value as text, that the daily trade report lists beside the verdicts'.
    """

    client_order_id: str = Field(min_length=1)
    intent_id: str = Field(min_length=1)
    policy: str = ""
    reason: str = ""
    request: OrderRequest
    signals: dict[str, Signal] = Field(default_factory=dict)
    combined: Signal | None = None
    model_versions: dict[str, str] = Field(default_factory=dict)
    risk_verdicts: tuple[RiskVerdict, ...] = ()
    routing: RoutingEvidence | None = None
    arbitrage: dict[str, str] | None = None
    evidence: dict[str, str] = Field(default_factory=dict)
    kill_switch: bool = False
    risk_flags: dict[str, str] = Field(default_factory=dict)


class OrderUpdatePayload(LedgerPayload):
    """``order.submitted`` ... ``order.expired``: an order's state after a change.

    ``fill_id`` names the fill that caused a (partial) fill update; ``error``
    the exception type behind a rejection by the venue. ``intent_id``, when a
    writer adds it, links the order to its intent for readers that meet the
    intent's ``decision`` record but not its ``order.intent``.
    """

    client_order_id: str = Field(min_length=1)
    exchange_order_id: str | None = None
    venue: str = Field(min_length=1)
    symbol: str
    status: OrderStatus
    filled_quantity: NonNegativeMoney
    average_fill_price: PositiveMoney | None = None
    reason: str = ""
    fill_id: str | None = None
    error: str | None = None
    intent_id: str | None = None


class FillPayload(Fill):
    """``fill``: one execution, exactly the SDK :class:`Fill` (it *is* one), with the intent it
    served where the writer knew it."""

    model_config = ConfigDict(frozen=True, extra="allow", validate_default=True)

    intent_id: str | None = None


class FundingPayload(LedgerPayload):
    """``funding``: one perpetual funding settlement of one venue's position.

    ``payment`` is what the book paid (negative: received): ``quantity x mark
    x contract size x rate``.
    """

    venue: str = Field(min_length=1)
    symbol: str
    rate: Money
    mark: PositiveMoney
    quantity: Money
    payment: Money
    funding_ts: UtcDatetime


# --- model governance -------------------------------------------------------------


class ModelPayload(LedgerPayload):
    """What every ``model.*`` record names: the model and the version the event is about."""

    model: str = Field(min_length=1)
    version: str = Field(min_length=1)


class ModelRegisteredPayload(ModelPayload):
    """``model.registered``: a trained artefact entered the registry."""

    sha256: str = Field(pattern=_SHA256, description="Digest of the artefact's bytes.")
    framework: str = ""
    metrics: dict[str, float] = Field(default_factory=dict)
    data_snapshot: str | None = Field(
        default=None, description="Digest or id of the training data snapshot."
    )


class ModelSignedPayload(ModelPayload):
    """``model.signed``: the artefact's digest was signed."""

    sha256: str = Field(pattern=_SHA256)
    key_id: str = Field(min_length=1)
    signature: str = Field(min_length=1, description="Base64 signature over the digest.")


class ModelApprovedPayload(ModelPayload):
    """``model.approved``: a reviewer approved the version for promotion.

    The reviewer appears only as a pseudonymous ``subject_ref`` (personal data
    stays out of the chain).
    """

    subject_ref: str | None = Field(default=None, pattern=_SUBJECT_REF)
    reason: str = ""


class ModelPromotedPayload(ModelPayload):
    """``model.promoted``: the version now serves ``stage`` (e.g. ``production``)."""

    stage: str = Field(min_length=1)
    previous_version: str | None = None


class ModelRolledBackPayload(ModelPayload):
    """``model.rolled_back``: ``stage`` went back to ``version`` from ``from_version``."""

    stage: str = Field(min_length=1)
    from_version: str = Field(min_length=1)
    reason: str = ""


PAYLOAD_MODELS: dict[RecordType, type[BaseModel]] = {
    RecordType.DECISION: DecisionPayload,
    RecordType.ORDER_INTENT: OrderIntentPayload,
    RecordType.ORDER_SUBMITTED: OrderUpdatePayload,
    RecordType.ORDER_ACKNOWLEDGED: OrderUpdatePayload,
    RecordType.ORDER_AMENDED: OrderUpdatePayload,
    RecordType.ORDER_CANCELLED: OrderUpdatePayload,
    RecordType.ORDER_REJECTED: OrderUpdatePayload,
    RecordType.ORDER_PARTIALLY_FILLED: OrderUpdatePayload,
    RecordType.ORDER_FILLED: OrderUpdatePayload,
    RecordType.ORDER_EXPIRED: OrderUpdatePayload,
    RecordType.FILL: FillPayload,
    RecordType.FUNDING: FundingPayload,
    RecordType.MODEL_REGISTERED: ModelRegisteredPayload,
    RecordType.MODEL_SIGNED: ModelSignedPayload,
    RecordType.MODEL_APPROVED: ModelApprovedPayload,
    RecordType.MODEL_PROMOTED: ModelPromotedPayload,
    RecordType.MODEL_ROLLED_BACK: ModelRolledBackPayload,
}
"""The payload model of each record type that has one."""

P = TypeVar("P", bound=BaseModel)


def _problems(exc: PydanticValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
        for err in exc.errors()
    )


@overload
def payload_of(record: LedgerRecord) -> BaseModel: ...


@overload
def payload_of(record: LedgerRecord, model: type[P]) -> P: ...


def payload_of(record: LedgerRecord, model: type[BaseModel] | None = None) -> BaseModel:
    """The typed payload of ``record``.

    Without ``model`` the record's type picks it (:data:`PAYLOAD_MODELS`);
    passing the model you expect (``payload_of(r, FillPayload)``) also checks
    the record is of a type that uses it and gives the precise static type.
    Raises :class:`LedgerError` naming the record's sequence and type when the
    type has no payload model, does not match ``model``, or the payload does
    not fit.
    """
    expected = PAYLOAD_MODELS.get(record.type)
    where = f"ledger record {record.sequence} ({record.type.value})"
    if expected is None:
        typed = ", ".join(sorted(t.value for t in PAYLOAD_MODELS))
        raise LedgerError(f"{where} has no typed payload; typed record types: {typed}")
    if model is not None and model is not expected:
        raise LedgerError(
            f"{where} carries a {expected.__name__}, not a {model.__name__}; check record.type "
            "before asking for a payload model"
        )
    try:
        return expected.model_validate(record.payload)
    except PydanticValidationError as exc:
        raise LedgerError(
            f"{where} payload does not fit {expected.__name__}: {_problems(exc)}"
        ) from exc
