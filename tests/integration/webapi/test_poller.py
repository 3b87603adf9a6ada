"""The quote poller against mt5sim: it polls through ``WebApiClient`` on one leased
session, follows the ``trans_id`` cursor, emits a snapshot then only changes, and
starts again from a full snapshot after a re-authentication."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest
from mt5gateway_server.feeds.hub import FeedKey, FeedTick
from mt5gateway_server.feeds.poller import QuotePoller

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from mt5gateway_server.webapi import SessionPool

SYMBOLS = {"EURUSD", "GBPUSD"}


class Recorder:
    def __init__(self) -> None:
        self.batches: list[list[FeedTick]] = []
        self.changed = asyncio.Event()

    async def __call__(self, ticks: list[FeedTick]) -> None:
        self.batches.append(ticks)
        self.changed.set()

    async def until(self, check: Callable[[], bool], seconds: float = 5.0) -> None:
        async with asyncio.timeout(seconds):
            while not check():
                self.changed.clear()
                await self.changed.wait()


@pytest.fixture
async def pool(open_pool) -> AsyncIterator[SessionPool]:
    async with open_pool(pool_size=2) as opened:
        yield opened


async def _polling(pool: SessionPool, group: str = "") -> tuple[QuotePoller, Recorder]:
    sink = Recorder()
    poller = QuotePoller(pool, FeedKey(pool.name, group), sink, interval=0.05)
    poller.set_symbols(SYMBOLS)
    poller.start()
    return poller, sink


async def test_a_snapshot_then_only_changes(pool, control) -> None:
    poller, sink = await _polling(pool)
    try:
        await sink.until(lambda: len(sink.batches) >= 4)
    finally:
        await poller.aclose()
    first = {t.symbol for t in sink.batches[0]}
    assert first == SYMBOLS  # trans_id 0: every symbol once
    last_seen: dict[str, tuple[object, ...]] = {}
    for batch in sink.batches:
        for tick in batch:
            assert last_seen.get(tick.symbol) != tick.ident  # never the same twice
            last_seen[tick.symbol] = tick.ident
    assert poller.restarts == 1  # the lease's start only: the cursor was followed
    stats = await control.stats()
    assert stats["requests"]["tick/last"] >= poller.polls
    assert stats["handshakes"]["completed"] == 2  # the pool's two sessions


async def test_a_reauthentication_restarts_the_cursor(pool, control) -> None:
    poller, sink = await _polling(pool)
    try:
        await sink.until(lambda: bool(sink.batches))
        polls = poller.polls
        assert await control.expire_sessions() >= 1
        await sink.until(lambda: poller.restarts >= 2 and poller.polls > polls + 2)
        emitted = len(sink.batches)
        await sink.until(lambda: len(sink.batches) > emitted)  # still moving
    finally:
        await poller.aclose()
    stats = await control.stats()
    assert stats["handshakes"]["completed"] >= 3  # the poller's session logged in again


async def test_a_group_view_polls_the_group_prices(pool, control) -> None:
    poller, sink = await _polling(pool, group="demo\\forex")
    try:
        await sink.until(lambda: bool(sink.batches))
    finally:
        await poller.aclose()
    assert {t.symbol for t in sink.batches[0]} == SYMBOLS
    stats = await control.stats()
    assert stats["requests"]["tick/last_group"] >= 1
    assert "tick/last" not in stats["requests"]
