"""``GatewayClient`` (blocking) and ``AsyncGatewayClient`` (asyncio).

Thin: the attributes are the generated stubs over a channel from :mod:`.channel`, so
every RPC keeps its generated signature and types; the channel's interceptors add the
API key, the default deadline, ``request_id`` for writes and typed errors.

    async with AsyncGatewayClient("127.0.0.1:50051", api_key="...") as gw:
        reply = await gw.users.GetUser(GetUserRequest(login=1001))
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

from mt5gateway.client.channel import ChannelConfig, create_aio_channel, create_channel
from mt5gateway.client.stream import AsyncQuoteStream, QuoteStream, exponential_backoff
from mt5gateway.v1 import (
    config_service_pb2_grpc,
    quote_service_pb2,
    quote_service_pb2_grpc,
    server_service_pb2_grpc,
    trade_service_pb2_grpc,
    user_service_pb2_grpc,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from types import TracebackType

    import grpc
    from grpc import aio

__all__ = ["AsyncGatewayClient", "GatewayClient"]


def _config(target: str | ChannelConfig, kwargs: dict[str, Any]) -> ChannelConfig:
    if isinstance(target, ChannelConfig):
        if kwargs:
            raise TypeError("pass either a ChannelConfig or keyword options, not both")
        return target
    return ChannelConfig(target=target, **kwargs)


class GatewayClient:
    """Blocking client; thread-safe, meant to live as long as the process.

    ``GatewayClient("gw:50051", tls=True, api_key=..., default_timeout=5.0)`` takes the
    :class:`ChannelConfig` fields as keywords, or a ``ChannelConfig``.
    """

    def __init__(
        self,
        target: str | ChannelConfig,
        *,
        interceptors: Sequence[grpc.UnaryUnaryClientInterceptor] = (),
        **options: Any,  # noqa: ANN401 - ChannelConfig fields
    ) -> None:
        self.channel_config = _config(target, options)
        self.channel = create_channel(self.channel_config, interceptors=interceptors)
        self.users = user_service_pb2_grpc.UserServiceStub(self.channel)
        self.trades = trade_service_pb2_grpc.TradeServiceStub(self.channel)
        self.configuration = config_service_pb2_grpc.ConfigServiceStub(self.channel)
        self.quotes = quote_service_pb2_grpc.QuoteServiceStub(self.channel)
        self.servers = server_service_pb2_grpc.ServerServiceStub(self.channel)

    def stream_quotes(
        self,
        request: quote_service_pb2.StreamQuotesRequest,
        *,
        max_reopens: int | None = None,
        heartbeats: bool = False,
        backoff: Callable[[int], float] = exponential_backoff,
    ) -> QuoteStream:
        """Iterate quotes, re-opening the stream on UNAVAILABLE (see :mod:`.stream`)."""
        return QuoteStream(
            self.quotes.StreamQuotes,
            request,
            max_reopens=max_reopens,
            heartbeats=heartbeats,
            backoff=backoff,
        )

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncGatewayClient:
    """asyncio client; create it inside the running event loop and share it there."""

    def __init__(
        self,
        target: str | ChannelConfig,
        *,
        interceptors: Sequence[aio.ClientInterceptor] = (),
        **options: Any,  # noqa: ANN401 - ChannelConfig fields
    ) -> None:
        self.channel_config = _config(target, options)
        self.channel = create_aio_channel(
            self.channel_config, interceptors=interceptors
        )
        self.users = user_service_pb2_grpc.UserServiceStub(self.channel)
        self.trades = trade_service_pb2_grpc.TradeServiceStub(self.channel)
        self.configuration = config_service_pb2_grpc.ConfigServiceStub(self.channel)
        self.quotes = quote_service_pb2_grpc.QuoteServiceStub(self.channel)
        self.servers = server_service_pb2_grpc.ServerServiceStub(self.channel)

    def stream_quotes(
        self,
        request: quote_service_pb2.StreamQuotesRequest,
        *,
        max_reopens: int | None = None,
        heartbeats: bool = False,
        backoff: Callable[[int], float] = exponential_backoff,
    ) -> AsyncQuoteStream:
        """``async for m in gw.stream_quotes(req)``; re-opens on UNAVAILABLE."""
        return AsyncQuoteStream(
            self.quotes.StreamQuotes,
            request,
            max_reopens=max_reopens,
            heartbeats=heartbeats,
            backoff=backoff,
        )

    async def close(self, grace: float | None = None) -> None:
        await self.channel.close(grace)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
