"""A real gateway (mt5sim upstream) in a background thread, for client tests.

The gateway runs on its own event loop in a thread so that blocking clients (the sync
Python client, PHP in a subprocess) and asyncio clients can all call it. Plain-HTTP
simulator, so ``/_sim/stats`` is readable with urllib.
"""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.request
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest
from mt5gateway_server.app import open_app
from mt5gateway_server.settings import (
    GrpcSettings,
    Mt5ServerSettings,
    Settings,
    TelemetrySettings,
)
from mt5sim import SimConfig, Simulator

if TYPE_CHECKING:
    from collections.abc import Iterator

_START_TIMEOUT_SECONDS = 30.0


@dataclass
class RunningGateway:
    target: str = ""
    sim_url: str = ""
    error: BaseException | None = None
    _loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)
    _stop: asyncio.Event | None = field(default=None, repr=False)

    def stats(self) -> dict[str, Any]:
        """The simulator's ``GET /_sim/stats``."""
        url = self.sim_url + "/_sim/stats"
        with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - loopback
            result: dict[str, Any] = json.loads(resp.read())
        return result

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)


def _settings(sim: Simulator) -> Settings:
    return Settings(
        mt5={
            "main": Mt5ServerSettings.model_validate(
                {
                    "name": "main",
                    "url": sim.url,
                    "login": 1000,
                    "password": "Password1",  # the simulator's documented manager
                    "pool_size": 2,
                }
            )
        },
        grpc=GrpcSettings(listen="127.0.0.1:0", grace_period_seconds=1.0),
        telemetry=TelemetrySettings(metrics_listen=None, log_format="json"),
    )


def _serve(box: RunningGateway, ready: threading.Event) -> None:
    async def main() -> None:
        box._loop = asyncio.get_running_loop()
        box._stop = asyncio.Event()
        config = SimConfig(tls=False, seed=1, ticks_per_second=20, idle_timeout=60.0)
        async with Simulator(config) as sim, open_app(_settings(sim)) as app:
            box.target = f"127.0.0.1:{app.port}"
            box.sim_url = sim.url
            ready.set()
            await box._stop.wait()

    try:
        asyncio.run(main())
    except BaseException as exc:  # noqa: BLE001 - reported to the waiting test
        box.error = exc
    finally:
        ready.set()


@pytest.fixture(scope="module")
def live_gateway() -> Iterator[RunningGateway]:
    box = RunningGateway()
    ready = threading.Event()
    thread = threading.Thread(target=_serve, args=(box, ready), daemon=True)
    thread.start()
    if not ready.wait(_START_TIMEOUT_SECONDS) or box.error is not None:
        box.stop()
        pytest.fail(f"gateway did not start: {box.error!r}", pytrace=False)
    try:
        yield box
    finally:
        box.stop()
        thread.join(timeout=15)
