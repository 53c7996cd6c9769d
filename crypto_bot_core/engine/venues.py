"""Opening the run's venues, and how each simulated venue is offered the market's events.

At start every venue lists its instruments, the portfolio opens an account with
its starting cash (the venue's balances, per currency, or a resumed run's
recorded cash) and the router gets its fee schedule. Simulated venues first adopt the data's
symbols (capability ``adopt_symbols``), so orders may precede a symbol's first
event; in a backtest, those that can (``forget_closed``) are told to forget
closed orders: nothing will ask for one again, and a long run would otherwise
keep every order it made.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from crypto_bot_core.engine.currencies import (
    CurrencySettings,
    base_currency,
    cash_of,
    plan_currencies,
    settlement_currencies,
)
from crypto_bot_core.engine.fills import overrides
from crypto_bot_core.engine.portfolio import Portfolio
from crypto_bot_core.host.fence import Fence
from crypto_bot_sdk import (
    DataSource,
    ExchangeAdapter,
    FeeSchedule,
    Instrument,
    MarketEvent,
    PluginError,
)


def adopt_symbols(
    exchanges: Mapping[str, ExchangeAdapter[Any]],
    data_sources: Sequence[DataSource[Any]],
    *,
    forget_closed: bool,
) -> None:
    """Let simulated venues adopt the data's symbols, and (a backtest: never resumed, no
    saved state) forget closed orders. Before a resumed run restores their state."""
    symbols = sorted({i.symbol for s in data_sources for i in s.instruments()})
    for adapter in exchanges.values():
        if overrides(adapter, "adopt_instruments"):
            adapter.adopt_instruments(symbols)
        if forget_closed and overrides(adapter, "forget_closed_orders"):
            adapter.forget_closed_orders()


async def open_venues(
    exchanges: Mapping[str, ExchangeAdapter[Any]],
    portfolio: Portfolio,
    instruments: dict[tuple[str, str], Instrument],
    *,
    initial_cash: Mapping[str, Decimal] | None,
    initial_currencies: Mapping[str, Mapping[str, Decimal]] | None = None,
    fences: Mapping[str, Fence] | None = None,
    budget: float | None = None,
    currencies: CurrencySettings | None = None,
    data_markets: Sequence[tuple[str, str]] = (),
) -> dict[str, FeeSchedule]:
    """Fill ``instruments`` and open ``portfolio``'s accounts; the fee schedule per venue.

    ``initial_cash`` is a resumed run's recorded cash per venue (None: ask the venues'
    balances), ``initial_currencies`` its recorded cash per venue and currency where the
    start record kept them (a multi-currency run). Every venue call goes through the
    venue's fence with the exchange ``budget``: a venue that fails or hangs at start ends
    the start with a :class:`~crypto_bot_sdk.PluginError` naming its plugin, not a raw
    traceback.

    With ``currencies`` (the ``portfolio`` settings) the book is valued in their base
    currency (else the one the markets settle in), cash is kept per currency, and each
    other currency is converted through a pair of ``data_markets`` (venue, symbol) — a
    currency that cannot be is refused here, before anything trades (see
    :mod:`.currencies`). Without them, as before: cash in ``portfolio.quote_currency``.
    """
    fees: dict[str, FeeSchedule] = {}
    listed_by: dict[str, Sequence[Instrument]] = {}
    balances_by: dict[str, dict[str, Decimal]] = {}
    for venue, adapter in exchanges.items():
        fence = (fences or {}).get(venue) or Fence(venue)
        listed = await fence.call_async(adapter.load_instruments, budget=budget)
        listed_by[venue] = listed
        for instrument in listed:
            instruments[(venue, instrument.symbol)] = instrument
        if initial_cash is None:
            totals: dict[str, Decimal] = {}
            for b in await fence.call_async(adapter.fetch_balances, budget=budget):
                totals[b.asset] = totals.get(b.asset, Decimal(0)) + b.total
            balances_by[venue] = totals
    cash_by = _starting_cash(
        portfolio,
        listed_by,
        balances_by,
        initial_cash,
        currencies=currencies,
        markets=data_markets,
        recorded=initial_currencies or {},
    )
    for venue, adapter in exchanges.items():
        fence = (fences or {}).get(venue) or Fence(venue)
        listed = listed_by[venue]
        cash, other = cash_by[venue]
        portfolio.open_account(venue, cash, other)
        if listed:
            # Without a fee schedule the router compares this venue's raw prices.
            try:
                fees[venue] = await fence.call_async(
                    adapter.fetch_fees, listed[0].symbol, budget=budget
                )
            except NotImplementedError:  # the SDK's NotSupportedError passes the fence as is
                pass
            except PluginError as exc:
                if not isinstance(exc.__cause__, NotImplementedError):
                    raise  # a plain NotImplementedError is wrapped; it means the same
    return fees


def _starting_cash(
    portfolio: Portfolio,
    listed_by: Mapping[str, Sequence[Instrument]],
    balances_by: Mapping[str, Mapping[str, Decimal]],
    initial_cash: Mapping[str, Decimal] | None,
    *,
    currencies: CurrencySettings | None,
    markets: Sequence[tuple[str, str]],
    recorded: Mapping[str, Mapping[str, Decimal]],
) -> dict[str, tuple[Decimal, dict[str, Decimal]]]:
    """Each venue's starting cash in the portfolio currency and in every other one; sets
    the portfolio's currencies (refusing one that cannot be converted) first. A resumed
    run's other currencies are those it ``recorded`` at its start (none recorded: zero)."""
    cash_by: dict[str, tuple[Decimal, dict[str, Decimal]]] = {}
    if currencies is None:
        for venue in listed_by:
            if initial_cash is None:
                cash_by[venue] = (balances_by[venue].get(portfolio.quote_currency, Decimal(0)), {})
            else:
                cash_by[venue] = (initial_cash.get(venue, Decimal(0)), {})
        return cash_by
    # The markets that matter are those the data prices (the run trades nothing else);
    # a venue listing more (a live exchange) does not add their currencies.
    symbols = {symbol for _venue, symbol in markets}
    traded_by = {
        venue: [i for i in listed if not symbols or i.symbol in symbols]
        for venue, listed in listed_by.items()
    }
    base = base_currency(
        currencies, settlement_currencies(i for listed in traded_by.values() for i in listed)
    )
    for venue, listed in traded_by.items():
        if initial_cash is None:
            cash_by[venue] = cash_of(balances_by[venue], listed, base, currencies.ignore)
        else:
            # The start record's ``initial_cash`` is in the portfolio currency; every other
            # currency's starting cash is in its ``initial_currencies`` (a run recorded
            # before that field restarts them from zero plus its fills).
            other = dict.fromkeys(settlement_currencies(listed) - {base}, Decimal(0))
            other.update((c, a) for c, a in recorded.get(venue, {}).items() if c != base)
            cash_by[venue] = (initial_cash.get(venue, Decimal(0)), dict(sorted(other.items())))
    held = {c for _cash, other in cash_by.values() for c in other}
    portfolio.use_currencies(plan_currencies(currencies, held, markets, base=base))
    return cash_by


def matcher(adapter: ExchangeAdapter[Any]) -> tuple[Callable[[MarketEvent], Any], bool]:
    """How to offer a simulated venue each event: its synchronous matching when its class
    implements the SDK's ``match_event`` (capability ``sync_matching``), saving a coroutine
    per event and venue, else the awaited ``on_market_event``."""
    if overrides(adapter, "match_event"):
        return adapter.match_event, False
    return adapter.on_market_event, True
