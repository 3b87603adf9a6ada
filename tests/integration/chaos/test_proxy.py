"""The fault proxy itself, against a recording TCP server on loopback: what the
chaos scenarios rely on (late delivery after the client left, drops, refusals,
latency) really happens."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest

from .proxy import LOOPBACK, FaultProxy

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

pytestmark = [pytest.mark.integration, pytest.mark.chaos]

WRITE = b"GET /api/trade/balance?login=100000 HTTP/1.1\r\n\r\n"


@dataclass
class Upstream:
    """Records what arrives and when; answers every chunk with ``ok``."""

    port: int = 0
    received: list[tuple[float, bytes]] = field(default_factory=list)

    async def handle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        with contextlib.suppress(ConnectionError):
            while chunk := await reader.read(65_536):
                self.received.append((time.monotonic(), chunk))
                writer.write(b"ok")
                await writer.drain()
        writer.close()

    @property
    def data(self) -> bytes:
        return b"".join(chunk for _, chunk in self.received)


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    recorder = Upstream()
    server = await asyncio.start_server(recorder.handle, LOOPBACK, 0)
    recorder.port = server.sockets[0].getsockname()[1]
    async with server:
        yield recorder


@pytest.fixture
async def proxy(upstream: Upstream) -> AsyncIterator[FaultProxy]:
    async with FaultProxy(upstream.port, linger_seconds=0.5) as running:
        yield running


async def _connect(
    proxy: FaultProxy,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(LOOPBACK, proxy.port)


async def test_passes_bytes_both_ways_with_latency(
    proxy: FaultProxy, upstream: Upstream
) -> None:
    reader, writer = await _connect(proxy)
    writer.write(b"ping")
    assert await reader.readexactly(2) == b"ok"
    proxy.set_latency(client_to_server=0.2, server_to_client=0.1)
    started = time.monotonic()
    writer.write(b"again")
    assert await reader.readexactly(2) == b"ok"
    assert time.monotonic() - started >= 0.3
    assert upstream.data == b"pingagain"
    writer.close()


async def test_held_write_reaches_the_server_after_the_client_left(
    proxy: FaultProxy, upstream: Upstream
) -> None:
    proxy.hold(b"/trade/balance", seconds=0.5)
    _, writer = await _connect(proxy)
    sent = time.monotonic()
    writer.write(WRITE)
    await writer.drain()
    writer.close()  # the client gives up before the server saw anything
    await asyncio.sleep(0.2)
    assert upstream.data == b""
    await proxy.deliver_held()
    assert upstream.data == WRITE
    assert upstream.received[0][0] - sent >= 0.5
    assert proxy.stats.held == 1
    assert proxy.stats.held_after_client_left == 1


async def test_hold_finds_a_marker_split_over_two_chunks_and_counts(
    proxy: FaultProxy, upstream: Upstream
) -> None:
    proxy.hold(b"/trade/balance", seconds=0.4, count=1)
    reader, writer = await _connect(proxy)
    writer.write(WRITE[:14])  # "GET /api/trade" ... "/balance?login=..."
    assert await reader.readexactly(2) == b"ok"
    started = time.monotonic()
    writer.write(WRITE[14:])
    assert await reader.readexactly(2) == b"ok"
    assert time.monotonic() - started >= 0.4
    assert proxy.holds_left == 0
    started = time.monotonic()
    writer.write(WRITE)  # count=1: the next write passes at once
    assert await reader.readexactly(2) == b"ok"
    assert time.monotonic() - started < 0.3
    assert proxy.stats.held == 1
    writer.close()


async def test_drop_all_and_refuse_new_connections(proxy: FaultProxy) -> None:
    reader, writer = await _connect(proxy)
    writer.write(b"x")
    assert await reader.readexactly(2) == b"ok"
    assert proxy.drop_all() == 1
    with contextlib.suppress(ConnectionError):
        assert await reader.read() == b""
    writer.close()
    port = proxy.port
    await proxy.refuse_new(True)
    with pytest.raises(ConnectionRefusedError):
        await _connect(proxy)
    await proxy.refuse_new(False)
    assert proxy.port == port
    reader, writer = await _connect(proxy)
    writer.write(b"y")
    assert await reader.readexactly(2) == b"ok"
    writer.close()
    assert proxy.stats.dropped == 1
