"""Host start time with 20 plugins installed (target: < 0.5 s).

Builds 20 small plugin wheels (each an agent and a risk rule, with a manifest
and an entry point), installs them into a temporary ``--target`` directory, then
starts fresh interpreters with that directory on ``PYTHONPATH`` and reports:

* ``host start``: from the first import of the host to ``Host().load()`` done,
  inside the process (imports of pydantic, the SDK and the plugins included);
* ``process``: the whole ``python -c`` run, interpreter start-up included;
* ``cryptobot plugins list --json`` and ``cryptobot --help`` wall times.

Run: ``.venv/bin/python bench/host_start.py [--plugins 20] [--repeat 7]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from plugin_dists import PluginProject, build_and_install, manifest_for  # noqa: E402

MODULE = """
from crypto_bot_sdk import Agent, PluginConfig, RiskRule, RiskVerdict, hookimpl


class Settings(PluginConfig):
    period: int = 14
    threshold: float = 0.5


class BenchAgent(Agent[Settings]):
    name = "agent"
    config_model = Settings

    async def evaluate(self, symbol, market):
        return None


class BenchRule(RiskRule[PluginConfig]):
    name = "rule"

    def check(self, intent, context):
        return RiskVerdict.approve(rule=self.name)


@hookimpl
def cryptobot_components():
    return [BenchAgent, BenchRule]
"""

PROBE = """
import time
started = time.perf_counter()
from crypto_bot_core.host import Host, PluginStatus
host = Host().load()
elapsed = time.perf_counter() - started
loaded = sum(r.status is PluginStatus.LOADED for r in host.records)
print(elapsed, loaded, len(host.records))
"""


def _projects(count: int) -> list[PluginProject]:
    return [
        PluginProject(
            f"bench-plugin-{i:02d}",
            f"bench_plugin_{i:02d}",
            f"bench-{i:02d}",
            manifest_for(f"bench-{i:02d}", kinds=["agent", "riskrule"]),
            module_source=MODULE,
        )
        for i in range(count)
    ]


def _environ(target: Path, only: str | None = None) -> dict[str, str]:
    # Bytecode caching on, as in any installed deployment (pip compiles at install time);
    # a PYTHONDONTWRITEBYTECODE=1 shell would otherwise time the compiler, not the host.
    skip = ("CRYPTOBOT", "PYTHONDONTWRITEBYTECODE")
    environ = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
    environ["PYTHONPATH"] = str(target)
    if only is not None:
        environ["CRYPTOBOT_PLUGINS"] = only
    return environ


def _wall(command: list[str], environ: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=environ, check=True, capture_output=True)
    return time.perf_counter() - started


def _summary(label: str, samples: list[float]) -> str:
    return (
        f"{label:<34} median {statistics.median(samples) * 1000:7.1f} ms   "
        f"min {min(samples) * 1000:7.1f} ms   max {max(samples) * 1000:7.1f} ms"
    )


def _host_starts(environ: dict[str, str], repeat: int) -> tuple[list[float], list[float], str]:
    """In-process host start times, whole-process times, and what loaded."""
    starts: list[float] = []
    processes: list[float] = []
    counts = ""
    for _ in range(repeat):
        begun = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", PROBE], env=environ, check=True, capture_output=True, text=True
        ).stdout.split()
        processes.append(time.perf_counter() - begun)
        starts.append(float(out[0]))
        counts = f"{out[1]} loaded of {out[2]} found"
    return starts, processes, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plugins", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cryptobot-bench-") as tmp:
        started = time.perf_counter()
        target = build_and_install(_projects(args.plugins), Path(tmp))
        print(
            f"built and installed {args.plugins} plugin wheels in "
            f"{time.perf_counter() - started:.1f} s"
        )
        environ = _environ(target)
        cryptobot = str(Path(sys.executable).with_name("cryptobot"))
        subprocess.run([sys.executable, "-c", PROBE], env=environ, check=True, capture_output=True)
        starts, processes, counts = _host_starts(environ, args.repeat)
        bench_only = ",".join(project.plugin_name for project in _projects(args.plugins))
        only_starts, _, only_counts = _host_starts(_environ(target, bench_only), args.repeat)
        lists = [
            _wall([cryptobot, "plugins", "list", "--json"], environ) for _ in range(args.repeat)
        ]
        helps = [_wall([cryptobot, "--help"], environ) for _ in range(args.repeat)]
    print(f"installed: {counts} (the {args.plugins} bench plugins plus the built-ins)")
    print(_summary("host start (imports + load)", starts) + "   target < 500 ms")
    print(f"only the bench plugins selected (CRYPTOBOT_PLUGINS): {only_counts}")
    print(_summary("host start, bench plugins only", only_starts))
    print(_summary("process (python -c, host start)", processes))
    print(_summary("cryptobot plugins list --json", lists))
    print(_summary("cryptobot --help", helps) + "   target < 300 ms")


if __name__ == "__main__":
    main()
