"""``execution_venues``: the periodic venue summary per instrument class.

The shape follows what RTS 28 asked of a firm's annual top-five report (now
repealed as a public report, kept as internal evidence): per class of
instrument, the venues ranked by traded volume, each venue's share of the
volume and of the orders, and the share of passive (maker) and aggressive
(taker) executions. It adds what best execution is judged on: the
notional-weighted slippage against arrival and how often the order went to the
venue with the best quote after fees.

Volumes are summed per instrument class *and quote currency* (a USDT notional
and a USDC notional are not added up); each group is one section. Passive and
aggressive shares count fills; volume and order shares are of the group's
totals. Percentages are rounded half to even to two decimals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from crypto_bot_core.builtins.standard_reporters.best_execution import execution_row
from crypto_bot_core.builtins.standard_reporters.config import VenueSummaryConfig
from crypto_bot_core.builtins.standard_reporters.executions import executions, slippage_bps
from crypto_bot_core.builtins.standard_reporters.rendering import (
    artefact,
    check_format,
    period_filename,
    period_json,
    render_csv,
    render_json,
    rounded,
)
from crypto_bot_sdk import LedgerRecord, ReportArtefact, Reporter, ReportPeriod, parse_symbol

HUNDRED = Decimal(100)
COLUMNS = (
    "instrument_class",
    "quote_currency",
    "rank",
    "venue",
    "notional",
    "volume_pct",
    "orders",
    "orders_pct",
    "fills",
    "passive_pct",
    "aggressive_pct",
    "average_slippage_bps",
    "routed_to_best_pct",
)


@dataclass
class _Venue:
    venue: str
    notional: Decimal = Decimal(0)
    orders: int = 0
    fills: int = 0
    passive: int = 0
    slipped_notional: Decimal = Decimal(0)
    slippage_weighted: Decimal = Decimal(0)
    routed: int = 0
    routed_to_best: int = 0


def _pct(part: Decimal | int, whole: Decimal | int) -> str | None:
    if not whole:
        return None
    return rounded(Decimal(part) / Decimal(whole) * HUNDRED, 2)


def summarise(
    records: Sequence[LedgerRecord], period: ReportPeriod, config: VenueSummaryConfig
) -> list[dict[str, Any]]:
    """One section per (instrument class, quote currency), venues ranked by notional."""
    classes = dict(config.instrument_classes)
    groups: dict[tuple[str, str], dict[str, _Venue]] = {}
    for execution in executions(records, period):
        row = execution_row(execution, classes)
        quote_ccy = parse_symbol(execution.first.symbol)[1]
        venues = groups.setdefault((row["instrument_class"], quote_ccy), {})
        venue = venues.setdefault(row["venue"], _Venue(row["venue"]))
        venue.orders += 1
        venue.notional += execution.notional
        arrival = execution.arrival()
        for fill in execution.fills:
            venue.fills += 1
            venue.passive += fill.liquidity.value == "maker"
            if arrival is not None:
                venue.slipped_notional += fill.notional
                venue.slippage_weighted += (
                    slippage_bps(fill.side, fill.price, arrival[0]) * fill.notional
                )
        if row["routed_to_best"] is not None:
            venue.routed += 1
            venue.routed_to_best += bool(row["routed_to_best"])
    sections = []
    for (klass, quote_ccy), venues in sorted(groups.items()):
        total = sum((v.notional for v in venues.values()), Decimal(0))
        orders = sum(v.orders for v in venues.values())
        ranked = sorted(venues.values(), key=lambda v: (-v.notional, v.venue))
        listed = []
        for rank, v in enumerate(ranked[: config.top_venues], start=1):
            listed.append(
                {
                    "rank": rank,
                    "venue": v.venue,
                    "notional": format(v.notional, "f"),
                    "volume_pct": _pct(v.notional, total),
                    "orders": v.orders,
                    "orders_pct": _pct(v.orders, orders),
                    "fills": v.fills,
                    "passive_pct": _pct(v.passive, v.fills),
                    "aggressive_pct": _pct(v.fills - v.passive, v.fills),
                    "average_slippage_bps": (
                        rounded(v.slippage_weighted / v.slipped_notional, 2)
                        if v.slipped_notional
                        else None
                    ),
                    "routed_to_best_pct": _pct(v.routed_to_best, v.routed),
                }
            )
        sections.append(
            {
                "instrument_class": klass,
                "quote_currency": quote_ccy,
                "notional": format(total, "f"),
                "orders": orders,
                "venue_count": len(venues),
                "venues": listed,
            }
        )
    return sections


class VenueSummaryReporter(Reporter[VenueSummaryConfig]):
    """Top venues per instrument class for any period (a day, a quarter, a year)."""

    name = "execution_venues"
    config_model = VenueSummaryConfig
    formats = ("csv", "json")

    def render(
        self, records: Sequence[LedgerRecord], period: ReportPeriod, fmt: str
    ) -> ReportArtefact:
        check_format("execution venue summary", fmt, self.formats)
        sections = summarise(records, period, self.config)
        if fmt == "csv":
            rows = [
                {"instrument_class": s["instrument_class"], "quote_currency": s["quote_currency"]}
                | venue
                for s in sections
                for venue in s["venues"]
            ]
            content = render_csv(COLUMNS, rows)
        else:
            content = render_json(
                {
                    "report": self.name,
                    "period": period_json(period),
                    "top_venues": self.config.top_venues,
                    "classes": sections,
                }
            )
        filename = period_filename(self.config.filename_prefix, period, fmt)
        return artefact(self.name, filename, fmt, content, period)
