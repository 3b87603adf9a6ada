"""Composition root: resources in dependency order on one AsyncExitStack, and the drain.

telemetry -> Redis (optional) -> idempotency store -> audit log -> MT5 pools (or the
embedded simulator, with ``demo``) -> gRPC server. SIGTERM/SIGINT:
health NOT_SERVING -> pause -> stream drain hooks -> ``server.stop(grace)`` -> the
stack closes pools (quitting MT5 sessions), audit, store, Redis, telemetry.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import tempfile
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from pydantic import SecretStr

from mt5gateway_server.audit import AuditFeed
from mt5gateway_server.cache.redis import RedisConfig, redis_client
from mt5gateway_server.log import get_logger
from mt5gateway_server.rpc.deps import ServiceDeps
from mt5gateway_server.rpc.server import GatewayServer, build_servicers
from mt5gateway_server.rpc.services.quote_stream import open_quote_streaming
from mt5gateway_server.settings import Settings, format_host_port, parse_host_port
from mt5gateway_server.telemetry import Telemetry
from mt5gateway_server.webapi import AuthError, PoolManager, ServerConfig
from mt5gateway_server.webapi.retry import remaining
from mt5gateway_server.writes import (
    DATABASE_FILE,
    StoreConfig,
    WriteEngine,
    open_store,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterable

    from mt5sim import Simulator
    from redis.asyncio import Redis

    from mt5gateway_server.telemetry import Metrics

__all__ = [
    "DEMO_LOGIN",
    "DEMO_SERVER",
    "App",
    "grpcurl_hint",
    "open_app",
    "run",
]

_log = get_logger("app")

DEMO_SERVER = "demo"
DEMO_LOGIN = 100_000  # first seeded client account of mt5sim
_SIM_MANAGER_LOGIN = 1000
_SIM_MANAGER_PASSWORD = "Password1"  # noqa: S105 - mt5sim's documented demo manager
# How long start-up waits for a first MT5 session before serving anyway (health
# reports NOT_SERVING until one is ready).
_START_WAIT_SECONDS = 15.0


def redis_config(settings: Settings) -> RedisConfig:
    """Settings -> the Redis client's own config."""
    cfg = settings.redis
    return RedisConfig(
        url=None if cfg.url is None else str(cfg.url),
        socket_timeout_seconds=cfg.socket_timeout_seconds,
        connect_timeout_seconds=cfg.connect_timeout_seconds,
        health_check_interval_seconds=cfg.health_check_interval_seconds,
        max_connections=cfg.max_connections,
        retries=cfg.retries,
        backoff_base_seconds=cfg.backoff_base_seconds,
        backoff_cap_seconds=cfg.backoff_cap_seconds,
    )


def write_store_config(settings: Settings, data_dir: Path | None = None) -> StoreConfig:
    """Settings -> the write store's own config (``data_dir`` overrides the
    setting's)."""
    cfg = settings.idempotency
    return StoreConfig(
        backend=settings.write_store_backend,
        sqlite_path=cfg.sqlite_path or (data_dir or settings.data_dir) / DATABASE_FILE,
        ttl_seconds=cfg.ttl_seconds,
        lease_seconds=cfg.pending_lease_seconds,
        wait_timeout_seconds=cfg.wait_timeout_seconds,
        max_entries=cfg.max_entries,
        audit_stream_maxlen=settings.audit.stream_maxlen,
    )


def settle_seconds(
    settings: Settings, configs: Iterable[ServerConfig]
) -> Callable[[str], float]:
    """How long after sending a write it can still apply, per MT5 server: the
    setting, else three of the server's read timeouts. The gateway closes a connection
    whose answer is late, so what can still land afterwards is what was already in
    flight (kernel buffers, MT5's queue); an intermediary that holds requests longer
    (a proxy, a load balancer) needs the setting raised."""
    fixed = settings.idempotency.settle_seconds
    by_server = {
        cfg.name: fixed if fixed is not None else 3 * cfg.read_timeout
        for cfg in configs
    }
    longest = max(by_server.values(), default=fixed or 30.0)
    return lambda server: by_server.get(server, longest)


@contextlib.asynccontextmanager
async def open_write_engine(
    settings: Settings,
    configs: Iterable[ServerConfig],
    redis: Redis | None,
    metrics: Metrics | None,
) -> AsyncIterator[WriteEngine]:
    """The write store (with its audit feed) and the engine over it.

    In demo mode, unless a data_dir is set, the store lives in a temporary directory
    that goes with the process, like the embedded simulator's accounts.
    """
    async with AsyncExitStack() as stack:
        data_dir: Path | None = None
        if settings.demo and "data_dir" not in settings.model_fields_set:
            data_dir = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="mt5gw-demo-"))
            )
        feed = AuditFeed(file=settings.audit.file)
        stack.push_async_callback(feed.aclose)
        store = await open_store(write_store_config(settings, data_dir), redis, feed)
        stack.push_async_callback(store.aclose)
        yield WriteEngine(
            store,
            settle_seconds=settle_seconds(settings, configs),
            metrics=metrics,
            remaining=remaining,
        )


def _pool_configs(settings: Settings) -> list[ServerConfig]:
    # The default server goes first: PoolManager's default is its first pool.
    default = settings.default_server_name
    names = sorted(settings.mt5, key=lambda name: name != default)
    return [settings.mt5[name].to_server_config() for name in names]


