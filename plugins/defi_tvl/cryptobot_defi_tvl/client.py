"""A small JSON-over-HTTP client: timeouts, retries with backoff, and a validator cache.

DefiLlama is a free public API behind a CDN: answers are slow at times, a 429
or a 5xx now and then is normal, and the big historical payloads change only
a few times a day. So every GET

* has a connect and a read timeout, so a hung server cannot stall the engine;
* is retried after a timeout, a connection error, a 429 or a 5xx, waiting
  ``backoff * 2**attempt`` seconds (capped; a ``Retry-After`` header wins);
  other 4xx answers are the caller's mistake and are not retried;
* remembers the ``ETag`` / ``Last-Modified`` of each URL's last good answer and
  sends ``If-None-Match`` / ``If-Modified-Since``, so an unchanged payload costs a
  304 and is served from memory.

Every failure is a :class:`~crypto_bot_sdk.DataSourceError` naming the URL
(with any API key masked) and what was wrong.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from crypto_bot_sdk import DataSourceError

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
_EXCERPT = 120


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    etag: str | None
    last_modified: str | None
    payload: Any


@dataclass(slots=True)
class ClientStats:
    """What the client did, for operators and tests: requests sent, 304s served, retries."""

    requests: int = 0
    not_modified: int = 0
    retries: int = 0


class JsonClient:
    """GETs JSON documents under one base URL; see the module doc for the policy."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float,
        connect_timeout: float,
        max_retries: int,
        backoff: float,
        backoff_max: float,
        secrets: tuple[str, ...] = (),
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._max_retries = max_retries
        self._backoff = backoff
        self._backoff_max = backoff_max
        self._secrets = tuple(s for s in secrets if s)
        self._sleep = sleep
        self._cache: dict[str, CachedAnswer] = {}
        self.stats = ClientStats()
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            transport=transport,
            headers={"Accept": "application/json"},
            follow_redirects=True,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    def display(self, url: str) -> str:
        """``url`` fit for a message or a log: API keys in the path are masked."""
        for secret in self._secrets:
            url = url.replace(secret, "***")
        return url

    async def get_json(self, path: str) -> Any:
        """The parsed JSON at ``base_url + path``; raises ``DataSourceError`` on failure."""
        url = f"{self._base_url}{path}"
        failure = ""
        for attempt in range(self._max_retries + 1):
            if attempt:
                self.stats.retries += 1
            delay = self._delay(attempt)
            try:
                response = await self._http.get(url, headers=self._conditional_headers(url))
            except httpx.TimeoutException as exc:
                failure = f"no answer in time ({type(exc).__name__})"
            except httpx.TransportError as exc:
                failure = f"connection failed ({type(exc).__name__}: {exc})"
            else:
                self.stats.requests += 1
                if response.status_code not in RETRYABLE_STATUS:
                    return self._accept(url, response)
                failure = f"HTTP {response.status_code} {response.reason_phrase}".rstrip()
                delay = self._retry_after(response, delay)
            if attempt < self._max_retries:
                await self._sleep(delay)
        attempts = self._max_retries + 1
        raise DataSourceError(
            f"GET {self.display(url)} failed after {attempts} attempt(s): {failure}; "
            "the service may be down or rate-limiting, try again later or raise max_retries"
        )

    def _delay(self, attempt: int) -> float:
        return float(min(self._backoff_max, self._backoff * 2**attempt))

    def _retry_after(self, response: httpx.Response, default: float) -> float:
        header = response.headers.get("Retry-After")
        if header is None:
            return default
        try:
            seconds = float(header)
        except ValueError:
            try:
                seconds = (parsedate_to_datetime(header) - datetime.now(UTC)).total_seconds()
            except (TypeError, ValueError):
                return default
        return max(0.0, min(self._backoff_max, seconds))

    def _conditional_headers(self, url: str) -> dict[str, str]:
        cached = self._cache.get(url)
        headers: dict[str, str] = {}
        if cached is not None:
            if cached.etag:
                headers["If-None-Match"] = cached.etag
            if cached.last_modified:
                headers["If-Modified-Since"] = cached.last_modified
        return headers

    def _accept(self, url: str, response: httpx.Response) -> Any:
        shown = self.display(url)
        if response.status_code == 304:
            cached = self._cache.get(url)
            if cached is None:
                raise DataSourceError(
                    f"GET {shown}: the server answered 304 Not Modified to a request that "
                    "sent no validator; it is misbehaving"
                )
            self.stats.not_modified += 1
            return cached.payload
        if response.status_code != 200:
            raise DataSourceError(
                f"GET {shown}: HTTP {response.status_code} {response.reason_phrase}: "
                f"{_excerpt(response.text)!r}; check the protocol slug or chain name"
            )
        try:
            payload = json.loads(response.content)
        except ValueError as exc:
            raise DataSourceError(
                f"GET {shown}: the body is not JSON ({exc}); it starts with "
                f"{_excerpt(response.text)!r}"
            ) from exc
        etag = response.headers.get("ETag")
        last_modified = response.headers.get("Last-Modified")
        if etag or last_modified:
            self._cache[url] = CachedAnswer(etag, last_modified, payload)
        return payload


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _EXCERPT else text[:_EXCERPT] + "..."
