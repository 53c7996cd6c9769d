"""``best_execution``: one record per executed order, the firm's evidence of best execution.

MiFID II article 27 obliges a firm to take all sufficient steps to obtain the
best possible result and to be able to show it, order by order. The public
RTS 27/28 reports were repealed (RTS 27 by Directive (EU) 2021/338, RTS 28 by
Directive (EU) 2024/790); what remains is this internal evidence, kept and
shown to the supervisor on request. Each record says where the order went and
why, what every venue quoted at that moment, the arrival benchmark, the price
obtained, the slippage against arrival and whether liquidity was provided or
taken, with UTC times of the decision, the routing and every fill.

Slippage is in basis points of the arrival price, positive when the fill was
worse (a buy above, a sell below). The arrival benchmark is the routed venue's
recorded book mid when the engine recorded one, else its last price (the
``arrival_basis`` column says which).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from crypto_bot_core.builtins.standard_reporters.config import BestExecutionConfig
from crypto_bot_core.builtins.standard_reporters.executions import (
    Execution,
    executions,
    instrument_class,
    slippage_bps,
)
from crypto_bot_core.builtins.standard_reporters.rendering import (
    artefact,
    check_format,
    iso_utc,
    period_filename,
    period_json,
    render_csv,
    render_json,
    rounded,
)
from crypto_bot_sdk import LedgerRecord, ReportArtefact, Reporter, ReportPeriod

COLUMNS = (
    "order_id",
    "symbol",
    "instrument_class",
    "venue",
    "side",
    "quantity",
    "average_price",
    "notional",
    "fees",
    "liquidity",
    "decision_type",
    "decision_reason",
    "decision_ts",
    "routing_ts",
    "first_fill_ts",
    "last_fill_ts",
    "arrival_price",
    "arrival_basis",
    "slippage_bps",
    "best_quoted_venue",
    "routed_to_best",
    "routing_reason",
    "venue_quotes",
    "fills",
)
PRICE_PLACES = 12
"""Average prices are rounded (half to even) to this many decimals; notional stays exact."""
BPS_PLACES = 2


def _trim(value: Decimal, places: int) -> str:
    """Rounded to ``places`` decimals, trailing zeros dropped, never in exponent form."""
    text = rounded(value, places)
    return text.rstrip("0").rstrip(".") if "." in text else text


def _fees(execution: Execution) -> dict[str, str]:
    totals: dict[str, Decimal] = {}
    for fill in execution.fills:
        totals[fill.fee_currency] = totals.get(fill.fee_currency, Decimal(0)) + fill.fee
    return {ccy: format(amount, "f") for ccy, amount in sorted(totals.items())}


def execution_row(execution: Execution, classes: dict[str, str]) -> dict[str, Any]:
    """The record of one order; the figures the venue summary aggregates come from here."""
    first, last = execution.first, execution.fills[-1]
    context = execution.context
    average = execution.notional / execution.quantity
    arrival = execution.arrival()
    best = context.best_quote(first.side) if context is not None else None
    fills = []
    for fill in execution.fills:
        slip = slippage_bps(fill.side, fill.price, arrival[0]) if arrival else None
        fills.append(
            {
                "fill_id": fill.fill_id,
                "ts": iso_utc(fill.ts),
                "quantity": format(fill.quantity, "f"),
                "price": format(fill.price, "f"),
                "fee": format(fill.fee, "f"),
                "fee_currency": fill.fee_currency,
                "liquidity": fill.liquidity.value,
                "slippage_bps": rounded(slip, BPS_PLACES) if slip is not None else None,
            }
        )
    quotes = {
        venue: quote.as_json()
        for venue, quote in sorted((context.quotes if context else {}).items())
        if venue != first.venue
    }
    routed_to_best = None
    if best is not None:
        mine = context.quotes.get(first.venue) if context is not None else None
        routed_to_best = mine is not None and mine.effective_price == best.effective_price
    return {
        "order_id": execution.client_order_id,
        "symbol": first.symbol,
        "instrument_class": instrument_class(
            first.symbol, context.instrument_kind if context else None, classes
        ),
        "venue": first.venue,
        "side": first.side.value,
        "quantity": format(execution.quantity, "f"),
        "average_price": _trim(average, PRICE_PLACES),
        "notional": format(execution.notional, "f"),
        "fees": _fees(execution),
        "liquidity": execution.liquidity,
        "decision_type": context.origin if context else None,
        "decision_reason": context.decision_reason if context else None,
        "decision_ts": iso_utc(context.decided_at) if context else None,
        "routing_ts": iso_utc(context.routed_at) if context else None,
        "first_fill_ts": iso_utc(first.ts),
        "last_fill_ts": iso_utc(last.ts),
        "arrival_price": format(arrival[0], "f") if arrival else None,
        "arrival_basis": arrival[1] if arrival else None,
        "slippage_bps": (
            rounded(slippage_bps(first.side, average, arrival[0]), BPS_PLACES) if arrival else None
        ),
        "best_quoted_venue": best.venue if best is not None else None,
        "routed_to_best": routed_to_best,
        "routing_reason": context.routing_reason if context else None,
        "venue_quotes": quotes,
        "fills": fills,
    }


class BestExecutionReporter(Reporter[BestExecutionConfig]):
    """Per-order best-execution records in CSV and JSON; see the module doc."""

    name = "best_execution"
    config_model = BestExecutionConfig
    formats = ("csv", "json")

    def render(
        self, records: Sequence[LedgerRecord], period: ReportPeriod, fmt: str
    ) -> ReportArtefact:
        check_format("best-execution report", fmt, self.formats)
        classes = dict(self.config.instrument_classes)
        rows = [execution_row(e, classes) for e in executions(records, period)]
        if fmt == "csv":
            content = render_csv(COLUMNS, rows)
        else:
            content = render_json(
                {
                    "report": self.name,
                    "period": period_json(period),
                    "order_count": len(rows),
                    "columns": list(COLUMNS),
                    "orders": rows,
                }
            )
        filename = period_filename(self.config.filename_prefix, period, fmt)
        return artefact(self.name, filename, fmt, content, period)
