"""Streaming over real sockets: mt5sim (in-process), gRPC on loopback, real Redis.

A ``Node`` is one gateway replica's streaming stack: its own session pool, hub,
source (local poller or Redis fan-out), StreamRegistry and a gRPC server with the
gateway's interceptors (so errors reach clients as they do in production). Prices
are static (``ticks_per_second=0``); tests move them with ``sim.broker.apply_tick``
so every expected value is known.

    async with make_node(sim) as node:
        call = node.stream("EURUSD")
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Self

import aiohttp
import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from mt5gateway.v1 import quote_service_pb2, quote_service_pb2_grpc
from mt5gateway_server.feeds.hub import HubConfig, QuoteHub
from mt5gateway_server.feeds.poller import LocalSource
from mt5gateway_server.feeds.redis_fanout import RedisFanout
from mt5gateway_server.rpc.interceptors import build_interceptors
from mt5gateway_server.rpc.services.quote_stream import QuoteStreamHandler
from mt5gateway_server.rpc.streams import StreamRegistry
from mt5gateway_server.settings import GrpcSettings, QuoteSettings
from mt5gateway_server.webapi import PoolManager, ServerConfig
from mt5sim import SimConfig, Simulator
from redis.asyncio import Redis

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from contextlib import AbstractAsyncContextManager

    from google.protobuf.duration_pb2 import Duration

MANAGER_LOGIN = 1000
MANAGER_PASSWORD = "Password1"  # the simulator's documented manager

Response = quote_service_pb2.StreamQuotesResponse


class _QuoteServicer(quote_service_pb2_grpc.QuoteServiceServicer):
    def __init__(self, handler: QuoteStreamHandler) -> None:
        self._handler = handler

    async def StreamQuotes(  # noqa: N802 - generated name
        self,
        request: quote_service_pb2.StreamQuotesRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> AsyncIterator[Response]:
        async for message in self._handler.stream(request, context):
            yield message


@dataclass(eq=False)
class Node:
    sim: Simulator
    pools: PoolManager
    hub: QuoteHub
    registry: StreamRegistry
    server: grpc.aio.Server
    channel: grpc.aio.Channel
    stub: quote_service_pb2_grpc.QuoteServiceStub
    target: str
    fanout: RedisFanout | None = None
    redis: Redis | None = None
    local: LocalSource | None = None
    stopped: bool = field(default=False)

    def stream(
        self,
        *symbols: str,
        group: str = "",
        min_interval: Duration | None = None,
        channel: grpc.aio.Channel | None = None,
    ) -> grpc.aio.UnaryStreamCall[Any, Response]:
        request = quote_service_pb2.StreamQuotesRequest(
            symbols=list(symbols), group=group, min_interval=min_interval
        )
        stub = self.stub
        if channel is not None:
            stub = quote_service_pb2_grpc.QuoteServiceStub(channel)
        return stub.StreamQuotes(request)

    async def stop(self) -> None:
        """Graceful: streams end with UNAVAILABLE, leases released."""
        if self.stopped:
            return
        self.stopped = True
        await self.registry.drain(wait_seconds=2.0)
        await self.server.stop(0.5)
        await self.hub.aclose()
        await self.channel.close()
        await self.pools.aclose()
        if self.redis is not None:
            await self.redis.aclose()

    async def crash(self) -> None:
        """Abrupt: no lease released, nothing withdrawn (like SIGKILL for Redis)."""
        self.stopped = True
        if self.fanout is not None:
            await self.fanout.abort()
        await self.server.stop(None)
        await self.channel.close()
        await self.pools.aclose()
        if self.redis is not None:
            await self.redis.aclose()


def server_config(sim: Simulator, **overrides: Any) -> ServerConfig:
    base: dict[str, Any] = {
        "url": sim.url,
        "login": MANAGER_LOGIN,
        "password": MANAGER_PASSWORD,
        "ca_file": sim.ca_file,
        "pool_size": 3,
        "acquire_timeout": 2.0,
        "backoff_base": 0.01,
        "backoff_cap": 0.2,
        "read_timeout": 5.0,
    }
    base.update(overrides)
    return ServerConfig(**base)


@contextlib.asynccontextmanager
async def open_node(
    sim: Simulator,
    *,
    redis_url: str | None = None,
    quotes: QuoteSettings | None = None,
    lease_seconds: float = 1.0,
    refresh_seconds: float = 0.2,
    replica: str | None = None,
    config: dict[str, Any] | None = None,
) -> AsyncIterator[Node]:
    """``config``: ServerConfig overrides for the node's pool."""
    settings = quotes or QuoteSettings(poll_interval_ms=50, heartbeat_seconds=5.0)
    interval = settings.poll_interval_ms / 1000
    hub_config = HubConfig(subscriber_queue_size=settings.subscriber_queue_size)
    pools = PoolManager([server_config(sim, **(config or {}))])
    await pools.start()
    redis: Redis | None = None
    fanout: RedisFanout | None = None
    local: LocalSource | None = None
    if redis_url is not None:
        redis = Redis.from_url(
            redis_url, socket_timeout=1.0, socket_connect_timeout=1.0
        )
        fanout = RedisFanout(
            redis,
            pools,
            interval=interval,
            lease_seconds=lease_seconds,
            refresh_seconds=refresh_seconds,
            replica=replica,
        )
        hub = QuoteHub(pools, hub_config, fanout)
    else:
        local = LocalSource(pools, interval=interval)
        hub = QuoteHub(pools, hub_config, local)
    registry = StreamRegistry()
    handler = QuoteStreamHandler(
        hub, registry, settings, server_name=lambda s: s or pools.default
    )
    server = grpc.aio.server(interceptors=build_interceptors(GrpcSettings()))
    quote_service_pb2_grpc.add_QuoteServiceServicer_to_server(
        _QuoteServicer(handler), server
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    node = Node(
        sim=sim,
        pools=pools,
        hub=hub,
        registry=registry,
        server=server,
        channel=channel,
        stub=quote_service_pb2_grpc.QuoteServiceStub(channel),
        target=f"127.0.0.1:{port}",
        fanout=fanout,
        redis=redis,
        local=local,
    )
    try:
        yield node
    finally:
        await node.stop()


class PausableProxy:
    """A TCP proxy whose server-to-client direction can be paused: a reader that
    stops reading, with small buffers so the gateway's writes really block."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.resume = asyncio.Event()
        self.resume.set()
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.resume.set()
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(
        self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter
    ) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(
            sock, ("127.0.0.1", self.target_port)
        )
        up_r, up_w = await asyncio.open_connection(sock=sock, limit=4096)
        for coro in (
            self._pipe(client_r, up_w, gated=False),
            self._pipe(up_r, client_w, gated=True),
        ):
            task = asyncio.create_task(coro)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, gated: bool
    ) -> None:
        try:
            while True:
                if gated:
                    await self.resume.wait()
                data = await reader.read(1024)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()


# -- simulator helpers --------------------------------------------------------------


def truth(sim: Simulator, symbol: str) -> tuple[Decimal, Decimal, int]:
    """(bid, ask, time in ms) the simulator holds for ``symbol`` now."""
    tick = sim.broker.ticks[symbol]
    digits = tick.symbol.digits
    return (
        Decimal(tick.bid).scaleb(-digits),
        Decimal(tick.ask).scaleb(-digits),
        tick.time_msc,
    )


def move(sim: Simulator, symbol: str, points: int = 1) -> tuple[Decimal, Decimal, int]:
    """A new tick: bid and ask moved by ``points``, stamped now (strictly later)."""
    tick = sim.broker.ticks[symbol]
    stamp = max(int(time.time() * 1000), tick.time_msc + 1)
    sim.broker.apply_tick(symbol, tick.bid + points, tick.ask + points, stamp)
    return truth(sim, symbol)


async def sim_stats(sim: Simulator) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(sim.url + "/_sim/stats") as resp,
    ):
        result: dict[str, Any] = await resp.json(content_type=None)
        return result


async def tick_polls(sim: Simulator) -> int:
    stats = await sim_stats(sim)
    requests = stats["requests"]
    return int(requests.get("tick/last", 0)) + int(requests.get("tick/last_group", 0))


def quote_values(message: Response) -> tuple[str, Decimal, Decimal, int]:
    q = message.quote
    stamp = q.quote_time.seconds * 1000 + q.quote_time.nanos // 1_000_000
    return q.symbol, Decimal(q.bid.value), Decimal(q.ask.value), stamp


async def next_message(
    call: grpc.aio.UnaryStreamCall[Any, Response], seconds: float = 5.0
) -> Response:
    async with asyncio.timeout(seconds):
        message = await call.read()
    assert message is not grpc.aio.EOF, "stream ended"
    assert isinstance(message, Response)
    return message


async def read_snapshot(
    call: grpc.aio.UnaryStreamCall[Any, Response],
) -> list[Response]:
    """Quotes up to and including SnapshotComplete (checked, then dropped)."""
    quotes: list[Response] = []
    while True:
        message = await next_message(call)
        if message.WhichOneof("event") == "snapshot_complete":
            assert message.snapshot_complete.record_count == len(quotes)
            return quotes
        assert message.WhichOneof("event") == "quote"
        quotes.append(message)


async def next_quote(
    call: grpc.aio.UnaryStreamCall[Any, Response], seconds: float = 5.0
) -> Response:
    while True:
        message = await next_message(call, seconds)
        if message.WhichOneof("event") == "quote":
            return message


def decode_status(
    exc: grpc.aio.AioRpcError,
) -> tuple[grpc.StatusCode, str, error_details_pb2.RetryInfo | None]:
    """(code, ErrorInfo reason, RetryInfo) the way clients decode it."""
    status = rpc_status.from_call(exc)
    reason = ""
    retry: error_details_pb2.RetryInfo | None = None
    if status is not None:
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                reason = info.reason
            elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                retry = error_details_pb2.RetryInfo()
                detail.Unpack(retry)
    return exc.code(), reason, retry


def violation_fields(exc: grpc.aio.AioRpcError) -> list[str]:
    """The fields of the status's BadRequest violations."""
    status = rpc_status.from_call(exc)
    fields: list[str] = []
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            fields.extend(v.field for v in bad.field_violations)
    return fields


@dataclass(frozen=True)
class Helpers:
    """Module-level helpers as a fixture (conftest is not importable)."""

    truth: Callable[[Simulator, str], tuple[Decimal, Decimal, int]] = truth
    move: Callable[..., tuple[Decimal, Decimal, int]] = move
    tick_polls: Callable[[Simulator], Any] = tick_polls
    quote_values: Callable[[Response], tuple[str, Decimal, Decimal, int]] = quote_values
    next_message: Callable[..., Any] = next_message
    next_quote: Callable[..., Any] = next_quote
    read_snapshot: Callable[..., Any] = read_snapshot
    decode_status: Callable[..., Any] = decode_status
    violation_fields: Callable[..., list[str]] = violation_fields


@pytest.fixture
def proxy() -> Callable[[int], PausableProxy]:
    return PausableProxy


@pytest.fixture
def h() -> Helpers:
    return Helpers()


@pytest.fixture
def sim_config() -> SimConfig:
    return SimConfig(tls=False, seed=1, ticks_per_second=0, idle_timeout=30.0)


@pytest.fixture
async def sim(sim_config: SimConfig) -> AsyncIterator[Simulator]:
    async with Simulator(sim_config) as simulator:
        yield simulator


@pytest.fixture
def make_node() -> Callable[..., AbstractAsyncContextManager[Node]]:
    return open_node


@pytest.fixture
async def node(sim: Simulator) -> AsyncIterator[Node]:
    async with open_node(sim) as n:
        yield n
