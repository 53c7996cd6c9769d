"""A loopback fake of the DefiLlama API: real response shapes, scripted failures, slow answers.

The server runs in a thread on 127.0.0.1 with an ephemeral port. Each path
answers from a script: a queue of one-off answers (a 503, a malformed body, a
slow answer) consumed first, then its standing answer. Standing JSON answers
carry an ``ETag`` and honour ``If-None-Match`` with a 304, as DefiLlama's CDN
does. A slow answer blocks until :meth:`FakeLlama.release` or shutdown, never
on a timer, so tests do not depend on how fast the machine is.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DAY = 86400
START = datetime(2024, 1, 1, tzinfo=UTC)
START_S = int(START.timestamp())


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    slow: bool = False


def json_answer(payload: Any, *, status: int = 200, etag: bool = True) -> Answer:
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if etag:
        headers["ETag"] = f'W/"{hashlib.sha256(body).hexdigest()[:16]}"'
    return Answer(status, body, headers)


def text_answer(status: int, text: str, **headers: str) -> Answer:
    return Answer(status, text.encode(), {"Content-Type": "text/plain", **headers})


@dataclass(frozen=True)
class Seen:
    path: str
    headers: dict[str, str]


class FakeLlama:
    """Start with :meth:`start`, stop with :meth:`stop`; ``url`` is its base URL."""

    def __init__(self) -> None:
        self.standing: dict[str, Answer] = {}
        self.queued: dict[str, deque[Answer]] = {}
        self.seen: list[Seen] = []
        self._release = threading.Event()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeLlama:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def release(self) -> None:
        """Let every slow answer (held or future) go out."""
        self._release.set()

    def serve(self, path: str, answer: Answer) -> None:
        self.standing[path] = answer

    def then(self, path: str, *answers: Answer) -> None:
        """One-off answers for ``path``, in order, before its standing answer."""
        self.queued.setdefault(path, deque()).extend(answers)

    def hits(self, path: str) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if s.path == path]

    def _next(self, path: str) -> Answer | None:
        with self._lock:
            queue = self.queued.get(path)
            if queue:
                return queue.popleft()
        return self.standing.get(path)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the test output is for the tests."""

            def do_GET(self) -> None:
                with fake._lock:
                    fake.seen.append(Seen(self.path, dict(self.headers.items())))
                answer = fake._next(self.path)
                if answer is None:
                    answer = text_answer(404, f"Cannot GET {self.path}")
                if answer.slow:
                    fake._release.wait(timeout=30)
                etag = answer.headers.get("ETag")
                if answer.status == 200 and etag and self.headers.get("If-None-Match") == etag:
                    answer = Answer(304, b"", {"ETag": etag})
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a timeout test)

        return Handler


# --- the real API's shapes ----------------------------------------------------------


def daily(values: list[float], key: str, *, start: int = START_S) -> list[dict[str, Any]]:
    return [{"date": start + i * DAY, key: value} for i, value in enumerate(values)]


AAVE_TOTAL = [10e9, 10.5e9, 10.2e9, 11e9, 11.4e9, 11.1e9, 11.8e9, 12e9]
AAVE_ETHEREUM = [8e9, 8.3e9, 8.1e9, 8.7e9, 9e9, 8.8e9, 9.3e9, 9.5e9]
AAVE_ARBITRUM = [v - e for v, e in zip(AAVE_TOTAL, AAVE_ETHEREUM, strict=True)]
ETHEREUM_TVL = [50e9, 51e9, 49.5e9, 52e9, 53e9, 52.5e9, 54e9, 55e9]


def protocol_payload(
    name: str = "Aave",
    total: list[float] = AAVE_TOTAL,
    chains: dict[str, list[float]] | None = None,
) -> dict[str, Any]:
    """``GET /protocol/{slug}`` as the API serves it (fields this source ignores included)."""
    chains = {"Ethereum": AAVE_ETHEREUM, "Arbitrum": AAVE_ARBITRUM} if chains is None else chains
    chain_tvls: dict[str, Any] = {
        chain: {
            "tvl": daily(values, "totalLiquidityUSD"),
            "tokensInUsd": [{"date": START_S, "tokens": {"USDC": values[0] / 2}}],
            "tokens": [{"date": START_S, "tokens": {"USDC": values[0] / 2}}],
        }
        for chain, values in chains.items()
    }
    chain_tvls["borrowed"] = {"tvl": daily([v / 3 for v in total], "totalLiquidityUSD")}
    chain_tvls["Ethereum-borrowed"] = {"tvl": daily([1e9] * len(total), "totalLiquidityUSD")}
    current = {chain: values[-1] for chain, values in chains.items()}
    current |= {"borrowed": total[-1] / 3, "Ethereum-borrowed": 1e9}
    return {
        "id": "111",
        "name": name,
        "address": "0x7fc66500c84a76ad7e9c93437bfc5ac33e2ddae9",
        "symbol": "AAVE",
        "url": "https://aave.com",
        "description": "Earn interest, borrow assets, and build applications",
        "chain": "Multi-Chain",
        "gecko_id": "aave",
        "cmcId": "7278",
        "category": "Lending",
        "chains": list(chains),
        "twitter": "aave",
        "currentChainTvls": current,
        "chainTvls": chain_tvls,
        "tvl": daily(total, "totalLiquidityUSD"),
        "tokensInUsd": [{"date": START_S, "tokens": {"USDC": total[0] / 2}}],
        "tokens": [{"date": START_S, "tokens": {"USDC": total[0] / 2}}],
        "mcap": 1.5e9,
    }


def chain_history_payload(values: list[float] = ETHEREUM_TVL) -> list[dict[str, Any]]:
    """``GET /v2/historicalChainTvl/{chain}``."""
    return daily(values, "tvl")


def chains_payload(ethereum: float = 56e9) -> list[dict[str, Any]]:
    """``GET /v2/chains``."""
    return [
        {"gecko_id": "ethereum", "tvl": ethereum, "tokenSymbol": "ETH", "cmcId": "1027",
         "name": "Ethereum", "chainId": 1},
        {"gecko_id": "harmony", "tvl": 4815892.656507085, "tokenSymbol": "ONE",
         "cmcId": "3945", "name": "Harmony", "chainId": 1666600000},
        {"gecko_id": None, "tvl": 1.2e9, "tokenSymbol": None, "cmcId": None,
         "name": "Arbitrum", "chainId": 42161},
    ]  # fmt: skip


def serve_defaults(fake: FakeLlama, *, aave_now: float = 12.3e9) -> None:
    """Aave and Ethereum, history and current, as a healthy API answers."""
    fake.serve("/protocol/aave", json_answer(protocol_payload()))
    fake.serve("/tvl/aave", json_answer(aave_now))
    fake.serve("/v2/historicalChainTvl/Ethereum", json_answer(chain_history_payload()))
    fake.serve("/v2/chains", json_answer(chains_payload()))


def day(index: int) -> datetime:
    return START + timedelta(days=index)
