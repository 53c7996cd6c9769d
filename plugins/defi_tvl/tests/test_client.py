"""The HTTP client against the loopback fake: retries, backoff, validators, timeouts, errors."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from crypto_bot_sdk import DataSourceError
from cryptobot_defi_tvl.client import JsonClient

from .fake_llama import FakeLlama, json_answer, text_answer


def _client(fake: FakeLlama, **overrides: Any) -> tuple[JsonClient, list[float]]:
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    settings: dict[str, Any] = {
        "timeout": 2.0, "connect_timeout": 2.0, "max_retries": 3, "backoff": 0.5,
        "backoff_max": 30.0, "sleep": record,
    } | overrides  # fmt: skip
    return JsonClient(fake.url, **settings), waits


def _get(client: JsonClient, path: str, times: int = 1) -> list[Any]:
    async def scenario() -> list[Any]:
        try:
            return [await client.get_json(path) for _ in range(times)]
        finally:
            await client.aclose()

    return asyncio.run(scenario())


def test_server_errors_are_retried_with_doubling_backoff(llama: FakeLlama) -> None:
    llama.serve("/tvl/aave", json_answer(12.5e9))
    llama.then("/tvl/aave", text_answer(503, "upstream down"), text_answer(502, "bad gateway"))
    client, waits = _client(llama)
    assert _get(client, "/tvl/aave") == [12.5e9]
    assert len(llama.hits("/tvl/aave")) == 3
    assert waits == [0.5, 1.0]
    assert client.stats.retries == 2


def test_retry_after_header_wins_over_backoff(llama: FakeLlama) -> None:
    llama.serve("/tvl/aave", json_answer(1.0))
    llama.then("/tvl/aave", text_answer(429, "Too Many Requests", **{"Retry-After": "7"}))
    client, waits = _client(llama)
    assert _get(client, "/tvl/aave") == [1.0]
    assert waits == [7.0]


def test_gives_up_after_max_retries_naming_url_and_status(llama: FakeLlama) -> None:
    llama.serve("/tvl/aave", text_answer(500, "Internal Server Error"))
    client, waits = _client(llama, max_retries=2)
    with pytest.raises(DataSourceError) as caught:
        _get(client, "/tvl/aave")
    message = str(caught.value)
    assert f"GET {llama.url}/tvl/aave failed after 3 attempt(s): HTTP 500" in message
    assert len(llama.hits("/tvl/aave")) == 3
    assert waits == [0.5, 1.0]


def test_client_errors_are_not_retried(llama: FakeLlama) -> None:
    llama.serve("/protocol/nope", text_answer(400, "Protocol is not in our database"))
    client, waits = _client(llama)
    with pytest.raises(DataSourceError, match=r"HTTP 400 Bad Request: 'Protocol is not in our"):
        _get(client, "/protocol/nope")
    assert len(llama.hits("/protocol/nope")) == 1
    assert waits == []


def test_etag_turns_a_repeat_into_a_304_served_from_memory(llama: FakeLlama) -> None:
    payload = [{"date": 1704067200, "tvl": 5.5e10}]
    llama.serve("/v2/historicalChainTvl/Ethereum", json_answer(payload))
    client, _ = _client(llama)
    assert _get(client, "/v2/historicalChainTvl/Ethereum", times=3) == [payload] * 3
    first, *repeats = llama.hits("/v2/historicalChainTvl/Ethereum")
    assert "If-None-Match" not in first.headers
    etag = llama.standing["/v2/historicalChainTvl/Ethereum"].headers["ETag"]
    assert [r.headers["If-None-Match"] for r in repeats] == [etag, etag]
    assert client.stats.not_modified == 2


def test_last_modified_is_sent_back_as_if_modified_since(llama: FakeLlama) -> None:
    answer = json_answer(3.0, etag=False)
    answer.headers["Last-Modified"] = "Mon, 01 Jan 2024 00:00:00 GMT"
    llama.serve("/tvl/lido", answer)
    client, _ = _client(llama)
    _get(client, "/tvl/lido", times=2)
    second = llama.hits("/tvl/lido")[1]
    assert second.headers["If-Modified-Since"] == "Mon, 01 Jan 2024 00:00:00 GMT"


def test_a_304_without_a_cached_answer_is_an_error(llama: FakeLlama) -> None:
    llama.serve("/tvl/aave", text_answer(304, ""))
    client, _ = _client(llama)
    with pytest.raises(DataSourceError, match="304 Not Modified to a request that sent no"):
        _get(client, "/tvl/aave")


def test_malformed_json_names_the_url_and_shows_the_body(llama: FakeLlama) -> None:
    llama.serve("/tvl/aave", text_answer(200, '{"tvl": 12.5e9,'))
    client, _ = _client(llama)
    with pytest.raises(DataSourceError) as caught:
        _get(client, "/tvl/aave")
    assert str(caught.value).startswith(f"GET {llama.url}/tvl/aave: the body is not JSON")
    assert "'{\"tvl\": 12.5e9,'" in str(caught.value)


def test_slow_answers_time_out_and_are_retried(llama: FakeLlama) -> None:
    slow = json_answer(99.0)
    slow.slow = True
    llama.then("/tvl/aave", slow)
    llama.serve("/tvl/aave", json_answer(12.0))
    client, waits = _client(llama, timeout=0.2, max_retries=1)
    assert _get(client, "/tvl/aave") == [12.0]
    assert waits == [0.5]
    assert client.stats.retries == 1


def test_a_server_that_never_answers_ends_in_a_timeout_error(llama: FakeLlama) -> None:
    slow = json_answer(99.0)
    slow.slow = True
    llama.serve("/tvl/aave", slow)
    client, _ = _client(llama, timeout=0.2, max_retries=1)
    with pytest.raises(DataSourceError, match=r"failed after 2 attempt\(s\): no answer in time"):
        _get(client, "/tvl/aave")


def test_connection_refused_is_a_data_source_error() -> None:
    fake = FakeLlama()
    url = fake.url
    fake._server.server_close()  # bound, never served: the port refuses connections
    client = JsonClient(url, timeout=1, connect_timeout=1, max_retries=0, backoff=0,
                        backoff_max=0)  # fmt: skip
    with pytest.raises(DataSourceError, match="connection failed"):
        _get(client, "/tvl/aave")


def test_api_keys_never_appear_in_messages(llama: FakeLlama) -> None:
    llama.serve("/sekrit-key/api/tvl/aave", text_answer(404, "not found"))
    client = JsonClient(
        f"{llama.url}/sekrit-key/api",
        timeout=1, connect_timeout=1, max_retries=0, backoff=0, backoff_max=0,
        secrets=("sekrit-key",),
    )  # fmt: skip
    with pytest.raises(DataSourceError) as caught:
        _get(client, "/tvl/aave")
    assert "sekrit-key" not in str(caught.value)
    assert f"{llama.url}/***/api/tvl/aave" in str(caught.value)