async def _start_simulator() -> tuple[Simulator, ServerConfig]:
    from mt5sim import SimConfig, Simulator  # noqa: PLC0415 - demo mode only

    # TLS with a generated CA, like a real MT5 server; the pool trusts that CA.
    sim = Simulator(SimConfig(tls=True, seed=1))
    await sim.start()
    cfg = ServerConfig(
        url=sim.url,
        login=_SIM_MANAGER_LOGIN,
        password=SecretStr(_SIM_MANAGER_PASSWORD),
        name=DEMO_SERVER,
        pool_size=4,
        ca_file=sim.ca_file,
    )
    return sim, cfg


def grpcurl_hint(
    port: int, listen_host: str = "127.0.0.1", *, tls: bool = False
) -> str:
    """A grpcurl line to try against a gateway listening on ``listen_host``."""
    # A wildcard address is reached through loopback.
    wildcard = listen_host in {"0.0.0.0", "::", ""}  # noqa: S104
    target = format_host_port("127.0.0.1" if wildcard else listen_host, port)
    # With TLS the caller names the CA that issued the gateway's certificate.
    transport = "-cacert ca.pem" if tls else "-plaintext"
    return (
        f"grpcurl {transport} -d '{{\"login\": {DEMO_LOGIN}}}' {target} "
        "mt5gateway.v1.UserService/GetUser"
    )


@dataclass(eq=False)
class App:
    settings: Settings
    telemetry: Telemetry
    deps: ServiceDeps
    server: GatewayServer
    port: int
    simulator: Simulator | None = None
    _drained: bool = field(default=False, repr=False)

    @property
    def metrics_port(self) -> int | None:
        return self.telemetry.metrics_port

    async def drain(self) -> None:
        """Health NOT_SERVING, streams ended, in-flight calls finished; idempotent."""
        grpc_settings = self.settings.grpc
        await self.server.drain(
            grace=grpc_settings.grace_period_seconds,
            pause=grpc_settings.drain_pause_seconds,
        )


async def _start_pools(pools: PoolManager) -> None:
    try:
        async with asyncio.timeout(_START_WAIT_SECONDS):
            await pools.start()
    except TimeoutError:
        # Serve anyway: calls answer UNAVAILABLE and health says NOT_SERVING until
        # a session is ready; the pool keeps reconnecting.
        _log.warning("mt5_not_ready_at_startup", servers=pools.names)
    except AuthError:
        _log.error("mt5_login_rejected_at_startup", servers=pools.names)
        raise


@contextlib.asynccontextmanager
async def open_app(
    settings: Settings, *, install_global_telemetry: bool = False
) -> AsyncIterator[App]:
    """Everything started; leaving the block drains and closes in reverse order."""
    async with AsyncExitStack() as stack:
        telemetry = Telemetry.start(settings, install_global=install_global_telemetry)
        # In a thread: flushing spans to a slow collector must not block the loop.
        stack.push_async_callback(asyncio.to_thread, telemetry.shutdown)
        redis = await stack.enter_async_context(redis_client(redis_config(settings)))

        sim: Simulator | None = None
        if settings.demo:
            sim, demo_cfg = await _start_simulator()
            stack.push_async_callback(sim.stop)
            configs = [demo_cfg]
            _log.info("embedded_simulator_started", url=sim.url)
        else:
            configs = _pool_configs(settings)
        pools = PoolManager(
            configs, metrics=telemetry.metrics.webapi_hooks(telemetry.tracing)
        )
        stack.push_async_callback(pools.aclose)
        # Before the pools start: nothing writes yet, and a bad store stops start-up.
        writes = await stack.enter_async_context(
            open_write_engine(settings, configs, redis, telemetry.metrics)
        )
        await _start_pools(pools)

        deps = ServiceDeps(
            pools=pools,
            settings=settings,
            writes=writes,
            metrics=telemetry.metrics,
            default_server=pools.default,
        )
        # Quote streams: pollers (or the Redis fan-out), hub, StreamRegistry.
        streaming = await stack.enter_async_context(open_quote_streaming(deps, redis))
        server = GatewayServer(
            deps, build_servicers(deps, streaming.handler), tracing=telemetry.tracing
        )
        server.drain_hooks.append(streaming.drain)
        port = await server.start(settings.grpc.listen)
        app = App(settings, telemetry, deps, server, port, sim)
        # Runs first on exit: the server stops before the pools it uses close.
        stack.push_async_callback(app.drain)
        yield app


def _ready_lines(app: App) -> list[str]:
    host, _ = parse_host_port(app.settings.grpc.listen)
    lines = [f"mt5gateway ready on {format_host_port(host, app.port)}"]
    if app.simulator is not None:
        lines.append(f"  embedded MT5 simulator at {app.simulator.url} (demo mode)")
    metrics_listen = app.settings.telemetry.metrics_listen
    if app.metrics_port is not None and metrics_listen is not None:
        metrics = format_host_port(parse_host_port(metrics_listen)[0], app.metrics_port)
        lines.append(f"  metrics: http://{metrics}/metrics")
    tls = app.settings.grpc.tls_enabled
    lines.append(f"  try: {grpcurl_hint(app.port, host, tls=tls)}")
    return lines


async def run(settings: Settings, *, out: TextIO | None = None) -> int:
    """Serve until SIGTERM/SIGINT, drain, exit code 0."""
    stream = out if out is not None else sys.stderr
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with open_app(settings, install_global_telemetry=True) as app:
            _log.info(
                "gateway_ready",
                port=app.port,
                metrics_port=app.metrics_port,
                servers=app.deps.pools.names,
                demo=app.simulator is not None,
            )
            print("\n".join(_ready_lines(app)), file=stream, flush=True)
            await stop.wait()
            _log.info("gateway_shutdown_requested")
            await app.drain()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    _log.info("gateway_stopped")
    return 0
