"""The ``tvl`` data source: DeFi total value locked per protocol and chain, as metric points.

Three metrics, all in USD, with ``source`` from the config and ``symbol`` from
its ``symbols`` table (or none):

* ``defi.protocol.tvl``, labels ``{"protocol": slug}``;
* ``defi.protocol.chain_tvl``, labels ``{"protocol": slug, "chain": name}``;
* ``defi.chain.tvl``, labels ``{"chain": name}``.

``stream(start, end)`` first replays the stored history (DefiLlama keeps one
point a day, plus the latest) inside ``[start, end)`` and up to now; that
part is finite, which is what a backtest gets. In live mode it then polls
the current TVL every ``poll_interval`` seconds, stamping each point with the
poll time, until ``end`` or until the source is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from urllib.parse import quote

import httpx

from crypto_bot_sdk import DataSource, DataSourceError, Instrument, MarketEvent, MetricPoint
from cryptobot_defi_tvl.client import JsonClient
from cryptobot_defi_tvl.config import DefiTvlConfig
from cryptobot_defi_tvl.payloads import (
    ProtocolTvl,
    Series,
    chain_history,
    chains_current,
    current_tvl,
)

PROTOCOL_TVL = "defi.protocol.tvl"
PROTOCOL_CHAIN_TVL = "defi.protocol.chain_tvl"
CHAIN_TVL = "defi.chain.tvl"


def _order(point: MetricPoint) -> tuple[datetime, str, tuple[tuple[str, str], ...]]:
    return point.ts, point.name, tuple(sorted(point.labels.items()))


class DefiTvlSource(DataSource[DefiTvlConfig]):
    """See the module doc. ``transport`` and ``clock`` exist for tests and embedding."""

    name = "tvl"
    config_model = DefiTvlConfig

    def __init__(
        self,
        config: DefiTvlConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(config)
        self._transport = transport
        self._now = clock or (lambda: datetime.now(UTC))
        self._client: JsonClient | None = None
        self._closed = asyncio.Event()

    @property
    def client(self) -> JsonClient:
        if self._client is None:
            key = self.config.api_key
            self._client = JsonClient(
                self.config.api_base,
                timeout=self.config.timeout,
                connect_timeout=self.config.connect_timeout,
                max_retries=self.config.max_retries,
                backoff=self.config.backoff,
                backoff_max=self.config.backoff_max,
                secrets=(key.get_secret_value(),) if key is not None else (),
                transport=self._transport,
            )
        return self._client

    async def start(self) -> None:
        self._closed.clear()
        _ = self.client

    async def close(self) -> None:
        self._closed.set()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def instruments(self) -> Sequence[Instrument]:
        """None: TVL describes protocols and chains, not tradable markets."""
        return ()

    async def history(self, symbol: str, start: datetime, end: datetime) -> Sequence[MarketEvent]:
        """Stored points whose ``symbol`` (from the config's ``symbols``) is ``symbol``."""
        return [
            p for p in await self._history() if p.symbol == symbol and start <= p.ts < end
        ]

    async def stream(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> AsyncIterator[MarketEvent]:
        now = self._now()
        stop = now if end is None else min(end, now)
        last: datetime | None = None
        for point in await self._history():
            if (start is None or point.ts >= start) and point.ts < stop:
                last = point.ts
                yield point
        if not self.config.live:
            return
        while not self._closed.is_set():
            now = self._now()
            if end is not None and now >= end:
                return
            # A clock that did not move (or moved back) would repeat or reorder points.
            if (start is None or now >= start) and (last is None or now > last):
                for point in await self._current(now):
                    yield point
                last = now
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closed.wait(), self.config.poll_interval)

    # --- fetching ------------------------------------------------------------------

    async def _get(self, path: str) -> tuple[object, str]:
        return await self.client.get_json(path), self.client.display(
            f"{self.config.api_base}{path}"
        )

    def _point(
        self, metric: str, ts: datetime, value: float, subject: str, **labels: str
    ) -> MetricPoint:
        return MetricPoint(
            name=metric,
            ts=ts,
            value=value,
            unit="USD",
            source=self.config.source,
            symbol=self.config.symbols.get(subject),
            labels=labels,
        )

    def _series_points(
        self, metric: str, series: Series, subject: str, **labels: str
    ) -> list[MetricPoint]:
        return [self._point(metric, ts, value, subject, **labels) for ts, value in series]

    async def _protocol(self, slug: str) -> ProtocolTvl:
        payload, url = await self._get(f"/protocol/{quote(slug, safe='')}")
        return ProtocolTvl(payload, url)

    async def _history(self) -> list[MetricPoint]:
        points: list[MetricPoint] = []
        for slug in self.config.protocols:
            protocol = await self._protocol(slug)
            points += self._series_points(PROTOCOL_TVL, protocol.total, slug, protocol=slug)
            for chain in self.config.protocol_chains:
                series = protocol.chain_series(chain)
                points += self._series_points(
                    PROTOCOL_CHAIN_TVL, series, slug, protocol=slug, chain=chain
                )
        for chain in self.config.chains:
            payload, url = await self._get(f"/v2/historicalChainTvl/{quote(chain, safe='')}")
            points += self._series_points(
                CHAIN_TVL, chain_history(payload, url), chain, chain=chain
            )
        points.sort(key=_order)
        return points

    async def _current(self, now: datetime) -> list[MetricPoint]:
        points: list[MetricPoint] = []
        for slug in self.config.protocols:
            payload, url = await self._get(f"/tvl/{quote(slug, safe='')}")
            value = current_tvl(payload, url)
            points.append(self._point(PROTOCOL_TVL, now, value, slug, protocol=slug))
            if self.config.protocol_chains:
                protocol = await self._protocol(slug)
                for chain in self.config.protocol_chains:
                    on_chain = protocol.current_on(chain)
                    if on_chain is not None:
                        points.append(
                            self._point(
                                PROTOCOL_CHAIN_TVL, now, on_chain, slug, protocol=slug, chain=chain
                            )
                        )
        if self.config.chains:
            payload, url = await self._get("/v2/chains")
            current = chains_current(payload, url)
            for chain in self.config.chains:
                if chain not in current:
                    raise DataSourceError(
                        f"GET {url}: chain {chain!r} is not in the list of "
                        f"{len(current)} chains; check its spelling (e.g. "
                        f"{', '.join(sorted(current)[:5])})"
                    )
                points.append(self._point(CHAIN_TVL, now, current[chain], chain, chain=chain))
        points.sort(key=_order)
        return points
