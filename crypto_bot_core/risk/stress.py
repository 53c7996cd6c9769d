"""A scenario applied to the current portfolio: projected P&L per position and per venue.

All money is Decimal and exact; a position's projected P&L is the sum of

* **price**: ``q x (m1 - m0) x contract size x rate`` with ``m1 = m0 x prod(1 + move)``
  over the price shocks that hit it, in file order (``m0`` the mark, else the entry);
* **funding** (perpetuals only): ``-q x m1 x contract size x rate x funding rate x
  periods`` -- longs pay a positive rate;
* **ban**: a forced sale on a venue that bans the market, ``-|q| x m1 x contract
  size x rate x liquidation_discount``;
* **liquidity**: the cost of closing the position through the venue's book
  after the move (prices x ``m1/m0``) with ``remove`` of its depth gone, against
  ``m1``; what the book cannot take is valued at the worst level left x
  ``(1 - unfilled_discount)``. Without a book for the market the cost is not
  known and the result says so.

Per venue, the P&L of its positions plus the write-down of an exchange halt:
``haircut x max(0, venue equity after the shocks)``, where venue equity is its
cash in the portfolio currency, its spot positions' value and its perpetuals'
unrealised P&L. Positions on a halted venue are frozen: they take the price
moves but cannot be sold, so no ban or liquidity cost applies to them.

Volatility and correlation shocks move no price: they give the *stressed VaR*,
the Monte-Carlo VaR of the shocked positions under the stressed model, when a
return history is supplied.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from crypto_bot_core.risk.exposure import currency_rate, position_price, settlement_currency
from crypto_bot_core.risk.liquidity import thinned, walk
from crypto_bot_core.risk.scenario import (
    ALL,
    BanShock,
    CorrelationShock,
    ExchangeHaltShock,
    FundingShock,
    LiquidityShock,
    Scenario,
    VolatilityShock,
)
from crypto_bot_sdk import MarketView, PortfolioSnapshot, Position, Side, parse_symbol

if TYPE_CHECKING:
    from crypto_bot_core.risk.portfolio_var import VarSettings
    from crypto_bot_core.risk.returns import ReturnHistory
    from crypto_bot_core.risk.var import TailRisk

ZERO = Decimal(0)


def _plain(amount: Decimal) -> Decimal:
    """``-0`` and ``0.0`` read as ``0`` (exact arithmetic keeps the sign and scale of zero)."""
    return ZERO if amount == 0 else amount


@dataclass(frozen=True)
class PositionImpact:
    symbol: str
    venue: str
    quantity: Decimal
    price: Decimal
    shocked_price: Decimal
    exposure: Decimal
    price_pnl: Decimal
    funding_pnl: Decimal
    ban_pnl: Decimal
    liquidity_pnl: Decimal | None
    frozen: bool

    @property
    def total(self) -> Decimal:
        return self.price_pnl + self.funding_pnl + self.ban_pnl + (self.liquidity_pnl or ZERO)


@dataclass(frozen=True)
class VenueImpact:
    venue: str
    equity: Decimal
    positions_pnl: Decimal
    halt_writedown: Decimal
    halted: bool

    @property
    def total(self) -> Decimal:
        return self.positions_pnl - self.halt_writedown


@dataclass(frozen=True)
class StressResult:
    scenario: str
    description: str
    currency: str
    equity: Decimal
    positions: tuple[PositionImpact, ...]
    venues: tuple[VenueImpact, ...]
    warnings: tuple[str, ...] = ()
    var: TailRisk | None = None
    stressed_var: TailRisk | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def total_pnl(self) -> Decimal:
        return sum((v.total for v in self.venues), ZERO)

    @property
    def loss(self) -> Decimal:
        """The projected loss as a positive number (0 when the scenario gains)."""
        return max(ZERO, -self.total_pnl)

    def as_dict(self) -> dict[str, Any]:
        def money(value: Decimal | None) -> str | None:
            return None if value is None else format(value, "f")

        return {
            "scenario": self.scenario,
            "description": self.description,
            "currency": self.currency,
            "equity": money(self.equity),
            "total_pnl": money(self.total_pnl),
            "loss": money(self.loss),
            "positions": [
                {
                    "symbol": p.symbol,
                    "venue": p.venue,
                    "quantity": money(p.quantity),
                    "price": money(p.price),
                    "shocked_price": money(p.shocked_price),
                    "exposure": money(p.exposure),
                    "price_pnl": money(p.price_pnl),
                    "funding_pnl": money(p.funding_pnl),
                    "ban_pnl": money(p.ban_pnl),
                    "liquidity_pnl": money(p.liquidity_pnl),
                    "frozen": p.frozen,
                    "total_pnl": money(p.total),
                }
                for p in self.positions
            ],
            "venues": [
                {
                    "venue": v.venue,
                    "equity": money(v.equity),
                    "positions_pnl": money(v.positions_pnl),
                    "halt_writedown": money(v.halt_writedown),
                    "halted": v.halted,
                    "total_pnl": money(v.total),
                }
                for v in self.venues
            ],
            "var": self.var.as_dict() if self.var else None,
            "stressed_var": self.stressed_var.as_dict() if self.stressed_var else None,
            "warnings": list(self.warnings),
        }


def _venues_hit(venues: str | tuple[str, ...], venue: str) -> bool:
    return venues == ALL or venue in venues


def venue_equity(portfolio: PortfolioSnapshot, market: MarketView | None) -> dict[str, Decimal]:
    """Cash in the portfolio currency, spot values and perpetual unrealised P&L, per venue."""
    ccy = portfolio.quote_currency
    rates = portfolio.rates
    equity: dict[str, Decimal] = {}
    for balance in portfolio.balances:
        if balance.asset == ccy:
            equity[balance.venue] = equity.get(balance.venue, ZERO) + balance.total
        elif balance.asset in rates:  # cash the book values in another currency
            value = balance.total * rates[balance.asset]
            equity[balance.venue] = equity.get(balance.venue, ZERO) + value
    for p in portfolio.positions:
        equity[p.venue] = equity.get(p.venue, ZERO) + _holding_value(
            p, position_price(p), ccy, market, rates
        )
    return equity


def _is_perpetual(symbol: str) -> bool:
    return parse_symbol(symbol)[2] is not None


def _holding_value(
    p: Position,
    price: Decimal,
    ccy: str,
    market: MarketView | None,
    rates: Mapping[str, Decimal] | None = None,
) -> Decimal:
    rate = currency_rate(settlement_currency(p.symbol), ccy, market, rates)
    if _is_perpetual(p.symbol):
        entry = p.average_entry_price or price
        return (price - entry) * p.quantity * p.contract_size * rate
    return p.quantity * price * p.contract_size * rate


def _halted_venues(scenario: Scenario, equity: dict[str, Decimal]) -> dict[str, Decimal]:
    """Halted venue -> haircut (the largest haircut if a venue is named twice)."""
    halted: dict[str, Decimal] = {}
    for shock in scenario.of_kind(ExchangeHaltShock):
        venue = shock.venue
        if shock.largest:
            venue = max(sorted(equity), key=lambda v: equity[v]) if equity else None
        if venue is not None:
            halted[venue] = max(halted.get(venue, ZERO), shock.haircut)
    return halted


def _liquidity_pnl(
    p: Position, shocks: list[LiquidityShock], factor: Decimal, market: MarketView | None
) -> tuple[Decimal | None, str | None]:
    if market is None or (book := market.order_book(p.symbol, p.venue)) is None:
        return None, f"no order book for {p.symbol}@{p.venue}: its liquidity cost is unknown"
    keep = Decimal(1)
    discount = ZERO
    for shock in shocks:
        keep *= 1 - shock.remove
        discount = max(discount, shock.unfilled_discount)
    shocked = thinned(book, 1 - keep, factor)
    side = Side.SELL if p.quantity > 0 else Side.BUY
    size = abs(p.quantity)
    done = walk(shocked.bids if side is Side.SELL else shocked.asks, size, side)
    mark = position_price(p) * factor
    worst = done.worst_price if done.worst_price is not None else mark
    rest_price = worst * (1 - discount) if side is Side.SELL else worst * (1 + discount)
    exit_value = done.cost + done.unfilled * rest_price
    pnl = (exit_value - size * mark) if side is Side.SELL else (size * mark - exit_value)
    note = None
    if done.unfilled > 0:
        note = (
            f"{p.symbol}@{p.venue}: the thinned book takes {done.filled} of {size}; the rest "
            f"is valued at {rest_price}"
        )
    return pnl * p.contract_size, note


def stress(
    portfolio: PortfolioSnapshot,
    scenario: Scenario,
    market: MarketView | None = None,
    *,
    history: ReturnHistory | None = None,
    var_settings: VarSettings | None = None,
) -> StressResult:
    """Project ``scenario`` on ``portfolio``; ``market`` supplies books and currency rates."""
    ccy = portfolio.quote_currency
    warnings: list[str] = []
    equity = venue_equity(portfolio, market)
    halted = _halted_venues(scenario, equity)
    for venue in halted:
        if venue not in equity:
            warnings.append(f"halted venue {venue!r} holds nothing in this portfolio")
    impacts: list[PositionImpact] = []
    for p in portfolio.positions:
        if p.quantity == 0:
            continue
        rate = currency_rate(settlement_currency(p.symbol), ccy, market, portfolio.rates)
        m0 = position_price(p)
        factor = scenario.price_factor(p.symbol)
        m1 = m0 * factor
        units = p.quantity * p.contract_size * rate
        frozen = p.venue in halted
        funding = ZERO
        if _is_perpetual(p.symbol):
            for shock in scenario.of_kind(FundingShock):
                if shock.hits(p.symbol, scenario.groups):
                    funding -= units * m1 * shock.rate * shock.periods
        ban = ZERO
        liquidity: Decimal | None = ZERO
        if not frozen:
            discounts = [
                b.liquidation_discount
                for b in scenario.of_kind(BanShock)
                if b.hits(p.symbol, scenario.groups) and _venues_hit(b.venues, p.venue)
            ]
            if discounts:
                ban = -abs(units) * m1 * max(discounts)
            thin = [
                s
                for s in scenario.of_kind(LiquidityShock)
                if s.hits(p.symbol, scenario.groups) and _venues_hit(s.venues, p.venue)
            ]
            if thin:
                cost, note = _liquidity_pnl(p, thin, factor, market)
                liquidity = None if cost is None else cost * rate
                if note:
                    warnings.append(note)
        impacts.append(
            PositionImpact(
                symbol=p.symbol,
                venue=p.venue,
                quantity=p.quantity,
                price=m0,
                shocked_price=m1,
                exposure=units * m0,
                price_pnl=_plain(units * (m1 - m0)),
                funding_pnl=_plain(funding),
                ban_pnl=_plain(ban),
                liquidity_pnl=None if liquidity is None else _plain(liquidity),
                frozen=frozen,
            )
        )
    venues = []
    for venue in sorted(set(equity) | {i.venue for i in impacts}):
        pnl = sum((i.total for i in impacts if i.venue == venue), ZERO)
        before = equity.get(venue, ZERO)
        writedown = halted.get(venue, ZERO) * max(ZERO, before + pnl) if venue in halted else ZERO
        venues.append(VenueImpact(venue, before, pnl, writedown, venue in halted))
    base_var, stressed_var = _stressed_var(scenario, impacts, history, var_settings, warnings)
    return StressResult(
        scenario=scenario.name,
        description=scenario.description,
        currency=ccy,
        equity=portfolio.equity,
        positions=tuple(impacts),
        venues=tuple(venues),
        warnings=tuple(warnings),
        var=base_var,
        stressed_var=stressed_var,
    )


def _stressed_var(
    scenario: Scenario,
    impacts: list[PositionImpact],
    history: ReturnHistory | None,
    settings: VarSettings | None,
    warnings: list[str],
) -> tuple[TailRisk | None, TailRisk | None]:
    model_shocks = bool(scenario.of_kind(VolatilityShock) or scenario.of_kind(CorrelationShock))
    if history is None:
        if model_shocks:
            warnings.append(
                "volatility and correlation shocks need a return history; stressed VaR not computed"
            )
        return None, None
    from crypto_bot_core.risk import var
    from crypto_bot_core.risk.portfolio_var import VarSettings, fit_model

    settings = settings or VarSettings()
    before: dict[str, float] = {}
    after: dict[str, float] = {}
    for i in impacts:
        before[i.symbol] = before.get(i.symbol, 0.0) + float(i.exposure)
        shocked = i.exposure * (i.shocked_price / i.price)
        after[i.symbol] = after.get(i.symbol, 0.0) + float(shocked)
    symbols = tuple(s for s in before if before[s] != 0)
    if not symbols:
        return None, None
    model = fit_model(history.select(symbols), settings)
    corr = scenario.correlation_shock()
    stressed = model.stressed(
        volatility={s: scenario.volatility_factor(s) for s in symbols},
        correlation_target=corr.target if corr else None,
        correlation_weight=corr.weight if corr else 1.0,
    )
    paths, seed, confidence = settings.paths, settings.seed, settings.confidence
    base = var.monte_carlo(
        model, [before[s] for s in symbols], paths=paths, seed=seed, confidence=confidence
    )
    hit = var.monte_carlo(
        stressed, [after[s] for s in symbols], paths=paths, seed=seed, confidence=confidence
    )
    return base, hit
