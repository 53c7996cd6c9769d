"""Engine throughput, step() rate and tick-to-order latency; prints figures, asserts nothing.

    .venv/bin/python bench/engine.py [--bars 1000000] [--fill-at signal_close|next_open]
        [--data-dir DIR] [--anchors /work/shared/anchors] [--step-bars 50000]
        [--latency-bars 20000] [--paced-bars 200 --paced-gap-ms 5]
        [--bt-venv /tmp/btvenv | --no-backtesting-py] [--bt-repeat 1] [--skip-cli]

The strategy is the performance anchor's (``/work/shared/TARGETS.md``): one symbol,
EMA(10)/EMA(20) crossover of the close, long only, decisions from bar index 19, market
orders filled at the signal bar's close. Printed:

* **file** - the anchor's bars (``make_bars.py``, CSV; generated once per bar count and
  kept under ``--data-dir``), 1 unit a trade (``quantity_per_symbol: "1"``), through the
  whole pipeline: replay source, agent, policy, sizing, the five standard risk rules,
  router, order manager, paper exchange, portfolio, equity curve and the hash-linked
  SQLite ledger. Twice: *whole process*, ``cryptobot backtest --data FILE --config ...``
  timed from spawn to exit with its peak RSS (``os.wait4``: the rusage of that one
  child, where ``RUSAGE_CHILDREN`` would be the largest of every child this bench ran,
  make_bars and backtesting.py included); and *in process*, ``run()`` and ``close()``
  timed, ``start()`` (reading and checking the CSV) timed apart. Each run's fills are
  fingerprinted as the anchors define it (count, gross P&L per unit, ``fill_sig``) and
  compared with the expected fingerprint of the anchors' README.
* **synthetic** - the synthetic market (seed 7), 10,000 USDT a position, the same
  pipeline, ledger on and off; generating the market in ``start()`` is not timed.
* **bare loop** - the same strategy on the same bars in a plain loop (bar -> on_bar ->
  broker, no framework), and the engine's overhead ratio to it (goal <= 8x).
* **backtesting.py** 0.6.6 - the anchor's ``backtesting_ema.py`` on the same CSV, run in
  its own virtual environment (``--bt-venv``, created and installed on first use; never
  the project's), and the ratio of the engine's rate to its (goal >= 2x).
* **step()** - the engine driven one tick at a time as an RL environment drives it
  (``merged()`` batches -> ``engine.step(batch)``), ledger off; the loop, the merge of
  the source's stream included, is timed.
* **latency** - tick-to-order in paper mode (:mod:`latency`, the code CI's budget test
  runs), ledger off and on; and the same with a paced source (a tick every
  ``--paced-gap-ms``), which shows whether a tick is decided when it arrives.

The machine is shared: the load average is printed with each section, CPU time beside
wall time, and wall-clock rates are only comparable at similar load.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from latency import CASH, SYMBOL, TAKER_FEE, paper_latency, strategy_config, synthetic_config

from crypto_bot_core.app.assembly import assemble
from crypto_bot_core.config import parse_config
from crypto_bot_core.engine.kernel import Engine
from crypto_bot_core.engine.orders import AuditLog, MemoryAuditLog
from crypto_bot_core.engine.streams import merged
from crypto_bot_core.host import Host
from crypto_bot_core.ledger import open_ledger
from crypto_bot_sdk import MarketEvent, RecordType, Side

ANCHORS = Path("/work/shared/anchors")
ANCHOR_FILE = "BTCUSDT_1m.csv"
BT_VERSION = "0.6.6"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MS = timedelta(milliseconds=1)
FILE_VENUE = "backtest"
"""The venue name ``cryptobot backtest`` gives the replayed data and its paper venue."""

TARGET_PIPELINE = 250_000.0
TARGET_WHOLE_PROCESS = 150_000.0
TARGET_PEAK_MB = 400.0
TARGET_BARE_RATIO = 8.0
TARGET_BT_RATIO = 2.0
TARGET_STEPS = 25_000.0
TARGET_P99_US = 1_000.0


def strategy(fill_at: str) -> str:
    """The anchor strategy on the file: 1 unit a trade, risk limits above one unit's
    notional (the anchor's prices stay under 60,000)."""
    return strategy_config(
        venue=FILE_VENUE,
        fill_at=fill_at,
        sizing='quantity_per_symbol: "1"',
        order_limit="100000",
        position_limit="100000",
    )


def file_config(csv: Path, fill_at: str) -> str:
    """The in-process run: the replay source configured as ``cryptobot backtest`` does."""
    source = {"path": str(csv), "symbol": SYMBOL, "venue": FILE_VENUE, "timeframe": "1m"}
    return (
        "mode: backtest\ndata_sources:\n  - name: replay\n    plugin: replay\n"
        f"    config: {{files: [{json.dumps(source)}]}}\n" + strategy(fill_at)
    )


def cli_config(run_dir: Path, fill_at: str) -> str:
    """The ``--config`` of the whole-process run: the CLI adds the replay source itself."""
    return f"mode: backtest\nrun: {{run_dir: {json.dumps(str(run_dir))}}}\n" + strategy(fill_at)


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs"


# --- fingerprints ------------------------------------------------------------------


@dataclass(frozen=True)
class Fingerprint:
    """The anchors' equivalence fingerprint of a fill sequence.

    Two backtests with the same ``fill_sig`` made the same trades on the same bars;
    the count and gross P&L per unit make a mismatch easier to read.
    """

    fills: int
    gross_pnl_per_unit: Decimal
    fill_sig: str
    """First 12 hex digits of SHA-1 over "bar_index:side;" (side B or S) of every fill."""

    def text(self) -> str:
        return (
            f"{self.fills:,} fills, gross P&L per unit {self.gross_pnl_per_unit:,}, "
            f"fill_sig {self.fill_sig}"
        )

    def against(self, expected: Fingerprint | None) -> str:
        if expected is None:
            return "(no expected fingerprint for this bar count)"
        same = self == expected
        return "EQUAL to the anchor's" if same else f"DIFFERS from the anchor's {expected.text()}"


EXPECTED = {
    100_000: Fingerprint(4_552, Decimal("-8416.29"), "7daa86b52ffd"),
    1_000_000: Fingerprint(44_854, Decimal("-14321.46"), "473fd2824b0f"),
}
"""From the anchors' README (``/work/shared/anchors/README.md``)."""


def fingerprint(fills: Iterable[tuple[int, str, Decimal]]) -> Fingerprint:
    """Fingerprint of ``(bar_index, "B" | "S", price)`` fills in time order.

    The P&L pairs each sell with the last buy before it (long only, one unit): the sum of
    sell minus buy prices over closed round trips, a position open at the end left out.
    """
    digest = hashlib.sha1()
    count = 0
    pnl = Decimal(0)
    opened: Decimal | None = None
    for index, side, price in fills:
        digest.update(f"{index}:{side};".encode())
        count += 1
        if side == "B":
            opened = price
        elif opened is not None:
            pnl += price - opened
            opened = None
    return Fingerprint(count, pnl.quantize(Decimal("0.01")), digest.hexdigest()[:12])


def bar_index(opens_ms: Sequence[int], fill_ms: int) -> int:
    """The bar whose close a fill is at: the last bar that opened before the fill.

    A fill at the signal bar's close is stamped with that bar's close time, the next
    bar's open; a fill at the next open is stamped with that open and counts for the bar
    before it, the signal bar, as in the anchors.
    """
    return bisect_left(opens_ms, fill_ms) - 1


def to_ms(ts: datetime) -> int:
    return (ts - EPOCH) // MS


def side_code(side: Side | str) -> str:
    return "B" if Side(side) is Side.BUY else "S"


def engine_fills(engine: Engine, opens_ms: Sequence[int]) -> Fingerprint:
    return fingerprint(
        (bar_index(opens_ms, to_ms(row.fill.ts)), side_code(row.fill.side), row.fill.price)
        for row in engine.trades
    )


def ledger_fills(url: str, opens_ms: Sequence[int]) -> tuple[Fingerprint, int, bool]:
    """The fingerprint of the FILL records of a ledger, its record count and whether its
    hash chain verifies."""
    ledger = open_ledger(url)
    try:
        fills = [
            (
                bar_index(opens_ms, to_ms(datetime.fromisoformat(r.payload["ts"]))),
                side_code(r.payload["side"]),
                Decimal(r.payload["price"]),
            )
            for r in ledger.records(types=[RecordType.FILL])
        ]
        verified = ledger.verify(require_signatures=False).ok
        return fingerprint(fills), len(ledger), verified
    finally:
        ledger.close()


# --- the anchor's bars ---------------------------------------------------------------

Row = tuple[int, float, float, float, float, float]


def anchor_bars(anchors: Path, bars: int, folder: Path) -> Path:
    """The anchor's CSV of ``bars`` bars in ``folder``, made by its own script if missing."""
    csv = folder / ANCHOR_FILE
    meta = folder / "meta.json"
    if csv.exists() and meta.exists() and json.loads(meta.read_text()).get("bars") == bars:
        print(f"  anchor bars: {csv} (kept from an earlier run)")
        return csv
    folder.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    subprocess.run(
        [sys.executable, str(anchors / "make_bars.py"), "--symbols", "1", "--bars", str(bars),
         "--out", str(folder)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    print(f"  anchor bars: {csv} (made by make_bars.py in {time.perf_counter() - began:.1f} s)")
    return csv


def read_rows(csv: Path) -> list[Row]:
    """The bare loop's input: the CSV parsed to tuples in memory (not timed)."""
    rows: list[Row] = []
    with csv.open() as handle:
        next(handle)
        for line in handle:
            ts, o, h, lo, c, v = line.split(",")
            rows.append((int(ts), float(o), float(h), float(lo), float(c), float(v)))
    return rows


# --- engine runs ---------------------------------------------------------------------


@dataclass
class Figures:
    """One timed run: what it did and how long it took; the engine is not kept (memory)."""

    bars: int
    wall: float
    cpu: float
    orders: int
    fills: int
    killed: bool
    start_s: float = 0.0

    @property
    def rate(self) -> float:
        return self.bars / self.wall

    def line(self, label: str) -> str:
        text = (
            f"  {label:<34} {self.rate:>11,.0f} bars/s wall ({self.bars / self.cpu:,.0f}/s CPU)"
            f"  {self.bars:,} bars in {self.wall:.2f} s, {self.orders:,} orders, "
            f"{self.fills:,} fills"
        )
        if self.killed:
            text += f"\n    (the kill switch stopped this run early: {self.bars:,} bars)"
        return text


def figures(engine: Engine, wall: float, cpu: float, start_s: float = 0.0) -> Figures:
    s = engine.stats
    return Figures(s.bars, wall, cpu, s.orders, s.fills, engine.killed, start_s)


def build(text: str, host: Host, ledger: AuditLog, run_id: str) -> Engine:
    loaded = parse_config(text, source="<bench>", environ={})
    run_dir = Path(tempfile.mkdtemp(prefix="bench-engine-"))
    return assemble(loaded, host, ledger=ledger, run_id=run_id, run_dir=run_dir).engine


def new_ledger(on: bool) -> tuple[AuditLog, str | None]:
    if not on:
        return MemoryAuditLog(), None
    url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='bench-ledger-')) / 'ledger.sqlite'}"
    return open_ledger(url), url


