"""StreamQuotes through the whole gateway (``open_app``): wired into QuoteService,
drained by the app's shutdown, with and without Redis."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import grpc
import pytest
from mt5gateway.v1 import quote_service_pb2, quote_service_pb2_grpc
from mt5gateway_server.app import open_app
from mt5gateway_server.settings import (
    GrpcSettings,
    Mt5ServerSettings,
    QuoteSettings,
    RedisSettings,
    Settings,
    TelemetrySettings,
)

if TYPE_CHECKING:
    from mt5sim import Simulator
    from redis.asyncio import Redis

pytestmark = pytest.mark.integration


def settings(sim: Simulator, redis_url: str | None) -> Settings:
    return Settings(
        mt5={
            "main": Mt5ServerSettings(
                name="main",
                url=sim.url,
                login=1000,
                password="Password1",
                pool_size=3,
                acquire_timeout_seconds=2.0,
            )
        },
        grpc=GrpcSettings(listen="127.0.0.1:0", grace_period_seconds=1.0),
        telemetry=TelemetrySettings(metrics_listen=None, log_format="json"),
        quotes=QuoteSettings(poll_interval_ms=50),
        redis=RedisSettings(url=redis_url),
    )


@pytest.mark.parametrize("with_redis", [False, True], ids=["local", "redis"])
async def test_stream_through_the_gateway_and_drain(
    sim: Simulator, redis: Redis, redis_url: str, h: Any, with_redis: bool
) -> None:
    del redis  # flushed: no lease left by an earlier test
    async with (
        open_app(settings(sim, redis_url if with_redis else None)) as app,
        grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel,
    ):
        stub = quote_service_pb2_grpc.QuoteServiceStub(channel)
        call = stub.StreamQuotes(
            quote_service_pb2.StreamQuotesRequest(symbols=["EURUSD"])
        )
        (first,) = await h.read_snapshot(call)
        assert h.quote_values(first)[1:] == h.truth(sim, "EURUSD")
        # Changes arrive right away, also while the Redis lease is being taken.
        for _ in range(3):
            expected = h.move(sim, "EURUSD")
            assert h.quote_values(await h.next_quote(call))[1:] == expected
            await asyncio.sleep(0.02)
        await app.drain()
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await h.next_message(call)
        code, reason, retry = h.decode_status(caught.value)
        assert code == grpc.StatusCode.UNAVAILABLE
        assert reason == "GATEWAY_DRAINING"
        assert retry is not None
