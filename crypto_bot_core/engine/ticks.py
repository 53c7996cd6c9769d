"""Turning the merged event stream into ticks: read ahead in a backtest, as they arrive live.

A tick is the events of one timestamp. A backtest reads a block of ticks
before walking it, so agents that precompute their scores get the block's
bars at once; reading ahead is safe because a score depends only on bars up to
its own. Paper and live runs must not wait for the future: a tick is processed
as soon as no further event of its timestamp is ready, not when the next
timestamp's first event arrives - on a live one-minute feed that would decide
every tick a minute late.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from crypto_bot_sdk import MarketEvent


async def read_ahead(
    stream: AsyncIterator[MarketEvent], size: int
) -> AsyncIterator[list[list[MarketEvent]]]:
    """Blocks of up to ``size`` ticks, in stream order."""
    block: list[list[MarketEvent]] = []
    batch: list[MarketEvent] = []
    current = None
    async for event in stream:
        if current is not None and event.ts != current:
            block.append(batch)
            batch = []
            if len(block) >= size:
                yield block
                block = []
        current = event.ts
        batch.append(event)
    if batch:
        block.append(batch)
    if block:
        yield block


async def ticks_as_they_arrive(
    stream: AsyncIterator[MarketEvent], tick_gap: float
) -> AsyncIterator[list[list[MarketEvent]]]:
    """One tick per block, yielded once no further event of its timestamp is ready: after
    one turn of the event loop (all an in-process source needs), or ``tick_gap`` seconds.

    The next event is awaited in a task that outlives the wait, so giving up waiting never
    cancels (and so closes) a source's stream. An event of the same timestamp arriving
    after its tick was processed is processed as a tick of its own.
    """
    iterator = aiter(stream)
    batch: list[MarketEvent] = []
    pending: asyncio.Future[MarketEvent] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(iterator))
            if batch and not pending.done():
                await asyncio.sleep(0)  # one turn: an in-process source answers in it
                if not pending.done() and tick_gap > 0:
                    await asyncio.wait((pending,), timeout=tick_gap)
                if not pending.done():
                    yield [batch]
                    batch = []
                    continue
            try:
                event = await pending
            except StopAsyncIteration:
                break
            finally:
                if pending.done():
                    pending = None
            if batch and event.ts != batch[0].ts:
                yield [batch]
                batch = []
            batch.append(event)
        if batch:
            yield [batch]
    finally:
        if pending is not None and not pending.done():
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await pending
