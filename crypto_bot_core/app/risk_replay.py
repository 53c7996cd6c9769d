"""A scenario replayed through the engine: the same session run twice, plain and shocked.

The config's session (historical data through the replay source, or the
synthetic market in the paper sandbox) runs once as it is and once with its
data sources wrapped by :class:`ShockedSource`, which from the time ``at``
on rewrites what the engine sees:

* prices (bars, trades, book levels) times the scenario's price factor, and
  their moves since ``at`` scaled by its volatility multiplier
  (``p' = anchor x (p / anchor)^m x factor``, ``anchor`` the last close before ``at``);
* book amounts and bar volumes cut by its liquidity shocks;
* a halted venue's events dropped for the halt's ``duration`` (to the end if unset);
* a banned market's events dropped on the venues that ban it.

Agents, rules, router and paper exchange react as they would have: the
difference of the two runs' final equity per venue is the scenario's P&L
*with* the strategy's reaction. Write-downs the engine cannot see are added
at the end: a halted venue's ``haircut`` of its final equity and a banned
position's ``liquidation_discount``. Correlation and funding shocks have no
replay form and are reported as not applied. ``largest: true`` halts the
venue with the most equity at the end of the plain run.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from crypto_bot_core.risk.liquidity import thinned
from crypto_bot_core.risk.scenario import (
    ALL,
    BanShock,
    CorrelationShock,
    ExchangeHaltShock,
    FundingShock,
    LiquidityShock,
    Scenario,
)
from crypto_bot_sdk import (
    Bar,
    BookLevel,
    DataSource,
    Instrument,
    MarketEvent,
    OrderBook,
    PluginConfig,
    Trade,
)

if TYPE_CHECKING:
    from crypto_bot_core.config import LoadedConfig
    from crypto_bot_core.engine.kernel import Engine
    from crypto_bot_core.host import Host

ZERO = Decimal(0)


class ShockedSource(DataSource[PluginConfig]):
    """Wraps a data source; from ``at`` on, its events are those of the scenario."""

    name = "scenario-shock"

    def __init__(
        self, inner: DataSource[Any], scenario: Scenario, at: datetime, halted: dict[str, Any]
    ) -> None:
        super().__init__(PluginConfig())
        self.inner = inner
        self.scenario = scenario
        self.at = at
        self.halted = halted  # venue -> halt end (None: to the end)
        self._anchor: dict[tuple[str, str], Decimal] = {}

    def instruments(self) -> Sequence[Instrument]:
        return self.inner.instruments()

    async def start(self) -> None:
        await self.inner.start()

    async def close(self) -> None:
        await self.inner.close()

    def _dropped(self, event: MarketEvent) -> bool:
        if isinstance(event, Bar | Trade | OrderBook):
            if event.venue in self.halted:
                end = self.halted[event.venue]
                if end is None or event.ts < end:
                    return True
            return any(
                ban.hits(event.symbol, self.scenario.groups)
                and (ban.venues == ALL or event.venue in ban.venues)
                for ban in self.scenario.of_kind(BanShock)
            )
        return False

    def _keep(self, symbol: str, venue: str) -> Decimal:
        keep = Decimal(1)
        for shock in self.scenario.of_kind(LiquidityShock):
            if shock.hits(symbol, self.scenario.groups) and (
                shock.venues == ALL or venue in shock.venues
            ):
                keep *= 1 - shock.remove
        return keep

    def _price(self, price: Decimal, symbol: str, anchor: Decimal) -> Decimal:
        factor = self.scenario.price_factor(symbol)
        multiplier = self.scenario.volatility_factor(symbol)
        if multiplier == 1.0:
            return price * factor
        moved = float(anchor) * math.exp(multiplier * math.log(float(price) / float(anchor)))
        return Decimal(repr(moved)) * factor

    def shock(self, event: MarketEvent) -> MarketEvent:
        """The event as the scenario has it (events before ``at`` pass unchanged)."""
        if isinstance(event, Bar) and event.ts < self.at:
            self._anchor[(event.symbol, event.venue)] = event.close
        if event.ts < self.at or not isinstance(event, Bar | Trade | OrderBook):
            return event
        anchor = self._anchor.get((event.symbol, event.venue))
        if isinstance(event, Bar):
            anchor = anchor or event.open
            return event.model_copy(
                update={
                    key: self._price(getattr(event, key), event.symbol, anchor)
                    for key in ("open", "high", "low", "close")
                }
                | {"volume": event.volume * self._keep(event.symbol, event.venue)}
            )
        if isinstance(event, Trade):
            return event.model_copy(
                update={"price": self._price(event.price, event.symbol, anchor or event.price)}
            )
        mid = event.mid or (event.bids or event.asks)[0].price
        base = anchor or mid
        moved = event.model_copy(
            update={
                side: tuple(
                    BookLevel(price=self._price(lv.price, event.symbol, base), amount=lv.amount)
                    for lv in getattr(event, side)
                )
                for side in ("bids", "asks")
            }
        )
        return thinned(moved, 1 - self._keep(event.symbol, event.venue))

    async def stream(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> AsyncIterator[MarketEvent]:
        async for event in self.inner.stream(start, end):
            if event.ts >= self.at and self._dropped(event):
                continue
            yield self.shock(event)


@dataclass(frozen=True)
class VenueReplay:
    venue: str
    baseline_equity: Decimal
    shocked_equity: Decimal
    halt_writedown: Decimal
    ban_cost: Decimal

    @property
    def pnl(self) -> Decimal:
        """The scenario's P&L on this venue: shocked minus plain, after write-downs."""
        return self.shocked_equity - self.halt_writedown - self.ban_cost - self.baseline_equity