async def _timed(engine: Engine) -> tuple[float, float, float]:
    """(wall, CPU) of run(), close() and closing the engine's ledger, and start() apart.

    ``Engine.close()`` writes the stop record but leaves a backtest's last ledger batch
    uncommitted; closing ``engine.ledger`` (the batching log) commits it, as the runner
    does, so that commit is timed too.
    """
    began = time.perf_counter()
    await engine.start()
    start_s = time.perf_counter() - began
    wall, cpu = time.perf_counter(), time.process_time()
    await engine.run()
    await engine.close()
    close = getattr(engine.ledger, "close", None)
    if callable(close):
        close()
    return time.perf_counter() - wall, time.process_time() - cpu, start_s


def pipeline(text: str, host: Host, *, ledger_on: bool, run_id: str) -> tuple[Figures, Engine, str]:
    """One timed backtest; with the ledger on, the last item says what the ledger holds
    and whether its hash chain verifies (checked after the timing)."""
    ledger, url = new_ledger(ledger_on)
    engine = build(text, host, ledger, run_id)
    wall, cpu, start_s = asyncio.run(_timed(engine))
    note = ""
    if url is not None:
        check = open_ledger(url)
        try:
            report = check.verify(require_signatures=False)
            note = f"    ledger: {len(check):,} records, chain verified: {report.ok}"
        finally:
            check.close()
    return figures(engine, wall, cpu, start_s), engine, note


