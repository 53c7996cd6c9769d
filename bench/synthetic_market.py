"""Synthetic market: generation time, array fast path and streaming rate.

Prints, for 1,000,000 one-minute bars of one symbol on one venue (and for
five symbols on three venues): the time to generate the paths (``start()``),
to read one market's numpy arrays, and the rate of ``stream()`` yielding
``Bar`` objects. Figures only; nothing is asserted.

Run: ``.venv/bin/python bench/synthetic_market.py [--bars 1000000] [--stream 300000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from crypto_bot_core.builtins.synthetic_market import SyntheticMarket


def _generate(settings: dict[str, object]) -> tuple[SyntheticMarket, float]:
    source = SyntheticMarket.from_config(settings)
    began = time.perf_counter()
    asyncio.run(source.start())
    return source, time.perf_counter() - began


async def _stream(source: SyntheticMarket, limit: int) -> tuple[int, float]:
    count = 0
    began = time.perf_counter()
    async for _bar in source.stream():
        count += 1
        if count >= limit:
            break
    return count, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--stream", type=int, default=300_000)
    args = parser.parse_args()
    one, seconds = _generate({"symbols": ["BTC/USDT"], "venues": ["binance"], "bars": args.bars})
    print(f"generate {args.bars:,} bars, 1 symbol x 1 venue: {seconds:.2f} s")
    began = time.perf_counter()
    arrays = one.arrays("BTC/USDT", "binance")
    print(f"arrays(): {time.perf_counter() - began:.3f} s for {arrays['close'].size:,} bars")
    wide = {
        "symbols": ["BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "ADA/USDT"],
        "venues": ["binance", "okx", "bybit"],
        "bars": args.bars,
    }
    _, seconds = _generate(wide)
    print(f"generate {args.bars:,} bars, 5 symbols x 3 venues: {seconds:.2f} s")
    count, seconds = asyncio.run(_stream(one, args.stream))
    print(f"stream(): {count / seconds:,.0f} bars/s ({seconds / count * 1e6:.2f} us per Bar)")


if __name__ == "__main__":
    main()
