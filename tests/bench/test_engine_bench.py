"""The engine bench's own helpers: the fill fingerprint and the bar a fill belongs to.

The bench prints "EQUAL to the anchor's" from these; a wrong hash or an index off by
one would print a false mismatch (or, worse, hide a real one), so they are checked on
hand-made fills, and end to end against the anchors' published fingerprint and the
engine's own fills where the anchor scripts are at hand.
"""

from __future__ import annotations

import hashlib
import importlib.util
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest

from crypto_bot_core.host import Host

BENCH = Path(__file__).resolve().parents[2] / "bench"
ANCHORS = Path("/work/shared/anchors")


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    """bench/engine.py, loaded by path (``bench/`` is scripts, not a package)."""
    name = "bench_engine"
    if name not in sys.modules:
        if str(BENCH) not in sys.path:
            sys.path.append(str(BENCH))  # its sibling module ``latency``
        spec = importlib.util.spec_from_file_location(name, BENCH / "engine.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def test_the_fingerprint_hashes_index_and_side_and_pairs_round_trips(bench: ModuleType) -> None:
    fills = [(19, "B", Decimal("100.00")), (25, "S", Decimal("101.50")), (30, "B", Decimal(99))]
    found = bench.fingerprint(fills)
    assert found.fills == 3
    assert found.gross_pnl_per_unit == Decimal("1.50")  # the open buy at 30 is left out
    assert found.fill_sig == hashlib.sha1(b"19:B;25:S;30:B;").hexdigest()[:12]
    assert bench.fingerprint([]).fill_sig == hashlib.sha1(b"").hexdigest()[:12]


def test_a_fill_belongs_to_the_bar_whose_close_it_is_at(bench: ModuleType) -> None:
    opens = [0, 60_000, 120_000]
    assert bench.bar_index(opens, 60_000) == 0  # the close of bar 0 is bar 1's open
    assert bench.bar_index(opens, 120_000) == 1
    assert bench.bar_index(opens, 180_000) == 2  # the last bar's close: after every open
    assert bench.bar_index(opens, 90_000) == 1  # a fill inside bar 1


def _anchor_bars(tmp_path: Path, bars: int) -> Path:
    if not (ANCHORS / "make_bars.py").exists():
        pytest.skip(f"the anchor scripts are not in {ANCHORS}")
    command = [sys.executable, str(ANCHORS / "make_bars.py"), "--symbols", "1",
               "--bars", str(bars), "--out", str(tmp_path)]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True)
    return tmp_path / "BTCUSDT_1m.csv"


@pytest.mark.slow
def test_the_bare_loop_gives_the_anchor_fingerprint(bench: ModuleType, tmp_path: Path) -> None:
    csv = _anchor_bars(tmp_path, 100_000)
    _, found = bench.bare_loop(bench.read_rows(csv))
    assert found == bench.EXPECTED[100_000]


@pytest.mark.slow
def test_the_engine_trades_as_the_bare_loop_on_the_anchor_bars(
    bench: ModuleType, tmp_path: Path
) -> None:
    """The engine's fills, mapped to bar indices, fingerprint as the bare loop's do."""
    csv = _anchor_bars(tmp_path, 20_000)
    rows = bench.read_rows(csv)
    host = Host(environ={}).load()
    _, engine, _ = bench.pipeline(
        bench.file_config(csv, "signal_close"), host, ledger_on=False, run_id="t"
    )
    found = bench.engine_fills(engine, [r[0] for r in rows])
    assert found.fills > 500
    assert found == bench.bare_loop(rows)[1]
