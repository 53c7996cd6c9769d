"""Loopback fakes of the Language service and of news feeds, and agents wired to them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from cryptobot_azure_sentiment import AzureSentimentAgent, CircuitBreaker
from cryptobot_azure_sentiment.testing import FakeFeeds, FakeLanguageService, rss

from .support import HEADLINES, FakeClock


@pytest.fixture
def language() -> Iterator[FakeLanguageService]:
    fake = FakeLanguageService(key="test-key").start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def feeds() -> Iterator[FakeFeeds]:
    fake = FakeFeeds().start()
    fake.serve("/news.xml", rss(HEADLINES))
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_agent(
    language: FakeLanguageService, feeds: FakeFeeds, clock: FakeClock
) -> Callable[..., AzureSentimentAgent]:
    def make(**overrides: Any) -> AzureSentimentAgent:
        config = {
            "endpoint": language.endpoint, "api_key": "test-key",
            "feeds": [f"{feeds.url}/news.xml"], "cooldown": 30, "max_cooldown": 120,
        } | overrides  # fmt: skip
        base = AzureSentimentAgent.from_config(config)
        breaker = CircuitBreaker(
            cooldown=base.config.cooldown, max_cooldown=base.config.max_cooldown, clock=clock
        )
        return AzureSentimentAgent(base.config, breaker=breaker)

    return make
