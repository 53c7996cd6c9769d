"""Replay: bars/s streamed from a file and the process's peak memory, now and (optionally) before.

Each measurement runs in a fresh subprocess, so the peak resident memory it
reports (``ru_maxrss``) is that of one replay and nothing else: the process
starts the source (header checks, increments pass), iterates every event of
``stream()`` without keeping them, and prints its figures. ``blocks()`` is
timed the same way (events and one float column per block, as an engine
precomputing on closes would ask for).

The data is ``--data FILE`` (one-minute OHLCV, ccxt columns; the project's
anchor workload is ``make_bars.py --symbols 1 --bars 1000000``), or
``--rows N`` one-minute bars of the synthetic market written to a temporary
CSV (and Parquet, with pyarrow). ``--before REV`` also measures the replay
package as it was at git revision ``REV`` (e.g. the commit before streaming),
copied out of git into a temporary folder, on the same file.

Figures only; nothing is asserted. Run:
``.venv/bin/python bench/replay.py --data DIR/BTCUSDT_1m.csv [--before REV]``
or ``.venv/bin/python bench/replay.py --rows 200000``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "crypto_bot_core/builtins/replay"


def _child(path: str, fmt: str, mode: str, package: str | None, size: int) -> None:
    """One measurement, printed as a JSON line (runs in its own process)."""
    import asyncio
    import resource
    import time

    if package is not None:
        sys.path.insert(0, str(Path(package).parent))
        module = __import__(Path(package).name)
    else:
        import crypto_bot_core.builtins.replay as module

    def rss_mb() -> float:
        """Peak resident memory of this process so far, in MB."""
        try:
            # VmHWM belongs to this program's own address space; ru_maxrss would carry over
            # the high-water mark of the parent this process was forked from.
            with open("/proc/self/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            pass
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    source = module.ReplaySource.from_config(
        {
            "files": [
                {
                    "path": path,
                    "symbol": "BTC/USDT",
                    "venue": "binance",
                    "timeframe": "1m",
                    "format": fmt,
                }
            ]
        }
    )
    baseline = rss_mb()

    async def run() -> tuple[float, float, int]:
        began = time.perf_counter()
        await source.start()
        source.instruments()
        started = time.perf_counter() - began
        count = 0
        began = time.perf_counter()
        if mode == "stream":
            async for _event in source.stream():
                count += 1
        else:
            for block in source.blocks(size=size):
                count += len(block.events)
                for columns in block.bars.values():
                    columns.close  # noqa: B018 - the column an EMA precomputation reads
        return started, time.perf_counter() - began, count

    cpu = time.process_time()
    started, streamed, count = asyncio.run(run())
    cpu = time.process_time() - cpu
    print(
        json.dumps(
            {
                "start_s": started,
                "stream_s": streamed,
                "cpu_s": cpu,
                "events": count,
                "baseline_mb": baseline,
                "peak_mb": rss_mb(),
            }
        )
    )


def _measure(
    path: Path, fmt: str, mode: str, package: Path | None, size: int = 65536
) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", str(path), fmt, mode, str(size)]
    if package is not None:
        command.append(str(package))
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"measurement failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _before(revision: str, folder: Path) -> Path:
    """The replay package at ``revision``, importable as ``replay_before`` from ``folder``."""
    names = subprocess.run(
        ["git", "ls-tree", "--name-only", revision, f"{PACKAGE}/"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    target = folder / "replay_before"
    target.mkdir()
    for name in names:
        text = subprocess.run(
            ["git", "show", f"{revision}:{name}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        text = text.replace("crypto_bot_core.builtins.replay", "replay_before")
        (target / Path(name).name).write_text(text)
    return target


def _write(directory: Path, rows: int) -> list[Path]:
    from crypto_bot_core.builtins.synthetic_market import SyntheticMarket

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
    paths = [csv_path]
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return paths
    parquet_path = directory / "bars.parquet"
    pq.write_table(
        pa.table({"timestamp": arrays["ts"], **{c: arrays[c] for c in columns}}), parquet_path
    )
    return [*paths, parquet_path]


def _report(label: str, figures: dict[str, Any]) -> None:
    events = figures["events"]
    whole = figures["start_s"] + figures["stream_s"]
    print(
        f"{label:<26} {events / figures['stream_s']:>9,.0f} events/s streamed, "
        f"start() {figures['start_s']:5.2f} s; with start {events / whole:>9,.0f}/s "
        f"({events / figures['cpu_s']:>9,.0f}/s of CPU time); "
        f"peak RSS {figures['peak_mb']:6.1f} MB ({figures['baseline_mb']:.0f} MB after imports)"
    )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        data, fmt, mode, size = sys.argv[2:6]
        _child(data, fmt, mode, sys.argv[6] if len(sys.argv) > 6 else None, int(size))
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, help="a one-minute OHLCV CSV or Parquet file")
    parser.add_argument("--rows", type=int, default=200_000, help="synthetic bars without --data")
    parser.add_argument("--before", metavar="REV", help="also measure the replay at git REV")
    parser.add_argument(
        "--block-size", type=int, action="append", help="blocks() size (repeatable; 65536)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        paths = [args.data.resolve()] if args.data else _write(Path(folder), args.rows)
        before = _before(args.before, Path(folder)) if args.before else None
        for path in paths:
            fmt = "parquet" if path.suffix in (".parquet", ".pq") else "csv"
            print(f"{path.name}:")
            if before is not None:
                _report(f"  stream() at {args.before}", _measure(path, fmt, "stream", before))
            _report("  stream() now", _measure(path, fmt, "stream", None))
            for size in args.block_size or [65536]:
                _report(f"  blocks({size}) now", _measure(path, fmt, "blocks", None, size))


if __name__ == "__main__":
    main()