@dataclass
class Process:
    """The whole-process run: wall time from spawn to exit, and the child's peak RSS."""

    bars: int
    wall: float
    cpu: float
    peak_mb: float
    returncode: int
    output: str

    @property
    def rate(self) -> float:
        return self.bars / self.wall


def whole_process(csv: Path, bars: int, fill_at: str) -> tuple[Process, str]:
    """``cryptobot backtest --data csv --config ...`` in a fresh folder; returns its figures
    and its ledger's URL."""
    folder = Path(tempfile.mkdtemp(prefix="bench-cli-"))
    config = folder / "bench.yaml"
    config.write_text(cli_config(folder / "runs", fill_at))
    cryptobot = Path(sys.executable).with_name("cryptobot")
    command = [str(cryptobot), "backtest", "--data", str(csv), "--config", str(config),
               "--no-progress", "--run-id", "bench-cli"]  # fmt: skip
    log = folder / "output.txt"
    with log.open("wb") as out:
        began = time.perf_counter()
        child = subprocess.Popen(command, cwd=folder, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - began
    child.returncode = os.waitstatus_to_exitcode(status)
    process = Process(
        bars,
        wall,
        usage.ru_utime + usage.ru_stime,
        usage.ru_maxrss / 1024,  # KiB on Linux
        child.returncode,
        log.read_text(errors="replace"),
    )
    return process, f"sqlite:///{folder / 'runs' / 'bench-cli' / 'ledger.sqlite'}"


# --- the bare loop -------------------------------------------------------------------


class Broker:
    """The bare loop's broker: market orders filled at the bar's close, taker fee."""

    def __init__(self, cash: float) -> None:
        self.cash = cash
        self.position = 0.0
        self.fills: list[tuple[int, str, float]] = []

    def order(self, index: int, quantity: float, price: float) -> None:
        self.cash -= quantity * price + abs(quantity) * price * float(TAKER_FEE)
        self.position += quantity
        self.fills.append((index, "B" if quantity > 0 else "S", price))


class BareStrategy:
    """EMA(10)/EMA(20) long-only crossover, 1 unit: the engine agent's formulas (long while
    the fast EMA is above the slow one), decisions once both EMAs have seen 20 bars."""

    def __init__(self, broker: Broker, fast: int = 10, slow: int = 20) -> None:
        self.broker = broker
        self.fa, self.sa = 2.0 / (fast + 1), 2.0 / (slow + 1)
        self.required = slow
        self.fast = self.slow = 0.0
        self.count = 0

    def on_bar(self, bar: Row) -> None:
        close = bar[4]
        self.count += 1
        if self.count == 1:
            self.fast = self.slow = close
        else:
            self.fast += self.fa * (close - self.fast)
            self.slow += self.sa * (close - self.slow)
        if self.count < self.required:
            return
        want_long = self.fast > self.slow
        broker = self.broker
        if want_long and broker.position == 0.0:
            broker.order(self.count - 1, 1.0, close)
        elif not want_long and broker.position > 0.0:
            broker.order(self.count - 1, -broker.position, close)


def bare_loop(rows: Sequence[Row]) -> tuple[float, Fingerprint]:
    broker = Broker(float(CASH))
    strategy = BareStrategy(broker)
    on_bar = strategy.on_bar
    started = time.perf_counter()
    for bar in rows:
        on_bar(bar)
    rate = len(rows) / (time.perf_counter() - started)
    return rate, fingerprint((i, s, Decimal(f"{p:.2f}")) for i, s, p in broker.fills)


# --- backtesting.py ------------------------------------------------------------------


def backtesting_python(venv: Path) -> tuple[Path | None, str]:
    """A Python with backtesting.py 0.6.6 in ``venv`` (created on first use), or why not."""
    python = venv / "bin" / "python"
    probe = f"import backtesting; assert backtesting.__version__ == {BT_VERSION!r}"
    if python.exists():
        found = subprocess.run([python, "-c", probe], capture_output=True, check=False)
        if found.returncode == 0:
            return python, ""
    base = shutil.which("python3.12") or sys.executable
    print(f"  installing backtesting=={BT_VERSION} into {venv} (with {base}) ...")
    try:
        subprocess.run(
            [base, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=300
        )
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "-q", f"backtesting=={BT_VERSION}"],
            check=True,
            capture_output=True,
            timeout=600,
        )
    except subprocess.CalledProcessError as exc:
        tail = (exc.stderr or b"").decode(errors="replace").strip().splitlines()[-1:]
        return None, f"the install failed: {' '.join(tail) or exc}"
    except (subprocess.TimeoutExpired, OSError) as exc:
        return None, f"the install failed: {exc}"
    return python, ""


