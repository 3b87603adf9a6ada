"""mt5gateway.client against a tiny real gRPC server defined here (loopback).

Independent of the gateway: checks what the client does on the wire (metadata,
deadlines, request_id, rich error trailers) and the quote stream's re-open logic with
scripted failures, which the real gateway cannot be asked to produce on demand.
"""

# ruff: noqa: N802, ARG002 - servicer methods carry the generated RPC names

from __future__ import annotations

import asyncio
import threading
import time
from concurrent import futures
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc
import pytest
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc import aio
from mt5gateway.client import (
    AsyncGatewayClient,
    GatewayClient,
    NotFound,
    Unavailable,
    Unimplemented,
    ValidationFailed,
)
from mt5gateway.v1 import (
    quote_pb2,
    quote_service_pb2,
    quote_service_pb2_grpc,
    stream_pb2,
    trade_service_pb2,
    trade_service_pb2_grpc,
    user_pb2,
    user_service_pb2,
    user_service_pb2_grpc,
)
from mt5sim import tls

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from google.protobuf.message import Message

pytestmark = pytest.mark.integration


def _status(
    code: grpc.StatusCode, reason: str, *extra: Message, **metadata: str
) -> status_pb2.Status:
    details = []
    for message in (
        error_details_pb2.ErrorInfo(
            domain="mt5gateway", reason=reason, metadata=metadata
        ),
        *extra,
    ):
        packed = any_pb2.Any()
        packed.Pack(message)
        details.append(packed)
    return status_pb2.Status(
        code=code.value[0], message=reason.lower(), details=details
    )


def _trailers(status: status_pb2.Status) -> tuple[tuple[str, bytes], ...]:
    # What grpc_status.rpc_status.to_status() puts in the trailer (that module is
    # untyped).
    return (("grpc-status-details-bin", status.SerializeToString()),)


def _code(status: status_pb2.Status) -> grpc.StatusCode:
    return next(c for c in grpc.StatusCode if c.value[0] == status.code)


async def _aio_abort(context: Any, status: status_pb2.Status) -> None:
    await context.abort(
        _code(status), status.message, trailing_metadata=_trailers(status)
    )


def _sync_abort(context: Any, status: status_pb2.Status) -> None:
    context.set_trailing_metadata(_trailers(status))
    context.abort(_code(status), status.message)


def _retry(seconds: int = 0) -> error_details_pb2.RetryInfo:
    return error_details_pb2.RetryInfo(
        retry_delay=duration_pb2.Duration(seconds=seconds)
    )


@dataclass
class Script:
    """What the fake server does, and what it saw."""

    # One entry per StreamQuotes call: (quotes to send, final status or None = OK).
    streams: list[tuple[int, status_pb2.Status | None]] = field(default_factory=list)
    seen_metadata: list[dict[str, str]] = field(default_factory=list)
    seen_deadlines: list[float | None] = field(default_factory=list)
    seen_request_ids: list[str] = field(default_factory=list)
    stream_calls: int = 0
    # Heartbeats announce this interval (None: no interval, no stall detection).
    heartbeat_seconds: float | None = None
    # StreamQuotes calls (0-based) that go silent after their messages.
    stall_calls: set[int] = field(default_factory=set)


def _quote(n: int) -> quote_service_pb2.StreamQuotesResponse:
    return quote_service_pb2.StreamQuotesResponse(
        quote=quote_pb2.Quote(symbol="EURUSD", digits=5), sequence=n
    )


def _heartbeat(n: int, seconds: float | None) -> quote_service_pb2.StreamQuotesResponse:
    heartbeat = stream_pb2.Heartbeat()
    if seconds is not None:
        heartbeat.interval.FromTimedelta(timedelta(seconds=seconds))
    return quote_service_pb2.StreamQuotesResponse(heartbeat=heartbeat, sequence=n)


class AioUsers(user_service_pb2_grpc.UserServiceServicer):
    def __init__(self, script: Script) -> None:
        self.script = script

    async def GetUser(
        self, request: user_service_pb2.GetUserRequest, context: Any
    ) -> user_service_pb2.GetUserResponse:
        self.script.seen_metadata.append(
            {k: v for k, v in context.invocation_metadata() if isinstance(v, str)}
        )
        self.script.seen_deadlines.append(context.time_remaining())
        if request.login == 404:
            st = _status(grpc.StatusCode.NOT_FOUND, "MT5_NOT_FOUND", login="404")
            await _aio_abort(context, st)
        return user_service_pb2.GetUserResponse(user=user_pb2.User(login=request.login))

    async def DeleteUser(
        self, request: user_service_pb2.DeleteUserRequest, context: Any
    ) -> user_service_pb2.DeleteUserResponse:
        self.script.seen_request_ids.append(request.request_id)
        bad = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field="login", description="must be 1 or more"
                )
            ]
        )
        if request.login <= 0:
            await _aio_abort(
                context,
                _status(grpc.StatusCode.INVALID_ARGUMENT, "VALIDATION_FAILED", bad),
            )
        return user_service_pb2.DeleteUserResponse()


