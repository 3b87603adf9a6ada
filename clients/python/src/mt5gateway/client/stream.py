"""Quote streams that re-open themselves on UNAVAILABLE.

The gateway ends live streams with ``UNAVAILABLE`` + ``RetryInfo`` when it drains or
has no MT5 session for a new one (``POOL_EXHAUSTED``), and the network can drop a stream
at any time; all mean "open it again" (the Pub/Sub StreamingPull life cycle), as does
any other error the gateway marks retryable (``RESOURCE_EXHAUSTED`` with RetryInfo).
Other errors (bad symbols, NOT_FOUND, permission, UNIMPLEMENTED) are raised as typed
errors, and a stream the server ends normally ends the iterator.

While MT5 is unreachable the stream stays open and its heartbeats say since when
(``upstream_outage_start``, None while prices are current): the last quotes may be
stale. The gateway sends such a heartbeat at once when an outage begins and when it
ends, and after the snapshot of a stream opened during one.

After a re-open the server starts a new stream: ``sequence`` restarts at 1 and the
current quotes are sent again as a snapshot (ended by ``snapshot_complete``), so nothing
is lost for a consumer that keeps the latest quote per symbol.

Heartbeats carry their interval; a stream silent for ``stall_factor`` times that long
(a half-open connection, a stuck proxy) is cancelled and re-opened like UNAVAILABLE.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from datetime import UTC
from typing import TYPE_CHECKING, Any

import grpc
from grpc import aio
from mt5gateway.client.errors import GatewayError, Unavailable, decode

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
    from datetime import datetime

    from mt5gateway.v1 import quote_service_pb2

__all__ = ["AsyncQuoteStream", "QuoteStream", "exponential_backoff"]


def exponential_backoff(
    failures: int, *, base: float = 0.2, cap: float = 10.0
) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(cap, base * 2**failures)]."""
    return random.uniform(0, min(cap, base * 2 ** min(failures, 32)))


class _ReopenPolicy:
    def __init__(
        self, max_reopens: int | None, backoff: Callable[[int], float]
    ) -> None:
        self.max_reopens = max_reopens
        self.backoff = backoff
        self.reopens = 0
        self.failures = 0  # consecutive failures without a message in between

    def delay_or_raise(self, error: GatewayError) -> float:
        if not error.retryable:
            raise error
        if self.max_reopens is not None and self.reopens >= self.max_reopens:
            raise error
        # The server's RetryInfo wins over our own schedule.
        if error.retry_delay is not None:
            delay = error.retry_delay.total_seconds()
        else:
            delay = self.backoff(self.failures)
        self.failures += 1
        self.reopens += 1
        return delay


def _outage_start(
    message: quote_service_pb2.StreamQuotesResponse, current: datetime | None
) -> datetime | None:
    """What a message says about MT5: a heartbeat tells, a new snapshot starts over."""
    if message.HasField("heartbeat"):
        beat = message.heartbeat
        if beat.HasField("upstream_outage_start_time"):
            return beat.upstream_outage_start_time.ToDatetime(tzinfo=UTC)
        return None
    if message.HasField("snapshot_complete"):
        return None  # a heartbeat follows at once if MT5 is still unreachable
    return current


def _keep(message: quote_service_pb2.StreamQuotesResponse, *, heartbeats: bool) -> bool:
    return heartbeats or not message.HasField("heartbeat")


def _idle_limit(
    message: quote_service_pb2.StreamQuotesResponse,
    current: float | None,
    factor: float,
) -> float | None:
    if message.HasField("heartbeat") and message.heartbeat.HasField("interval"):
        interval = message.heartbeat.interval.ToTimedelta().total_seconds()
        if interval > 0:
            return interval * factor
    return current


def _stalled(limit: float | None) -> Unavailable:
    # Client-side, so no ErrorInfo reason: the server never said anything.
    return Unavailable(
        f"no message on the stream for {limit:.3g}s; re-opening",
        code=grpc.StatusCode.UNAVAILABLE,
    )