def backtesting_py(
    python: Path, anchors: Path, csv: Path, bars: int, repeat: int
) -> dict[str, Any]:
    """The anchor's backtesting.py run on ``csv``: its RESULT record."""
    done = subprocess.run(
        [str(python), str(anchors / "backtesting_ema.py"), "--data", str(csv), "--bars",
         str(bars), "--repeat", str(repeat)],
        capture_output=True,
        text=True,
        check=True,
    )  # fmt: skip
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    result: dict[str, Any] = json.loads(line.removeprefix("RESULT "))
    return result


# --- step() one tick at a time -------------------------------------------------------


async def _drive(engine: Engine) -> tuple[int, float, float]:
    """Steps, wall and CPU of driving ``engine`` tick by tick as an RL environment does."""
    await engine.start()
    steps = 0
    batch: list[MarketEvent] = []
    step = engine.step
    wall, cpu = time.perf_counter(), time.process_time()
    async for event in merged(engine.data_sources, None, None):
        if batch and event.ts != batch[0].ts:
            await step(batch)
            steps += 1
            batch = []
        batch.append(event)
    if batch:
        await step(batch)
        steps += 1
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    await engine.close()
    return steps, wall, cpu


# --- main ----------------------------------------------------------------------------


@dataclass
class Report:
    """What the sections measured, for the closing comparison with the targets."""

    bars: int
    fill_at: str
    expected: Fingerprint | None
    engine_rate: float | None = None
    process: Process | None = None
    synthetic: dict[bool, Figures] = field(default_factory=dict)
    bare_rate: float | None = None
    bt_rate: float | None = None
    step_rate: float | None = None
    p99: dict[bool, float] = field(default_factory=dict)

    @property
    def reference(self) -> tuple[str, float] | None:
        """The engine figure the ratios are of: the file in process, else the synthetic run."""
        if self.engine_rate is not None:
            return "file in process, ledger on", self.engine_rate
        if True in self.synthetic:
            return "synthetic, ledger on", self.synthetic[True].rate
        return None


