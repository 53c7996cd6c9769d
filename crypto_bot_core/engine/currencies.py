"""Which currency the book is valued in, and how every other currency it holds converts.

Real venues quote markets in USDT, USD, USDC, EUR or BTC, and one run may
trade several of them. The engine keeps cash per currency per venue and values
the whole book in one *base currency*: the configured
``portfolio.base_currency``, else the one currency every market settles in.
Every other currency is converted at the latest price of a conversion pair
present in the run's data (``EUR/USDT``, or the inverse ``USDT/EUR``), chosen
once at start. Stablecoins are different currencies: USD, USDT and USDC are
treated as equal only where ``portfolio.pegged`` says so.

A currency that could be held but cannot be converted is refused at start,
naming the currency and the pairs that were missing, never valued at zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from crypto_bot_sdk import ConfigError, Instrument, parse_symbol

_CURRENCY = r"^[A-Z0-9]{1,16}$"


class CurrencySettings(BaseModel):
    """The ``portfolio`` section: the base currency and the currencies taken as equal."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_currency: str | None = Field(
        default=None,
        pattern=_CURRENCY,
        description="Currency the portfolio (equity, P&L, risk limits, sizing notional) is "
        "valued in; unset: the one currency every market settles in (an error when they "
        "settle in several).",
    )
    pegged: dict[str, str] = Field(
        default_factory=dict,
        description="Currencies taken as equal at 1:1, e.g. {USDT: USD, USDC: USD}; nothing "
        "is pegged unless listed here (USD, USDT and USDC are different currencies).",
    )
    ignore: tuple[str, ...] = Field(
        default=(),
        description="Assets a venue holds that the book leaves out (e.g. [BNB] kept for fee "
        "discounts); any other balance no market trades is cash and must be convertible.",
    )

    @field_validator("pegged")
    @classmethod
    def _codes(cls, value: dict[str, str]) -> dict[str, str]:
        for source, target in value.items():
            for code in (source, target):
                if not code.isalnum() or not code.isupper() or len(code) > 16:
                    raise ValueError(
                        f"{code!r} is not a currency code; write upper-case codes such as USDT: USD"
                    )
            if source == target:
                raise ValueError(f"{source} is pegged to itself; remove the entry")
        return value


@dataclass(frozen=True, slots=True)
class Conversion:
    """How one currency's rate into the base currency is read from a market's price."""

    currency: str
    venue: str
    symbol: str
    inverse: bool
    """True when the pair quotes the base side (``USDT/EUR`` for EUR): rate = 1 / price."""


@dataclass(frozen=True)
class CurrencyPlan:
    """The base currency, the currencies fixed at 1:1 to it, and each other one's pair."""

    base: str
    fixed: frozenset[str] = frozenset()
    """Currencies other than the base pegged to it: always worth 1."""
    conversions: Mapping[str, Conversion] = field(default_factory=dict)

    @property
    def single(self) -> bool:
        """Whether nothing but the base currency can be held (the backtest fast path)."""
        return not self.fixed and not self.conversions

    def converts(self, currency: str) -> bool:
        return currency == self.base or currency in self.fixed or currency in self.conversions


def _classes(pegged: Mapping[str, str]) -> dict[str, frozenset[str]]:
    """Each pegged currency's class: every currency reachable through ``pegged`` either way."""
    links: dict[str, set[str]] = {}
    for source, target in pegged.items():
        links.setdefault(source, set()).add(target)
        links.setdefault(target, set()).add(source)
    classes: dict[str, frozenset[str]] = {}
    for start in links:
        if start in classes:
            continue
        seen, todo = {start}, [start]
        while todo:
            for other in links[todo.pop()]:
                if other not in seen:
                    seen.add(other)
                    todo.append(other)
        group = frozenset(seen)
        for member in group:
            classes[member] = group
    return classes


def settlement_currencies(instruments: Iterable[Instrument]) -> set[str]:
    """The currencies cash moves in when these markets trade (quote, or a perpetual's settle)."""
    return {i.settle for i in instruments}


