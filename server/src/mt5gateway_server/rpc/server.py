"""The grpc.aio server: services, health (following pool state) and reflection.

``build_servicers`` makes every servicer with its dependencies as constructor
arguments; ``GatewayServer`` registers the servicers it is given. The composition root
(``app.py``) calls both.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import grpc
from grpc_health.v1 import (  # type: ignore[import-untyped]
    health,
    health_pb2,
    health_pb2_grpc,
)
from grpc_reflection.v1alpha import reflection  # type: ignore[import-untyped]
from mt5gateway.v1 import (
    config_service_pb2,
    config_service_pb2_grpc,
    quote_service_pb2,
    quote_service_pb2_grpc,
    server_service_pb2,
    server_service_pb2_grpc,
    trade_service_pb2,
    trade_service_pb2_grpc,
    user_service_pb2,
    user_service_pb2_grpc,
)

from mt5gateway_server.log import get_logger
from mt5gateway_server.rpc.interceptors import build_interceptors
from mt5gateway_server.rpc.services.config import ConfigServicer
from mt5gateway_server.rpc.services.quotes import QuoteServicer
from mt5gateway_server.rpc.services.server import ServerServicer
from mt5gateway_server.rpc.services.trade import TradeServicer
from mt5gateway_server.rpc.services.users import UserServicer
from mt5gateway_server.settings import parse_host_port
from mt5gateway_server.webapi.tasks import spawn

if TYPE_CHECKING:
    from collections.abc import Sequence

    from mt5gateway_server.rpc.deps import ServiceDeps
    from mt5gateway_server.rpc.services.quote_stream import QuoteStreamHandler
    from mt5gateway_server.settings import GrpcSettings
    from mt5gateway_server.tracing import Tracing

__all__ = [
    "HEALTH_POLL_SECONDS",
    "GatewayServer",
    "Servicer",
    "build_servicers",
    "mt5_health_name",
]

_log = get_logger("rpc.server")

HEALTH_POLL_SECONDS = 0.25
_SERVING = health_pb2.HealthCheckResponse.SERVING
_NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@dataclass(frozen=True, slots=True)
class Servicer:
    """One gRPC service: its full proto name, the servicer, how it is registered."""

    name: str
    implementation: object
    add: Callable[[Any, grpc.aio.Server], None]


def build_servicers(
    deps: ServiceDeps, quote_streams: QuoteStreamHandler
) -> list[Servicer]:
    """Every service of the contract, each servicer given what it uses."""

    def named(pb2: Any, service: str) -> str:  # noqa: ANN401 - generated module
        return str(pb2.DESCRIPTOR.services_by_name[service].full_name)

    return [
        Servicer(
            named(user_service_pb2, "UserService"),
            UserServicer(deps),
            user_service_pb2_grpc.add_UserServiceServicer_to_server,
        ),
        Servicer(
            named(trade_service_pb2, "TradeService"),
            TradeServicer(deps),
            trade_service_pb2_grpc.add_TradeServiceServicer_to_server,
        ),
        Servicer(
            named(config_service_pb2, "ConfigService"),
            ConfigServicer(deps),
            config_service_pb2_grpc.add_ConfigServiceServicer_to_server,
        ),
        Servicer(
            named(quote_service_pb2, "QuoteService"),
            QuoteServicer(deps, quote_streams),
            quote_service_pb2_grpc.add_QuoteServiceServicer_to_server,
        ),
        Servicer(
            named(server_service_pb2, "ServerService"),
            ServerServicer(deps),
            server_service_pb2_grpc.add_ServerServiceServicer_to_server,
        ),
    ]


def mt5_health_name(server: str) -> str:
    """Health service name of one MT5 server: ``mt5gateway.v1.mt5server.<name>``."""
    return f"mt5gateway.v1.mt5server.{server}"


DrainHook = Callable[[], Awaitable[None]]


def server_credentials(settings: GrpcSettings) -> grpc.ServerCredentials | None:
    """TLS (and mutual TLS) for the gRPC port, or None for plaintext."""
    if settings.tls_cert_file is None or settings.tls_key_file is None:
        return None
    client_ca = settings.tls_client_ca_file
    return grpc.ssl_server_credentials(
        [(settings.tls_key_file.read_bytes(), settings.tls_cert_file.read_bytes())],
        root_certificates=None if client_ca is None else client_ca.read_bytes(),
        require_client_auth=client_ca is not None,
    )


class GatewayServer:
    """The gRPC server with its health servicer; ``drain()`` is idempotent."""

    def __init__(
        self,
        deps: ServiceDeps,
        servicers: Sequence[Servicer],
        *,
        tracing: Tracing | None = None,
    ) -> None:
        self.deps = deps
        grpc_settings = deps.settings.grpc
        self.server = grpc.aio.server(
            interceptors=build_interceptors(
                grpc_settings, metrics=deps.metrics, tracing=tracing
            ),
            maximum_concurrent_rpcs=grpc_settings.max_concurrent_rpcs,
            options=[
                # Several worker processes share one port; a single process must
                # fail on a port that is taken rather than silently share it.
                ("grpc.so_reuseport", 1 if grpc_settings.workers > 1 else 0),
                # After a drain every client re-opens its streams at once; grpc's
                # default pending-call limit (3,000) would cancel part of them.
                ("grpc.server.max_pending_requests", 20_000),
                ("grpc.server.max_pending_requests_hard_limit", 40_000),
            ],
        )
        self.health = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        self.services: list[str] = []
        for servicer in servicers:
            servicer.add(servicer.implementation, self.server)
            self.services.append(servicer.name)
        if grpc_settings.reflection:
            reflection.enable_server_reflection(
                (*self.services, health.SERVICE_NAME, reflection.SERVICE_NAME),
                self.server,
            )
        # Stream registries (quote/trade streams) register here to end their streams
        # with UNAVAILABLE before the server stops.
        self.drain_hooks: list[DrainHook] = []
        self.port = 0
        self._watch_task: asyncio.Task[None] | None = None
        self._statuses: dict[str, int] = {}
        self._draining = False
        self._drain_task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        state = "draining" if self._draining else "serving"
        return f"<GatewayServer :{self.port} {state} {self.services}>"

    @property
    def draining(self) -> bool:
        return self._draining

    async def start(self, listen: str) -> int:
        host, port = parse_host_port(listen)
        target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        credentials = server_credentials(self.deps.settings.grpc)
        if credentials is None:
            self.port = self.server.add_insecure_port(target)
        else:
            self.port = self.server.add_secure_port(target, credentials)
        await self.server.start()
        await self.health.set("", _SERVING)
        await self.update_health()
        self._watch_task = spawn(self._watch(), name="grpc-health-watch")
        return self.port

    async def update_health(self) -> None:
        """Per-service entries follow the default server; one entry per server."""
        pools = self.deps.pools
        default = self.deps.server_name("")
        for name in pools.names:
            serving = pools.pool(name).serving
            await self._set(mt5_health_name(name), serving)
            if name == default:
                for service in self.services:
                    await self._set(service, serving)

    async def _set(self, service: str, serving: bool) -> None:  # noqa: FBT001
        status = _SERVING if serving else _NOT_SERVING
        if self._statuses.get(service) != status and not self._draining:
            self._statuses[service] = status
            await self.health.set(service, status)

    async def _watch(self) -> None:
        while not self._draining:
            await asyncio.sleep(HEALTH_POLL_SECONDS)
            try:
                await self.update_health()
            except Exception:  # noqa: BLE001  # health must keep running
                _log.warning("grpc_health_update_failed", exc_info=True)

    async def drain(self, *, grace: float, pause: float = 0.0) -> None:
        if self._drain_task is None:
            # Outlives a caller that is cancelled (shield): spawn keeps it alive and
            # logs its failure, in a context of its own.
            self._drain_task = spawn(self._drain(grace, pause), name="grpc-drain")
        await asyncio.shield(self._drain_task)

    async def _drain(self, grace: float, pause: float) -> None:
        self._draining = True
        task, self._watch_task = self._watch_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        # 1. every service reports NOT_SERVING
        await self.health.enter_graceful_shutdown()
        _log.info("grpc_drain_started", grace_seconds=grace, pause_seconds=pause)
        # 2. let load balancers notice
        if pause > 0:
            await asyncio.sleep(pause)
        # 3. end live streams with UNAVAILABLE + RetryInfo
        for hook in self.drain_hooks:
            try:
                await hook()
            except Exception:  # noqa: BLE001  # one registry must not block the drain
                _log.warning("grpc_drain_hook_failed", exc_info=True)
        # 4. no new RPCs; in-flight ones get the grace period
        await self.server.stop(grace)
        _log.info("grpc_server_stopped")
