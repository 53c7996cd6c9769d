"""``arbitrage_guard``: the exposure limits of cross-venue arbitrage legs.

The legs come from ``crypto_bot_core.risk.arbitrage.ArbitrageDetector``
(``policy == "arbitrage"``); other intents pass untouched. A leg may be worth
at most ``max_leg_notional``; after it, the symbol's net position over all
venues (the unhedged part, if the other leg fails) may be worth at most
``max_net_notional`` and its gross position (``max_gross_notional``) no more
than that limit. A leg over a limit is cut to the largest size within all of
them, or refused. With ``min_edge_bps`` the spread is checked again at the
leg's own price against the best other venue (book, else last price), net of
both venues' fees: a spread that has closed since detection is refused.
"""

from __future__ import annotations

from decimal import Decimal

from crypto_bot_core.builtins.risk_engine.config import ArbitrageGuardConfig
from crypto_bot_core.builtins.risk_engine.valuation import Valued, money, qty, show, value_intent
from crypto_bot_sdk import OrderIntent, RiskContext, RiskError, RiskRule, RiskVerdict, Side

BPS = Decimal(10_000)


class ArbitrageGuard(RiskRule[ArbitrageGuardConfig]):
    """Keeps arbitrage legs within their leg, net and gross limits; refuses closed spreads."""

    name = "arbitrage_guard"
    config_model = ArbitrageGuardConfig

    def _fee(self, venue: str) -> Decimal:
        return self.config.fees.get(venue, self.config.default_fee)

    def _edge(self, intent: OrderIntent, context: RiskContext, price: Decimal) -> Decimal | None:
        """Edge of the leg over the best other venue, after both fees, in bps."""
        from crypto_bot_core.risk.arbitrage import quotes

        venues = sorted(
            {i.venue for i in context.market.instruments() if i.symbol == intent.symbol}
            - {intent.venue}
        )
        others = quotes(context.market, intent.symbol, [v for v in venues if v])
        if not others:
            return None
        if intent.side is Side.BUY:
            best = max(others, key=lambda q: q.bid)
            gross = (best.bid - price) / price * BPS
        else:
            best = min(others, key=lambda q: q.ask)
            gross = (price - best.ask) / best.ask * BPS
        return gross - (self._fee(intent.venue or "") + self._fee(best.venue)) * BPS

    def check(self, intent: OrderIntent, context: RiskContext) -> RiskVerdict:
        cfg = self.config
        if intent.policy != cfg.policy:
            return RiskVerdict.approve(
                self.name, f"not an arbitrage leg (policy {intent.policy!r})"
            )
        try:
            valued = value_intent(intent, context)
        except RiskError as exc:
            return RiskVerdict.reject(self.name, f"cannot value the leg: {exc}")
        figures: dict[str, str] = {"price": format(valued.price, "f")}
        if cfg.min_edge_bps is not None:
            edge = self._edge(intent, context, valued.price)
            figures["edge_bps"] = "n/a" if edge is None else format(edge.quantize(Decimal("0.01")))
            if edge is None or edge < cfg.min_edge_bps:
                seen = (
                    "no other venue quotes it"
                    if edge is None
                    else f"edge {figures['edge_bps']} bps after fees"
                )
                return RiskVerdict.reject(
                    self.name,
                    f"the {intent.symbol} spread no longer pays: {seen}, below "
                    f"{cfg.min_edge_bps} bps",
                    **figures,
                )
        return self._limits(intent, context, valued, figures)

    def _limits(
        self, intent: OrderIntent, context: RiskContext, valued: Valued, figures: dict[str, str]
    ) -> RiskVerdict:
        cfg = self.config
        positions = [p for p in context.portfolio.positions if p.symbol == intent.symbol]
        net = sum((p.quantity for p in positions), Decimal(0))
        gross = sum((abs(p.quantity) for p in positions), Decimal(0))
        sign = intent.side.sign
        unit = valued.unit
        q = intent.quantity
        rooms = {"leg": cfg.max_leg_notional / unit - Decimal(0)}
        # |net + sign q| <= max_net / unit  ->  q <= max_net / unit - sign net
        rooms["net"] = cfg.max_net_notional / unit - sign * net
        if cfg.max_gross_notional is not None:
            rooms["gross"] = cfg.max_gross_notional / unit - gross
        figures |= {
            "leg_notional": money(valued.value(q)),
            "net_after": money(valued.value(abs(net + sign * q))),
            "gross_after": money(valued.value(gross + q)),
            "max_leg_notional": money(cfg.max_leg_notional),
            "max_net_notional": money(cfg.max_net_notional),
        }
        ccy = valued.currency
        binding = min(rooms, key=lambda k: rooms[k])
        if q <= rooms[binding]:
            return RiskVerdict(
                rule=self.name,
                action="approve",
                reason=f"{intent.side.value} leg of {qty(q)} {intent.symbol} on {intent.venue} "
                f"({show(valued.value(q))} {ccy}) is within its leg, net and gross limits",
                figures=figures,
            )
        allowed = valued.round_down(rooms[binding])
        over = (
            f"{intent.side.value} leg of {qty(q)} {intent.symbol} ({show(valued.value(q))} {ccy}) "
            f"breaks the {binding} limit"
        )
        if allowed <= 0 or not valued.fits_venue(allowed):
            return RiskVerdict.reject(self.name, f"{over}; no size fits", **figures)
        return RiskVerdict.resize(
            self.name,
            allowed,
            f"{over}; resized to {qty(allowed)} (size the other leg the same)",
            **figures,
            resized_quantity=format(allowed, "f"),
        )
