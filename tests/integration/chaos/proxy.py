"""A TCP proxy on loopback between the gateway and mt5sim, with faults switched on
and off while it runs.

    async with FaultProxy(sim_port) as proxy:      # gateway -> proxy.port -> mt5sim
        proxy.set_latency(client_to_server=0.02)
        proxy.hold(b"trade/balance", seconds=3.5, count=5)  # late writes
        proxy.drop_all()
        await proxy.refuse_new(True)               # outage: connection refused

``hold`` reproduces a write that reaches MT5 late: the client->server bytes of a
request containing the marker wait ``seconds`` in the proxy and are forwarded even
when the client (the gateway) gave up and closed meanwhile; the upstream connection
then stays open ``linger_seconds`` so MT5 reads, applies and answers them. The
marker is only visible in plain HTTP: run mt5sim without TLS behind this proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Self

if TYPE_CHECKING:
    from types import TracebackType

LOOPBACK = "127.0.0.1"
_CHUNK = 65_536
_CONNECT_TIMEOUT_SECONDS = 5.0


class Direction(enum.Enum):
    CLIENT_TO_SERVER = "c2s"
    SERVER_TO_CLIENT = "s2c"


@dataclass
class ProxyStats:
    accepted: int = 0
    refused_over_limit: int = 0
    upstream_failed: int = 0
    dropped: int = 0
    held: int = 0
    # Held bytes forwarded after the client had closed its side: a late write.
    held_after_client_left: int = 0


@dataclass
class _Hold:
    marker: bytes
    seconds: float
    remaining: int
    every: int
    seen: int = 0

    def take(self, data: bytes) -> bool:
        if self.remaining <= 0 or self.marker not in data:
            return False
        self.seen += 1
        if (self.seen - 1) % self.every:
            return False
        self.remaining -= 1
        return True


@dataclass(eq=False)
class _Connection:
    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter
    # A held chunk went to the server after the client left: the server's answer
    # is still due (counted as in transit until the connection ends).
    owes_answer: bool = False

    def abort(self) -> bool:
        """Abort both sides; False if both were closing already."""
        open_before = not (
            self.client.transport.is_closing() and self.upstream.transport.is_closing()
        )
        for writer in (self.client, self.upstream):
            writer.transport.abort()
        return open_before


def _gone(reader: asyncio.StreamReader) -> bool:
    """The peer closed (FIN) or reset its side; what it sent is still buffered."""
    return reader.at_eof() or reader.exception() is not None


class FaultProxy:
    """Listens on ``127.0.0.1:port`` (0 = any free port, kept across outages) and
    forwards to ``127.0.0.1:upstream_port``. At most ``max_connections`` at once."""

    def __init__(
        self,
        upstream_port: int,
        *,
        port: int = 0,
        max_connections: int = 256,
        linger_seconds: float = 3.0,
    ) -> None:
        self.upstream_port = upstream_port
        self.port = port
        self.stats = ProxyStats()
        self._max = max_connections
        self._linger = linger_seconds
        self._latency = dict.fromkeys(Direction, 0.0)
        self._hold: _Hold | None = None
        # Held chunks not yet forwarded, or forwarded after the client left and
        # not yet answered by the server.
        self._in_transit = 0
        self._quiet = asyncio.Event()  # set while _in_transit is 0
        self._quiet.set()
        self._server: asyncio.Server | None = None
        self._connections: set[_Connection] = set()
        self._handlers: set[asyncio.Task[None]] = set()

    # ---------------------------------------------------------------- life cycle

    async def start(self) -> int:
        await self._listen()
        return self.port

    async def aclose(self) -> None:
        await self._stop_listening()
        self.drop_all()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # ---------------------------------------------------------------- faults

    def set_latency(
        self, *, client_to_server: float = 0.0, server_to_client: float = 0.0
    ) -> None:
        """Seconds added before each chunk is forwarded in that direction."""
        self._latency[Direction.CLIENT_TO_SERVER] = client_to_server
        self._latency[Direction.SERVER_TO_CLIENT] = server_to_client

    def hold(
        self, marker: bytes, *, seconds: float, count: int = 1, every: int = 1
    ) -> None:
        """Hold one in ``every`` client->server chunks containing ``marker``, at most
        ``count`` of them, ``seconds`` each, then forward them."""
        if not marker or seconds <= 0 or count < 1 or every < 1:
            raise ValueError("marker, positive seconds, count >= 1, every >= 1")
        self._hold = _Hold(marker, seconds, count, every)

    @property
    def holds_left(self) -> int:
        return 0 if self._hold is None else self._hold.remaining

    async def deliver_held(self, limit_seconds: float = 30.0) -> None:
        """No new holds; wait until every held chunk was forwarded and, when its
        client had left, its server answered or had its linger (a late write has
        landed)."""
        self._hold = None
        async with asyncio.timeout(limit_seconds):
            await self._quiet.wait()

    def _transit(self, change: int) -> None:
        self._in_transit += change
        if self._in_transit:
            self._quiet.clear()
        else:
            self._quiet.set()

    def drop_all(self) -> int:
        """Abort every open connection (both sides); returns how many."""
        dropped = sum(connection.abort() for connection in list(self._connections))
        self.stats.dropped += dropped
        return dropped

    async def refuse_new(self, refuse: bool) -> None:
        """Outage: stop listening (connects are refused) and drop every connection;
        ``False`` listens again on the same port."""
        if refuse:
            await self._stop_listening()
            self.drop_all()
        elif self._server is None:
            await self._listen()

    def clear(self) -> None:
        """Pass-through again (an outage is ended with ``refuse_new(False)``)."""
        self.set_latency()
        self._hold = None

    # ---------------------------------------------------------------- internals

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._accept, LOOPBACK, self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop_listening(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()

    async def _accept(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            await self._serve(reader, writer)
        except asyncio.CancelledError:
            # aclose() ended it; start_server's done-callback would log the
            # cancellation as an error.
            pass
        finally:
            self._handlers.discard(task)
            # Cancelled before the connection was registered (e.g. while the
            # upstream connect was pending): the accepted side must not leak.
            if not writer.transport.is_closing():
                writer.transport.abort()

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        if len(self._connections) >= self._max:
            self.stats.refused_over_limit += 1
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_connection(LOOPBACK, self.upstream_port),
                _CONNECT_TIMEOUT_SECONDS,
            )
        except (OSError, TimeoutError):
            self.stats.upstream_failed += 1
            writer.transport.abort()
            return
        self.stats.accepted += 1
        connection = _Connection(writer, up_writer)
        self._connections.add(connection)
        to_server = asyncio.create_task(
            self._pump(reader, up_writer, Direction.CLIENT_TO_SERVER, connection)
        )
        to_client = asyncio.create_task(
            self._pump(up_reader, writer, Direction.SERVER_TO_CLIENT, connection)
        )
        try:
            await asyncio.wait(
                {to_server, to_client}, return_when=asyncio.FIRST_COMPLETED
            )
            if to_server.done() and not to_client.done():
                # The client left; bytes it sent last (maybe held) were just
                # forwarded: let the server read, apply and answer them.
                await asyncio.wait({to_client}, timeout=self._linger)
        finally:
            for task in (to_server, to_client):
                task.cancel()
            await asyncio.gather(to_server, to_client, return_exceptions=True)
            connection.abort()
            self._connections.discard(connection)
            if connection.owes_answer:
                self._transit(-1)

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        direction: Direction,
        connection: _Connection,
    ) -> None:
        tail = b""  # end of the previous chunk: a marker may straddle two chunks
        with contextlib.suppress(OSError, ConnectionError):
            while chunk := await reader.read(_CHUNK):
                delay = self._latency[direction]
                hold = self._hold if direction is Direction.CLIENT_TO_SERVER else None
                held = hold is not None and hold.take(tail + chunk)
                if hold is not None:
                    tail = chunk[max(0, len(chunk) - len(hold.marker) + 1) :]
                if held:
                    assert hold is not None
                    await self._forward_late(
                        chunk, delay + hold.seconds, reader, writer, connection
                    )
                    continue
                if delay:
                    await asyncio.sleep(delay)
                writer.write(chunk)
                await writer.drain()

    async def _forward_late(
        self,
        chunk: bytes,
        seconds: float,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        connection: _Connection,
    ) -> None:
        self.stats.held += 1
        self._transit(1)
        until_closed = False  # then _serve ends the transit when the connection ends
        try:
            await asyncio.sleep(seconds)
            if _gone(reader):
                self.stats.held_after_client_left += 1
                until_closed = not connection.owes_answer
                connection.owes_answer = True
            writer.write(chunk)
            await writer.drain()
        finally:
            if not until_closed:
                self._transit(-1)
