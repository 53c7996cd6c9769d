"""``stress_limit``: no order may push a scenario's projected loss beyond the limit.

Each configured scenario (shipped name or file, parsed once at configuration)
is projected on the portfolio with the order added as a position at its
price -- a spot buy also spends the cash on its venue, so a venue halt sees
the same equity. The limit is ``max_loss`` and/or ``max_loss_fraction x
equity`` (the tighter wins). The order breaks it when some scenario's loss
after the order is over the limit *and* larger than before: an order that
lowers every loss over the limit (a hedge), or only shrinks a position,
passes. One that breaks it is resized by bisection to the largest size that
keeps every scenario within (or no worse), or refused.
"""

from __future__ import annotations

from decimal import Decimal

from crypto_bot_core.builtins.risk_engine.config import StressLimitConfig
from crypto_bot_core.builtins.risk_engine.valuation import (
    Valued,
    money,
    qty,
    reduces_position,
    show,
    value_intent,
)
from crypto_bot_core.risk.scenario import Scenario
from crypto_bot_sdk import (
    Balance,
    OrderIntent,
    PortfolioSnapshot,
    Position,
    RiskContext,
    RiskError,
    RiskRule,
    RiskVerdict,
    parse_symbol,
)

_BISECTIONS = 40
UNROUTED = "unrouted"


class StressLimit(RiskRule[StressLimitConfig]):
    """Caps the worst projected scenario loss after the order; resizes down when it can."""

    name = "stress_limit"
    config_model = StressLimitConfig

    def __init__(self, config: StressLimitConfig) -> None:
        from crypto_bot_core.risk.scenario_file import load_scenario

        super().__init__(config)
        self._scenarios: list[Scenario] = [load_scenario(ref) for ref in config.scenarios]

    def _losses(self, portfolio: PortfolioSnapshot, context: RiskContext) -> dict[str, Decimal]:
        from crypto_bot_core.risk.stress import stress

        return {s.name: stress(portfolio, s, context.market).loss for s in self._scenarios}

    @staticmethod
    def _with_order(
        portfolio: PortfolioSnapshot, intent: OrderIntent, quantity: Decimal, valued: Valued
    ) -> PortfolioSnapshot:
        if quantity <= 0:
            return portfolio
        venue = intent.venue or UNROUTED
        size = valued.instrument.contract_size if valued.instrument is not None else Decimal(1)
        signed = quantity * intent.side.sign
        added = Position(
            symbol=intent.symbol,
            venue=venue,
            quantity=signed,
            average_entry_price=valued.price,
            mark_price=valued.price,
            contract_size=size,
        )
        balances = portfolio.balances
        if parse_symbol(intent.symbol)[2] is None:  # spot pays (or receives) its notional
            cash = Balance(asset=portfolio.quote_currency, venue=venue, free=-valued.value(signed))
            balances = (*balances, cash)
        return portfolio.model_copy(
            update={"positions": (*portfolio.positions, added), "balances": balances}
        )

    def check(self, intent: OrderIntent, context: RiskContext) -> RiskVerdict:
        cfg = self.config
        portfolio = context.portfolio
        if reduces_position(intent, portfolio.net_quantity(intent.symbol)):
            return RiskVerdict.approve(self.name, f"only reduces the {intent.symbol} position")
        limits = [x for x in (cfg.max_loss,) if x is not None]
        if cfg.max_loss_fraction is not None:
            limits.append(max(Decimal(0), cfg.max_loss_fraction * portfolio.equity))
        limit = min(limits)
        try:
            valued = value_intent(intent, context)
            before = self._losses(portfolio, context)

            def breaches(quantity: Decimal) -> tuple[dict[str, Decimal], list[str]]:
                after = self._losses(self._with_order(portfolio, intent, quantity, valued), context)
                return after, [n for n, v in after.items() if v > limit and v > before[n]]

            after, broken = breaches(intent.quantity)
        except RiskError as exc:
            return RiskVerdict.reject(self.name, f"cannot project the scenarios: {exc}")
        worst = max(after, key=lambda n: after[n])
        named = broken[0] if broken else worst
        ccy = portfolio.quote_currency
        figures = {
            "loss_before": money(before[named]),
            "loss_after": money(after[named]),
            "limit": money(limit),
            "scenario": named,
            "worst_scenario": worst,
            "worst_loss_after": money(after[worst]),
            "price": format(valued.price, "f"),
        }
        state = (
            f"projected loss of {named} {show(before[named])} -> {show(after[named])} {ccy}, "
            f"limit {show(limit)} {ccy}"
        )
        if not broken:
            over = after[worst] > limit
            reason = "over the limit, but the order lowers it" if over else "within"
            return RiskVerdict(
                rule=self.name, action="approve", reason=f"{state}: {reason}", figures=figures
            )
        low, high = Decimal(0), intent.quantity
        for _ in range(_BISECTIONS):
            middle = (low + high) / 2
            if breaches(middle)[1]:
                high = middle
            else:
                low = middle
        allowed = valued.round_down(low)
        if allowed <= 0 or allowed >= intent.quantity or not valued.fits_venue(allowed):
            return RiskVerdict.reject(
                self.name, f"{state}: no size on the lot grid fits", **figures
            )
        return RiskVerdict.resize(
            self.name,
            allowed,
            f"{state}: resized to {qty(allowed)}, the largest size within the limit",
            **figures,
            resized_quantity=format(allowed, "f"),
        )
