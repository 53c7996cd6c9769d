"""Reference selector, oversight component and notifier (the kinds of API 1.1), each with
broken twins that break exactly one promise of their contract."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from crypto_bot_sdk import (
    Alert,
    AlertSeverity,
    MarketView,
    Notifier,
    OrderIntent,
    OrderType,
    Oversight,
    OversightContext,
    OversightOutcome,
    PairedIntents,
    PluginConfig,
    PolicyChoice,
    PolicySelector,
    Side,
    TimeInForce,
)
from crypto_bot_sdk.testing import bar_series

# --- selectors ----------------------------------------------------------------------


class GreedyConfig(PluginConfig):
    trend_bars: int = 10


class GreedySelector(PolicySelector[GreedyConfig]):
    """Picks the policy with the best mean reward; without rewards, the first policy in an
    up-trend and the last in a down-trend."""

    name = "greedy"
    config_model = GreedyConfig

    def __init__(self, config: GreedyConfig) -> None:
        super().__init__(config)
        self._totals: dict[tuple[str, str], tuple[float, int]] = {}

    def select(
        self, symbol: str, venue: str | None, market: MarketView, policies: Sequence[str]
    ) -> PolicyChoice:
        known = {p: self._totals[(symbol, p)] for p in policies if (symbol, p) in self._totals}
        if known:
            best = max(policies, key=lambda p: known[p][0] / known[p][1] if p in known else -1e9)
            return PolicyChoice(best, confidence=min(1.0, sum(n for _, n in known.values()) / 10))
        bars = market.bars(symbol, venue, limit=self.config.trend_bars)
        rising = len(bars) >= 2 and bars[-1].close >= bars[0].close
        return PolicyChoice(policies[0] if rising else policies[-1], confidence=0.5)

    def reward(
        self, symbol: str, venue: str | None, policy: str, reward: float, ts: datetime
    ) -> None:
        total, count = self._totals.get((symbol, policy), (0.0, 0))
        self._totals[(symbol, policy)] = (total + reward, count + 1)


class StickySelector(GreedySelector):
    """Keeps choosing its first answer, even when that policy is no longer offered."""

    name = "sticky"

    def __init__(self, config: GreedyConfig) -> None:
        super().__init__(config)
        self._first: PolicyChoice | None = None

    def select(
        self, symbol: str, venue: str | None, market: MarketView, policies: Sequence[str]
    ) -> PolicyChoice:
        if self._first is None:
            self._first = super().select(symbol, venue, market, policies)
        return self._first


class CoinFlipSelector(GreedySelector):
    """Explores with an unseeded coin: fine for a bandit, wrong for one declared deterministic.

    Its confidence is drawn too: with three policies, two fresh instances would pick the
    same two policies once in nine runs and the kit could not tell; a drawn confidence
    makes that agreement (and so a flaky kit test) practically impossible.
    """

    name = "coin-flip"

    def select(
        self, symbol: str, venue: str | None, market: MarketView, policies: Sequence[str]
    ) -> PolicyChoice:
        coin = random.SystemRandom()
        return PolicyChoice(coin.choice(list(policies)), confidence=coin.random())


# --- oversight ----------------------------------------------------------------------


class SpreadWatchConfig(PluginConfig):
    threshold_bps: Decimal = Decimal(10)
    quantity: Decimal = Decimal("0.1")
    max_drawdown: Decimal = Decimal("0.1")


class SpreadWatch(Oversight[SpreadWatchConfig]):
    """Pairs a buy on the cheapest venue with a sell on the dearest when the spread beats
    both taker fees by the threshold; alerts once when the drawdown crosses its limit, and
    once when it comes back."""

    name = "spread-watch"
    config_model = SpreadWatchConfig

    def __init__(self, config: SpreadWatchConfig) -> None:
        super().__init__(config)
        self._in_breach = False

    async def review(self, context: OversightContext) -> OversightOutcome:
        return OversightOutcome(alerts=self._alerts(context), pairs=self._pairs(context))

    def _alerts(self, context: OversightContext) -> tuple[Alert, ...]:
        breached = context.portfolio.drawdown > self.config.max_drawdown
        if breached == self._in_breach:
            return ()
        self._in_breach = breached
        return (
            Alert(
                ts=self._stamp(context),
                severity=AlertSeverity.HIGH if breached else AlertSeverity.INFO,
                source=self.name,
                title="drawdown above its limit" if breached else "drawdown back within limit",
                figures={"drawdown": str(context.portfolio.drawdown)},
            ),
        )

    def _stamp(self, context: OversightContext) -> datetime:
        return context.ts

    def _intent_id(self, context: OversightContext, symbol: str, side: Side) -> str:
        return f"sw-{symbol.replace('/', '')}-{context.ts:%Y%m%d%H%M%S}-{side.value}"

    def _pairs(self, context: OversightContext) -> tuple[PairedIntents, ...]:
        pairs = []
        venues: dict[str, list[str]] = {}
        for instrument in context.market.instruments():
            venues.setdefault(instrument.symbol, []).append(instrument.venue)
        for symbol, listed in sorted(venues.items()):
            prices = {
                v: p for v in listed if (p := context.market.last_price(symbol, v)) is not None
            }
            if len(prices) < 2:
                continue
            cheap = min(prices, key=lambda v: (prices[v], v))
            dear = max(prices, key=lambda v: (prices[v], v))
            spread = (prices[dear] - prices[cheap]) / prices[cheap] * 10_000
            default = Decimal("0.001")
            fees = (context.taker_fee(cheap, default) + context.taker_fee(dear, default)) * 10_000
            if spread - fees < self.config.threshold_bps:
                continue
            legs = tuple(
                OrderIntent(
                    intent_id=self._intent_id(context, symbol, side),
                    symbol=symbol,
                    side=side,
                    order_type=OrderType.LIMIT,
                    time_in_force=TimeInForce.IOC,
                    quantity=self.config.quantity,
                    price=prices[venue],
                    venue=venue,
                    ts=context.ts,
                    policy="arbitrage",
                )
                for side, venue in ((Side.BUY, cheap), (Side.SELL, dear))
            )
            pairs.append(
                PairedIntents(
                    legs, {"spread_bps": f"{spread:.2f}", "fees_bps": f"{fees:.2f}"}
                )
            )
        return tuple(pairs)


class FortuneTeller(SpreadWatch):
    """Dates its alerts an hour ahead."""

    name = "fortune-teller"

    def _stamp(self, context: OversightContext) -> datetime:
        return context.ts + timedelta(hours=1)


class OneIdWatch(SpreadWatch):
    """Gives every leg of every review the same two intent ids."""

    name = "one-id"

    def _intent_id(self, context: OversightContext, symbol: str, side: Side) -> str:
        return f"sw-{side.value}"


class MeddlingWatch(SpreadWatch):
    """Feeds the market view it was lent a made-up bar."""

    name = "meddling"

    async def review(self, context: OversightContext) -> OversightOutcome:
        bar = bar_series("MED/USDT", "a", count=1, start=context.ts - timedelta(days=1))[0]
        getattr(context.market, "update")(bar)  # noqa: B009 - reaching past the protocol
        return await super().review(context)


# --- notifiers ----------------------------------------------------------------------

INBOX: list[Alert] = []
"""What the reference notifiers' 'channel' received: the test's receiver."""


class InboxNotifier(Notifier[PluginConfig]):
    """Delivers to :data:`INBOX`."""

    name = "inbox"

    async def notify(self, alert: Alert) -> None:
        INBOX.append(alert)


class PickyNotifier(InboxNotifier):
    """Silently drops informational alerts."""

    name = "picky"

    async def notify(self, alert: Alert) -> None:
        if alert.severity is not AlertSeverity.INFO:
            INBOX.append(alert)


class BlockingNotifier(InboxNotifier):
    """Delivers synchronously: a slow channel would hold up the engine."""

    name = "blocking"

    def notify(self, alert: Alert) -> None:  # type: ignore[override]
        INBOX.append(alert)
