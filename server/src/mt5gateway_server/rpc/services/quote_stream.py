"""QuoteService.StreamQuotes: snapshot, SnapshotComplete, then live changes.

``QuoteStreamHandler.stream`` is the async generator that serves the RPC (the
QuoteService servicer is given the handler: ``rpc/server.build_servicers``). Per
stream: ``sequence`` counts every message from 1; a ``Heartbeat`` goes out when
nothing else was sent for ``quotes.heartbeat_seconds``, and at once when the MT5
server stops or starts serving (``upstream_outage_start_time``); ``min_interval``
throttles each symbol (ticks in between are conflated, latest wins). A tick older
than one already sent for the same symbol is never sent (the snapshot fetch and the
poller can race). On drain the stream ends with UNAVAILABLE + RetryInfo (raised as
``GatewayDrainingError``; the CallInterceptor writes the status).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from mt5gateway.v1 import quote_pb2, quote_service_pb2, stream_pb2

from mt5gateway_server.errors import GatewayDrainingError
from mt5gateway_server.feeds.hub import HubConfig, QuoteHub
from mt5gateway_server.feeds.poller import LocalSource
from mt5gateway_server.feeds.redis_fanout import RedisFanout
from mt5gateway_server.log import get_logger
from mt5gateway_server.mapping.quotes import quote_to_proto
from mt5gateway_server.rpc.streams import StreamRegistry
from mt5gateway_server.rpc.validation import Violations

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    import grpc
    from google.protobuf.duration_pb2 import Duration
    from redis.asyncio import Redis

    from mt5gateway_server.feeds.hub import FeedTick, Subscription
    from mt5gateway_server.rpc.deps import ServiceDeps
    from mt5gateway_server.settings import QuoteSettings

__all__ = [
    "MAX_MIN_INTERVAL_SECONDS",
    "QuoteStreamHandler",
    "QuoteStreaming",
    "open_quote_streaming",
]

_log = get_logger("rpc.quote_stream")

MAX_MIN_INTERVAL_SECONDS = 60.0
_MAX_NANOS = 999_999_999
_Response = quote_service_pb2.StreamQuotesResponse


def _quote_of(tick: FeedTick) -> quote_pb2.Quote:
    # Built once per tick and shared by every stream that sends it.
    cached = tick.payload
    if cached is None:
        cached = tick.payload = quote_to_proto(tick.tick)
    return cached  # type: ignore[return-value]


def _validate(request: quote_service_pb2.StreamQuotesRequest) -> float:
    """The per-symbol minimum interval in seconds, or ValidationError."""
    v = Violations.of(request)  # server (a malformed one is not NOT_FOUND)
    v.symbols("symbols", request.symbols)
    if request.group:
        v.group("group", request.group)  # the rule of every group field
    interval = _min_interval(v, request.min_interval)
    v.check()
    return interval


def _min_interval(v: Violations, d: Duration) -> float:
    # Unset and zero mean the same: no throttle beyond polling.
    if d.seconds < 0 or not 0 <= d.nanos <= _MAX_NANOS:
        v.add("min_interval", "must be a Duration of 0 or more (nanos 0..999999999)")
        return 0.0
    return min(d.seconds + d.nanos / 1e9, MAX_MIN_INTERVAL_SECONDS)


class QuoteStreamHandler:
    """StreamQuotes for any number of concurrent streams of one process."""

    def __init__(
        self,
        hub: QuoteHub,
        registry: StreamRegistry,
        settings: QuoteSettings,
        *,
        server_name: Callable[[str], str],
        clock: Callable[[], float] = time.monotonic,
        observe: Callable[[float], None] | None = None,
    ) -> None:
        self.hub = hub
        self.registry = registry
        self.settings = settings
        self._server_name = server_name
        self._clock = clock
        # Seconds from a tick's arrival at the gateway to its hand-over to gRPC.
        self._observe = observe
        self._poll_interval = settings.poll_interval_ms / 1000
        beat = stream_pb2.Heartbeat()
        beat.interval.FromTimedelta(timedelta(seconds=settings.heartbeat_seconds))
        self._heartbeat_interval = beat.interval

    def __repr__(self) -> str:
        return f"<QuoteStreamHandler {self.hub!r} {self.registry!r}>"

    async def _open(
        self, request: quote_service_pb2.StreamQuotesRequest
    ) -> Subscription:
        min_interval = _validate(request)
        # Each poll gives at most one tick per symbol: a throttle at or below the
        # poll interval changes nothing, so it costs nothing either.
        if min_interval <= self._poll_interval:
            min_interval = 0.0
        server = self._server_name(request.server)
        if self.registry.draining:
            raise GatewayDrainingError
        return await self.hub.subscribe(
            server,
            list(request.symbols),
            group=request.group,
            min_interval=min_interval,
        )

    async def stream(
        self,
        request: quote_service_pb2.StreamQuotesRequest,
        context: grpc.aio.ServicerContext[object, object],  # noqa: ARG002
    ) -> AsyncIterator[quote_service_pb2.StreamQuotesResponse]:
        sub = await self._open(request)
        # One generator frame and no context manager per stream: with 10,000 idle
        # streams, every object kept per stream counts.
        try:
            self.registry.add(sub)  # raises when a drain began meanwhile
            sequence = 0
            sent: dict[str, FeedTick] = {}
            # send_time as a plain dict, made per batch: a Timestamp kept in this
            # frame would hold a protobuf arena (~0.8 KiB) per idle stream.
            stamp = _now()
            for tick in sub.snapshot:
                sent[tick.symbol] = tick
                sequence += 1
                yield _envelope(sequence, stamp, quote=_quote_of(tick))
            sequence += 1
            yield _envelope(
                sequence,
                stamp,
                snapshot_complete=stream_pb2.SnapshotComplete(record_count=len(sent)),
            )
            sub.snapshot = []  # the stream keeps only what it needs
            # Opened during an outage: say so right after the snapshot.
            server = sub.feed.key.server
            sub.upstream_changed = self.hub.upstream_down_since(server) is not None
            clock = self._clock
            observe = self._observe
            heartbeat = self.settings.heartbeat_seconds
            last_send = clock()
            while True:
                if sub.error is not None:
                    raise sub.error
                now = clock()
                ticks, next_due = sub.take(now)
                if ticks:
                    stamp = _now()
                    for tick in ticks:
                        prev = sent.get(tick.symbol)
                        if prev is not None and not tick.newer_than(prev):
                            continue  # stale or repeated: never step back in time
                        sent[tick.symbol] = tick
                        if observe is not None:
                            observe(time.time() - tick.received)
                        sequence += 1
                        yield _envelope(sequence, stamp, quote=_quote_of(tick))
                    last_send = clock()
                    continue
                idle_left = last_send + heartbeat - now
                if idle_left <= 0 or sub.upstream_changed:
                    sub.upstream_changed = False
                    stamp = _now()
                    sequence += 1
                    yield _envelope(
                        sequence, stamp, heartbeat=self._beat(stamp, server)
                    )
                    last_send = clock()
                    continue
                wait = idle_left if next_due is None else min(idle_left, next_due - now)
                await sub.wait(wait)
        finally:
            self.registry.discard(sub)
            await self.hub.unsubscribe(sub)

    def _beat(self, stamp: dict[str, int], server: str) -> stream_pb2.Heartbeat:
        beat = stream_pb2.Heartbeat(
            heartbeat_time=stamp,
            interval=self._heartbeat_interval,
        )
        down_since = self.hub.upstream_down_since(server)
        if down_since is not None:
            beat.upstream_outage_start_time.FromNanoseconds(int(down_since * 1e9))
        return beat


def _now() -> dict[str, int]:
    """A Timestamp as constructor keywords (time_ns: GetCurrentTime goes through
    datetime, and this runs per message batch)."""
    ns = time.time_ns()
    return {"seconds": ns // 1_000_000_000, "nanos": ns % 1_000_000_000}


def _envelope(sequence: int, stamp: dict[str, int], **event: object) -> _Response:
    return _Response(sequence=sequence, send_time=stamp, **event)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class QuoteStreaming:
    """What the composition root holds: the hub, the registry to drain, the handler."""

    hub: QuoteHub
    registry: StreamRegistry
    handler: QuoteStreamHandler

    async def drain(self) -> None:
        """The app's drain hook: end every stream with UNAVAILABLE + RetryInfo."""
        await self.registry.drain()


@contextlib.asynccontextmanager
async def open_quote_streaming(
    deps: ServiceDeps, redis: Redis | None = None
) -> AsyncIterator[QuoteStreaming]:
    """Hub + source (Redis fan-out when Redis is configured, else local pollers)
    + StreamRegistry + handler, for the app's exit stack. On exit every stream is
    closed, pollers stop and Redis leases are released."""
    quotes = deps.settings.quotes
    interval = quotes.poll_interval_ms / 1000
    source: LocalSource | RedisFanout
    if redis is not None:
        source = RedisFanout(redis, deps.pools, interval=interval)
    else:
        source = LocalSource(deps.pools, interval=interval)
    config = HubConfig(subscriber_queue_size=quotes.subscriber_queue_size)
    hub = QuoteHub(deps.pools, config, source, metrics=deps.metrics)
    registry = StreamRegistry()
    handler = QuoteStreamHandler(hub, registry, quotes, server_name=deps.server_name)
    _log.info(
        "quote_streaming_started",
        source=type(source).__name__,
        poll_interval_ms=quotes.poll_interval_ms,
    )
    try:
        yield QuoteStreaming(hub, registry, handler)
    finally:
        await registry.drain(wait_seconds=1.0)
        await hub.aclose()
