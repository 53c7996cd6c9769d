"""The ``tvl`` source against the loopback fake: history, windows, live polling, bad payloads."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest

from crypto_bot_sdk import ConfigError, DataSourceError, MarketEvent, MetricPoint
from cryptobot_defi_tvl import CHAIN_TVL, PROTOCOL_CHAIN_TVL, PROTOCOL_TVL, DefiTvlSource

from .fake_llama import (
    AAVE_ARBITRUM,
    AAVE_ETHEREUM,
    AAVE_TOTAL,
    ETHEREUM_TVL,
    FakeLlama,
    chain_history_payload,
    day,
    json_answer,
    protocol_payload,
    serve_defaults,
)


def _source(fake: FakeLlama, clock: Any = None, **config: Any) -> DefiTvlSource:
    settings: dict[str, Any] = {
        "protocols": ["aave"], "chains": ["Ethereum"], "base_url": fake.url,
        "symbols": {"aave": "AAVE/USDT", "Ethereum": "ETH/USDT"}, "live": False,
        "max_retries": 0,
    } | config  # fmt: skip
    source = DefiTvlSource.from_config(settings)
    if clock is not None:
        source = DefiTvlSource(source.config, clock=clock)
    return source


def _read(source: DefiTvlSource, start: datetime | None = None, end: datetime | None = None,
          limit: int = 1000) -> list[MetricPoint]:  # fmt: skip
    async def scenario() -> list[MetricPoint]:
        await source.start()
        events: list[MetricPoint] = []
        stream = source.stream(start, end)
        try:
            async for event in stream:
                assert isinstance(event, MetricPoint)
                events.append(event)
                if len(events) >= limit:
                    break
        finally:
            await stream.aclose()  # type: ignore[attr-defined]
            await source.close()
        return events

    return asyncio.run(scenario())


def _values(events: list[MetricPoint], name: str, **labels: str) -> list[float]:
    return [e.value for e in events if e.name == name and e.labels == labels]


def test_history_covers_every_series_in_time_order(llama: FakeLlama) -> None:
    serve_defaults(llama)
    events = _read(_source(llama, protocol_chains=["Ethereum", "Arbitrum"]))
    assert _values(events, PROTOCOL_TVL, protocol="aave") == AAVE_TOTAL
    assert _values(events, CHAIN_TVL, chain="Ethereum") == ETHEREUM_TVL
    assert _values(events, PROTOCOL_CHAIN_TVL, protocol="aave", chain="Ethereum") == AAVE_ETHEREUM
    assert _values(events, PROTOCOL_CHAIN_TVL, protocol="aave", chain="Arbitrum") == AAVE_ARBITRUM
    assert len(events) == 4 * len(AAVE_TOTAL)  # "borrowed" and "Ethereum-borrowed" are not chains
    assert [e.ts for e in events] == sorted(e.ts for e in events)
    first = events[0]
    assert (first.ts, first.unit, first.source) == (day(0), "USD", "defillama")
    symbols = {(e.name, e.symbol) for e in events}
    assert symbols == {
        (PROTOCOL_TVL, "AAVE/USDT"), (PROTOCOL_CHAIN_TVL, "AAVE/USDT"), (CHAIN_TVL, "ETH/USDT"),
    }  # fmt: skip


def test_window_is_half_open(llama: FakeLlama) -> None:
    serve_defaults(llama)
    events = _read(_source(llama), day(2), day(5))
    assert sorted({e.ts for e in events}) == [day(2), day(3), day(4)]
    assert _values(events, PROTOCOL_TVL, protocol="aave") == AAVE_TOTAL[2:5]


def test_history_returns_one_symbol(llama: FakeLlama) -> None:
    serve_defaults(llama)
    source = _source(llama)

    async def scenario() -> list[MarketEvent]:
        await source.start()
        try:
            return list(await source.history("ETH/USDT", day(1), day(3)))
        finally:
            await source.close()

    history = asyncio.run(scenario())
    assert all(isinstance(e, MetricPoint) for e in history)
    assert [(e.ts, e.value) for e in history if isinstance(e, MetricPoint)] == [
        (day(1), 51e9), (day(2), 49.5e9),
    ]


class _Clock:
    """A clock that moves one hour each time it is read."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        now = self.now
        self.now += timedelta(hours=1)
        return now


def test_live_mode_polls_current_values_after_history(llama: FakeLlama) -> None:
    serve_defaults(llama, aave_now=12.3e9)
    clock = _Clock(day(8))
    source = _source(llama, clock, live=True, poll_interval=0.001)
    events = _read(source, limit=len(AAVE_TOTAL) * 2 + 4)
    live = [e for e in events if e.ts >= day(8)]
    assert [(e.name, e.ts, e.value) for e in live] == [
        (CHAIN_TVL, day(8) + timedelta(hours=1), 56e9),
        (PROTOCOL_TVL, day(8) + timedelta(hours=1), 12.3e9),
        (CHAIN_TVL, day(8) + timedelta(hours=2), 56e9),
        (PROTOCOL_TVL, day(8) + timedelta(hours=2), 12.3e9),
    ]
    # the second poll of each URL was conditional and answered 304 from the cache
    assert llama.hits("/tvl/aave")[1].headers["If-None-Match"]


def test_live_stream_ends_at_end(llama: FakeLlama) -> None:
    serve_defaults(llama)
    clock = _Clock(day(8))
    events = _read(_source(llama, clock, live=True, poll_interval=0.001),
                   end=day(8) + timedelta(hours=3))  # fmt: skip
    live_stamps = sorted({e.ts for e in events if e.ts >= day(8)})
    assert live_stamps == [day(8) + timedelta(hours=1), day(8) + timedelta(hours=2)]


