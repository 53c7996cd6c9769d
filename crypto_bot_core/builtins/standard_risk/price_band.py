"""``price_band``: a limit price may not stray further than the band from the reference.

The reference is the context's ``reference_price`` (the price the engine
expects to trade near), else the market view's last price. Deviation is
``|price - reference| / reference`` in basis points. Orders without a limit
price pass; stop prices are not checked (a stop far from the market is normal).
The band applies to reduce-only orders too: a wrong price is wrong either way.
"""

from __future__ import annotations

from decimal import Decimal

from crypto_bot_core.builtins.standard_risk.config import PriceBandConfig
from crypto_bot_core.builtins.standard_risk.valuation import (
    APPROVE,
    REJECT,
    percent,
    show,
    verdict,
)
from crypto_bot_sdk import OrderIntent, OrderType, RiskContext, RiskRule, RiskVerdict

_CENT = Decimal("0.01")


class PriceBand(RiskRule[PriceBandConfig]):
    """Rejects limit prices too far from the reference price."""

    name = "price_band"
    config_model = PriceBandConfig

    def __init__(self, config: PriceBandConfig) -> None:
        super().__init__(config)
        band = config.max_deviation_bps
        # The band's two texts (figure and words), and the answers to orders without a
        # limit price, written once.
        self._band_text = format(band, "f")
        self._band_shown = percent(band / 10_000)
        self._no_limit = {kind: f"a {kind.value} order has no limit price" for kind in OrderType}

    def check(self, intent: OrderIntent, context: RiskContext) -> RiskVerdict:
        price = intent.price
        if price is None:
            kind = intent.order_type
            reason = self._no_limit.get(kind) or f"a {kind.value} order has no limit price"
            return verdict(self.name, APPROVE, reason)
        reference: Decimal | None = None
        source = ""
        if context.reference_price is not None and context.reference_price > 0:
            reference, source = context.reference_price, "reference price"
        else:
            last = context.market.last_price(intent.symbol, intent.venue)
            if last is not None and last > 0:
                reference, source = last, "last price"
        if reference is None:
            reason = (
                f"no reference or last price for {intent.symbol} to check the limit price against"
            )
            if self.config.missing_reference == "approve":
                return verdict(self.name, APPROVE, f"{reason}; allowed by configuration")
            return verdict(self.name, REJECT, reason, {"price": format(price, "f")})
        band = self.config.max_deviation_bps
        deviation = abs(price - reference) / reference * 10_000
        figures = {
            "price": format(price, "f"),
            "reference": format(reference, "f"),
            "reference_source": source,
            "deviation_bps": format(deviation.quantize(_CENT), "f"),
            "band_bps": self._band_text,
        }
        where = "above" if price > reference else "below"
        described = (
            f"limit price {show(price, 8)} is {percent(deviation / 10_000)} {where} the "
            f"{source} {show(reference, 8)}"
        )
        if deviation <= band:
            return verdict(
                self.name,
                APPROVE,
                f"{described}, inside the band of ±{self._band_shown}",
                figures,
            )
        return verdict(
            self.name, REJECT, f"{described}, outside the band of ±{self._band_shown}", figures
        )
