"""Two gateway replicas sharing one real Redis: one poller, every replica serves its
own streams from Pub/Sub; lease takeover when the holder dies; Redis restarts."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

import pytest
from mt5gateway_server.cache import keys
from mt5gateway_server.feeds.hub import FeedKey
from mt5gateway_server.feeds.redis_fanout import interest_key

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractAsyncContextManager

    from mt5sim import Simulator
    from redis.asyncio import Redis

    from tests.conftest import RedisServer

pytestmark = pytest.mark.integration

KEY = FeedKey("main")
POLL_MS = 50  # the nodes' poll interval (conftest)


async def _until(check: Callable[[], bool], seconds: float = 5.0) -> None:
    """Wait for state owned by other tasks (no event to wait on)."""
    async with asyncio.timeout(seconds):
        while True:
            if check():
                return
            await asyncio.sleep(0.01)


async def _poll_rate(sim: Simulator, h: Any, seconds: float = 1.0) -> float:
    before = await h.tick_polls(sim)
    await asyncio.sleep(seconds)
    return (await h.tick_polls(sim) - before) / seconds


async def test_two_replicas_one_poller(
    make_node: Callable[..., AbstractAsyncContextManager[Any]],
    sim: Simulator,
    redis: Redis,
    redis_url: str,
    h: Any,
) -> None:
    async with (
        make_node(sim, redis_url=redis_url, replica="a") as a,
        make_node(sim, redis_url=redis_url, replica="b") as b,
    ):
        on_a = a.stream("EURUSD", "GBPUSD")
        on_b = b.stream("EURUSD")
        await h.read_snapshot(on_a)
        await h.read_snapshot(on_b)
        await _until(lambda: a.fanout.holds(KEY) or b.fanout.holds(KEY))
        for i in range(4):
            expected = h.move(sim, "EURUSD", points=i + 1)
            assert h.quote_values(await h.next_quote(on_a)) == ("EURUSD", *expected)
            assert h.quote_values(await h.next_quote(on_b)) == ("EURUSD", *expected)
        assert a.fanout.holds(KEY) != b.fanout.holds(KEY)  # exactly one holder
        holder = "a" if a.fanout.holds(KEY) else "b"
        assert await redis.get(keys.quote_lease("main", "raw")) == holder.encode()
        # One poller at 20 polls/s, not two (the simulator counts every request).
        rate = await _poll_rate(sim, h)
        assert 10 <= rate <= 1.5 * 1000 / POLL_MS, rate
        # The holder polls the union of both replicas' symbols.
        poller = (a if holder == "a" else b).fanout.held[KEY].poller
        assert poller.symbols == {"EURUSD", "GBPUSD"}
        on_a.cancel()
        on_b.cancel()
        # Nobody listens: the lease is released and polling stops.
        await _until(lambda: not a.fanout.held and not b.fanout.held)
        assert await _poll_rate(sim, h, 0.3) == 0
        assert await redis.get(keys.quote_lease("main", "raw")) is None


async def test_channel_format_for_other_consumers(
    make_node: Callable[..., AbstractAsyncContextManager[Any]],
    sim: Simulator,
    redis: Redis,
    redis_url: str,
    h: Any,
) -> None:
    pubsub = redis.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(keys.quote_channel("main", "raw"))
    async with make_node(sim, redis_url=redis_url, replica="a") as a:
        call = a.stream("XAUUSD")
        await h.read_snapshot(call)
        await _until(lambda: a.fanout.holds(KEY))
        await asyncio.sleep(2 * POLL_MS / 1000)
        bid, ask, stamp = h.move(sim, "XAUUSD", points=7)
        async with asyncio.timeout(5):
            while True:
                message = await pubsub.get_message(timeout=1.0)
                if message is None:
                    continue
                data = json.loads(message["data"])
                if data["time_msc"] == stamp:
                    break
        assert data["v"] == 1
        assert data["server"] == "main"
        assert data["view"] == "raw"
        assert (data["symbol"], data["digits"]) == ("XAUUSD", 2)
        assert (data["bid"], data["ask"]) == (str(bid), str(ask))
        assert data["published_msc"] >= stamp
        snapshot = await redis.hget(keys.quote_snapshot("main", "raw"), "XAUUSD")
        assert snapshot is not None
        assert json.loads(snapshot)["time_msc"] == stamp
        members = await redis.zrange(interest_key("main", "raw"), 0, -1)
        assert members == [b"a|XAUUSD"]
        call.cancel()
    await pubsub.aclose()  # type: ignore[no-untyped-call]


async def test_lease_taken_over_when_holder_dies(
    make_node: Callable[..., AbstractAsyncContextManager[Any]],
    sim: Simulator,
    redis: Redis,  # a flushed database: no lease left by an earlier test
    redis_url: str,
    h: Any,
) -> None:
    del redis
    async with (
        make_node(sim, redis_url=redis_url, replica="a") as a,
        make_node(sim, redis_url=redis_url, replica="b") as b,
    ):
        on_a = a.stream("EURUSD")
        on_b = b.stream("EURUSD")
        await h.read_snapshot(on_a)
        await h.read_snapshot(on_b)
        await _until(lambda: a.fanout.holds(KEY) or b.fanout.holds(KEY))
        holder, survivor, stream = (a, b, on_b) if a.fanout.holds(KEY) else (b, a, on_a)
        await holder.crash()  # no release: the lease must expire (1 s)
        loop = asyncio.get_running_loop()
        died = loop.time()
        await _until(lambda: survivor.fanout.holds(KEY), seconds=5.0)
        assert loop.time() - died < 2.5  # lease 1 s + refresh 0.2 s + slack
        expected = h.move(sim, "EURUSD", points=5)
        while True:  # ticks from before the takeover may still be queued
            values = h.quote_values(await h.next_quote(stream))
            if values == ("EURUSD", *expected):
                break
        stream.cancel()


async def test_redis_restart_survived(
    make_node: Callable[..., AbstractAsyncContextManager[Any]],
    sim: Simulator,
    redis_server: RedisServer,
    h: Any,
) -> None:
    redis_server.ensure_running()
    async with (
        make_node(sim, redis_url=redis_server.url, replica="a") as a,
        make_node(sim, redis_url=redis_server.url, replica="b") as b,
    ):
        on_a = a.stream("EURUSD")
        on_b = b.stream("EURUSD")
        await h.read_snapshot(on_a)
        await h.read_snapshot(on_b)
        await _until(lambda: a.fanout.holds(KEY) or b.fanout.holds(KEY))
        expected = h.move(sim, "EURUSD")
        assert h.quote_values(await h.next_quote(on_a))[1:] == expected
        assert h.quote_values(await h.next_quote(on_b))[1:] == expected
        redis_server.restart()  # data lost: no lease, no interest, no subscriptions
        await asyncio.sleep(0.3)
        # Both streams are still open and get new prices once Redis is back.
        for call in (on_a, on_b):
            deadline = asyncio.get_running_loop().time() + 8
            while True:
                expected = h.move(sim, "EURUSD")
                try:
                    message = await h.next_quote(call, 0.5)
                except TimeoutError:
                    assert asyncio.get_running_loop().time() < deadline
                    continue
                if h.quote_values(message)[1:] == expected:
                    break
        await _until(lambda: a.fanout.holds(KEY) != b.fanout.holds(KEY))
        on_a.cancel()
        on_b.cancel()
