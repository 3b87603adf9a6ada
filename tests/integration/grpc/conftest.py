"""Loopback fixtures: mt5sim in-process, the gateway's gRPC server, a grpc.aio channel.

    async def test_x(gateway):
        reply = await gateway.users.GetUser(GetUserRequest(login=100000))
        stats = await gateway.stats()        # the simulator's /_sim/stats

``make_gateway(sim, **settings)`` builds one with other settings (API keys, several
MT5 servers). Override ``sim_config`` in a module to change the simulator.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiohttp
import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from mt5gateway.v1 import (
    config_service_pb2_grpc,
    quote_service_pb2_grpc,
    server_service_pb2_grpc,
    trade_service_pb2_grpc,
    user_service_pb2_grpc,
)
from mt5gateway_server.app import App, open_app
from mt5gateway_server.settings import (
    GrpcSettings,
    Mt5ServerSettings,
    Settings,
    TelemetrySettings,
)
from mt5sim import SimConfig, Simulator

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable
    from contextlib import AbstractAsyncContextManager

MANAGER_LOGIN = 1000
MANAGER_PASSWORD = "Password1"  # the simulator's documented manager
FIRST_LOGIN = 100_000  # first seeded client account


def mt5_server(
    sim: Simulator, name: str = "main", **overrides: Any
) -> Mt5ServerSettings:
    base: dict[str, Any] = {
        "name": name,
        "url": sim.url,
        "login": MANAGER_LOGIN,
        "password": MANAGER_PASSWORD,
        "pool_size": 2,
        "acquire_timeout_seconds": 2.0,
        "connect_timeout_seconds": 2.0,
        "read_timeout_seconds": 5.0,
        "total_timeout_seconds": 10.0,
        "backoff_base_seconds": 0.01,
        "backoff_cap_seconds": 0.2,
        "breaker_reset_seconds": 1.0,
    }
    if sim.ca_file is not None:
        base["ca_file"] = sim.ca_file
    base.update(overrides)
    return Mt5ServerSettings(**base)


def gateway_settings(sim: Simulator, **overrides: Any) -> Settings:
    grpc_overrides = overrides.pop("grpc", {})
    values: dict[str, Any] = {
        "mt5": {"main": mt5_server(sim)},
        "grpc": GrpcSettings(
            **{"listen": "127.0.0.1:0", "grace_period_seconds": 2.0, **grpc_overrides}
        ),
        "telemetry": TelemetrySettings(metrics_listen=None, log_format="json"),
    }
    values.update(overrides)
    return Settings(**values)


@dataclass(eq=False)
class Gateway:
    """A running gateway and stubs on one channel."""

    app: App
    sim: Simulator
    channel: grpc.aio.Channel
    target: str
    users: user_service_pb2_grpc.UserServiceStub = field(init=False)
    trade: trade_service_pb2_grpc.TradeServiceStub = field(init=False)
    config: config_service_pb2_grpc.ConfigServiceStub = field(init=False)
    quotes: quote_service_pb2_grpc.QuoteServiceStub = field(init=False)
    server: server_service_pb2_grpc.ServerServiceStub = field(init=False)

    def __post_init__(self) -> None:
        self.users = user_service_pb2_grpc.UserServiceStub(self.channel)
        self.trade = trade_service_pb2_grpc.TradeServiceStub(self.channel)
        self.config = config_service_pb2_grpc.ConfigServiceStub(self.channel)
        self.quotes = quote_service_pb2_grpc.QuoteServiceStub(self.channel)
        self.server = server_service_pb2_grpc.ServerServiceStub(self.channel)

    @property
    def port(self) -> int:
        return self.app.port

    async def _sim(self, method: str, path: str, body: object = None) -> Any:
        ssl = self.sim.client_ssl_context() or False
        async with (
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ssl)) as http,
            http.request(method, self.sim.url + path, json=body) as resp,
        ):
            assert resp.status == 200, (path, resp.status, await resp.text())
            return await resp.json(content_type=None)

    async def stats(self) -> dict[str, Any]:
        """``GET /_sim/stats``."""
        result: dict[str, Any] = await self._sim("GET", "/_sim/stats")
        return result

    async def requests(self, command: str | None = None) -> int:
        """MT5 requests the simulator has answered (one command, or all)."""
        stats = await self.stats()
        if command is None:
            return int(stats["requests_total"])
        return int(stats["requests"].get(command, 0))

    async def faults(self, **faults: object) -> None:
        await self._sim("POST", "/_sim/faults", faults)

    async def drop_sessions(self) -> None:
        await self._sim("POST", "/_sim/sessions/drop")


@dataclass(frozen=True)
class RpcFailure:
    """A failed call's status decoded the way clients do (grpc_status)."""

    code: grpc.StatusCode
    message: str
    info: error_details_pb2.ErrorInfo | None
    bad_request: error_details_pb2.BadRequest | None
    retry: error_details_pb2.RetryInfo | None

    @property
    def reason(self) -> str:
        return "" if self.info is None else self.info.reason

    @property
    def metadata(self) -> dict[str, str]:
        return {} if self.info is None else dict(self.info.metadata)

    @property
    def fields(self) -> list[str]:
        if self.bad_request is None:
            return []
        return [v.field for v in self.bad_request.field_violations]


def decode_error(exc: grpc.aio.AioRpcError) -> RpcFailure:
    status = rpc_status.from_call(exc)
    info = bad = retry = None
    if status is not None:
        assert status.code == exc.code().value[0]
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                assert info is None, "exactly one ErrorInfo"
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
            elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
            elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                retry = error_details_pb2.RetryInfo()
                detail.Unpack(retry)
    return RpcFailure(exc.code(), exc.details() or "", info, bad, retry)


async def expect_error(call: Any) -> RpcFailure:
    """Await a call that must fail; its decoded status."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return decode_error(caught.value)


@contextlib.asynccontextmanager
async def open_gateway(sim: Simulator, **overrides: Any) -> AsyncIterator[Gateway]:
    settings = gateway_settings(sim, **overrides)
    async with open_app(settings) as app:
        target = f"127.0.0.1:{app.port}"
        async with grpc.aio.insecure_channel(target) as channel:
            yield Gateway(app=app, sim=sim, channel=channel, target=target)


@pytest.fixture
def sim_config() -> SimConfig:
    return SimConfig(tls=False, seed=1, ticks_per_second=0, idle_timeout=30.0)


@pytest.fixture
async def sim(sim_config: SimConfig) -> AsyncIterator[Simulator]:
    async with Simulator(sim_config) as simulator:
        yield simulator


@pytest.fixture
async def gateway(sim: Simulator) -> AsyncIterator[Gateway]:
    async with open_gateway(sim) as gw:
        yield gw


@pytest.fixture
def rpc_error() -> Callable[[Any], Awaitable[RpcFailure]]:
    """``failure = await rpc_error(stub.Call(request))`` (tests cannot import
    conftest under --import-mode=importlib, so helpers come as fixtures)."""
    return expect_error


@pytest.fixture
def mt5_server_settings() -> Callable[..., Mt5ServerSettings]:
    """``mt5_server_settings(sim, "name", login=..., password=...)``."""
    return mt5_server


@pytest.fixture
def make_gateway() -> Callable[..., AbstractAsyncContextManager[Gateway]]:
    """``async with make_gateway(sim, grpc={"api_keys": [...]}) as gw``."""
    return open_gateway
