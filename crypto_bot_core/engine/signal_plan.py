"""Where a backtest's decisions can change: every agent's series, blended and sized at once.

For each symbol the policy's agents score the whole series (their
``signal_series``), the blend of :func:`~.policy.combine` is applied to the
columns with the same float operations in the same order (so it is
bit-identical), and discrete sizing's rule turns the blend into the target's
sign per bar. The event path asks for an order on a bar only if that sign
differs from the sign of the position held; so the bars where the fast path
must run the decision pipeline are exactly those, plus the rare bars where a
full position could round to zero lots (flagged ``uncertain``, decided
exactly). Everything here is a precomputation: it trades nothing.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from crypto_bot_core.engine.columnar import Columns, Market, NotColumnar, SeriesAgent, SignalSeries
from crypto_bot_core.engine.policy import PolicySpec
from crypto_bot_core.engine.sizing import SizingConfig
from crypto_bot_sdk import Instrument, InstrumentKind

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

NO_SIGNAL = 2
"""Target code of a bar where the policy has no signal (``combine`` returns None)."""


@dataclass
class SymbolPlan:
    """One symbol's precomputed decisions.

    Per-bar columns are ``array`` objects, not lists or numpy arrays: the walk
    reads single elements (numpy's scalar access costs ~10x a list's) and
    they hold no Python objects for the garbage collector to traverse.
    """

    symbol: str
    policy: str
    series: dict[str, SignalSeries]
    """Per agent instance of the policy, in the policy's order."""
    target: array[int]
    """Sign of the sized target per bar: -1, 0, 1, or NO_SIGNAL."""
    uncertain: array[int]
    candidates: dict[int, array[int]]
    """Per sign of the held position: the bars where the pipeline must run."""
    signal_counts: array[int]
    """Cumulative number of bars with a signal, for the engine's statistics."""

    def next_candidate(self, held: int, index: int) -> int:
        """The first bar at or after ``index`` whose decision may trade, holding ``held``."""
        bars = self.candidates[held]
        at = bisect_left(bars, index)
        return bars[at] if at < len(bars) else -1

    def may_trade(self, held: int, index: int) -> bool:
        code = self.target[index]
        return code != NO_SIGNAL and (code != held or bool(self.uncertain[index]))

    def signals_between(self, first: int, stop: int) -> int:
        """Bars in ``[first, stop)`` with a signal."""
        if stop <= first:
            return 0
        before = self.signal_counts[first - 1] if first > 0 else 0
        return self.signal_counts[stop - 1] - before


def blend(
    spec: PolicySpec, series: dict[str, SignalSeries], length: int
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """The policy's combined score per bar and where it exists, as ``combine`` computes it."""
    import numpy as np

    total_weight = sum(w.weight for w in spec.agents)
    numerator = np.zeros(length)
    weight_conf = np.zeros(length)
    for member in spec.agents:
        scores = np.asarray(series[member.agent].scores, dtype=np.float64)
        confidences = np.asarray(series[member.agent].confidences, dtype=np.float64)
        if scores.shape != (length,) or confidences.shape != (length,):
            raise NotColumnar(f"agent {member.agent!r} scored {len(scores)} of {length} bars")
        present = ~np.isnan(scores)
        wc = member.weight * np.where(present, confidences, 0.0)
        numerator = np.where(present, numerator + wc * np.where(present, scores, 0.0), numerator)
        weight_conf = np.where(present, weight_conf + wc, weight_conf)
    valid = weight_conf != 0.0
    safe = np.where(valid, weight_conf, 1.0)
    confidence = safe / total_weight
    valid &= ~(confidence < spec.min_confidence)
    ratio = numerator / safe
    capped = np.where(ratio < 1.0, ratio, 1.0)
    score = np.where(capped > -1.0, capped, -1.0)
    return score, valid


def target_signs(
    score: NDArray[np.float64], valid: NDArray[np.bool_], sizing: SizingConfig, spot: bool
) -> NDArray[np.int8]:
    """``target_quantity``'s sign per bar (discrete sizing), NO_SIGNAL where none."""
    import numpy as np

    effective = np.where((sizing.long_only or spot) & (score < 0), 0.0, score)
    flat = np.abs(effective) <= sizing.entry_threshold
    signs = np.where(flat, 0, np.where(effective > 0, 1, -1))
    return np.where(valid, signs, NO_SIGNAL).astype(np.int8)


def maybe_zero_lots(
    closes: NDArray[np.float64], sizing: SizingConfig, instrument: Instrument
) -> NDArray[np.bool_]:
    """Bars where a full position might round to zero lots (price x size x lot near notional)."""
    notional = float(sizing.notional_per_symbol)
    unit = float(instrument.contract_size) * float(instrument.lot_size)
    flagged: NDArray[np.bool_] = closes * unit >= notional * (1.0 - 1e-6)
    return flagged


def plan_symbol(
    symbol: str,
    *,
    policy: str,
    spec: PolicySpec,
    agents: Mapping[str, SeriesAgent],
    markets: list[Market],
    sizing: SizingConfig,
    instrument: Instrument | None,
    call: Any,
) -> SymbolPlan:
    """``call(agent_name, fn, *args)`` runs agent code behind the host's fence."""
    import numpy as np

    length = len(markets[0].arrays["close"])
    bars = {m.venue: m.arrays for m in markets}
    series = {
        member.agent: call(member.agent, agents[member.agent].signal_series, symbol, bars)
        for member in spec.agents
    }
    score, valid = blend(spec, series, length)
    spot = instrument is not None and instrument.kind is InstrumentKind.SPOT
    target = target_signs(score, valid, sizing, spot)
    if instrument is None:
        # No venue lists the symbol: decisions stop after counting the signal.
        uncertain = np.zeros(length, dtype=bool)
        candidates = {held: np.empty(0, dtype=np.int64) for held in (-1, 0, 1)}
    else:
        uncertain = (
            valid & (target != 0) & maybe_zero_lots(markets[0].arrays["close"], sizing, instrument)
        )
        candidates = {
            held: np.flatnonzero(valid & ((target != held) | uncertain)).astype(np.int64)
            for held in (-1, 0, 1)
        }
    return SymbolPlan(
        symbol=symbol,
        policy=policy,
        series=series,
        target=_packed("b", target),
        uncertain=_packed("b", uncertain),
        candidates={held: _packed("q", bars) for held, bars in candidates.items()},
        signal_counts=_packed("q", np.cumsum(valid, dtype=np.int64)),
    )


def _packed(code: str, values: NDArray[Any]) -> array[int]:
    import numpy as np

    dtype = np.int8 if code == "b" else np.int64
    packed = array(code)
    packed.frombytes(np.ascontiguousarray(values, dtype=dtype).tobytes())
    return packed


def plan_columns(
    columns: Columns,
    *,
    policies: dict[str, tuple[str, PolicySpec]],
    agents: Mapping[str, SeriesAgent],
    sizing: SizingConfig,
    instruments: dict[str, Instrument | None],
    call: Any,
) -> list[SymbolPlan]:
    """Plans of every symbol, in the order the stream first shows them."""
    return [
        plan_symbol(
            symbol,
            policy=policies[symbol][0],
            spec=policies[symbol][1],
            agents=agents,
            markets=markets,
            sizing=sizing,
            instrument=instruments[symbol],
            call=call,
        )
        for symbol, markets in columns.by_symbol().items()
    ]
