"""The quote poller against mt5sim: each round borrows a pooled session through
``WebApiClient`` and gives it back, follows each session's ``trans_id`` cursor (also
where ids are valid only on the session they were answered to), emits a snapshot then
only changes, and starts again from a full snapshot after a re-authentication."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import pytest
from mt5gateway_server.feeds.hub import FeedKey, FeedTick
from mt5gateway_server.feeds.poller import QuotePoller
from mt5sim import SimConfig
from mt5sim.market.broker import BrokerOptions

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from mt5gateway_server.webapi import SessionPool
    from mt5sim import Simulator

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


async def _polling(
    pool: SessionPool, group: str = "", interval: float = 0.05
) -> tuple[QuotePoller, Recorder]:
    sink = Recorder()
    poller = QuotePoller(pool, FeedKey(pool.name, group), sink, interval=interval)
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
    # Rounds took turns on the two sessions; each one's first round was its only full
    # snapshot: every later round followed that session's cursor.
    assert poller.restarts == len(pool.sessions) == 2
    stats = await control.stats()
    assert stats["requests"]["tick/last"] >= poller.polls
    assert stats["handshakes"]["completed"] == 2  # the pool's two sessions


async def test_a_reauthentication_restarts_the_cursor(pool, control) -> None:
    poller, sink = await _polling(pool)
    try:
        await sink.until(lambda: bool(sink.batches))
        polls, restarts = poller.polls, poller.restarts
        assert await control.expire_sessions() >= 1
        await sink.until(
            lambda: poller.restarts > restarts and poller.polls > polls + 2
        )
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


async def test_no_session_is_kept_between_rounds(open_pool) -> None:
    # One session for the poller and everyone else: a poller that kept it would
    # starve every other caller into PoolTimeout.
    async with open_pool(pool_size=1, acquire_timeout=1.0) as pool:
        poller, sink = await _polling(pool)
        try:
            await sink.until(lambda: bool(sink.batches))
            client = pool.client()
            async with asyncio.timeout(2.0):
                for _ in range(10):
                    await client.ping()
            polls = poller.polls
            await sink.until(lambda: poller.polls > polls + 2)  # still polling
        finally:
            await poller.aclose()
        assert pool.snapshot().busy == 0


def _move(sim: Simulator, symbol: str) -> int:
    """A new tick one point up, stamped now (strictly later); its stamp."""
    tick = sim.broker.ticks[symbol]
    stamp = max(int(time.time() * 1000), tick.time_msc + 1)
    sim.broker.apply_tick(symbol, tick.bid + 1, tick.ask + 1, stamp)
    return stamp


@pytest.mark.parametrize(
    "sim_config",
    [
        SimConfig(
            tls=False,
            seed=1,
            ticks_per_second=0,
            trans_id_scope="connection",
            broker_options=BrokerOptions(unknown_trans_id_full=False),
        )
    ],
)
async def test_every_change_once_with_ids_tied_to_their_session(
    pool, sim, control
) -> None:
    # Here an id sent on another session than the one it came from is answered
    # with [] and the current id: a cursor shared by the sessions would lose every
    # change from then on.
    poller, sink = await _polling(pool, interval=0.02)
    moved: list[int] = []
    try:
        await sink.until(lambda: bool(sink.batches))
        for _ in range(12):
            moved.append(_move(sim, "EURUSD"))
            await sink.until(
                lambda: any(
                    t.symbol == "EURUSD" and t.stamp == moved[-1]
                    for batch in sink.batches
                    for t in batch
                ),
                seconds=2.0,
            )
            await asyncio.sleep(0.03)  # a round or so on the other session
    finally:
        await poller.aclose()
    seen = [t.stamp for batch in sink.batches[1:] for t in batch]
    assert seen == moved  # each change once, in order: none lost, none repeated
    assert poller.restarts == len(pool.sessions) == 2  # both sessions polled
    stats = await control.stats()
    assert poller.polls <= stats["requests"]["tick/last"] <= poller.polls + 1
