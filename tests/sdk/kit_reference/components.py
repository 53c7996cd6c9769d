"""Reference agent, data source, risk rule and reporter, each with broken twins.

The correct ones are small but do the real job; every broken one breaks
exactly one promise of its contract, so the kit's test can name the checks
that must catch it.
"""

from __future__ import annotations

import json
import math
import uuid
from array import array
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from crypto_bot_sdk import (
    Agent,
    Bar,
    BarBlock,
    ConfigError,
    DataSource,
    Instrument,
    LedgerRecord,
    MarketEvent,
    MarketView,
    OrderIntent,
    PluginConfig,
    RecordType,
    ReportArtefact,
    Reporter,
    ReportPeriod,
    RiskContext,
    RiskRule,
    RiskVerdict,
    ScoreBlock,
    Signal,
    VerdictAction,
)
from crypto_bot_sdk.testing import FIXED_NOW, bar_series, make_instrument

# --- agents -------------------------------------------------------------------------


class MomentumConfig(PluginConfig):
    lookback: int = 20


class MomentumAgent(Agent[MomentumConfig]):
    """Score: tanh of the lookback return, scaled; confidence grows with the move."""

    name = "momentum"
    config_model = MomentumConfig
    warmup_bars = 21

    async def evaluate(self, symbol: str, market: MarketView) -> Signal | None:
        bars = market.bars(symbol, limit=self.config.lookback + 1)
        if len(bars) <= self.config.lookback:
            return None
        change = float(bars[-1].close / bars[0].close) - 1.0
        return Signal(
            agent=self.name,
            symbol=symbol,
            ts=market.now,
            score=math.tanh(change * 20),
            confidence=min(1.0, abs(change) * 10),
            features={"return": change},
        )


class RandomAgent(MomentumAgent):
    """Ignores the market: a fresh random score every call."""

    name = "random"

    async def evaluate(self, symbol: str, market: MarketView) -> Signal | None:
        draw = uuid.uuid4().int / 2**128
        return Signal(agent=self.name, symbol=symbol, ts=market.now, score=2 * draw - 1,
                      confidence=0.5)


class UnboundedAgent(MomentumAgent):
    """Skips validation and lets its score run past the [-1, 1] scale."""

    name = "unbounded"

    async def evaluate(self, symbol: str, market: MarketView) -> Signal | None:
        return Signal.model_construct(agent=self.name, symbol=symbol, ts=market.now, score=7.5,
                                      confidence=1.0, rationale="", features={},
                                      model_version=None)


class PeekingAgent(MomentumAgent):
    """Writes a made-up bar into the view it was lent."""

    name = "peeking"

    async def evaluate(self, symbol: str, market: MarketView) -> Signal | None:
        last = market.bars(symbol)[-1]
        update = getattr(market, "update")  # noqa: B009 - the point is to reach past the protocol
        update(last.model_copy(update={"ts": last.ts + timedelta(minutes=1)}))
        return await super().evaluate(symbol, market)


# --- data sources ----------------------------------------------------------------------


class BarsConfig(PluginConfig):
    symbols: tuple[str, ...] = ("BTC/USDT", "ETH/USDT")
    count: int = 120


