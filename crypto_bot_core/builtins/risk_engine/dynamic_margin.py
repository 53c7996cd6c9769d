"""``dynamic_margin``: per-symbol exposure limit = base x (target ATR / current ATR), bounded.

When a coin is twice as volatile as the target the book may hold half as
much of it; when it is calm, more -- between ``min_multiplier`` and
``max_multiplier`` times the base. ATR is Wilder's, as a fraction of the last
close, over ``atr_period`` bars of the intent's symbol
(``crypto_bot_core.risk.volatility``). Exposure is the net position over all
venues after the order, at the order's price. Orders that only shrink the
position pass; one that would break the limit is cut to the largest size that
fits (a flip from long to short counts the whole way), or refused.
"""

from __future__ import annotations

from decimal import Decimal

from crypto_bot_core.builtins.risk_engine.config import DynamicMarginConfig
from crypto_bot_core.builtins.risk_engine.valuation import (
    money,
    qty,
    reduces_position,
    show,
    value_intent,
)
from crypto_bot_core.risk.volatility import relative_atr
from crypto_bot_sdk import OrderIntent, RiskContext, RiskError, RiskRule, RiskVerdict

_WARMUP_PERIODS = 5  # Wilder's average forgets its plain-mean start after a few periods


class DynamicMargin(RiskRule[DynamicMarginConfig]):
    """Scales each symbol's exposure limit by inverse volatility; resizes down when it can."""

    name = "dynamic_margin"
    config_model = DynamicMarginConfig

    def limit_for(self, symbol: str, atr: float) -> tuple[Decimal, Decimal]:
        """The exposure limit and the multiplier it came from, at relative ATR ``atr``."""
        cfg = self.config
        raw = cfg.target_atr / Decimal(repr(atr)) if atr > 0 else cfg.max_multiplier
        multiplier = min(cfg.max_multiplier, max(cfg.min_multiplier, raw))
        return cfg.per_symbol.get(symbol, cfg.base_notional) * multiplier, multiplier

    def check(self, intent: OrderIntent, context: RiskContext) -> RiskVerdict:
        cfg = self.config
        net = context.portfolio.net_quantity(intent.symbol)
        if reduces_position(intent, net):
            return RiskVerdict.approve(self.name, f"only reduces the {intent.symbol} position")
        bars = context.market.bars(intent.symbol, limit=cfg.atr_period * _WARMUP_PERIODS + 1)
        atr = relative_atr(bars, cfg.atr_period)
        if atr is None:
            reason = (
                f"{len(bars)} bars of {intent.symbol}: ATR({cfg.atr_period}) needs "
                f"{cfg.atr_period + 1}"
            )
            if cfg.missing_history == "approve":
                return RiskVerdict.approve(self.name, f"{reason}; allowed by configuration")
            return RiskVerdict.reject(self.name, f"{reason}; no new risk without a volatility")
        try:
            valued = value_intent(intent, context)
        except RiskError as exc:
            return RiskVerdict.reject(self.name, f"cannot value the order: {exc}")
        limit, multiplier = self.limit_for(intent.symbol, atr)
        sign = intent.side.sign
        after = net + sign * intent.quantity
        exposure = valued.value(abs(after))
        ccy = valued.currency
        figures = {
            "atr_fraction": f"{atr:.6f}",
            "target_atr": format(cfg.target_atr, "f"),
            "multiplier": format(multiplier.quantize(Decimal("0.0001")), "f"),
            "limit": money(limit),
            "exposure_after": money(exposure),
            "price": format(valued.price, "f"),
        }
        state = (
            f"{intent.symbol} ATR {atr:.2%} against target {cfg.target_atr:.2%} sets the limit "
            f"at {show(limit)} {ccy} (x{multiplier.quantize(Decimal('0.01'))}); exposure after "
            f"the order {show(exposure)} {ccy}"
        )
        if exposure <= limit:
            return RiskVerdict(rule=self.name, action="approve", reason=state, figures=figures)
        room = limit / valued.unit if valued.unit > 0 else Decimal(0)
        allowed = valued.round_down(room - sign * net)
        if allowed <= 0 or not valued.fits_venue(allowed):
            return RiskVerdict.reject(
                self.name, f"{state}: over the limit, no size fits", **figures
            )
        return RiskVerdict.resize(
            self.name,
            allowed,
            f"{state}: over the limit; resized to {qty(allowed)}",
            **figures,
            resized_quantity=format(allowed, "f"),
        )
