"""``stress_limit``: no order may take the worst scenario's projected loss beyond the limit.

Each configured scenario (shipped name or file, parsed once at configuration)
is projected on the portfolio with the order added as a position at its
price -- a spot buy also spends the cash on its venue, so a venue halt sees
the same equity. The worst projected loss after the order is compared with
``max_loss`` and ``max_loss_fraction x equity`` (the tighter wins). Orders
that lower the worst loss, or only shrink a position, pass; one that breaks
the limit is resized by bisection to the largest size that fits, or refused.
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

    def _worst(self, portfolio: PortfolioSnapshot, context: RiskContext) -> tuple[Decimal, str]:
        from crypto_bot_core.risk.stress import stress

        results = [stress(portfolio, s, context.market) for s in self._scenarios]
        worst = max(results, key=lambda r: r.loss)
        return worst.loss, worst.scenario

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
        try:
            valued = value_intent(intent, context)
            before, _ = self._worst(portfolio, context)
            after, scenario = self._worst(
                self._with_order(portfolio, intent, intent.quantity, valued), context
            )
        except RiskError as exc:
            return RiskVerdict.reject(self.name, f"cannot project the scenarios: {exc}")
        limits = [x for x in (cfg.max_loss,) if x is not None]
        if cfg.max_loss_fraction is not None:
            limits.append(max(Decimal(0), cfg.max_loss_fraction * portfolio.equity))
        limit = min(limits)
        ccy = portfolio.quote_currency
        figures = {
            "loss_before": money(before),
            "loss_after": money(after),
            "limit": money(limit),
            "worst_scenario": scenario,
            "price": format(valued.price, "f"),
        }
        state = (
            f"worst projected loss {show(before)} -> {show(after)} {ccy} ({scenario}), limit "
            f"{show(limit)} {ccy}"
        )
        if after <= limit:
            return RiskVerdict(
                rule=self.name, action="approve", reason=f"{state}: within", figures=figures
            )
        if after <= before:
            return RiskVerdict(
                rule=self.name,
                action="approve",
                reason=f"{state}: over the limit, but the order lowers it",
                figures=figures,
            )
        if before >= limit:
            return RiskVerdict.reject(
                self.name, f"{state}: already at the limit; no new risk", **figures
            )
        low, high = Decimal(0), intent.quantity
        for _ in range(_BISECTIONS):
            middle = (low + high) / 2
            loss, _ = self._worst(self._with_order(portfolio, intent, middle, valued), context)
            if loss <= limit:
                low = middle
            else:
                high = middle
        allowed = valued.round_down(low)
        if allowed >= intent.quantity or not valued.fits_venue(allowed):
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
