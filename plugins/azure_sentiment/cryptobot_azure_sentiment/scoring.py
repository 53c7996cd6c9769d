"""From per-headline sentiment to one signal: score, confidence, rationale and features.

* A headline's polarity is ``positive - negative`` confidence, in [-1, 1]; a
  neutral or mixed headline has a polarity near 0 and so moves little.
* Weights halve every ``half_life_hours`` of age, so fresh news counts most.
* ``score`` is the weighted mean polarity.
* ``confidence = agreement * volume``: agreement is ``|sum w*p| / sum w*|p|``
  (1 when every headline leans the same way, 0 when they cancel out), volume
  is ``1 - exp(-n / volume_scale)`` (one headline is an anecdote, twenty a story).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptobot_azure_sentiment.feeds import Headline
from cryptobot_azure_sentiment.language import DocumentScore

_QUOTED = 3
_QUOTE_CHARS = 90


@dataclass(frozen=True, slots=True)
class Assessment:
    score: float
    confidence: float
    rationale: str
    features: dict[str, float]
    model_version: str


def _quote(text: str) -> str:
    return text if len(text) <= _QUOTE_CHARS else text[: _QUOTE_CHARS - 3] + "..."


def assess(
    symbol: str,
    scored: Sequence[tuple[Headline, DocumentScore]],
    now: datetime,
    *,
    half_life_hours: float,
    volume_scale: float,
    lookback_hours: float,
) -> Assessment:
    """The signal's numbers for ``scored`` headlines (at least one) seen at ``now``."""
    ages = [max(0.0, (now - h.published).total_seconds() / 3600) for h, _ in scored]
    weights = [0.5 ** (age / half_life_hours) for age in ages]
    total = sum(weights)
    polarity = [s.polarity for _, s in scored]
    score = sum(w * p for w, p in zip(weights, polarity, strict=True)) / total
    spread = sum(w * abs(p) for w, p in zip(weights, polarity, strict=True))
    agreement = abs(score * total) / spread if spread > 0 else 0.0
    volume = 1 - math.exp(-len(scored) / volume_scale)
    confidence = agreement * volume

    def mean(values: Sequence[float]) -> float:
        return float(sum(w * v for w, v in zip(weights, values, strict=True)) / total)

    features = {
        "headlines": float(len(scored)),
        "positive": mean([s.positive for _, s in scored]),
        "neutral": mean([s.neutral for _, s in scored]),
        "negative": mean([s.negative for _, s in scored]),
        "agreement": agreement,
        "volume": volume,
        "newest_age_hours": min(ages),
    }
    loudest = sorted(
        zip(scored, weights, strict=True),
        key=lambda item: (-abs(item[0][1].polarity) * item[1], item[0][0].key),
    )[:_QUOTED]
    quotes = "; ".join(
        f'"{_quote(h.title)}" {s.sentiment} (positive {s.positive:.2f}, negative {s.negative:.2f})'
        for (h, s), _ in loudest
    )
    lean = "bullish" if score > 0 else ("bearish" if score < 0 else "neutral")
    rationale = (
        f"Azure AI Language sentiment of {len(scored)} headline(s) on {symbol} from the last "
        f"{lookback_hours:g}h is {lean}: score {score:+.2f}, agreement {agreement:.2f}. "
        f"Strongest: {quotes}."
    )
    model_version = max(s.model_version for _, s in scored)
    return Assessment(
        score=max(-1.0, min(1.0, score)),
        confidence=max(0.0, min(1.0, confidence)),
        rationale=rationale,
        features=features,
        model_version=f"azure-language/{model_version}",
    )