@dataclass(frozen=True)
class ReplayResult:
    scenario: str
    at: datetime
    end: datetime | None
    venues: tuple[VenueReplay, ...]
    warnings: tuple[str, ...]

    @property
    def total_pnl(self) -> Decimal:
        return sum((v.pnl for v in self.venues), ZERO)

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "at": self.at.isoformat(),
            "end": self.end.isoformat() if self.end else None,
            "total_pnl": format(self.total_pnl, "f"),
            "venues": [
                {
                    "venue": v.venue,
                    "baseline_equity": format(v.baseline_equity, "f"),
                    "shocked_equity": format(v.shocked_equity, "f"),
                    "halt_writedown": format(v.halt_writedown, "f"),
                    "ban_cost": format(v.ban_cost, "f"),
                    "pnl": format(v.pnl, "f"),
                }
                for v in self.venues
            ],
            "warnings": list(self.warnings),
        }


async def _drive(engine: Engine, start: datetime | None, end: datetime | None) -> None:
    await engine.start()
    try:
        await engine.run(start, end)
    finally:
        await engine.close("completed")


def _session(
    loaded: LoadedConfig,
    host: Host,
    wrap: Callable[[DataSource[Any]], DataSource[Any]] | None = None,
) -> Engine:
    """One run of the session in memory; ``wrap`` (the shocked run) wraps its data sources.

    The wrapping is an assembly option, so the engine is built with the sources it runs.
    """
    from crypto_bot_core.app.assembly import assemble
    from crypto_bot_core.engine.orders import MemoryAuditLog

    assembled = assemble(
        loaded, host, ledger=MemoryAuditLog(), run_id="stress-replay", wrap_sources=wrap
    )
    engine = assembled.engine
    asyncio.run(_drive(engine, assembled.start, assembled.end))
    return engine


def _ban_cost(engine: Engine, scenario: Scenario) -> dict[str, Decimal]:
    cost: dict[str, Decimal] = {}
    for (venue, symbol), book in engine.portfolio.books.items():
        if book.quantity == 0 or book.mark is None:
            continue
        discounts = [
            b.liquidation_discount
            for b in scenario.of_kind(BanShock)
            if b.hits(symbol, scenario.groups) and (b.venues == ALL or venue in b.venues)
        ]
        if discounts:
            value = abs(book.quantity) * book.mark * book.contract_size * max(discounts)
            cost[venue] = cost.get(venue, ZERO) + value
    return cost


def replay_scenario(
    scenario: Scenario,
    loaded: LoadedConfig,
    *,
    host: Host | None = None,
    at: datetime | None = None,
) -> ReplayResult:
    """Run ``loaded``'s session plain and under ``scenario`` (shocked from ``at``); compare."""
    from crypto_bot_core.host import Host

    host = host or Host().load()
    warnings = []
    if scenario.of_kind(CorrelationShock):
        warnings.append("correlation shocks have no replay form; not applied")
    if scenario.of_kind(FundingShock):
        warnings.append("the engine books no funding in a replay; funding shocks not applied")
    plain = _session(loaded, host)
    curve = [ts for ts, _ in plain.equity_curve]
    if not curve:
        raise ValueError(f"the session of {loaded.source} processed no events; nothing to replay")
    when = at or curve[len(curve) // 2]
    accounts = plain.portfolio.accounts
    baseline = {v: plain.portfolio.venue_equity(v) for v in accounts}
    halted: dict[str, Any] = {}
    haircuts: dict[str, Decimal] = {}
    for shock in scenario.of_kind(ExchangeHaltShock):
        venue = shock.venue or max(sorted(baseline), key=lambda v: baseline[v])
        halted[venue] = when + shock.duration if shock.duration is not None else None
        haircuts[venue] = max(haircuts.get(venue, ZERO), shock.haircut)
    shocked = _session(loaded, host, lambda source: ShockedSource(source, scenario, when, halted))
    bans = _ban_cost(shocked, scenario)
    venues = []
    for venue in sorted(baseline):
        final = shocked.portfolio.venue_equity(venue)
        writedown = haircuts[venue] * max(ZERO, final) if venue in haircuts else ZERO
        venues.append(VenueReplay(venue, baseline[venue], final, writedown, bans.get(venue, ZERO)))
    return ReplayResult(scenario.name, when, curve[-1], tuple(venues), tuple(warnings))