class AsyncQuoteStream:
    """``async for message in AsyncQuoteStream(stub.StreamQuotes, request): ...``.

    ``max_reopens`` None = re-open forever (a worker's usual choice). ``reopens`` counts
    the re-opens so far. ``cancel()`` ends the iteration from another task.
    ``upstream_outage_start``: since when (UTC) the gateway cannot reach MT5, or None.
    """

    def __init__(
        self,
        open_stream: Callable[..., Any],
        request: quote_service_pb2.StreamQuotesRequest,
        *,
        metadata: tuple[tuple[str, str], ...] | None = None,
        max_reopens: int | None = None,
        backoff: Callable[[int], float] = exponential_backoff,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        heartbeats: bool = False,
        stall_factor: float = 2.0,
    ) -> None:
        self._open = open_stream
        self._request = request
        self._metadata = metadata
        self._policy = _ReopenPolicy(max_reopens, backoff)
        self._sleep = sleep
        self._heartbeats = heartbeats
        self._call: aio.UnaryStreamCall[Any, Any] | None = None
        self._cancelled = False
        self._stall_factor = stall_factor
        self._idle_limit: float | None = None  # learnt from the first heartbeat
        self._outage_start: datetime | None = None

    @property
    def reopens(self) -> int:
        return self._policy.reopens

    @property
    def upstream_outage_start(self) -> datetime | None:
        return self._outage_start

    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        self._cancelled = True
        if self._call is not None:
            self._call.cancel()

    async def _read(self, call: aio.UnaryStreamCall[Any, Any]) -> Any:  # noqa: ANN401 - a message or aio.EOF
        try:
            async with asyncio.timeout(self._idle_limit):
                return await call.read()
        except TimeoutError:
            raise _stalled(self._idle_limit) from None
        except aio.AioRpcError as exc:
            raise decode(exc) from exc

    def __aiter__(self) -> AsyncIterator[quote_service_pb2.StreamQuotesResponse]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[quote_service_pb2.StreamQuotesResponse]:
        while not self.cancelled():
            self._call = self._open(self._request, metadata=self._metadata)
            try:
                while (message := await self._read(self._call)) is not aio.EOF:
                    self._policy.failures = 0  # the stream worked; start backoff over
                    self._idle_limit = _idle_limit(
                        message, self._idle_limit, self._stall_factor
                    )
                    self._outage_start = _outage_start(message, self._outage_start)
                    if _keep(message, heartbeats=self._heartbeats):
                        yield message
            except asyncio.CancelledError:
                # A cancelled aio call raises CancelledError from its iterator; only
                # our own cancel() is swallowed, a cancelled task still propagates.
                if self.cancelled():
                    return
                raise
            except GatewayError as error:
                if error.code == grpc.StatusCode.CANCELLED:
                    return
                delay = self._policy.delay_or_raise(error)  # or raises it
            else:
                return  # ended by the server with OK
            finally:
                self._call.cancel()
            await self._sleep(delay)


class QuoteStream:
    """Blocking twin of :class:`AsyncQuoteStream`: ``for m in QuoteStream(...)``."""

    def __init__(
        self,
        open_stream: Callable[..., Any],
        request: quote_service_pb2.StreamQuotesRequest,
        *,
        metadata: tuple[tuple[str, str], ...] | None = None,
        max_reopens: int | None = None,
        backoff: Callable[[int], float] = exponential_backoff,
        sleep: Callable[[float], None] = time.sleep,
        heartbeats: bool = False,
        stall_factor: float = 2.0,
    ) -> None:
        self._open = open_stream
        self._request = request
        self._metadata = metadata
        self._policy = _ReopenPolicy(max_reopens, backoff)
        self._sleep = sleep
        self._heartbeats = heartbeats
        self._call: Any = None
        self._cancelled = False
        self._stall_factor = stall_factor
        self._idle_limit: float | None = None
        self._outage_start: datetime | None = None
        self._stalled = threading.Event()
        self._watchdog: threading.Timer | None = None

    @property
    def reopens(self) -> int:
        return self._policy.reopens

    @property
    def upstream_outage_start(self) -> datetime | None:
        """Since when (UTC) the gateway cannot reach MT5, or None."""
        return self._outage_start

    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        self._cancelled = True
        if self._call is not None:
            self._call.cancel()

    def __iter__(self) -> Iterator[quote_service_pb2.StreamQuotesResponse]:
        while not self.cancelled():
            self._call = self._open(self._request, metadata=self._metadata)
            self._stalled.clear()
            try:
                self._arm()
                for message in self._call:
                    self._policy.failures = 0
                    self._idle_limit = _idle_limit(
                        message, self._idle_limit, self._stall_factor
                    )
                    self._outage_start = _outage_start(message, self._outage_start)
                    if _keep(message, heartbeats=self._heartbeats):
                        # The consumer's time between messages is not stream silence.
                        self._disarm()
                        yield message
                    self._arm()
            except grpc.RpcError as exc:
                call: Any = exc  # the stream's RpcError is also its grpc.Call
                if call.code() == grpc.StatusCode.CANCELLED:
                    if not self._stalled.is_set() or self.cancelled():
                        return
                    error: GatewayError = _stalled(self._idle_limit)
                else:
                    error = decode(call)
                try:
                    delay = self._policy.delay_or_raise(error)
                except GatewayError:
                    raise error from exc
            else:
                return
            finally:
                self._disarm()
                self._call.cancel()
            self._sleep(delay)

    def _arm(self) -> None:
        # A timer per message is cheap next to a network read.
        self._disarm()
        if self._idle_limit is not None:
            self._watchdog = threading.Timer(self._idle_limit, self._on_stall)
            self._watchdog.daemon = True
            self._watchdog.start()

    def _disarm(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None

    def _on_stall(self) -> None:
        self._stalled.set()
        if self._call is not None:
            self._call.cancel()
