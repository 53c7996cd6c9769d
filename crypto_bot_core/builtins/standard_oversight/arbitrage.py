"""``arbitrage``: cross-venue spreads beyond fees, proposed as hedged pairs of intents.

:class:`~crypto_bot_core.risk.arbitrage.ArbitrageDetector` finds, per symbol, the
widest buy-cheap/sell-dear pair whose edge after both venues' taker fees clears
``threshold_bps`` (the engine's fees, as the router charges them, take precedence
over ``fees``). Each becomes :class:`~crypto_bot_sdk.PairedIntents` whose evidence
(spread, fees and edge in bps, the two venues) goes into the ledger with the
orders or with their refusal; the engine runs both legs through the risk rules
(``risk-engine:arbitrage_guard`` keeps their exposure limits) and sends both or
neither, cut to the smaller approved quantity.
"""

from __future__ import annotations

from crypto_bot_core.builtins.standard_oversight.config import ArbitrageConfig
from crypto_bot_core.risk.arbitrage import ArbitrageDetector, ArbitragePair
from crypto_bot_sdk import Oversight, OversightContext, OversightOutcome, PairedIntents


class ArbitragePairs(Oversight[ArbitrageConfig]):
    """Proposes a hedged pair per symbol whose cross-venue spread beats fees by the threshold."""

    name = "arbitrage"
    config_model = ArbitrageConfig

    def __init__(self, config: ArbitrageConfig) -> None:
        super().__init__(config)
        self._detector = ArbitrageDetector(config)

    async def review(self, context: OversightContext) -> OversightOutcome:
        found = self._detector.detect(context.market, context.portfolio, fees=context.fees)
        return OversightOutcome(pairs=tuple(_paired(pair) for pair in found))


def _paired(pair: ArbitragePair) -> PairedIntents:
    return PairedIntents(
        (pair.buy, pair.sell),
        {
            "symbol": pair.symbol,
            "spread_bps": str(pair.spread_bps),
            "fees_bps": str(pair.fees_bps),
            "edge_bps": str(pair.edge_bps),
            "buy_venue": pair.buy.venue or "",
            "sell_venue": pair.sell.venue or "",
        },
    )