class AioQuotes(quote_service_pb2_grpc.QuoteServiceServicer):
    def __init__(self, script: Script) -> None:
        self.script = script

    async def StreamQuotes(
        self, request: quote_service_pb2.StreamQuotesRequest, context: Any
    ) -> AsyncIterator[quote_service_pb2.StreamQuotesResponse]:
        index = self.script.stream_calls
        self.script.stream_calls += 1
        count, final = self.script.streams[index]
        for n in range(1, count + 1):
            yield (
                _heartbeat(n, self.script.heartbeat_seconds) if n == 1 else _quote(n)
            )
        if index in self.script.stall_calls:
            await asyncio.sleep(30)  # silent, like a half-open connection
        if final is not None:
            await _aio_abort(context, final)


class SyncQuotes(quote_service_pb2_grpc.QuoteServiceServicer):
    def __init__(self, script: Script) -> None:
        self.script = script

    def StreamQuotes(
        self, request: quote_service_pb2.StreamQuotesRequest, context: Any
    ) -> Iterator[quote_service_pb2.StreamQuotesResponse]:
        index = self.script.stream_calls
        self.script.stream_calls += 1
        count, final = self.script.streams[index]
        for n in range(1, count + 1):
            yield (
                _heartbeat(n, self.script.heartbeat_seconds) if n == 1 else _quote(n)
            )
        if index in self.script.stall_calls:
            deadline = time.monotonic() + 30
            while context.is_active() and time.monotonic() < deadline:
                time.sleep(0.01)  # silent, like a half-open connection
        if final is not None:
            _sync_abort(context, final)


class SyncTrades(trade_service_pb2_grpc.TradeServiceServicer):
    def __init__(self, script: Script) -> None:
        self.script = script

    def CreateBalanceOperation(
        self, request: trade_service_pb2.CreateBalanceOperationRequest, context: Any
    ) -> trade_service_pb2.CreateBalanceOperationResponse:
        self.script.seen_request_ids.append(request.request_id)
        self.script.seen_deadlines.append(context.time_remaining())
        if request.login == 13:
            st = _status(
                grpc.StatusCode.FAILED_PRECONDITION,
                "MT5_NO_MONEY",
                retcode="10019",
                retcodeName="MT_RET_REQUEST_NO_MONEY",
            )
            _sync_abort(context, st)
        return trade_service_pb2.CreateBalanceOperationResponse(replayed=False)


@pytest.fixture
def script() -> Script:
    return Script()