def file_section(report: Report, host: Host, csv: Path, opens_ms: list[int], cli: bool) -> None:
    """The targets' headline case: the anchor's CSV, whole process first (what a user runs,
    start-up and CSV read included), then in process (the engine's own rate)."""
    bars, expected = report.bars, report.expected
    print(f"file, the anchor's bars, 1 unit a trade, ledger on (SQLite) - {load()}:")
    if cli:
        process, url = whole_process(csv, bars, report.fill_at)
        if process.returncode != 0:
            print(f"  cryptobot backtest failed (exit {process.returncode}):")
            print("    " + "\n    ".join(process.output.strip().splitlines()[-8:]))
        else:
            report.process = process
            print(
                f"  {'whole process (cryptobot backtest)':<34} {process.rate:>11,.0f} bars/s "
                f"wall ({bars / process.cpu:,.0f}/s CPU)  {bars:,} bars in "
                f"{process.wall:.2f} s, peak RSS {process.peak_mb:,.0f} MB"
            )
            found, records, verified = ledger_fills(url, opens_ms)
            print(f"    ledger: {records:,} records, chain verified: {verified}")
            print(f"    fills: {found.text()}: {found.against(expected)}")
    try:
        run, engine, note = pipeline(
            file_config(csv, report.fill_at), host, ledger_on=True, run_id="bench-file"
        )
    except Exception as exc:  # another part may be mid-edit: say so, measure the rest
        print(f"  in-process file run failed: {type(exc).__name__}: {exc}")
        return
    report.engine_rate = run.rate
    print(run.line("in process (replay source)"))
    print(note)
    print(
        f"    start() read and checked the CSV in {run.start_s:.2f} s (not in the rate; with "
        f"it {bars / (run.wall + run.start_s):,.0f} bars/s); precomputed scores: "
        f"{engine.precomputed.active}"
    )
    found = engine_fills(engine, opens_ms)
    print(f"    fills: {found.text()}: {found.against(expected)}")


