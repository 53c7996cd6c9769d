"""What the engine refuses from a plugin, and the exact words it refuses it with.

A plugin can hand back anything: another type, a model built with ``model_construct``
(no validation), a NaN from numpy. ``engine.checks`` stops each such value before it
reaches sizing, the portfolio or the ledger, and its message is what the operator reads
in the run's record of the failure, so each case is checked with its message.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from crypto_bot_core.engine.checks import check_event, check_order, check_signal, check_verdict
from crypto_bot_core.host.fence import PluginResultError
from crypto_bot_sdk import (
    Bar,
    Order,
    OrderRequest,
    OrderStatus,
    RiskVerdict,
    Side,
    Signal,
    VerdictAction,
)

TS = datetime(2024, 1, 1, tzinfo=UTC)


def _signal(**fields: object) -> Signal:
    """A signal that skips validation, as a careless plugin can build one."""
    base: dict[str, object] = {
        "agent": "ema",
        "symbol": "BTC/USDT",
        "ts": TS,
        "score": 0.5,
        "confidence": 0.8,
        "rationale": "",
        "features": {},
        "model_version": None,
    }
    base.update(fields)
    return Signal.model_construct(**base)  # type: ignore[arg-type]


def _refusal(call: object) -> PluginResultError:
    assert callable(call)
    with pytest.raises(PluginResultError) as caught:
        call()
    return caught.value


# ---------------------------------------------------------------- signals


@pytest.mark.parametrize("features", [{}, {"ema": 2.5}])
def test_a_sound_signal_passes_unchanged(features: dict[str, float]) -> None:
    signal = Signal(
        agent="ema", symbol="BTC/USDT", ts=TS, score=-1.0, confidence=0.0, features=features
    )
    assert check_signal(signal, agent="ema", symbol="BTC/USDT") is signal


def test_a_signal_that_is_not_a_signal_is_refused_naming_its_type() -> None:
    error = _refusal(lambda: check_signal({"score": 1}, agent="ema", symbol="BTC/USDT"))
    assert error.plugin == "ema"
    assert error.reason == (
        "agent 'ema' returned dict ({'score': 1}) for BTC/USDT; "
        "evaluate must return a Signal or None"
    )


def test_a_signal_for_another_symbol_is_refused() -> None:
    error = _refusal(
        lambda: check_signal(_signal(symbol="ETH/USDT"), agent="ema", symbol="BTC/USDT")
    )
    assert error.reason == (
        "agent 'ema' returned a signal for 'ETH/USDT' when asked about 'BTC/USDT'"
    )


@pytest.mark.parametrize("score", [math.nan, math.inf, 1.5, -1.01, True, "0.5"])
def test_a_score_outside_minus_one_to_one_or_not_a_number_is_refused(score: object) -> None:
    error = _refusal(lambda: check_signal(_signal(score=score), agent="ema", symbol="BTC/USDT"))
    assert error.reason == (
        f"agent 'ema' returned score {score!r} for BTC/USDT; "
        "a score must be a finite number in [-1, 1]"
    )


@pytest.mark.parametrize("confidence", [math.nan, -0.1, 1.2, False])
def test_a_confidence_outside_zero_to_one_is_refused(confidence: object) -> None:
    error = _refusal(
        lambda: check_signal(_signal(confidence=confidence), agent="rsi", symbol="BTC/USDT")
    )
    assert error.plugin == "rsi"
    assert error.reason == (
        f"agent 'rsi' returned confidence {confidence!r} for BTC/USDT; "
        "a confidence must be a finite number in [0, 1]"
    )


def test_features_that_are_not_a_mapping_are_refused() -> None:
    error = _refusal(
        lambda: check_signal(_signal(features=[1.0, 2.0]), agent="ema", symbol="BTC/USDT")
    )
    assert error.reason == (
        "agent 'ema' returned features of type list for BTC/USDT; "
        "features must map names to finite numbers"
    )


@pytest.mark.parametrize(
    ("features", "shown"),
    [
        ({"ema": math.inf}, "'ema' = inf"),
        ({"ema": "fast"}, "'ema' = 'fast'"),
        ({7: 1.0}, "7 = 1.0"),
    ],
)
def test_a_feature_that_is_not_a_named_finite_number_is_refused(
    features: dict[object, object], shown: str
) -> None:
    error = _refusal(
        lambda: check_signal(_signal(features=features), agent="ema", symbol="BTC/USDT")
    )
    assert error.reason == (
        f"agent 'ema' returned feature {shown} for BTC/USDT; "
        "features must map names to finite numbers"
    )


# ---------------------------------------------------------------- verdicts


def _verdict(**fields: object) -> RiskVerdict:
    base: dict[str, object] = {
        "rule": "cap",
        "action": VerdictAction.APPROVE,
        "reason": "",
        "quantity": None,
        "figures": {},
    }
    base.update(fields)
    return RiskVerdict.model_construct(**base)  # type: ignore[arg-type]


def test_sound_verdicts_pass_unchanged() -> None:
    approve = RiskVerdict.approve("cap")
    resize = RiskVerdict(
        rule="cap",
        action=VerdictAction.RESIZE,
        reason="over the cap",
        quantity=Decimal("0.5"),
        figures={"cap": "1000"},
    )
    assert check_verdict(approve, rule="cap") is approve
    assert check_verdict(resize, rule="cap") is resize


def test_a_verdict_that_is_not_a_verdict_is_refused() -> None:
    error = _refusal(lambda: check_verdict(True, rule="cap"))
    assert error.plugin == "cap"
    assert error.reason == "risk rule 'cap' returned bool (True), not a RiskVerdict"


def test_an_action_that_is_not_a_verdict_action_is_refused() -> None:
    error = _refusal(lambda: check_verdict(_verdict(action="allow"), rule="cap"))
    assert error.reason == "risk rule 'cap' returned action 'allow'; use approve, resize or reject"


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_a_rejection_without_a_reason_is_refused(reason: object) -> None:
    verdict = _verdict(action=VerdictAction.REJECT, reason=reason)
    error = _refusal(lambda: check_verdict(verdict, rule="cap"))
    assert error.reason == "risk rule 'cap' returned a reject verdict without a reason"


@pytest.mark.parametrize(
    "quantity", [None, Decimal(0), Decimal(-1), Decimal("NaN"), Decimal("Infinity"), 0.5]
)
def test_a_resize_needs_a_positive_finite_decimal(quantity: object) -> None:
    verdict = _verdict(action=VerdictAction.RESIZE, reason="too big", quantity=quantity)
    error = _refusal(lambda: check_verdict(verdict, rule="cap"))
    assert error.reason == (
        f"risk rule 'cap' resized to {quantity!r}; a resize needs a positive finite "
        "Decimal quantity"
    )


def test_only_a_resize_carries_a_quantity() -> None:
    verdict = _verdict(action=VerdictAction.REJECT, reason="no", quantity=Decimal(1))
    error = _refusal(lambda: check_verdict(verdict, rule="cap"))
    assert error.reason == (
        "risk rule 'cap' returned quantity Decimal('1') with a reject verdict; "
        "only a resize carries a quantity"
    )


@pytest.mark.parametrize("figures", [{"cap": 1000}, {1: "x"}, [("cap", "1000")]])
def test_figures_must_map_text_to_text(figures: object) -> None:
    error = _refusal(lambda: check_verdict(_verdict(figures=figures), rule="cap"))
    assert error.reason == (
        f"risk rule 'cap' returned figures {figures!r:.120}; figures map names to text"
    )


# ---------------------------------------------------------------- events


def test_a_sound_event_passes_unchanged() -> None:
    bar = Bar(
        symbol="BTC/USDT",
        venue="paper",
        ts=TS,
        open=Decimal(10),
        high=Decimal(11),
        low=Decimal(9),
        close=Decimal(10),
        volume=Decimal(1),
    )
    assert check_event(bar, source="csv") is bar


def test_an_event_of_another_type_is_refused() -> None:
    error = _refusal(lambda: check_event(42, source="csv"))
    assert error.plugin == "csv"
    assert error.reason == "data source 'csv' emitted int (42), not a MarketEvent"


def test_an_event_without_a_time_zone_is_refused_with_its_time() -> None:
    naive = Bar.model_construct(
        symbol="BTC/USDT",
        venue="paper",
        ts=datetime(2024, 1, 1, 12, 30),
        open=Decimal(10),
        high=Decimal(11),
        low=Decimal(9),
        close=Decimal(10),
        volume=Decimal(1),
    )
    error = _refusal(lambda: check_event(naive, source="csv"))
    assert error.reason == (
        "data source 'csv' emitted an event at 2024-01-01T12:30:00 without a time zone"
    )


# ---------------------------------------------------------------- orders


def _order(**fields: object) -> Order:
    request = OrderRequest(
        symbol="BTC/USDT",
        side=Side.BUY,
        quantity=Decimal(2),
        client_order_id="cb-1",
        venue="paper",
    )
    base: dict[str, object] = {
        "request": request,
        "status": OrderStatus.ACKNOWLEDGED,
        "exchange_order_id": "x1",
        "filled_quantity": Decimal(0),
        "average_fill_price": None,
        "fees": Decimal(0),
        "created_at": TS,
        "updated_at": TS,
        "reason": "",
        "kind": "order",
    }
    base.update(fields)
    return Order.model_construct(**base)  # type: ignore[arg-type]


def test_the_venues_answer_about_the_order_asked_about_passes() -> None:
    order = _order(filled_quantity=Decimal("1.5"))
    assert check_order(order, venue="paper", client_order_id="cb-1") is order


def test_an_answer_that_is_not_an_order_is_refused() -> None:
    error = _refusal(lambda: check_order(None, venue="paper", client_order_id="cb-1"))
    assert error.plugin == "paper"
    assert error.reason == (
        "exchange 'paper' answered with NoneType (None) for order cb-1, not an Order"
    )


def test_an_answer_about_another_order_is_refused() -> None:
    error = _refusal(lambda: check_order(_order(), venue="paper", client_order_id="cb-2"))
    assert error.reason == "exchange 'paper' answered about order 'cb-1' when asked about 'cb-2'"


@pytest.mark.parametrize(
    ("status", "filled"),
    [
        ("open", Decimal(0)),
        (OrderStatus.PARTIALLY_FILLED, Decimal(-1)),
        (OrderStatus.PARTIALLY_FILLED, Decimal("NaN")),
        (OrderStatus.PARTIALLY_FILLED, 1.0),
    ],
)
def test_an_unknown_status_or_a_bad_filled_quantity_is_refused(
    status: object, filled: object
) -> None:
    order = _order(status=status, filled_quantity=filled)
    error = _refusal(lambda: check_order(order, venue="paper", client_order_id="cb-1"))
    assert error.reason == (
        f"exchange 'paper' answered order cb-1 with status {status!r} and filled quantity "
        f"{filled!r}"
    )
