"""The crash tests' kill switch: ``CRYPTOBOT_CHAOS_KILL_AT=POINT:N`` read and obeyed exactly.

A mistyped plan must fail loudly (a crash test that silently never crashes proves
nothing), the N-th pass of the named point must be the one that dies, and passes of
other points must not count.
"""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from types import ModuleType

import pytest

from crypto_bot_core.engine import chaos


@pytest.fixture
def replan(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The chaos module re-read under a plan; afterwards re-read with no plan again."""
    yield chaos
    monkeypatch.delenv("CRYPTOBOT_CHAOS_KILL_AT", raising=False)
    importlib.reload(chaos)
    assert chaos._PLAN is None


@pytest.mark.parametrize("plan", ["tick_done", "tick_done:0", "tick_done:x", "nowhere:1"])
def test_a_plan_that_names_no_point_or_count_is_refused(
    replan: ModuleType, monkeypatch: pytest.MonkeyPatch, plan: str
) -> None:
    monkeypatch.setenv("CRYPTOBOT_CHAOS_KILL_AT", plan)
    with pytest.raises(ValueError, match="write POINT:N") as caught:
        importlib.reload(replan)
    assert str(caught.value) == (
        f"CRYPTOBOT_CHAOS_KILL_AT={plan!r}: write POINT:N with POINT one of "
        "intent_recorded, exchange_answered, venue_persisted, fills_matched, fill_recorded, "
        "tick_done and N >= 1"
    )


def test_only_passes_of_the_named_point_count_towards_the_kill(
    replan: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRYPTOBOT_CHAOS_KILL_AT", "fill_recorded:3")
    importlib.reload(replan)
    assert replan._PLAN == ("fill_recorded", 3)
    replan.point("tick_done")
    replan.point("intent_recorded")
    assert replan._seen == 0
    replan.point("fill_recorded")
    replan.point("fill_recorded")  # the second pass: still alive, one short of the plan
    assert replan._seen == 2


def test_the_nth_pass_kills_the_process_with_sigkill() -> None:
    script = (
        "from crypto_bot_core.engine import chaos\n"
        "for n in range(1, 5):\n"
        "    chaos.point('fill_recorded')\n"
        "    print('survived pass', n, flush=True)\n"
    )
    env = {**os.environ, "CRYPTOBOT_CHAOS_KILL_AT": "fill_recorded:3"}
    result = subprocess.run(
        [sys.executable, "-c", script],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == -signal.SIGKILL
    assert result.stdout.splitlines() == ["survived pass 1", "survived pass 2"]
