"""From document scores to a signal's numbers, checked against hand-computed values."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from cryptobot_azure_sentiment.feeds import Headline
from cryptobot_azure_sentiment.language import DocumentScore
from cryptobot_azure_sentiment.scoring import assess

NOW = datetime(2024, 1, 2, tzinfo=UTC)


def _pair(
    key: str, hours: float, positive: float, negative: float
) -> tuple[Headline, DocumentScore]:
    neutral = round(1 - positive - negative, 2)
    label = "positive" if positive > 0.5 else ("negative" if negative > 0.5 else "neutral")
    headline = Headline(key, f"headline {key}", "", NOW - timedelta(hours=hours), "feed")
    return headline, DocumentScore(label, positive, neutral, negative, "2022-11-01")


def test_weighted_score_agreement_and_volume() -> None:
    scored = [_pair("a", 0, 0.9, 0.05), _pair("b", 6, 0.1, 0.8)]
    result = assess("BTC/USDT", scored, NOW, half_life_hours=6, volume_scale=5, lookback_hours=24)
    # weights 1 and 0.5; polarities 0.85 and -0.7
    expected = (0.85 - 0.35) / 1.5
    assert result.score == pytest.approx(expected)
    assert result.features["agreement"] == pytest.approx(0.5 / (0.85 + 0.35))
    assert result.features["volume"] == pytest.approx(1 - math.exp(-2 / 5))
    assert result.confidence == pytest.approx(0.5 / 1.2 * (1 - math.exp(-0.4)))
    assert result.features["headlines"] == 2.0
    assert result.features["newest_age_hours"] == 0.0
    assert result.model_version == "azure-language/2022-11-01"
    assert result.rationale.startswith(
        "Azure AI Language sentiment of 2 headline(s) on BTC/USDT from the last 24h is bullish: "
        "score +0.33, agreement 0.42. Strongest: \"headline a\" positive (positive 0.90, "
        "negative 0.05); \"headline b\" negative"
    )


def test_unanimous_news_has_full_agreement_and_neutral_news_no_confidence() -> None:
    bullish = [_pair(str(i), i, 0.8, 0.1) for i in range(20)]
    result = assess("ETH/USDT", bullish, NOW, half_life_hours=6, volume_scale=5, lookback_hours=24)
    assert result.features["agreement"] == pytest.approx(1.0)
    assert result.confidence == pytest.approx(1 - math.exp(-4))
    assert result.score == pytest.approx(0.7)
    neutral = [_pair(str(i), i, 0.05, 0.05) for i in range(3)]
    flat = assess("ETH/USDT", neutral, NOW, half_life_hours=6, volume_scale=5, lookback_hours=24)
    assert (flat.score, flat.confidence) == (0.0, 0.0)
    assert "is neutral" in flat.rationale


def test_rationale_quotes_at_most_three_headlines_strongest_first() -> None:
    scored = [_pair("weak", 0, 0.3, 0.2), _pair("strong", 0, 0.02, 0.96),
              _pair("mid", 0, 0.7, 0.1), _pair("other", 0, 0.6, 0.1)]  # fmt: skip
    result = assess("BTC/USDT", scored, NOW, half_life_hours=6, volume_scale=5, lookback_hours=24)
    quoted = result.rationale.split("Strongest: ")[1]
    assert quoted.index('"headline strong"') < quoted.index('"headline mid"')
    assert '"headline weak"' not in quoted