def synthetic_section(report: Report, host: Host) -> None:
    print(f"synthetic source, 10,000 USDT a position - {load()}:")
    for ledger_on in (True, False):
        run, engine, note = pipeline(
            synthetic_config(report.bars, mode="backtest", fill_at=report.fill_at),
            host,
            ledger_on=ledger_on,
            run_id=f"bench-synthetic-{'on' if ledger_on else 'off'}",
        )
        report.synthetic[ledger_on] = run
        print(run.line("ledger on (SQLite)" if ledger_on else "ledger off"))
        if ledger_on:
            print(note)
            final = engine.summary()
            print(
                f"    run: pnl {final.pnl.quantize(Decimal('0.01'))} USDT, "
                f"{final.fills:,} fills, {final.round_trips:,} round trips, "
                f"max drawdown {final.max_drawdown:.2%}"
            )


def bare_section(report: Report, rows: Sequence[Row]) -> None:
    """The floor: the strategy with no framework; the engine's overhead is measured to it."""
    print(f"bare loop (bar -> on_bar -> broker) on the anchor's bars - {load()}:")
    rate, found = bare_loop(rows)
    report.bare_rate = rate
    print(f"  {rate:,.0f} bars/s; {found.text()}: {found.against(report.expected)}")


def backtesting_section(report: Report, venv: Path, anchors: Path, csv: Path, repeat: int) -> None:
    print(f"backtesting.py {BT_VERSION} on the same CSV, in its own venv - {load()}:")
    python, why = backtesting_python(venv)
    if python is None:
        print(f"  skipped: {why}")
        return
    try:
        result = backtesting_py(python, anchors, csv, report.bars, repeat)
    except subprocess.CalledProcessError as exc:
        print(f"  skipped: backtesting_ema.py failed: {str(exc.stderr).strip()[-300:]}")
        return
    report.bt_rate = float(result["bars_per_s"])
    found = Fingerprint(
        int(result["fills"]),
        Decimal(str(result["gross_pnl_per_unit"])).quantize(Decimal("0.01")),
        str(result["fill_sig"]),
    )
    print(
        f"  {report.bt_rate:,.0f} bars/s wall (median of {repeat}; "
        f"{report.bars / float(result['cpu_median_s']):,.0f}/s CPU); its end-of-run "
        f"statistics alone take {result['stats_part_s']} s"
    )
    print(f"    fills: {found.text()}: {found.against(report.expected)}")


def step_section(report: Report, host: Host, bars: int) -> None:
    """An RL environment's loop: no read-ahead, no precomputed scores, a step per tick."""
    print(f"step() one tick at a time (RL), synthetic, ledger off - {load()}:")
    engine = build(
        synthetic_config(bars, mode="backtest", fill_at=report.fill_at),
        host,
        MemoryAuditLog(),
        "bench-step",
    )
    steps, wall, cpu = asyncio.run(_drive(engine))
    report.step_rate = steps / wall
    print(
        f"  {steps / wall:,.0f} steps/s wall ({steps / cpu:,.0f}/s CPU)  {steps:,} steps "
        f"in {wall:.2f} s, {engine.stats.orders:,} orders, {engine.stats.fills:,} fills"
    )


def latency_section(report: Report, host: Host, bars: int, paced_bars: int, gap_ms: float) -> None:
    print(f"tick-to-order latency, paper mode, {bars:,} bars - {load()}:")
    for ledger_on in (False, True) if bars else ():
        run = paper_latency(bars, host, ledger_on=ledger_on, fill_at=report.fill_at)
        print(run.line("ledger on (SQLite, durable)" if ledger_on else "ledger off"))
        if run.samples:
            report.p99[ledger_on] = run.percentile(0.99)
    if paced_bars:
        gap = gap_ms / 1000
        paced = paper_latency(paced_bars, host, ledger_on=False, fill_at=report.fill_at, gap_s=gap)
        print(paced.line(f"paced, a tick every {gap_ms:g} ms"))
        if paced.samples and paced.percentile(0.5) >= gap * 1e6 * 0.8:
            print(
                "    a tick's order waits for the next tick: the engine decides a timestamp "
                "only once the first event of the next one has arrived"
            )


def versus(label: str, shown: str, goal: str, ok: bool) -> str:
    """One line of the closing comparison: the figure, the target, met or not."""
    return f"  {label}: {shown} vs {goal}: {'met' if ok else 'NOT met'}"


