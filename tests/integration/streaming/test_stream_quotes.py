"""StreamQuotes on one gateway without Redis: snapshot, changes, masks, groups,
heartbeats, conflation, drain, poller lifecycle, validation, re-authentication."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from mt5gateway_server.settings import QuoteSettings

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractAsyncContextManager

    from mt5sim import Simulator

pytestmark = pytest.mark.integration

MAJORS = {"EURUSD", "GBPUSD", "USDJPY", "USDCHF", "AUDUSD", "USDCAD", "NZDUSD"}


async def test_snapshot_then_every_change(node: Any, sim: Simulator, h: Any) -> None:
    call = node.stream("EURUSD", "Forex\\Major\\GBPUSD")
    snapshot = await h.read_snapshot(call)
    got = {h.quote_values(m)[0]: h.quote_values(m)[1:] for m in snapshot}
    assert got == {s: h.truth(sim, s) for s in ("EURUSD", "GBPUSD")}
    assert [m.sequence for m in snapshot] == list(range(1, len(snapshot) + 1))
    sequence = snapshot[-1].sequence + 1  # SnapshotComplete took one number
    for i in range(5):
        symbol = ("EURUSD", "GBPUSD")[i % 2]
        expected = h.move(sim, symbol, points=i + 1)
        message = await h.next_quote(call)
        assert h.quote_values(message) == (symbol, *expected)
        assert message.sequence == sequence + 1
        assert message.send_time.seconds > 0
        sequence = message.sequence
    call.cancel()


async def test_rapid_ticks_never_go_back_in_time(
    node: Any, sim: Simulator, h: Any
) -> None:
    call = node.stream("EURUSD")
    await h.read_snapshot(call)
    for _ in range(200):  # much faster than the 50 ms poll: most are skipped
        h.move(sim, "EURUSD")
        await asyncio.sleep(0.001)
    final = h.truth(sim, "EURUSD")
    stamps: list[int] = []
    while True:
        _, bid, ask, stamp = h.quote_values(await h.next_quote(call))
        assert not stamps or stamp > stamps[-1]
        stamps.append(stamp)
        if (bid, ask, stamp) == final:
            break
    call.cancel()


async def test_masks_resolve_to_symbols(node: Any, sim: Simulator, h: Any) -> None:
    call = node.stream("Forex\\Major\\*", "!EURUSD")
    snapshot = await h.read_snapshot(call)
    assert {h.quote_values(m)[0] for m in snapshot} == MAJORS - {"EURUSD"}
    h.move(sim, "EURUSD")  # excluded: must not arrive
    expected = h.move(sim, "USDCAD")
    assert h.quote_values(await h.next_quote(call)) == ("USDCAD", *expected)
    call.cancel()


async def test_group_pricing(node: Any, sim: Simulator, h: Any) -> None:
    # real\standard has a spread difference of 10 points: bid -5, ask +5 (mt5sim).
    raw = node.stream("EURUSD")
    grouped = node.stream("EURUSD", group="real\\standard")
    (r,) = await h.read_snapshot(raw)
    (g,) = await h.read_snapshot(grouped)
    point = Decimal("0.00001")
    _, rbid, rask, _ = h.quote_values(r)
    _, gbid, gask, _ = h.quote_values(g)
    assert (gbid, gask) == (rbid - 5 * point, rask + 5 * point)
    bid, ask, _ = h.move(sim, "EURUSD", points=3)
    _, gbid, gask, _ = h.quote_values(await h.next_quote(grouped))
    assert (gbid, gask) == (bid - 5 * point, ask + 5 * point)
    raw.cancel()
    grouped.cancel()


async def test_heartbeats_on_idle_stream(
    make_node: Callable[..., AbstractAsyncContextManager[Any]],
    sim: Simulator,
    h: Any,
) -> None:
    quotes = QuoteSettings(poll_interval_ms=50, heartbeat_seconds=0.2)
    async with make_node(sim, quotes=quotes) as node:
        call = node.stream("EURUSD")
        await h.read_snapshot(call)
        loop = asyncio.get_running_loop()
        started = loop.time()
        beats = []
        for _ in range(3):
            message = await h.next_message(call, 2.0)
            assert message.WhichOneof("event") == "heartbeat"
            beats.append(message)
        elapsed = loop.time() - started
        assert 0.5 <= elapsed < 1.5
        assert beats[0].heartbeat.interval.ToMilliseconds() == 200
        assert [b.sequence for b in beats] == [3, 4, 5]
        call.cancel()


async def test_slow_reader_is_conflated_fast_reader_gets_every_tick(
    node: Any, sim: Simulator, h: Any, proxy: Any
) -> None:
    symbols = sorted(sim.broker.ticks)
    # Small HTTP/2 windows, and a relay that stops passing bytes: the gateway's
    # writes to this reader really block, as they would for a stuck client.
    options = [("grpc.http2.lookahead_bytes", 1024), ("grpc.http2.bdp_probe", 0)]
    async with (
        proxy(int(node.target.rsplit(":", 1)[1])) as relay,
        grpc.aio.insecure_channel(
            f"127.0.0.1:{relay.port}", options=options
        ) as slow_ch,
    ):
        slow = node.stream(*symbols, channel=slow_ch)
        fast = node.stream(*symbols)
        await h.read_snapshot(slow)
        await h.read_snapshot(fast)
        relay.resume.clear()  # the slow reader's bytes stop flowing
        sent = 0
        latest: dict[str, tuple[Decimal, Decimal, int]] = {}
        for _ in range(200):
            for symbol in symbols:
                latest[symbol] = h.move(sim, symbol)
            sent += len(symbols)
            got = {}
            while len(got) < len(symbols):
                symbol, *values = h.quote_values(await h.next_quote(fast))
                got[symbol] = tuple(values)
            assert got == latest  # every tick, none skipped, none stale
            if node.hub.conflated_total > 0:
                break
        assert node.hub.conflated_total > 0
        assert node.hub.queue_depth() <= len(symbols)  # bounded: one per symbol
        relay.resume.set()
        # The slow reader catches up: fewer messages, ending on the latest prices.
        seen: dict[str, Any] = {}
        count = 0
        while seen != latest:
            symbol, *values = h.quote_values(await h.next_quote(slow))
            seen[symbol] = tuple(values)
            count += 1
        assert count < sent
        slow.cancel()
        fast.cancel()


async def test_drain_ends_streams_with_unavailable(node: Any, h: Any) -> None:
    calls = [node.stream("EURUSD"), node.stream("GBPUSD"), node.stream("XAUUSD")]
    for call in calls:
        await h.read_snapshot(call)
    assert await node.registry.drain() == 3
    for call in calls:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await h.next_message(call)
        code, reason, retry = h.decode_status(caught.value)
        assert code == grpc.StatusCode.UNAVAILABLE
        assert reason == "GATEWAY_DRAINING"
        assert retry is not None
        assert retry.retry_delay.ToMilliseconds() > 0
    late = node.stream("EURUSD")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await h.next_message(late)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_poller_stops_when_last_subscriber_leaves(
    node: Any, sim: Simulator, h: Any
) -> None:
    first = node.stream("EURUSD")
    second = node.stream("EURUSD", "GBPUSD")
    await h.read_snapshot(first)
    await h.read_snapshot(second)
    before = await h.tick_polls(sim)
    await asyncio.sleep(0.3)
    assert await h.tick_polls(sim) - before >= 3  # polling at ~20/s
    poller = next(iter(node.local.pollers.values()))
    assert poller.symbols == {"EURUSD", "GBPUSD"}
    second.cancel()
    await _until(lambda: poller.symbols == {"EURUSD"})
    first.cancel()
    await _until(lambda: not node.local.pollers and not node.hub.feeds)
    idle = await h.tick_polls(sim)
    await asyncio.sleep(0.3)
    assert await h.tick_polls(sim) == idle


async def test_invalid_requests(node: Any, h: Any) -> None:
    for call, code in (
        (node.stream(), grpc.StatusCode.INVALID_ARGUMENT),
        (node.stream("EURUSD", ""), grpc.StatusCode.INVALID_ARGUMENT),
        (
            node.stream("EURUSD", min_interval=Duration(seconds=-1)),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (node.stream("NOSUCH"), grpc.StatusCode.NOT_FOUND),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await h.next_message(call)
        assert caught.value.code() == code, caught.value
    assert not node.hub.feeds


async def test_min_interval_throttles_each_symbol(
    node: Any, sim: Simulator, h: Any
) -> None:
    call = node.stream("EURUSD", min_interval=Duration(nanos=400_000_000))
    await h.read_snapshot(call)
    loop = asyncio.get_running_loop()
    first = h.move(sim, "EURUSD")
    assert h.quote_values(await h.next_quote(call))[1:] == first
    sent_at = loop.time()
    for _ in range(5):  # within the 400 ms window: conflated to the last one
        await asyncio.sleep(0.06)
        last = h.move(sim, "EURUSD")
    assert h.quote_values(await h.next_quote(call))[1:] == last
    assert loop.time() - sent_at >= 0.38
    call.cancel()


async def test_reauthentication_restarts_cursor(
    node: Any, sim: Simulator, h: Any
) -> None:
    call = node.stream("EURUSD")
    await h.read_snapshot(call)
    poller = next(iter(node.local.pollers.values()))
    restarts = poller.restarts
    sim.drop_sessions()
    expected = h.move(sim, "EURUSD")
    assert h.quote_values(await h.next_quote(call))[1:] == expected
    await _until(lambda: poller.restarts > restarts)
    expected = h.move(sim, "EURUSD")
    assert h.quote_values(await h.next_quote(call))[1:] == expected
    call.cancel()


async def _until(check: Callable[[], bool], seconds: float = 3.0) -> None:
    """Wait for state owned by other tasks (no event to wait on)."""
    async with asyncio.timeout(seconds):
        while True:
            if check():
                return
            await asyncio.sleep(0.01)
