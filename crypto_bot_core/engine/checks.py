"""Checks on what plugins return, before it enters the engine or the ledger.

The SDK's models validate on construction, but a plugin can hand back
anything: another type, a model built with ``model_construct`` (no
validation), a NaN from a numpy computation. One such value poisons sizing
(a NaN quantity), the portfolio, and the hash-linked ledger forever. These
checks run on the hot path (once per agent per bar, once per rule per intent),
so they are plain ``isinstance`` and ``math.isfinite`` tests, not a second
pydantic validation. A failed check raises :class:`PluginResultError` naming
the plugin and the bad value; the caller drops the value and records why.
"""

from __future__ import annotations

import math
from decimal import Decimal

from crypto_bot_core.host.fence import PluginResultError
from crypto_bot_sdk import (
    Bar,
    MarketEvent,
    MetricPoint,
    Order,
    OrderBook,
    OrderStatus,
    RiskVerdict,
    Signal,
    Trade,
    VerdictAction,
)

_NUMBER = (float, int)
_EVENTS = (Bar, Trade, OrderBook, MetricPoint)


def _bad_number(value: object, low: float, high: float) -> bool:
    """True unless ``value`` is a real (not bool) finite number within ``[low, high]``."""
    if not isinstance(value, _NUMBER) or isinstance(value, bool):
        return True
    return not (math.isfinite(value) and low <= value <= high)


def check_signal(value: object, *, agent: str, symbol: str) -> Signal:
    """``value`` if it is a sound :class:`Signal` for ``symbol``; else :class:`PluginResultError`.

    Sound: a ``Signal``, for the symbol asked about, with a finite ``score`` in
    [-1, 1], a finite ``confidence`` in [0, 1] and finite feature values.
    """
    if not isinstance(value, Signal):
        raise PluginResultError(
            f"agent {agent!r} returned {type(value).__name__} ({value!r:.80}) for {symbol}; "
            "evaluate must return a Signal or None",
            plugin=agent,
        )
    if value.symbol != symbol:
        raise PluginResultError(
            f"agent {agent!r} returned a signal for {value.symbol!r} when asked about {symbol!r}",
            plugin=agent,
        )
    if _bad_number(value.score, -1.0, 1.0):
        raise PluginResultError(
            f"agent {agent!r} returned score {value.score!r} for {symbol}; "
            "a score must be a finite number in [-1, 1]",
            plugin=agent,
        )
    if _bad_number(value.confidence, 0.0, 1.0):
        raise PluginResultError(
            f"agent {agent!r} returned confidence {value.confidence!r} for {symbol}; "
            "a confidence must be a finite number in [0, 1]",
            plugin=agent,
        )
    features = value.features
    if features:
        if not isinstance(features, dict):
            raise PluginResultError(
                f"agent {agent!r} returned features of type {type(features).__name__} for "
                f"{symbol}; features must map names to finite numbers",
                plugin=agent,
            )
        for name, number in features.items():
            if not isinstance(name, str) or _bad_number(number, -math.inf, math.inf):
                raise PluginResultError(
                    f"agent {agent!r} returned feature {name!r} = {number!r} for {symbol}; "
                    "features must map names to finite numbers",
                    plugin=agent,
                )
    return value


def check_verdict(value: object, *, rule: str) -> RiskVerdict:
    """``value`` if it is a sound :class:`RiskVerdict`; else :class:`PluginResultError`.

    Sound: a ``RiskVerdict`` whose action is a :class:`VerdictAction`, with a
    reason unless it approves, a positive finite quantity exactly when it
    resizes, and text figures (they go into the decision record as they are).
    """
    if not isinstance(value, RiskVerdict):
        raise PluginResultError(
            f"risk rule {rule!r} returned {type(value).__name__} ({value!r:.80}), "
            "not a RiskVerdict",
            plugin=rule,
        )
    action = value.action
    if not isinstance(action, VerdictAction):
        raise PluginResultError(
            f"risk rule {rule!r} returned action {action!r}; use approve, resize or reject",
            plugin=rule,
        )
    if action is not VerdictAction.APPROVE and not (
        isinstance(value.reason, str) and value.reason.strip()
    ):
        raise PluginResultError(
            f"risk rule {rule!r} returned a {action.value} verdict without a reason", plugin=rule
        )
    quantity = value.quantity
    if action is VerdictAction.RESIZE:
        if not isinstance(quantity, Decimal) or not quantity.is_finite() or quantity <= 0:
            raise PluginResultError(
                f"risk rule {rule!r} resized to {quantity!r}; a resize needs a positive "
                "finite Decimal quantity",
                plugin=rule,
            )
    elif quantity is not None:
        raise PluginResultError(
            f"risk rule {rule!r} returned quantity {quantity!r} with a {action.value} verdict; "
            "only a resize carries a quantity",
            plugin=rule,
        )
    figures = value.figures
    if figures and not _text_mapping(figures):
        raise PluginResultError(
            f"risk rule {rule!r} returned figures {figures!r:.120}; figures map names to text",
            plugin=rule,
        )
    return value


def _text_mapping(figures: object) -> bool:
    """Whether ``figures`` is a dict of text to text (a plain loop: five times an order)."""
    if not isinstance(figures, dict):
        return False
    for key, text in figures.items():  # noqa: SIM110 - a loop is twice as fast as all(genexpr)
        if not (isinstance(key, str) and isinstance(text, str)):
            return False
    return True


def check_event(value: object, *, source: str) -> MarketEvent:
    """``value`` if it is a market event with an aware timestamp; else :class:`PluginResultError`.

    Prices inside events are validated by the SDK's models; what a stream can
    still get wrong cheaply is the type and the clock the merge orders by.
    """
    if not isinstance(value, _EVENTS):
        raise PluginResultError(
            f"data source {source!r} emitted {type(value).__name__} ({value!r:.80}), "
            "not a MarketEvent",
            plugin=source,
        )
    ts = value.ts
    if ts.tzinfo is None:
        raise PluginResultError(
            f"data source {source!r} emitted an event at {ts.isoformat()} without a time zone",
            plugin=source,
        )
    return value


def check_order(value: object, *, venue: str, client_order_id: str) -> Order:
    """``value`` if it is the venue's :class:`Order` for ``client_order_id``; else
    :class:`PluginResultError`.

    The engine moves its own order by the venue's answer (status, exchange id,
    filled quantity): an answer about another order, or with a quantity that
    is not a finite non-negative number, must not move it.
    """
    if not isinstance(value, Order):
        raise PluginResultError(
            f"exchange {venue!r} answered with {type(value).__name__} ({value!r:.80}) for order "
            f"{client_order_id}, not an Order",
            plugin=venue,
        )
    if value.client_order_id != client_order_id:
        raise PluginResultError(
            f"exchange {venue!r} answered about order {value.client_order_id!r} when asked "
            f"about {client_order_id!r}",
            plugin=venue,
        )
    filled = value.filled_quantity
    if (
        not isinstance(value.status, OrderStatus)
        or not isinstance(filled, Decimal)
        or not filled.is_finite()
        or filled < 0
    ):
        raise PluginResultError(
            f"exchange {venue!r} answered order {client_order_id} with status "
            f"{value.status!r} and filled quantity {filled!r}",
            plugin=venue,
        )
    return value