def summary(report: Report) -> None:
    print(f"against the targets (/work/shared/TARGETS.md) - after: {load()}")
    lines: list[str] = []
    rate = report.engine_rate
    if rate is not None:
        ok = rate >= TARGET_PIPELINE
        lines.append(versus("file in process", f"{rate:,.0f} bars/s", ">= 250,000", ok))
    process = report.process
    if process is not None:
        ok = process.rate >= TARGET_WHOLE_PROCESS
        shown = f"{process.rate:,.0f} bars/s"
        lines.append(versus("file whole process", shown, ">= 150,000", ok))
        ok = process.peak_mb <= TARGET_PEAK_MB
        shown = f"{process.peak_mb:,.0f} MB"
        lines.append(versus("file whole process, peak RSS", shown, "<= 400 MB", ok))
    for ledger_on, run in report.synthetic.items():
        label = f"synthetic, ledger {'on' if ledger_on else 'off'}"
        ok = run.rate >= TARGET_PIPELINE
        lines.append(versus(label, f"{run.rate:,.0f} bars/s", ">= 250,000", ok))
    reference = report.reference
    if reference is not None and report.bare_rate is not None:
        ratio = report.bare_rate / reference[1]
        label = f"bare loop / engine ({reference[0]})"
        lines.append(versus(label, f"{ratio:.1f}x", "<= 8x", ratio <= TARGET_BARE_RATIO))
    if reference is not None and report.bt_rate is not None:
        ratio = reference[1] / report.bt_rate
        label = f"engine ({reference[0]}) / backtesting.py"
        lines.append(versus(label, f"{ratio:.2f}x", ">= 2x", ratio >= TARGET_BT_RATIO))
    if report.step_rate is not None:
        ok = report.step_rate >= TARGET_STEPS
        lines.append(versus("step()", f"{report.step_rate:,.0f} steps/s", ">= 25,000", ok))
    for ledger_on, value in report.p99.items():
        label = f"tick-to-order p99, ledger {'on' if ledger_on else 'off'}"
        lines.append(versus(label, f"{value:,.0f} us", "< 1,000 us", value < TARGET_P99_US))
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--fill-at", choices=("signal_close", "next_open"), default="signal_close")
    parser.add_argument("--anchors", type=Path, default=ANCHORS, help="the anchor scripts")
    parser.add_argument("--data-dir", type=Path, help="where the anchor CSV is made and kept")
    parser.add_argument("--skip-cli", action="store_true", help="no whole-process run")
    parser.add_argument("--no-synthetic", action="store_true", help="no synthetic-source runs")
    parser.add_argument("--bt-venv", type=Path, default=Path(tempfile.gettempdir()) / "btvenv")
    parser.add_argument("--no-backtesting-py", action="store_true")
    parser.add_argument("--bt-repeat", type=int, default=1, help="backtesting.py timed runs")
    parser.add_argument("--step-bars", type=int, default=50_000, help="0 skips step()")
    parser.add_argument("--latency-bars", type=int, default=20_000, help="0 skips latency")
    parser.add_argument("--paced-bars", type=int, default=200, help="0 skips the paced run")
    parser.add_argument("--paced-gap-ms", type=float, default=5.0)
    args = parser.parse_args()
    bars: int = args.bars
    fill_at: str = args.fill_at
    report = Report(bars, fill_at, EXPECTED.get(bars) if fill_at == "signal_close" else None)
    host = Host(environ={}).load()
    print(f"engine bench: {SYMBOL}, EMA(10)/EMA(20) long-only, fills at {fill_at}, {bars:,} bars")
    print(f"  before: {load()}")

    csv: Path | None = None
    if (args.anchors / "make_bars.py").exists():
        folder = args.data_dir or Path(tempfile.gettempdir()) / f"cryptobot-anchor-bars-{bars}"
        csv = anchor_bars(args.anchors, bars, folder)
    else:
        print(f"  (no anchor scripts in {args.anchors}: the file runs and backtesting.py skipped)")
    if csv is not None:
        rows = read_rows(csv)
        file_section(report, host, csv, [r[0] for r in rows], cli=not args.skip_cli)
        gc.collect()
    if not args.no_synthetic:
        synthetic_section(report, host)
        gc.collect()
    if csv is not None:
        bare_section(report, rows)
        del rows
        if not args.no_backtesting_py:
            backtesting_section(report, args.bt_venv, args.anchors, csv, args.bt_repeat)
    if args.step_bars:
        step_section(report, host, args.step_bars)
    if args.latency_bars or args.paced_bars:
        latency_section(report, host, args.latency_bars, args.paced_bars, args.paced_gap_ms)
    summary(report)


if __name__ == "__main__":
    main()
