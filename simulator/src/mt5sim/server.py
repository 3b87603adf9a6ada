"""The in-process API: start the simulator on an (ephemeral) port, stop it.

async with Simulator(SimConfig(tls=False)) as sim:
    ...  # sim.url, sim.port, sim.ca_file, sim.broker
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Self

from aiohttp import web

from mt5sim import tls
from mt5sim.app import SimApp
from mt5sim.commands.registry import COMMANDS
from mt5sim.config import ManagerSpec, SimConfig
from mt5sim.connections import ConnectionRegistry, TrackingServer
from mt5sim.faults import FaultConfig
from mt5sim.market.broker import Broker
from mt5sim.market.prices import PriceFeed

if TYPE_CHECKING:
    import ssl
    from collections.abc import Callable, Mapping
    from types import TracebackType

    from mt5sim.commands.base import Command

__all__ = ["ManagerSpec", "SimConfig", "Simulator"]

log = logging.getLogger("mt5sim")


class Simulator:
    """A running mt5sim: HTTP(S) server, broker state and the price feed task.

    ``commands`` and ``broker_factory`` are for tests that want stand-ins; by default
    the command registry and ``Broker.seeded(seed, now, config.broker_options)``.
    """

    def __init__(
        self,
        config: SimConfig | None = None,
        *,
        commands: Mapping[str, Command] | None = None,
        broker_factory: Callable[[int, float], Broker] | None = None,
    ) -> None:
        self.config = config or SimConfig()
        self._commands = commands
        self._broker_factory = broker_factory or self._seeded_broker
        self._runner: web.ServerRunner | None = None
        self._app: SimApp | None = None
        self._feed_task: asyncio.Task[None] | None = None
        self._tmpdir: str | None = None
        self._broker: Broker | None = None
        self.registry = ConnectionRegistry()
        self.port = 0
        self.url = ""
        self.ca_file: str | None = None

    def __repr__(self) -> str:
        state = "running" if self._runner is not None else "stopped"
        return f"Simulator({state}, url={self.url!r}, connections={len(self.registry)})"

    def _seeded_broker(self, seed: int, now: float) -> Broker:
        return Broker.seeded(seed, now, self.config.broker_options)

    @property
    def broker(self) -> Broker:
        if self._broker is None:
            raise RuntimeError("simulator not started")
        return self._broker

    @property
    def app(self) -> SimApp:
        if self._app is None:
            raise RuntimeError("simulator not started")
        return self._app

    async def start(self) -> None:
        if self._runner is not None:
            return
        cfg = self.config
        try:
            ssl_ctx = self._ssl_context()
            self._broker = self._broker_factory(cfg.seed, cfg.server_now())
            commands = self._commands if self._commands is not None else COMMANDS
            self._app = SimApp(cfg, self._broker, commands, self.registry)
            server = TrackingServer(
                self._app.handle,
                self.registry,
                # aiohttp's keep-alive timer is the idle
                # drop (docs/mt5-webapi.md#keep-alive); it runs from connection open and
                # restarts after every answer.
                keepalive_timeout=cfg.idle_timeout,
                access_log=None,
                # tick/last takes up to 4096 characters of
                # symbols (docs/mt5-webapi.md#limits); masks with percent-encoded
                # backslashes need more than aiohttp's 8190.
                max_line_size=65536,
            )
            runner = web.ServerRunner(server, shutdown_timeout=cfg.shutdown_timeout)
            await runner.setup()
            self._runner = runner
            site = web.TCPSite(runner, cfg.host, cfg.port, ssl_context=ssl_ctx)
            await site.start()
            self.port = int(runner.addresses[0][1])
            scheme = "https" if ssl_ctx is not None else "http"
            host = f"[{cfg.host}]" if ":" in cfg.host else cfg.host
            self.url = f"{scheme}://{host}:{self.port}"
            self._start_feed()
        except BaseException:
            await self.stop()
            raise
        log.info("mt5sim_started url=%s seed=%s", self.url, cfg.seed)

    def _ssl_context(self) -> ssl.SSLContext | None:
        cfg = self.config
        if not cfg.tls:
            return None
        if cfg.cert_file is not None and cfg.key_file is not None:
            self.ca_file = cfg.cert_file
            return tls.server_context(cfg.cert_file, cfg.key_file)
        self._tmpdir = tempfile.mkdtemp(prefix="mt5sim-tls-")
        hosts = (cfg.host,) if cfg.host not in ("", "0.0.0.0", "::") else ()  # noqa: S104
        files = tls.generate(Path(self._tmpdir), hosts)
        self.ca_file = files.ca_file
        return tls.server_context(files.cert_file, files.key_file)

    def _start_feed(self) -> None:
        tps = self.config.ticks_per_second
        if tps <= 0:
            return
        feed = PriceFeed(
            self.broker, tps, self.config.seed, clock=self.config.server_now
        )
        self._feed_task = asyncio.create_task(feed.run(), name="mt5sim-price-feed")

    async def stop(self) -> None:
        """Close every connection and task; safe to call twice."""
        task, self._feed_task = self._feed_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        runner, self._runner = self._runner, None
        if runner is not None:
            for conn in self.registry:
                conn.close()
            await runner.cleanup()
        tmpdir, self._tmpdir = self._tmpdir, None
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)
            self.ca_file = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # In-process equivalents of the /_sim/ controls.

    def set_faults(self, faults: FaultConfig) -> None:
        self.app.set_faults(faults)

    def set_faults_json(self, data: Mapping[str, object]) -> None:
        """Same body as ``POST /_sim/faults``; ValueError when invalid."""
        self.app.set_faults(FaultConfig.from_json(dict(data)))

    def clear_faults(self) -> None:
        self.app.faults.clear()

    def drop_sessions(self) -> int:
        return self.app.drop_sessions()

    def reset(self) -> None:
        self.app.reset()

    def stats(self) -> dict[str, object]:
        return self.app.snapshot()

    def client_ssl_context(self) -> ssl.SSLContext | None:
        """An SSL context trusting this simulator's certificate (None without TLS)."""
        if not self.config.tls:
            return None
        return tls.client_context(self.ca_file)