class SyntheticBars(DataSource[BarsConfig]):
    """Seeded one-minute bars per symbol, merged in time order."""

    name = "synthetic-bars"
    config_model = BarsConfig

    def instruments(self) -> Sequence[Instrument]:
        return [make_instrument(s, "memory") for s in self.config.symbols]

    def _all(self) -> list[Bar]:
        series = [
            bar
            for seed, symbol in enumerate(self.config.symbols)
            for bar in bar_series(symbol, "memory", count=self.config.count, seed=seed)
        ]
        return sorted(series, key=lambda bar: (bar.ts, bar.symbol))

    async def stream(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> AsyncIterator[MarketEvent]:
        for bar in self._all():
            if (start is None or bar.ts >= start) and (end is None or bar.ts < end):
                yield bar

    async def history(
        self, symbol: str, start: datetime, end: datetime
    ) -> Sequence[MarketEvent]:
        return [b for b in self._all() if b.symbol == symbol and start <= b.ts < end]


class StutteringBars(SyntheticBars):
    """Repeats one bar and emits another too late: a feed with a reconnect bug."""

    name = "stuttering-bars"

    def _all(self) -> list[Bar]:
        bars = super()._all()
        bars.insert(10, bars[9])
        bars.insert(30, bars[5])
        return bars


# --- risk rules ----------------------------------------------------------------------


class MaxNotionalConfig(PluginConfig):
    max_notional: Decimal = Decimal("1000")
    lot_size: Decimal = Decimal("0.001")


class MaxNotionalRule(RiskRule[MaxNotionalConfig]):
    """Caps an order's notional at the reference price; resizes down to the lot grid."""

    name = "max-notional"
    config_model = MaxNotionalConfig

    def check(self, intent: OrderIntent, context: RiskContext) -> RiskVerdict:
        price = context.reference_price or context.market.last_price(intent.symbol)
        if price is None or price <= 0:
            return RiskVerdict.reject(self.name, f"no price known for {intent.symbol}")
        notional = intent.quantity * price
        cap = self.config.max_notional
        if notional <= cap:
            return RiskVerdict.approve(self.name)
        lots = (cap / price / self.config.lot_size).to_integral_value(rounding=ROUND_FLOOR)
        if lots <= 0:
            return RiskVerdict.reject(self.name, f"one lot exceeds the cap {cap}", price=price)
        return RiskVerdict.resize(
            self.name, lots * self.config.lot_size,
            f"notional {notional} exceeds the cap {cap}", notional=notional, cap=cap,
        )


class ImpureRule(MaxNotionalRule):
    """Remembers how often it was asked and starts refusing after five checks."""

    name = "impure"

    def __init__(self, config: MaxNotionalConfig) -> None:
        super().__init__(config)
        self.calls = 0

    def check(self, intent: OrderIntent, context: RiskContext) -> RiskVerdict:
        self.calls += 1
        if self.calls > 5:
            return RiskVerdict.reject(self.name, "daily check budget used up")
        return super().check(intent, context)


class MutatingRule(MaxNotionalRule):
    """Moves the shared market view's clock by feeding it a bar."""

    name = "mutating"

    def check(self, intent: OrderIntent, context: RiskContext) -> RiskVerdict:
        bar = bar_series("MUT/USDT", "memory", count=1, start=FIXED_NOW + timedelta(days=9))[0]
        getattr(context.market, "update")(bar)  # noqa: B009 - reaching past the protocol
        return super().check(intent, context)


class UnexplainedRule(MaxNotionalRule):
    """Refuses without a reason and under someone else's name."""

    name = "unexplained"

    def check(self, intent: OrderIntent, context: RiskContext) -> RiskVerdict:
        verdict = super().check(intent, context)
        if verdict.action is VerdictAction.APPROVE:
            return verdict
        return RiskVerdict.model_construct(
            rule="somebody-else", action=VerdictAction.REJECT, reason=" ", quantity=None,
            figures={},
        )


# --- reporters -----------------------------------------------------------------------


class FillsReporter(Reporter[PluginConfig]):
    """The period's fills as CSV or canonical JSON, in ledger order."""

    name = "fills"
    formats = ("csv", "json")

    def _rows(self, records: Sequence[LedgerRecord], period: ReportPeriod) -> list[dict[str, Any]]:
        fills = [r for r in records if r.type is RecordType.FILL and period.contains(r.ts)]
        fields = ("fill_id", "symbol", "side", "quantity", "price", "fee")
        return [
            {"sequence": r.sequence, **{f: str(r.payload[f]) for f in fields}}
            for r in sorted(fills, key=lambda r: r.sequence)
        ]

    def _content(self, rows: list[dict[str, Any]], fmt: str) -> bytes:
        if fmt == "json":
            return json.dumps(rows, sort_keys=True, separators=(",", ":")).encode()
        header = "sequence,fill_id,symbol,side,quantity,price,fee"
        lines = [",".join(str(row[c]) for c in header.split(",")) for row in rows]
        return ("\n".join([header, *lines]) + "\n").encode()

    def render(
        self, records: Sequence[LedgerRecord], period: ReportPeriod, fmt: str
    ) -> ReportArtefact:
        if fmt not in self.formats:
            raise ConfigError(f"format {fmt!r} is not one of {self.formats}", key="format")
        return ReportArtefact(
            reporter=self.name,
            filename=f"fills-{period.start:%Y%m%d}-{period.end:%Y%m%d}.{fmt}",
            media_type="text/csv" if fmt == "csv" else "application/json",
            content=self._content(self._rows(records, period), fmt),
            period=period,
        )


class StampedReporter(FillsReporter):
    """Puts a fresh report id into every artefact."""

    name = "stamped"

    def _content(self, rows: list[dict[str, Any]], fmt: str) -> bytes:
        return super()._content(rows, fmt) + f"report-id {uuid.uuid4()}\n".encode()


class UnfilteredReporter(FillsReporter):
    """Reports every fill it is given, whatever the period."""

    name = "unfiltered"

    def _rows(self, records: Sequence[LedgerRecord], period: ReportPeriod) -> list[dict[str, Any]]:
        everything = ReportPeriod(start=datetime.min.replace(tzinfo=period.start.tzinfo),
                                  end=datetime.max.replace(tzinfo=period.start.tzinfo))
        return super()._rows(records, everything)


# --- agents with the precompute and explain capabilities ------------------------------


class PrecomputingMomentum(MomentumAgent):
    """The momentum agent, also scoring blocks of bars with state carried between blocks."""

    name = "momentum-pre"

    def __init__(self, config: MomentumConfig) -> None:
        super().__init__(config)
        self._closes: dict[str, deque[float]] = {}

    def _window(self, symbol: str) -> deque[float]:
        return self._closes.setdefault(symbol, deque(maxlen=self.config.lookback + 1))

    def precompute(self, symbol: str, block: BarBlock) -> ScoreBlock:
        window = self._window(symbol)
        scores, confidences = array("d"), array("d")
        for close in block.close:
            window.append(close)
            if len(window) <= self.config.lookback:
                scores.append(math.nan)
                confidences.append(math.nan)
                continue
            change = window[-1] / window[0] - 1.0
            scores.append(math.tanh(change * 20))
            confidences.append(min(1.0, abs(change) * 10))
        return ScoreBlock(scores, confidences)

    def explain(self, symbol: str, market: MarketView, signal: Signal) -> Mapping[str, float]:
        return {"return": signal.score}


class BlockBoundMomentum(PrecomputingMomentum):
    """Forgets its window at every block: right for one big block, wrong for small ones."""

    name = "block-bound"

    def precompute(self, symbol: str, block: BarBlock) -> ScoreBlock:
        self._closes.pop(symbol, None)
        return super().precompute(symbol, block)


class VagueMomentum(PrecomputingMomentum):
    """Explains with a number that is not one."""

    name = "vague"

    def explain(self, symbol: str, market: MarketView, signal: Signal) -> Mapping[str, float]:
        return {"return": math.nan}
