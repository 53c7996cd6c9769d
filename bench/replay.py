"""Replay: rows read and validated per second from CSV and Parquet, and events streamed.

Writes ``--rows`` one-minute bars (from the synthetic market) to a CSV and a
Parquet file in a temporary directory, then times ``start()`` (read and check
every row) and a full ``stream()``. Figures only; nothing is asserted.

Run: ``.venv/bin/python bench/replay.py [--rows 200000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from crypto_bot_core.builtins.replay import ReplaySource
from crypto_bot_core.builtins.synthetic_market import SyntheticMarket


def _write(directory: Path, rows: int) -> tuple[Path, Path]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = SyntheticMarket.from_config(
        {"symbols": ["BTC/USDT"], "venues": ["binance"], "bars": rows}
    ).arrays("BTC/USDT", "binance")
    columns = ("open", "high", "low", "close", "volume")
    csv_path = directory / "bars.csv"
    with csv_path.open("w") as handle:
        handle.write("timestamp,open,high,low,close,volume\n")
        for ts, *values in zip(
            arrays["ts"].tolist(), *(arrays[c].tolist() for c in columns), strict=True
        ):
            handle.write(f"{ts}," + ",".join(repr(v) for v in values) + "\n")
    parquet_path = directory / "bars.parquet"
    pq.write_table(
        pa.table({"timestamp": arrays["ts"], **{c: arrays[c] for c in columns}}), parquet_path
    )
    return csv_path, parquet_path


async def _measure(path: Path) -> tuple[float, float, int]:
    source = ReplaySource.from_config(
        {
            "files": [
                {"path": str(path), "symbol": "BTC/USDT", "venue": "binance", "timeframe": "1m"}
            ]
        }
    )
    began = time.perf_counter()
    await source.start()
    loaded = time.perf_counter() - began
    began = time.perf_counter()
    count = 0
    async for _event in source.stream():
        count += 1
    return loaded, time.perf_counter() - began, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for path in _write(Path(folder), args.rows):
            loaded, streamed, count = asyncio.run(_measure(path))
            print(
                f"{path.suffix[1:]:>7}: read and checked {count / loaded:,.0f} rows/s, "
                f"streamed {count / streamed:,.0f} events/s ({count:,} rows)"
            )


if __name__ == "__main__":
    main()
