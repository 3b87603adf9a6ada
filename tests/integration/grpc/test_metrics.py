"""The /metrics endpoint of a running gateway, scraped over HTTP after real calls."""

from __future__ import annotations

import asyncio
import urllib.request
from typing import TYPE_CHECKING, Any

import grpc
import pytest
from mt5gateway.v1 import quote_service_pb2
from mt5gateway.v1 import user_service_pb2 as pb
from mt5gateway_server.settings import TelemetrySettings

if TYPE_CHECKING:
    from mt5sim import Simulator

GET_USER = 'method="/mt5gateway.v1.UserService/GetUser"'
STREAM = 'method="/mt5gateway.v1.QuoteService/StreamQuotes"'


def _scrape(port: int) -> str:
    url = f"http://127.0.0.1:{port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as resp:
        text: str = resp.read().decode()
        return text


def _value(text: str, name: str, *labels: str) -> float:
    for line in text.splitlines():
        head, _, value = line.rpartition(" ")
        if head.split("{", 1)[0] == name and all(label in head for label in labels):
            return float(value)
    raise AssertionError(f"{name} {labels} not scraped")


async def test_calls_pools_and_streams_show_in_the_scrape(
    sim: Simulator, make_gateway: Any
) -> None:
    telemetry = TelemetrySettings(metrics_listen="127.0.0.1:0", log_format="json")
    login = min(sim.broker.users)
    async with make_gateway(sim, telemetry=telemetry) as gw:
        port = gw.app.metrics_port
        assert port
        for _ in range(5):
            await gw.users.GetUser(pb.GetUserRequest(login=login))
        with pytest.raises(grpc.aio.AioRpcError):
            await gw.users.GetUser(pb.GetUserRequest(login=9_999_999))
        stream = gw.quotes.StreamQuotes(
            quote_service_pb2.StreamQuotesRequest(symbols=["EURUSD"])
        )
        await stream.read()  # the snapshot's first quote: the stream is open
        text = await asyncio.to_thread(_scrape, port)
        stream.cancel()

    assert _value(text, "mt5gw_rpc_duration_seconds_count", GET_USER, 'code="OK"') == 5
    assert (
        _value(
            text,
            "mt5gw_rpc_errors_total",
            GET_USER,
            'code="NOT_FOUND"',
            'reason="MT5_NOT_FOUND"',
            'retcode="13"',
        )
        == 1
    )
    assert (
        _value(text, "mt5gw_mt5_request_duration_seconds_count", 'command="user/get"')
        == 6
    )
    assert _value(text, "mt5gw_mt5_errors_total", 'retcode="13"') == 1
    assert _value(text, "mt5gw_mt5_handshakes_total", 'outcome="ok"') >= 1
    ready = _value(text, "mt5gw_pool_sessions", 'server="main"', 'state="ready"')
    busy = _value(text, "mt5gw_pool_sessions", 'server="main"', 'state="busy"')
    assert ready + busy >= 1
    assert _value(text, "mt5gw_pool_queue_depth", 'server="main"') == 0
    assert _value(text, "mt5gw_streams_active", STREAM) == 1
    assert _value(text, "mt5gw_quotes_subscribers", 'server="main"') == 1
    assert _value(text, "mt5gw_build_info", 'service_name="mt5gateway"') == 1
    assert "_created" not in text
