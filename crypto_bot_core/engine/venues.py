"""Opening the run's venues, and how each simulated venue is offered the market's events.

At start every venue lists its instruments, the portfolio opens an account with
its starting cash (the venue's balance, or a resumed run's recorded cash) and
the router gets its fee schedule. Simulated venues first adopt the data's
symbols (capability ``adopt_symbols``), so orders may precede a symbol's first
event; in a backtest, those that can (``forget_closed``) are told to forget
closed orders: nothing will ask for one again, and a long run would otherwise
keep every order it made.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

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
    fences: Mapping[str, Fence] | None = None,
    budget: float | None = None,
) -> dict[str, FeeSchedule]:
    """Fill ``instruments`` and open ``portfolio``'s accounts; the fee schedule per venue.

    ``initial_cash`` is a resumed run's recorded cash per venue (None: ask the venues'
    balances). Every venue call goes through the venue's fence with the exchange
    ``budget``: a venue that fails or hangs at start ends the start with a
    :class:`~crypto_bot_sdk.PluginError` naming its plugin, not a raw traceback.
    """
    fees: dict[str, FeeSchedule] = {}
    for venue, adapter in exchanges.items():
        fence = (fences or {}).get(venue) or Fence(venue)
        listed = await fence.call_async(adapter.load_instruments, budget=budget)
        for instrument in listed:
            instruments[(venue, instrument.symbol)] = instrument
        if initial_cash is None:
            balances = await fence.call_async(adapter.fetch_balances, budget=budget)
            cash = sum(
                (b.total for b in balances if b.asset == portfolio.quote_currency), Decimal(0)
            )
        else:
            cash = initial_cash.get(venue, Decimal(0))
        portfolio.open_account(venue, cash)
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


def matcher(adapter: ExchangeAdapter[Any]) -> tuple[Callable[[MarketEvent], Any], bool]:
    """How to offer a simulated venue each event: its synchronous matching when its class
    implements the SDK's ``match_event`` (capability ``sync_matching``), saving a coroutine
    per event and venue, else the awaited ``on_market_event``."""
    if overrides(adapter, "match_event"):
        return adapter.match_event, False
    return adapter.on_market_event, True
