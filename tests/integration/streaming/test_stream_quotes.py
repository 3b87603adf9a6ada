"""StreamQuotes on one gateway without Redis: snapshot, changes, masks, groups,
heartbeats, conflation, drain, poller lifecycle, validation, re-authentication."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from mt5gateway.v1 import quote_service_pb2
from mt5gateway_server.settings import QuoteSettings
from mt5sim import SimConfig, Simulator

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractAsyncContextManager

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


# -- defects: regression tests ------------------------------------------------------


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({"symbols": ["EURUSD"], "group": "x" * 100_000}, "group"),
        ({"symbols": ["EURUSD"], "group": "real\\standard\x07"}, "group"),
        ({"symbols": ["EURUSD"], "group": "real\\*"}, "group"),
        ({"symbols": ["!"]}, "symbols[0]"),
        ({"symbols": ["EURUSD", "EUR,USD"]}, "symbols[1]"),
        ({"symbols": ["x" * 100_000]}, "symbols[0]"),
        (
            {"symbols": ["EURUSD"], "min_interval": Duration(nanos=2_000_000_000)},
            "min_interval",
        ),
        (
            {"symbols": ["EURUSD"], "min_interval": Duration(seconds=1, nanos=-1)},
            "min_interval",
        ),
        ({"symbols": ["EURUSD"], "server": "bad name!"}, "server"),
        ({"symbols": ["EURUSD"], "group": "g" * 64}, "group"),
    ],
    ids=[
        "huge-group",
        "group-control-char",
        "group-mask",
        "lone-exclusion",
        "comma-in-symbol",
        "huge-symbol",
        "nanos-2e9",
        "negative-nanos",
        "malformed-server",
        "group-over-63",
    ],
)
async def test_bad_requests_are_refused_before_any_mt5_call(
    node: Any, sim: Simulator, h: Any, request_fields: dict[str, Any], field: str
) -> None:
    before = await h.tick_polls(sim)
    call = node.stub.StreamQuotes(
        quote_service_pb2.StreamQuotesRequest(**request_fields)
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await h.next_message(call)
    code, reason, _ = h.decode_status(caught.value)
    assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "VALIDATION_FAILED")
    assert field in h.violation_fields(caught.value)
    assert len(caught.value.details() or "") < 200  # the value is not echoed
    assert await h.tick_polls(sim) == before
    assert not node.hub.feeds


@pytest.mark.parametrize("symbols", [["Nothing\\*"], ["Forex\\Major\\*", "!Forex\\*"]])
async def test_masks_matching_no_symbol_are_not_found(
    node: Any, h: Any, symbols: list[str]
) -> None:
    # Before: the stream sent a snapshot of nothing, then heartbeats until cancelled.
    call = node.stream(*symbols)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await h.next_message(call, 3.0)
    code, reason, retry = h.decode_status(caught.value)
    assert (code, reason, retry) == (grpc.StatusCode.NOT_FOUND, "MT5_NOT_FOUND", None)
    assert not node.hub.feeds


async def test_heartbeats_say_since_when_mt5_is_unreachable(
    make_node: Callable[..., AbstractAsyncContextManager[Any]],
    sim: Simulator,
    h: Any,
) -> None:
    quotes = QuoteSettings(poll_interval_ms=50, heartbeat_seconds=30.0)
    async with make_node(sim, quotes=quotes) as node:
        call = node.stream("EURUSD")
        await h.read_snapshot(call)
        stopped_at = time.time()
        await sim.stop()  # MT5 unreachable: connections closed, nothing listens
        # Told at once, not at the next 30 s heartbeat.
        message = await h.next_message(call, 5.0)
        assert message.WhichOneof("event") == "heartbeat"
        beat = message.heartbeat
        assert beat.HasField("upstream_outage_start_time")
        since = beat.upstream_outage_start_time.ToNanoseconds() / 1e9
        assert stopped_at - 0.1 <= since <= time.time()
        assert since <= beat.heartbeat_time.ToNanoseconds() / 1e9
        # A stream opened during the outage on a known name hears it after the snapshot.
        late = node.stream("EURUSD")
        await h.read_snapshot(late)
        message = await h.next_message(late, 5.0)
        assert message.heartbeat.upstream_outage_start_time == (
            beat.upstream_outage_start_time
        )
        call.cancel()
        late.cancel()


async def test_heartbeats_say_when_mt5_is_back(
    make_node: Callable[..., AbstractAsyncContextManager[Any]],
    sim_config: SimConfig,
    h: Any,
) -> None:
    first = Simulator(sim_config)
    await first.start()
    port = first.port
    quotes = QuoteSettings(poll_interval_ms=50, heartbeat_seconds=30.0)
    fast_reconnect = {"breaker_reset_timeout": 0.2, "backoff_cap": 0.1}
    try:
        async with make_node(first, quotes=quotes, config=fast_reconnect) as node:
            call = node.stream("EURUSD")
            await h.read_snapshot(call)
            await first.stop()
            down = await h.next_message(call, 5.0)
            assert down.heartbeat.HasField("upstream_outage_start_time")
            async with Simulator(replace(sim_config, port=port)) as second:
                expected = h.move(second, "EURUSD")
                all_clear = priced = False
                while not (all_clear and priced):
                    message = await h.next_message(call, 10.0)
                    if message.WhichOneof("event") == "heartbeat":
                        beat = message.heartbeat
                        all_clear = not beat.HasField("upstream_outage_start_time")
                    else:
                        priced = h.quote_values(message)[1:] == expected
                call.cancel()
    finally:
        await first.stop()


async def test_group_views_do_not_pin_pool_sessions(
    make_node: Callable[..., AbstractAsyncContextManager[Any]],
    sim: Simulator,
    h: Any,
) -> None:
    groups = sorted({u.group.name for u in sim.broker.users.values()})
    async with make_node(sim, config={"pool_size": 2}) as node:
        calls = [
            node.stream("EURUSD"),
            *(node.stream("EURUSD", group=g) for g in groups),
        ]
        for call in calls:
            await h.read_snapshot(call)
        h.move(sim, "EURUSD")
        for call in calls:  # every view polls
            assert h.quote_values(await h.next_quote(call))[0] == "EURUSD"
        # Unary calls still get a session while every view streams.
        async with asyncio.timeout(2.0):
            for _ in range(10):
                await node.pools.client().user_get(min(sim.broker.users))
        for call in calls:
            call.cancel()
