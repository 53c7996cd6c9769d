"""Fills from venues that fill on their own time: streamed, polled, merged in time order.

A live venue's fills reach the engine two ways at once: its fill stream (where the
adapter has one) and polling ``fetch_fills`` at most every ``poll_interval``. Polling
also recovers what a broken stream missed, so a stream that gives up is recorded and
the run goes on. Simulated venues hand over fills as they match, and are never polled.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bare_exchange import BareExchange

from crypto_bot_core.engine.fills import FillSync, is_simulated, overrides
from crypto_bot_sdk import ExchangeError, Fill, MarketEvent, Side

T0 = datetime(2024, 3, 1, tzinfo=UTC)


def _fill(fill_id: str, minute: int) -> Fill:
    return Fill(
        fill_id=fill_id,
        client_order_id="cb-1",
        symbol="BTC/USDT",
        venue="bare",
        side=Side.BUY,
        quantity=Decimal("0.1"),
        price=Decimal(100),
        ts=T0 + timedelta(minutes=minute),
    )


class PolledVenue(BareExchange):
    """A live venue without a fill stream: ``fetch_fills`` answers from a script."""

    def __init__(self, answers: list[Sequence[Fill] | ExchangeError]) -> None:
        self.answers = answers
        self.polls: list[datetime | None] = []

    async def fetch_fills(
        self, symbol: str | None = None, since: datetime | None = None
    ) -> Sequence[Fill]:
        self.polls.append(since)
        answer = self.answers.pop(0)
        if isinstance(answer, ExchangeError):
            raise answer
        return answer


class StreamingVenue(PolledVenue):
    """A live venue whose fill stream pushes some fills, then breaks."""

    def __init__(
        self,
        streamed: list[Fill],
        answers: list[Sequence[Fill] | ExchangeError],
        *,
        breaks: bool = True,
    ) -> None:
        super().__init__(answers)
        self.streamed = streamed
        self.breaks = breaks

    async def fill_stream(self) -> AsyncIterator[Fill]:
        for fill in self.streamed:
            yield fill
        if self.breaks:
            raise ExchangeError("websocket closed by the venue", venue="bare")


class SimulatedVenue(PolledVenue):
    async def on_market_event(self, event: MarketEvent) -> Sequence[Fill]:
        return ()


def test_only_venues_that_fill_on_their_own_time_are_synced() -> None:
    live = PolledVenue([])
    simulated = SimulatedVenue([])
    assert overrides(StreamingVenue([], []), "fill_stream") is True
    assert overrides(live, "fill_stream") is False
    assert is_simulated(simulated) is True
    assert is_simulated(live) is False
    sync = FillSync({"live": live, "sim": simulated})
    assert sync.venues == ["live"]


def test_streamed_and_polled_fills_arrive_together_in_time_order_and_a_broken_stream_is_recorded(
) -> None:
    venue = StreamingVenue(
        streamed=[_fill("s-2", 2), _fill("s-1", 1)],
        answers=[[_fill("p-3", 3), _fill("p-0", 0)]],
    )
    since = T0 - timedelta(hours=1)
    sync = FillSync({"v": venue}, poll_interval=3600.0, since=since)

    async def session() -> list[str]:
        sync.start()
        await asyncio.sleep(0)  # the stream task runs: two fills, then the venue drops it
        await asyncio.sleep(0)
        fills = await sync.collect(force=True)
        await sync.stop()
        return [fill.fill_id for fill in fills]

    assert asyncio.run(session()) == ["p-0", "s-1", "s-2", "p-3"]
    assert venue.polls == [since]
    assert sync.errors == ["v: fill stream stopped: bare: websocket closed by the venue"]


def test_a_stream_that_ends_cleanly_is_no_error_and_venues_without_one_are_only_polled() -> None:
    streaming = StreamingVenue(streamed=[_fill("s", 1)], answers=[[]], breaks=False)
    polled = PolledVenue(answers=[[_fill("p", 0)]])
    sync = FillSync({"s": streaming, "p": polled}, poll_interval=3600.0)

    async def session() -> tuple[int, list[str]]:
        sync.start()
        tasks = len(sync._tasks)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        fills = await sync.collect(force=True)
        await sync.stop()
        return tasks, [fill.fill_id for fill in fills]

    assert asyncio.run(session()) == (1, ["p", "s"])
    assert sync.errors == []
    assert len(polled.polls) == 1


def test_a_venue_is_polled_at_most_once_per_interval_unless_forced() -> None:
    # The first poll is forced: a run's first tick polls whatever the monotonic clock says.
    venue = PolledVenue(answers=[[_fill("a", 0)], [_fill("b", 1)]])
    sync = FillSync({"v": venue}, poll_interval=3600.0)

    async def three_ticks() -> list[list[str]]:
        first = await sync.collect(force=True)
        too_soon = await sync.collect()
        forced = await sync.collect(force=True)
        return [[f.fill_id for f in fills] for fills in (first, too_soon, forced)]

    assert asyncio.run(three_ticks()) == [["a"], [], ["b"]]
    assert len(venue.polls) == 2


def test_a_failing_poll_is_recorded_and_the_next_poll_recovers_the_fills() -> None:
    venue = PolledVenue(
        answers=[ExchangeError("rate limited", venue="bare"), [_fill("late", 5)]]
    )
    sync = FillSync({"v": venue}, poll_interval=0.0)

    async def two_polls() -> tuple[list[Fill], list[Fill]]:
        return await sync.collect(), await sync.collect()

    failed, recovered = asyncio.run(two_polls())
    assert failed == []
    assert [fill.fill_id for fill in recovered] == ["late"]
    assert sync.errors == ["v: fetch_fills failed: bare: rate limited"]


def test_stopping_cancels_a_stream_that_is_still_open() -> None:
    class EndlessStream(PolledVenue):
        async def fill_stream(self) -> AsyncIterator[Fill]:
            yield _fill("only", 0)
            await asyncio.Event().wait()  # the venue keeps the socket open

    sync = FillSync({"v": EndlessStream([])}, poll_interval=3600.0)

    async def session() -> tuple[int, list[str], bool]:
        sync.start()
        task = sync._tasks[0]
        await asyncio.sleep(0)
        queued = sync._queue.qsize()
        await sync.stop()
        return queued, sync.errors, task.cancelled()

    assert asyncio.run(session()) == (1, [], True)
    assert sync._tasks == []
