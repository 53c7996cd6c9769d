"""Fault injection for the crash tests: die by SIGKILL at a named point of the order path.

``CRYPTOBOT_CHAOS_KILL_AT=POINT:N`` makes the process kill itself, with no
chance to clean up, the N-th time it passes ``POINT``. The points sit exactly
where a crash is most dangerous: between the ledger write and the exchange
call, between the exchange's answer and the venue's persistence, between a
fill and its ledger record. Unset (always, outside tests) a point costs one
comparison.
"""

from __future__ import annotations

import os
import signal

POINTS = (
    "intent_recorded",  # intent in the ledger; the exchange not yet called
    "exchange_answered",  # the venue accepted or refused; nothing persisted or recorded
    "venue_persisted",  # the venue's state is saved; the outcome not yet in the ledger
    "fills_matched",  # a simulated venue produced fills; none booked yet
    "fill_recorded",  # the fill is in the ledger; the order's new status is not
    "tick_done",  # a whole tick processed
)


def _plan() -> tuple[str, int] | None:
    raw = os.environ.get("CRYPTOBOT_CHAOS_KILL_AT")
    if not raw:
        return None
    name, _, count = raw.partition(":")
    if name not in POINTS or not count.isdigit() or int(count) < 1:
        raise ValueError(
            f"CRYPTOBOT_CHAOS_KILL_AT={raw!r}: write POINT:N with POINT one of "
            f"{', '.join(POINTS)} and N >= 1"
        )
    return name, int(count)


_PLAN = _plan()
_seen = 0


def point(name: str) -> None:
    """Pass a crash point; SIGKILL the process if the plan says this is the one."""
    global _seen  # noqa: PLW0603 - one counter per process, by design
    if _PLAN is None or _PLAN[0] != name:
        return
    _seen += 1
    if _seen == _PLAN[1]:
        os.kill(os.getpid(), signal.SIGKILL)