def base_currency(settings: CurrencySettings, currencies: set[str]) -> str:
    """The configured base currency, else the single one the markets settle in."""
    if settings.base_currency is not None:
        return settings.base_currency
    if not currencies:
        return "USDT"
    classes = _classes(settings.pegged)
    groups = {classes.get(c, frozenset({c})) for c in currencies}
    if len(groups) == 1:
        (group,) = groups
        if len(group) == 1:
            return next(iter(group))
        # Several pegged currencies: the one they are pegged *to*, when it is unique.
        targets = {settings.pegged.get(c, c) for c in currencies}
        if len(targets) == 1:
            return next(iter(targets))
    raise ConfigError(
        f"the markets settle in {', '.join(sorted(currencies))}, so the portfolio needs one "
        "currency to be valued in: set portfolio.base_currency (e.g. "
        f"{'USDT' if 'USDT' in currencies else sorted(currencies)[0]}), with a conversion "
        "pair for each other currency in the data",
        key="portfolio.base_currency",
    )


def plan_currencies(
    settings: CurrencySettings,
    held: Iterable[str],
    markets: Sequence[tuple[str, str]],
    *,
    base: str,
) -> CurrencyPlan:
    """The conversion of every currency in ``held`` into ``base``, from the data's markets.

    ``markets`` are the (venue, symbol) pairs the run's data holds prices for; a
    spot pair ``C/BASE`` (direct) or ``BASE/C`` (inverse) converts ``C``, where
    either side may be a currency pegged to it. The first venue in name order
    that has the pair is the one whose prices are used, so the rate never
    alternates between venues' quotes. Raises :class:`ConfigError` naming every
    currency that has no such pair.
    """
    classes = _classes(settings.pegged)
    base_class = classes.get(base, frozenset({base}))
    fixed: set[str] = set()
    conversions: dict[str, Conversion] = {}
    missing: list[str] = []
    spot = []
    for venue, symbol in sorted(markets):
        try:
            left, right, settle = parse_symbol(symbol)
        except ValueError:
            continue
        if settle is None:
            spot.append((venue, symbol, left, right))
    for currency in sorted(set(held) - {base}):
        if currency in base_class:
            fixed.add(currency)
            continue
        own = classes.get(currency, frozenset({currency}))
        found = _pair(currency, own, base, base_class, spot)
        if found is None:
            missing.append(currency)
        else:
            conversions[currency] = found
    if missing:
        needs = "; ".join(f"{c}: add {c}/{base} or {base}/{c}" for c in missing)
        raise ConfigError(
            f"cannot value {', '.join(missing)} in the portfolio currency {base}: the data "
            f"has no market to convert with ({needs} to the data, or declare the currencies "
            f"equal with portfolio.pegged, e.g. {{{missing[0]}: {base}}}, if they truly are)",
            key="portfolio",
        )
    return CurrencyPlan(base, frozenset(fixed), conversions)


def _pair(
    currency: str,
    own: frozenset[str],
    base: str,
    base_class: frozenset[str],
    spot: list[tuple[str, str, str, str]],
) -> Conversion | None:
    """The conversion pair of ``currency``: an exact ``C/BASE`` or ``BASE/C`` first, then one
    through a pegged equivalent on either side."""
    best: tuple[int, Conversion] | None = None
    for venue, symbol, left, right in spot:
        if left in own and right in base_class:
            exact = 0 if (left, right) == (currency, base) else 1
            candidate = Conversion(currency, venue, symbol, inverse=False)
        elif left in base_class and right in own:
            exact = 0 if (left, right) == (base, currency) else 1
            candidate = Conversion(currency, venue, symbol, inverse=True)
        else:
            continue
        if best is None or exact < best[0]:
            best = (exact, candidate)
    return None if best is None else best[1]


def cash_of(
    balances: Mapping[str, Decimal],
    instruments: Iterable[Instrument],
    base: str,
    ignore: Iterable[str] = (),
) -> tuple[Decimal, dict[str, Decimal]]:
    """A venue's starting cash: in the base currency, and per other cash currency.

    Cash is what the venue's markets settle in, plus any other asset the
    venue holds that none of its markets trades as a base asset (a USDT
    balance on a venue that trades only ``BTC/USD`` is cash that must be
    valued, not something to ignore), unless the settings ``ignore`` it.
    Assets bought and sold as a market's base (BTC on ``BTC/USDT``) are
    holdings, as they always were.
    """
    listed = list(instruments)
    settles = settlement_currencies(listed)
    traded = ({i.base for i in listed} | set(ignore)) - settles
    other: dict[str, Decimal] = {}
    for asset, amount in balances.items():
        if asset == base:
            continue
        if asset in settles or (amount != 0 and asset not in traded):
            other[asset] = other.get(asset, Decimal(0)) + amount
    for currency in settles - {base}:
        other.setdefault(currency, Decimal(0))
    return balances.get(base, Decimal(0)), dict(sorted(other.items()))