@pytest.fixture
async def aio_target(script: Script) -> AsyncIterator[str]:
    server = aio.server()
    user_service_pb2_grpc.add_UserServiceServicer_to_server(
        AioUsers(script),  # type: ignore[abstract]
        server,
    )
    quote_service_pb2_grpc.add_QuoteServiceServicer_to_server(
        AioQuotes(script),  # type: ignore[abstract]
        server,
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(None)


@pytest.fixture
def sync_target(script: Script) -> Iterator[str]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    quote_service_pb2_grpc.add_QuoteServiceServicer_to_server(
        SyncQuotes(script),  # type: ignore[abstract]
        server,
    )
    trade_service_pb2_grpc.add_TradeServiceServicer_to_server(
        SyncTrades(script),  # type: ignore[abstract]
        server,
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(None).wait()


async def test_async_metadata_deadline_and_errors(
    aio_target: str, script: Script
) -> None:
    async with AsyncGatewayClient(
        aio_target, api_key="k1", metadata=(("x-tenant", "t"),), default_timeout=7.0
    ) as gw:
        reply = await gw.users.GetUser(user_service_pb2.GetUserRequest(login=5))
        assert reply.user.login == 5
        await gw.users.GetUser(user_service_pb2.GetUserRequest(login=6), timeout=60)

        with pytest.raises(NotFound) as not_found:
            await gw.users.GetUser(user_service_pb2.GetUserRequest(login=404))
        assert not_found.value.reason == "MT5_NOT_FOUND"
        assert not_found.value.metadata["login"] == "404"
        assert isinstance(not_found.value.__cause__, aio.AioRpcError)

        request = user_service_pb2.DeleteUserRequest(login=0)
        with pytest.raises(ValidationFailed) as invalid:
            await gw.users.DeleteUser(request)
        assert [v.field for v in invalid.value.field_violations] == ["login"]
        # The generated request_id stays on the message: a retry repeats it.
        assert request.request_id == script.seen_request_ids[0] != ""

    assert script.seen_metadata[0]["x-api-key"] == "k1"
    assert script.seen_metadata[0]["x-tenant"] == "t"
    first, second = script.seen_deadlines[:2]
    assert first is not None
    assert 5.0 < first <= 7.5  # grpc rounds deadlines up a little on the wire
    assert second is not None
    assert second > 30.0


async def test_async_stream_reopens_on_unavailable(
    aio_target: str, script: Script
) -> None:
    script.streams = [
        (3, _status(grpc.StatusCode.UNAVAILABLE, "GATEWAY_DRAINING", _retry())),
        (0, _status(grpc.StatusCode.UNAVAILABLE, "MT5_UNAVAILABLE")),
        (3, None),
    ]
    delays: list[int] = []

    def backoff(failures: int) -> float:
        delays.append(failures)
        return 0.0

    async with AsyncGatewayClient(aio_target) as gw:
        stream = gw.stream_quotes(
            quote_service_pb2.StreamQuotesRequest(symbols=["EURUSD"]), backoff=backoff
        )
        received = [m.sequence async for m in stream]
    # Heartbeats (sequence 1) are filtered; each stream starts at sequence 1 again.
    assert received == [2, 3, 2, 3]
    assert stream.reopens == 2
    assert script.stream_calls == 3
    # RetryInfo (0 s) answered the first failure; our backoff the second, with the
    # failure count not reset because no message arrived in between.
    assert delays == [1]


async def test_async_stream_gives_up_and_raises_typed(
    aio_target: str, script: Script
) -> None:
    script.streams = [
        (2, _status(grpc.StatusCode.UNAVAILABLE, "MT5_UNAVAILABLE", _retry())),
        (2, _status(grpc.StatusCode.UNAVAILABLE, "MT5_UNAVAILABLE", _retry())),
    ]
    async with AsyncGatewayClient(aio_target) as gw:
        stream = gw.stream_quotes(
            quote_service_pb2.StreamQuotesRequest(), max_reopens=1, heartbeats=True
        )
        received: list[int] = []

        async def consume() -> None:
            async for message in stream:
                # A loop, not extend(): the items must stay when the stream raises.
                received.append(message.sequence)  # noqa: PERF401

        with pytest.raises(Unavailable) as raised:
            await consume()
    assert received == [1, 2, 1, 2]
    assert raised.value.reason == "MT5_UNAVAILABLE"
    assert stream.reopens == 1


async def test_async_stream_other_errors_are_not_retried(
    aio_target: str, script: Script
) -> None:
    script.streams = [(0, _status(grpc.StatusCode.INTERNAL, "INTERNAL_ERROR"))]
    async with AsyncGatewayClient(aio_target) as gw:
        stream = gw.stream_quotes(quote_service_pb2.StreamQuotesRequest())
        with pytest.raises(Exception) as raised:  # noqa: PT011 - checked below
            async for _ in stream:
                pass
    assert raised.value.__class__.__name__ == "InternalError"
    assert stream.reopens == 0
    assert script.stream_calls == 1


async def test_async_stream_unimplemented_without_details(aio_target: str) -> None:
    async with AsyncGatewayClient(aio_target) as gw:
        # TradeService is not registered on this server: plain UNIMPLEMENTED.
        with pytest.raises(Unimplemented):
            await gw.trades.GetDeal(trade_service_pb2.GetDealRequest(ticket=1))


async def test_async_stream_cancel(aio_target: str, script: Script) -> None:
    script.streams = [(50, None)]
    async with AsyncGatewayClient(aio_target) as gw:
        stream = gw.stream_quotes(quote_service_pb2.StreamQuotesRequest())
        seen = 0
        async for _ in stream:
            seen += 1
            if seen == 2:
                stream.cancel()
                await asyncio.sleep(0)
        assert seen >= 2
        assert stream.reopens == 0


def test_sync_client_request_id_deadline_and_errors(
    sync_target: str, script: Script
) -> None:
    with GatewayClient(sync_target, default_timeout=3.0) as gw:
        request = trade_service_pb2.CreateBalanceOperationRequest(login=1)
        gw.trades.CreateBalanceOperation(request)
        gw.trades.CreateBalanceOperation(request)  # retry: same request_id
        with pytest.raises(Exception) as raised:  # noqa: PT011 - checked below
            gw.trades.CreateBalanceOperation(
                trade_service_pb2.CreateBalanceOperationRequest(login=13)
            )
    first, second, third = script.seen_request_ids
    assert first == second == request.request_id
    assert third not in {"", first}
    assert all(d is not None and 1.0 < d <= 3.5 for d in script.seen_deadlines)
    from mt5gateway.client import NoMoney  # noqa: PLC0415 - keeps the import list short

    assert isinstance(raised.value, NoMoney)
    assert raised.value.retcode == 10019


def test_sync_stream_reopens(sync_target: str, script: Script) -> None:
    script.streams = [
        (2, _status(grpc.StatusCode.UNAVAILABLE, "GATEWAY_DRAINING", _retry())),
        (3, None),
    ]
    slept: list[float] = []
    with GatewayClient(sync_target) as gw:
        stream = gw.stream_quotes(quote_service_pb2.StreamQuotesRequest())
        stream._sleep = slept.append
        received = [m.sequence for m in stream]
    assert received == [2, 2, 3]
    assert slept == [0.0]
    assert stream.reopens == 1


def test_sync_stream_cancel_from_another_thread(
    sync_target: str, script: Script
) -> None:
    script.streams = [(1, None)]
    # One heartbeat, then the server ends; cancel() before iterating ends at once.
    with GatewayClient(sync_target) as gw:
        stream = gw.stream_quotes(quote_service_pb2.StreamQuotesRequest())
        thread = threading.Thread(target=stream.cancel)
        thread.start()
        thread.join()
        assert list(stream) == []


async def test_async_stream_reopens_a_silent_stream(
    aio_target: str, script: Script
) -> None:
    # The heartbeat says 50 ms; nothing follows, so after 2 x 50 ms the client cancels
    # and re-opens without waiting for TCP to notice.
    script.heartbeat_seconds = 0.05
    script.stall_calls = {0}
    script.streams = [(2, None), (3, None)]
    async with AsyncGatewayClient(aio_target) as gw:
        stream = gw.stream_quotes(
            quote_service_pb2.StreamQuotesRequest(), backoff=lambda _: 0.0
        )
        started = time.monotonic()
        received = [m.sequence async for m in stream]
    assert received == [2, 2, 3]
    assert stream.reopens == 1
    assert time.monotonic() - started < 5


async def test_async_silent_stream_counts_against_max_reopens(
    aio_target: str, script: Script
) -> None:
    script.heartbeat_seconds = 0.05
    script.stall_calls = {0}
    script.streams = [(1, None)]
    async with AsyncGatewayClient(aio_target) as gw:
        stream = gw.stream_quotes(
            quote_service_pb2.StreamQuotesRequest(), max_reopens=0
        )
        with pytest.raises(Unavailable, match="no message on the stream"):
            async for _ in stream:
                pass


def test_sync_stream_reopens_a_silent_stream(sync_target: str, script: Script) -> None:
    script.heartbeat_seconds = 0.05
    script.stall_calls = {0}
    script.streams = [(2, None), (3, None)]
    with GatewayClient(sync_target) as gw:
        stream = gw.stream_quotes(
            quote_service_pb2.StreamQuotesRequest(), backoff=lambda _: 0.0
        )
        started = time.monotonic()
        received = [m.sequence for m in stream]
    assert received == [2, 2, 3]
    assert stream.reopens == 1
    assert time.monotonic() - started < 5


@pytest.fixture
def pki(tmp_path: Path) -> tuple[bytes, bytes, bytes]:
    """(key, certificate chain, CA) for 127.0.0.1 from mt5sim's test CA."""
    files = tls.generate(tmp_path)
    return (
        Path(files.key_file).read_bytes(),
        Path(files.cert_file).read_bytes(),
        Path(files.ca_file).read_bytes(),
    )


async def test_tls_channel_with_private_ca(
    pki: tuple[bytes, bytes, bytes], script: Script
) -> None:
    key, chain, ca = pki
    server = aio.server()
    user_service_pb2_grpc.add_UserServiceServicer_to_server(
        AioUsers(script),  # type: ignore[abstract]
        server,
    )
    port = server.add_secure_port(
        "127.0.0.1:0", grpc.ssl_server_credentials([(key, chain)])
    )
    await server.start()
    try:
        async with AsyncGatewayClient(
            f"127.0.0.1:{port}", tls=True, root_certificates=ca, api_key="k"
        ) as gw:
            reply = await gw.users.GetUser(user_service_pb2.GetUserRequest(login=9))
        assert reply.user.login == 9
        assert script.seen_metadata[0]["x-api-key"] == "k"
        # System roots do not trust the private CA: the handshake fails, UNAVAILABLE.
        async with AsyncGatewayClient(
            f"127.0.0.1:{port}", tls=True, default_timeout=5.0
        ) as gw:
            with pytest.raises(Unavailable):
                await gw.users.GetUser(user_service_pb2.GetUserRequest(login=9))
    finally:
        await server.stop(None)
