"""The specification's latency budget: market data received -> order submitted < 2 s at p95.

A short paper session on the synthetic market, measured by the bench's own code
(``bench/latency.py``, loaded by path: ``bench/`` is a folder of scripts, not a package),
so CI checks the very figure ``bench/engine.py`` prints. The bound is the budget, far
above what a healthy engine needs (well under a millisecond a tick on the paper venue,
a few milliseconds with the durable SQLite ledger), so a loaded CI machine does not make
it flake, while a regression of seconds (a blocking call on the order path, a sleep,
a lock wait) fails it.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from crypto_bot_core.host import Host

BUDGET_P95_US = 2_000_000.0
"""The specification's budget: 2 s at the 95th percentile, in microseconds."""
BARS = 3_000
MIN_ORDERS = 50
"""The session places ~130 orders; far fewer means it stopped trading, and a percentile
over a handful of samples would not mean much."""


def _bench_latency() -> ModuleType:
    name = "bench_latency"
    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).resolve().parents[3] / "bench" / "latency.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None, path
    assert spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses resolve their module through sys.modules
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def host() -> Host:
    return Host(environ={}).load()


@pytest.mark.parametrize("ledger_on", [True, False], ids=["sqlite-ledger", "no-ledger"])
def test_tick_to_order_p95_is_within_the_budget(
    host: Host, tmp_path: Path, ledger_on: bool
) -> None:
    latency = _bench_latency()
    run = latency.paper_latency(BARS, host, ledger_on=ledger_on, folder=tmp_path)
    assert run.bars == BARS
    assert run.orders >= MIN_ORDERS, f"only {run.orders} orders in {BARS} bars"
    assert len(run.samples) == run.orders  # every order was timed from its tick
    assert all(sample >= 0 for sample in run.samples)
    p95 = run.percentile(0.95)
    assert p95 < BUDGET_P95_US, run.line("tick-to-order over budget")


GAP_S = 0.03
"""Wide enough that a healthy engine's median (about 1 ms alone, 5-6 ms on a loaded CI
machine measuring coverage) stays far under half of it; a late-by-a-tick engine cannot."""
PACED_BARS = 300


def test_a_tick_is_decided_when_it_arrives_not_when_the_next_one_does(
    host: Host, tmp_path: Path
) -> None:
    """A paced feed (a new tick every GAP_S) must not add GAP_S to the tick-to-order time.

    The unpaced test above cannot see this: from a file or the synthetic market the next
    tick is always there at once. On a live feed an engine that waits for the next tick
    to close the current one decides a bar interval late, which alone breaks the 2 s
    budget. Such an engine puts every sample above GAP_S; the median is held to half of
    it, so a slow CI machine (a few late orders) cannot fail the test, the regression can.
    """
    latency = _bench_latency()
    run = latency.paper_latency(PACED_BARS, host, ledger_on=False, gap_s=GAP_S, folder=tmp_path)
    assert run.orders >= 5
    assert run.percentile(0.5) < GAP_S * 1e6 / 2, run.line(f"paced, a tick every {GAP_S}s")