def test_unknown_chain_in_live_poll_is_named(llama: FakeLlama) -> None:
    serve_defaults(llama)
    llama.serve("/v2/historicalChainTvl/Etherium", json_answer(chain_history_payload()))
    source = _source(llama, _Clock(day(8)), chains=["Etherium"], symbols={}, live=True)
    with pytest.raises(DataSourceError, match="chain 'Etherium' is not in the list of 3 chains"):
        _read(source)


@pytest.fixture
def bad_protocol(llama: FakeLlama) -> FakeLlama:
    serve_defaults(llama)
    return llama


@pytest.mark.parametrize(
    ("mutate", "where", "detail"),
    [
        (lambda p: p.pop("tvl"), "payload.tvl", "Field required"),
        (lambda p: p["tvl"][3].update(date="2024-01-04"), "payload.tvl[3].date",
         "valid integer"),
        (lambda p: p["tvl"][1].update(totalLiquidityUSD="10.5e9"),
         "payload.tvl[1].totalLiquidityUSD", "valid number"),
        (lambda p: p["chainTvls"]["Ethereum"].update(tvl={"date": 1}),
         "payload.chainTvls.Ethereum.tvl", "valid list"),
    ],
)  # fmt: skip
def test_mistyped_payloads_name_url_and_place(
    bad_protocol: FakeLlama, mutate: Any, where: str, detail: str
) -> None:
    payload = protocol_payload()
    mutate(payload)
    bad_protocol.serve("/protocol/aave", json_answer(payload))
    with pytest.raises(DataSourceError) as caught:
        _read(_source(bad_protocol))
    message = str(caught.value)
    assert message.startswith(f"GET {bad_protocol.url}/protocol/aave: malformed payload at")
    assert repr(where) in message
    assert detail in message


def test_non_finite_values_are_refused(llama: FakeLlama) -> None:
    serve_defaults(llama)
    llama.serve("/v2/historicalChainTvl/Ethereum",
                json_answer([{"date": 1704067200, "tvl": float("nan")}]))  # fmt: skip
    with pytest.raises(DataSourceError, match=r"'payload\[0\].tvl'"):
        _read(_source(llama))


def test_a_list_where_a_number_belongs_in_live_mode(llama: FakeLlama) -> None:
    serve_defaults(llama)
    llama.serve("/tvl/aave", json_answer({"tvl": 12e9}))
    with pytest.raises(DataSourceError, match=r"expected a number \(the current TVL in USD\)"):
        _read(_source(llama, _Clock(day(8)), live=True))


def test_pro_key_goes_in_the_path_and_is_masked(llama: FakeLlama) -> None:
    llama.serve("/k3y/api/v2/historicalChainTvl/Ethereum", json_answer(chain_history_payload()))
    source = _source(llama, protocols=[], symbols={}, api_key="k3y", pro_base_url=llama.url)
    assert len(_read(source)) == len(ETHEREUM_TVL)
    llama.serve("/k3y/api/v2/historicalChainTvl/Ethereum", json_answer([{"date": "x"}]))
    with pytest.raises(DataSourceError) as caught:
        _read(_source(llama, protocols=[], symbols={}, api_key="k3y", pro_base_url=llama.url))
    assert "k3y" not in str(caught.value)


def test_api_key_from_a_secret_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    secret = tmp_path / "key"
    secret.write_text("from-file\n")
    monkeypatch.delenv("DEFILLAMA_API_KEY", raising=False)
    monkeypatch.setenv("DEFILLAMA_API_KEY_FILE", str(secret))
    source = DefiTvlSource.from_config({"chains": ["Ethereum"]})
    assert source.config.api_base == "https://pro-api.llama.fi/from-file/api"
    assert "from-file" not in repr(source.config)


def test_unreadable_secret_file_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEFILLAMA_API_KEY", raising=False)
    monkeypatch.setenv("DEFILLAMA_API_KEY_FILE", "/nonexistent/key")
    with pytest.raises(ConfigError, match="DEFILLAMA_API_KEY_FILE='/nonexistent/key' cannot be"):
        DefiTvlSource.from_config({"chains": ["Ethereum"]})


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, "nothing to fetch"),
        ({"protocols": ["Aave"]}, "protocol 'Aave' is not a DefiLlama slug"),
        ({"chains": ["Ethereum"], "symbols": {"aave": "AAVE/USDT"}}, "neither in 'protocols'"),
        ({"chains": ["Ethereum"], "symbols": {"Ethereum": "ETHUSDT"}}, "not a ccxt unified"),
        ({"chains": ["Ethereum"], "poll_interval": 0}, "greater than 0"),
        ({"chains": ["Ethereum"], "colour": "red"}, "Extra inputs are not permitted"),
    ],
)
def test_bad_config_is_refused(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        DefiTvlSource.from_config(config)


def test_live_mode_emits_current_tvl_per_protocol_chain(llama: FakeLlama) -> None:
    serve_defaults(llama)
    source = _source(llama, _Clock(day(8)), chains=[], live=True, poll_interval=0.001,
                     protocol_chains=["Ethereum", "Solana"], symbols={})  # fmt: skip
    events = _read(source, end=day(8) + timedelta(hours=2))
    live = [(e.name, e.labels, e.value) for e in events if e.ts >= day(8)]
    # Solana is not among the protocol's chains: no point rather than a made-up zero.
    assert live == [
        (PROTOCOL_CHAIN_TVL, {"protocol": "aave", "chain": "Ethereum"}, AAVE_ETHEREUM[-1]),
        (PROTOCOL_TVL, {"protocol": "aave"}, 12.3e9),
    ]
