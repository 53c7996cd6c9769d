"""Monte-Carlo VaR with the t copula: time and peak memory (targets: 10,000 paths x 50
symbols < 50 ms; 100,000 x 200 < 1 s and < 2 GiB).

For each size a model is fitted once on 500 seeded fat-tailed returns
(Ledoit-Wolf shrinkage plus a Student-t fit per symbol; reported apart, since
the engine refits once a day, not once per VaR), then
``crypto_bot_core.risk.var.monte_carlo`` -- paths, copula, marginals, portfolio
P&L, VaR and ES -- is timed best-of-``--repeat`` and once more under
``tracemalloc`` for its peak Python-visible memory (numpy's buffers included).
Wall time and the process's CPU time are both printed: on a shared machine
the wall time includes waiting for a core, while the CPU time (all threads
summed, so an upper bound of the wall time on an idle machine) does not. The
process's peak RSS is printed at the end; ``uptime``'s load is worth noting
beside the figures.

Run: ``.venv/bin/python bench/risk.py [--repeat 5] [--sizes 10000x50,100000x200]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import tracemalloc

import numpy as np

from crypto_bot_core.risk.copula import CopulaModel
from crypto_bot_core.risk.returns import ReturnHistory
from crypto_bot_core.risk.var import monte_carlo

TARGETS = {(10_000, 50): (0.050, None), (100_000, 200): (1.0, 2 * 2**30)}


def history(symbols: int, observations: int = 500, seed: int = 1) -> ReturnHistory:
    rng = np.random.default_rng(seed)
    corr = np.full((symbols, symbols), 0.5)
    np.fill_diagonal(corr, 1.0)
    chol = np.linalg.cholesky(corr)
    shocks = rng.standard_t(4, size=(observations, symbols)) @ chol.T
    returns = shocks * rng.uniform(0.02, 0.06, symbols) / np.sqrt(2.0)
    return ReturnHistory(tuple(f"C{i:03d}/USDT" for i in range(symbols)), returns, 86_400.0)


def bench(paths: int, symbols: int, repeat: int) -> dict[str, float]:
    data = history(symbols)
    start = time.perf_counter()
    model = CopulaModel.fit(data, family="t", dof=5.0, marginal="t")
    fit = time.perf_counter() - start
    exposures = list(np.random.default_rng(2).uniform(-5_000, 20_000, symbols))
    monte_carlo(model, exposures, paths=min(paths, 1000), seed=0)  # warm the code paths
    times = []
    cpu = []
    for run in range(repeat):
        start, started = time.perf_counter(), time.process_time()
        tail = monte_carlo(model, exposures, paths=paths, seed=run)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - started)
    tracemalloc.start()
    monte_carlo(model, exposures, paths=paths, seed=0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "fit": fit,
        "best": min(times),
        "median": float(np.median(times)),
        "cpu": min(cpu),
        "peak": float(peak),
        "var": tail.var,
        "es": tail.es,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sizes", default="10000x50,100000x200")
    args = parser.parse_args()
    sizes = [tuple(int(x) for x in s.split("x")) for s in args.sizes.split(",")]
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    versions = f"python {sys.version.split()[0]}, numpy {np.__version__}"
    print(f"{versions}, {os.cpu_count()} CPUs, load {load}")
    header = (
        f"{'paths x symbols':>17} {'fit':>8} {'VaR best':>9} {'median':>9} {'CPU best':>9}"
        f" {'peak MiB':>9}"
        f" {'target':>22}  VaR / ES of the test book"
    )
    print(header)
    for paths, symbols in sizes:
        r = bench(paths, symbols, args.repeat)
        limit = TARGETS.get((paths, symbols))
        target = "-"
        if limit is not None:
            seconds, memory = limit
            target = f"< {seconds * 1000:g} ms" if seconds < 1 else f"< {seconds:g} s"
            if memory is not None:
                target += f", {memory / 2**30:g} GiB"
            small = memory is None or r["peak"] < memory
            if r["best"] < seconds and small:
                target += " ok"
            elif r["cpu"] < seconds and small:
                target += " ok on CPU"  # the wall time waited for a busy core
            else:
                target += " MISSED"
        print(
            f"{paths:>8,} x {symbols:<6} {r['fit']:>7.2f}s {r['best'] * 1000:>7.1f}ms"
            f" {r['median'] * 1000:>7.1f}ms {r['cpu'] * 1000:>7.1f}ms {r['peak'] / 2**20:>9.1f}"
            f" {target:>22}"
            f"  {r['var']:,.0f} / {r['es']:,.0f}"
        )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the process: {rss:,.0f} MiB")


if __name__ == "__main__":
    main()
