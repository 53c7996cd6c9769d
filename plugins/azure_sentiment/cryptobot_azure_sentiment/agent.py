"""The ``sentiment`` agent: news headlines about a symbol, scored by Azure AI Language.

One evaluation:

1. the agent's own feed reader gives the headlines (refreshed every
   ``feed_refresh`` seconds); those naming the symbol, published in the
   ``lookback_hours`` up to ``market.now`` (never later: no look-ahead in a
   backtest), newest first, at most ``max_headlines``;
2. headlines scored before come from the agent's cache, so each is sent to
   the service once, and evaluating the same view twice gives the same signal;
3. the rest go to the service in batches, all within ``latency_budget``
   seconds;
4. :mod:`.scoring` turns the scores into the signal.

Graceful degradation: when the service is slow (over budget), down, or
refuses the key, the agent raises :class:`~crypto_bot_sdk.AgentUnavailableError`;
the engine then leaves it out of the tick's blend and counts a fallback. The
circuit breaker then keeps the agent from calling the service again until
its cooldown has passed, so a dead service costs nothing per tick; after the
cooldown one trial call decides whether it is back. Headlines already scored
still give signals while the service is away.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from datetime import timedelta
from typing import ClassVar

import httpx

from crypto_bot_sdk import Agent, AgentUnavailableError, MarketView, Signal
from cryptobot_azure_sentiment.breaker import CircuitBreaker
from cryptobot_azure_sentiment.config import SentimentAgentConfig
from cryptobot_azure_sentiment.feeds import FeedReader, Headline, mentioning
from cryptobot_azure_sentiment.language import DocumentScore, LanguageService, ServiceFailure
from cryptobot_azure_sentiment.scoring import assess


class AzureSentimentAgent(Agent[SentimentAgentConfig]):
    """See the module doc. ``feed_transport`` lets tests and embedders route feed requests."""

    name = "sentiment"
    config_model = SentimentAgentConfig
    warmup_bars: ClassVar[int] = 0

    def __init__(
        self,
        config: SentimentAgentConfig,
        *,
        feed_transport: httpx.AsyncBaseTransport | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        super().__init__(config)
        self._feed_transport = feed_transport
        self._reader: FeedReader | None = None
        self._service: LanguageService | None = None
        self._scores: OrderedDict[str, DocumentScore] = OrderedDict()
        self.breaker = breaker or CircuitBreaker(
            cooldown=config.cooldown, max_cooldown=config.max_cooldown
        )
        self.unavailable = 0
        """How often this agent reported itself unavailable (for operators and tests)."""

    async def start(self) -> None:
        self._ensure_started()

    def _ensure_started(self) -> tuple[FeedReader, LanguageService]:
        if self._reader is None:
            self._reader = FeedReader(
                self.config.feeds,
                refresh=self.config.feed_refresh,
                timeout=self.config.feed_timeout,
                transport=self._feed_transport,
            )
        if self._service is None:
            self._service = LanguageService(self.config)
        return self._reader, self._service

    async def close(self) -> None:
        if self._reader is not None:
            await self._reader.aclose()
            self._reader = None
        if self._service is not None:
            await self._service.aclose()
            self._service = None

    def _unavailable(self, reason: str) -> AgentUnavailableError:
        self.unavailable += 1
        return AgentUnavailableError(f"agent {self.name!r}: {reason}")

    async def _relevant(
        self, reader: FeedReader, symbol: str, market: MarketView
    ) -> list[Headline]:
        headlines = await reader.headlines()
        if not reader.any_fetched():
            failures = "; ".join(f"{feed}: {why}" for feed, why in reader.errors().items())
            raise self._unavailable(f"no news feed could be read yet ({failures})")
        now = market.now
        since = now - timedelta(hours=self.config.lookback_hours)
        recent = [h for h in headlines if since <= h.published <= now]
        return mentioning(recent, self.config.words_for(symbol))[: self.config.max_headlines]

    async def _score_missing(self, service: LanguageService, missing: list[Headline]) -> None:
        if not self.breaker.allow():
            raise self._unavailable(
                f"sentiment service is backed off after a failure ({self.breaker.last_error}); "
                f"next try in {self.breaker.retry_in():.0f}s"
            )
        try:
            scores = await asyncio.wait_for(
                service.score([(h.key, h.text) for h in missing]), self.config.latency_budget
            )
        except TimeoutError:
            error = f"no answer within the latency budget of {self.config.latency_budget:g}s"
            self.breaker.failure(error)
            raise self._unavailable(f"sentiment service is slow: {error}") from None
        except ServiceFailure as exc:
            self.breaker.failure(str(exc))
            raise self._unavailable(f"sentiment service failed: {exc}") from exc
        self.breaker.success()
        for key, score in scores.items():
            self._scores[key] = score
        while len(self._scores) > self.config.cache_size:
            self._scores.popitem(last=False)

    async def evaluate(self, symbol: str, market: MarketView) -> Signal | None:
        reader, service = self._ensure_started()
        relevant = await self._relevant(reader, symbol, market)
        missing = [h for h in relevant if h.key not in self._scores]
        if missing:
            await self._score_missing(service, missing)
        scored = [(h, self._scores[h.key]) for h in relevant if h.key in self._scores]
        if not scored:
            return None  # no news about the symbol (or only documents the service refused)
        for headline, _ in scored:
            self._scores.move_to_end(headline.key)
        result = assess(
            symbol,
            scored,
            market.now,
            half_life_hours=self.config.half_life_hours,
            volume_scale=self.config.volume_scale,
            lookback_hours=self.config.lookback_hours,
        )
        return Signal(
            agent=self.name,
            symbol=symbol,
            ts=market.now,
            score=result.score,
            confidence=result.confidence,
            rationale=result.rationale,
            features=result.features,
            model_version=result.model_version,
        )
