"""Builders the risk tests share: Gaussian models, bar histories, books and portfolios."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np

from crypto_bot_core.risk.copula import CopulaFamily, CopulaModel
from crypto_bot_core.risk.marginals import NormalMarginal
from crypto_bot_sdk import Bar, BookLevel, OrderBook

NOW = datetime(2024, 6, 1, tzinfo=UTC)


def equicorrelated(d: int, rho: float) -> np.ndarray:
    matrix = np.full((d, d), rho)
    np.fill_diagonal(matrix, 1.0)
    return matrix


def normal_model(
    sigmas: Sequence[float], rho: float, family: CopulaFamily = "gaussian", dof: float = 4.0
) -> CopulaModel:
    d = len(sigmas)
    return CopulaModel(
        symbols=tuple(f"C{i}/USDT" for i in range(d)),
        correlation=equicorrelated(d, rho),
        marginals=tuple(NormalMarginal(0.0, s) for s in sigmas),
        family=family,
        dof=dof,
    )


def bars_from_returns(
    symbol: str,
    returns: Sequence[float],
    *,
    start_price: float = 100.0,
    venue: str = "alpha",
    timeframe: str = "1d",
    step: timedelta = timedelta(days=1),
    end: datetime = NOW,
) -> list[Bar]:
    """Bars whose closes follow ``returns`` exactly (to 1e-8), ending at ``end``."""
    price = start_price
    closes = [price]
    for r in returns:
        price *= 1 + r
        closes.append(price)
    first = end - step * (len(closes) - 1)
    bars = []
    for i, close in enumerate(closes):
        value = Decimal(f"{close:.8f}")
        bars.append(
            Bar(
                symbol=symbol,
                venue=venue,
                ts=first + step * i,
                timeframe=timeframe,
                open=value,
                high=value,
                low=value,
                close=value,
                volume=Decimal(1),
            )
        )
    return bars


def book(
    symbol: str,
    venue: str,
    bids: Sequence[tuple[str, str]],
    asks: Sequence[tuple[str, str]],
    ts: datetime = NOW,
) -> OrderBook:
    return OrderBook(
        symbol=symbol,
        venue=venue,
        ts=ts,
        bids=tuple(BookLevel(price=Decimal(p), amount=Decimal(a)) for p, a in bids),
        asks=tuple(BookLevel(price=Decimal(p), amount=Decimal(a)) for p, a in asks),
    )
