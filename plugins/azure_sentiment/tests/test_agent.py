"""The sentiment agent with the real Azure client against the loopback fake of the service."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from crypto_bot_sdk import AgentUnavailableError, ConfigError, InMemoryMarketView, Signal
from crypto_bot_sdk.testing import make_instrument
from cryptobot_azure_sentiment import AzureSentimentAgent, BreakerState
from cryptobot_azure_sentiment.testing import FakeFeeds, FakeLanguageService, Item, rss

from .support import NOW, FakeClock, run

MakeAgent = Callable[..., AzureSentimentAgent]


def _view(now: Any = NOW) -> InMemoryMarketView:
    return InMemoryMarketView([make_instrument("BTC/USDT"), make_instrument("ETH/USDT")], now=now)


def _evaluate(agent: AzureSentimentAgent, *calls: tuple[str, InMemoryMarketView]) -> list[Any]:
    """Evaluate each (symbol, view) on one started agent; errors are returned, not raised."""

    async def scenario() -> list[Any]:
        await agent.start()
        results: list[Any] = []
        try:
            for symbol, view in calls:
                try:
                    results.append(await agent.evaluate(symbol, view))
                except AgentUnavailableError as exc:
                    results.append(exc)
        finally:
            await agent.close()
        return results

    return run(scenario)


def _texts(language: FakeLanguageService) -> list[list[str]]:
    return [[d["text"] for d in s.body["analysisInput"]["documents"]]
            for s in language.requests("POST")]  # fmt: skip


def test_scores_recent_headlines_about_the_symbol(
    make_agent: MakeAgent, language: FakeLanguageService
) -> None:
    (signal,) = _evaluate(make_agent(), ("BTC/USDT", _view()))
    assert isinstance(signal, Signal)
    # Only BTC headlines from the last 24h up to now: not the Ethereum one, not the 30h-old
    # one, not the one published after the view's now.
    assert _texts(language) == [[
        "Bitcoin ETF inflows hit record as rally continues",
        "Exchange hack drains $40m in BTC",
        "Bitcoin miners report strong gains",
    ]]  # fmt: skip
    request = language.requests("POST")[0]
    assert request.query["api-version"] == ["2023-04-01"]
    assert request.body["kind"] == "SentimentAnalysis"
    assert request.body["parameters"]["modelVersion"] == "latest"
    # fake scores: +0.96, -0.96, +0.96 at ages 1h, 3h, 6h with a 6h half-life
    weights = [0.5 ** (1 / 6), 0.5 ** (3 / 6), 0.5 ** (6 / 6)]
    expected = (0.96 * weights[0] - 0.96 * weights[1] + 0.96 * weights[2]) / sum(weights)
    assert signal.score == pytest.approx(expected)
    assert signal.ts == NOW
    assert signal.agent == "sentiment"
    assert signal.model_version == "azure-language/2022-11-01"
    assert signal.features["headlines"] == 3.0
    assert '"Exchange hack drains $40m in BTC" negative (positive 0.02, negative 0.98)' in (
        signal.rationale
    )


def test_each_headline_is_sent_once_and_a_repeat_gives_the_same_signal(
    make_agent: MakeAgent, language: FakeLanguageService
) -> None:
    first, second, eth = _evaluate(
        make_agent(), ("BTC/USDT", _view()), ("BTC/USDT", _view()), ("ETH/USDT", _view())
    )
    assert first == second
    assert isinstance(eth, Signal)
    assert eth.features["headlines"] == 1.0
    assert language.documents_scored() == 4  # 3 BTC headlines, then the 1 ETH headline
    assert len(language.requests("POST")) == 2


def test_no_news_about_a_symbol_is_no_opinion(
    make_agent: MakeAgent, language: FakeLanguageService
) -> None:
    view = InMemoryMarketView([make_instrument("SOL/USDT")], now=NOW)
    assert _evaluate(make_agent(), ("SOL/USDT", view)) == [None]
    assert language.requests("POST") == []


def test_documents_go_in_batches_of_the_service_limit(
    make_agent: MakeAgent, language: FakeLanguageService, feeds: FakeFeeds
) -> None:
    many = [Item(f"m{i}", f"Bitcoin market note number {i}", NOW - timedelta(minutes=i))
            for i in range(23)]  # fmt: skip
    url = feeds.serve("/many.xml", rss(many))
    (signal,) = _evaluate(make_agent(feeds=[url], max_headlines=23), ("BTC/USDT", _view()))
    assert sorted(len(texts) for texts in _texts(language)) == [3, 10, 10]  # sent concurrently
    assert isinstance(signal, Signal)
    assert signal.features["headlines"] == 23.0
    assert signal.score == 0.0  # no loaded words: every note is neutral


def test_batch_size_above_the_service_limit_is_refused(make_agent: MakeAgent) -> None:
    with pytest.raises(ConfigError, match=r"batch_size: Input should be less than or equal to 10"):
        make_agent(batch_size=11)


def test_a_failing_service_makes_the_agent_unavailable_and_it_backs_off(
    make_agent: MakeAgent, language: FakeLanguageService, clock: FakeClock
) -> None:
    agent = make_agent()
    language.fail_with(503)

    async def scenario() -> list[Any]:
        await agent.start()
        outcomes: list[Any] = []
        try:
            for step in range(4):
                if step == 2:
                    clock.now += 30  # the cooldown has passed; the service is still down
                try:
                    outcomes.append(await agent.evaluate("BTC/USDT", _view()))
                except AgentUnavailableError as exc:
                    outcomes.append(str(exc))
                outcomes.append(len(language.requests("POST")))
        finally:
            await agent.close()
        return outcomes

    first, after_1, second, after_2, third, after_3, fourth, after_4 = run(scenario)
    assert "sentiment service failed: HttpResponseError" in first
    assert "temporarily unavailable" in first
    assert "backed off after a failure" in second
    assert "next try in 30s" in second
    assert "sentiment service failed" in third
    assert "next try in 60s" in fourth  # a failed trial doubles the cooldown
    assert [after_1, after_2, after_3, after_4] == [1, 1, 2, 2]
    assert agent.unavailable == 4
    assert agent.breaker.state is BreakerState.OPEN


def test_the_agent_recovers_when_the_service_is_back(
    make_agent: MakeAgent, language: FakeLanguageService, clock: FakeClock
) -> None:
    agent = make_agent()
    language.fail_with(500, "InternalServerError", "Internal server error.")

    async def scenario() -> list[Any]:
        await agent.start()
        try:
            with pytest.raises(AgentUnavailableError):
                await agent.evaluate("BTC/USDT", _view())
            language.fail_with(None)
            clock.now += 30
            return [await agent.evaluate("BTC/USDT", _view())]
        finally:
            await agent.close()

    (signal,) = run(scenario)
    assert isinstance(signal, Signal)
    assert agent.breaker.state is BreakerState.CLOSED


def test_scored_headlines_still_give_signals_while_the_service_is_away(
    make_agent: MakeAgent, language: FakeLanguageService
) -> None:
    agent = make_agent()

    async def scenario() -> list[Any]:
        await agent.start()
        try:
            before = await agent.evaluate("BTC/USDT", _view())
            language.stop()
            return [before, await agent.evaluate("BTC/USDT", _view())]
        finally:
            await agent.close()

    before, during = run(scenario)
    assert before == during


def test_a_slow_service_is_cut_off_at_the_latency_budget(
    make_agent: MakeAgent, language: FakeLanguageService
) -> None:
    language.hold()
    try:
        (outcome,) = _evaluate(make_agent(latency_budget=0.3), ("BTC/USDT", _view()))
    finally:
        language.release()
    assert isinstance(outcome, AgentUnavailableError)
    assert "no answer within the latency budget of 0.3s" in str(outcome)


def test_a_stopped_service_makes_the_agent_unavailable(
    make_agent: MakeAgent, language: FakeLanguageService
) -> None:
    language.stop()
    (outcome,) = _evaluate(make_agent(), ("BTC/USDT", _view()))
    assert isinstance(outcome, AgentUnavailableError)
    assert "ServiceRequestError" in str(outcome)


def test_a_wrong_key_is_named(make_agent: MakeAgent) -> None:
    (outcome,) = _evaluate(make_agent(api_key="wrong"), ("BTC/USDT", _view()))
    assert isinstance(outcome, AgentUnavailableError)
    assert "the service refused the key ((401) Access denied due to invalid subscription" in str(
        outcome
    )


def test_unreachable_feeds_make_the_agent_unavailable(
    make_agent: MakeAgent, feeds: FakeFeeds
) -> None:
    url = f"{feeds.url}/missing.xml"
    (outcome,) = _evaluate(make_agent(feeds=[url]), ("BTC/USDT", _view()))
    assert isinstance(outcome, AgentUnavailableError)
    assert f"no news feed could be read yet ({url}: HTTP 404 Not Found)" in str(outcome)


def test_settings_fall_back_to_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("file-key\n")
    monkeypatch.setenv("AZURE_LANGUAGE_ENDPOINT", "https://res.cognitiveservices.azure.com/")
    monkeypatch.delenv("AZURE_LANGUAGE_KEY", raising=False)
    monkeypatch.setenv("AZURE_LANGUAGE_KEY_FILE", str(key_file))
    agent = AzureSentimentAgent.from_config({"feeds": ["https://news.example/rss"]})
    assert agent.config.endpoint == "https://res.cognitiveservices.azure.com"
    assert agent.config.api_key.get_secret_value() == "file-key"
    assert "file-key" not in repr(agent.config)
    monkeypatch.setenv("AZURE_LANGUAGE_KEY", "env-key")
    agent = AzureSentimentAgent.from_config({"feeds": ["https://news.example/rss"]})
    assert agent.config.api_key.get_secret_value() == "env-key"


def test_missing_key_says_where_to_put_it(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("AZURE_LANGUAGE_KEY", "AZURE_LANGUAGE_KEY_FILE"):
        monkeypatch.delenv(variable, raising=False)
    with pytest.raises(ConfigError) as caught:
        AzureSentimentAgent.from_config(
            {"endpoint": "https://x.example", "feeds": ["https://news.example/rss"]}
        )
    assert caught.value.key == "config.api_key"
    assert "api_key: Field required" in str(caught.value)


def test_a_service_that_dies_mid_use_breaks_pooled_connections(
    make_agent: MakeAgent, language: FakeLanguageService, feeds: FakeFeeds
) -> None:
    agent = make_agent(feed_refresh=0)

    async def scenario() -> list[Any]:
        await agent.start()
        try:
            first = await agent.evaluate("BTC/USDT", _view())
            language.stop()  # the client still holds a keep-alive connection to it
            fresh = Item("late", "Bitcoin rally extends", NOW - timedelta(minutes=1))
            feeds.serve("/news.xml", rss([fresh]))
            try:
                second: Any = await agent.evaluate("BTC/USDT", _view())
            except AgentUnavailableError as exc:
                second = exc
            return [first, second]
        finally:
            await agent.close()

    first, second = run(scenario)
    assert isinstance(first, Signal)
    assert isinstance(second, AgentUnavailableError)
    assert "sentiment service failed" in str(second)
