"""Technical agents: cost of one ``evaluate`` per bar with incremental state.

Streams synthetic one-minute bars into the SDK's ``InMemoryMarketView`` (512
bars kept, as the engine does) and times each agent's ``evaluate`` on every
bar, excluding the view update. Figures only; nothing is asserted.

Run: ``.venv/bin/python bench/technical_agents.py [--bars 100000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from crypto_bot_core.builtins.synthetic_market import SyntheticMarket
from crypto_bot_core.builtins.technical_agents import (
    EmaCrossoverAgent,
    MomentumBreakoutAgent,
    RsiMeanReversionAgent,
)
from crypto_bot_sdk import Agent, Bar, InMemoryMarketView


async def _bars(count: int) -> list[Bar]:
    source = SyntheticMarket.from_config(
        {"symbols": ["BTC/USDT"], "venues": ["binance"], "bars": count}
    )
    return [bar async for bar in source.stream() if isinstance(bar, Bar)]


async def _time(agent: Agent[Any], bars: list[Bar]) -> float:
    view = InMemoryMarketView(max_bars=512)
    spent = 0.0
    for bar in bars:
        view.update(bar)
        began = time.perf_counter()
        await agent.evaluate("BTC/USDT", view)
        spent += time.perf_counter() - began
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bars", type=int, default=100_000)
    args = parser.parse_args()
    bars = asyncio.run(_bars(args.bars))
    agents: list[Agent[Any]] = [
        EmaCrossoverAgent.from_config({"fast": 10, "slow": 20}),
        RsiMeanReversionAgent.from_config({}),
        MomentumBreakoutAgent.from_config({}),
    ]
    for agent in agents:
        spent = asyncio.run(_time(agent, bars))
        print(
            f"{agent.name}: {spent / len(bars) * 1e6:.2f} us per evaluate, "
            f"{len(bars) / spent:,.0f} evaluations/s over {len(bars):,} bars"
        )


if __name__ == "__main__":
    main()
