"""Fixtures for the Web API client against a real ``mt5sim`` over loopback sockets.

The simulator is only started here; nothing of it is imported by the client code.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import aiohttp
import pytest
from mt5gateway_server.webapi import ServerConfig, SessionPool
from mt5sim import SimConfig, Simulator

MANAGER_LOGIN = 1000
MANAGER_PASSWORD = "Password1"


class SimControl:
    """The simulator's ``/_sim/`` test controls, over HTTP like any other client."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    async def _call(self, method: str, path: str, body: object = None) -> Any:
        ssl = self.sim.client_ssl_context() or False
        connector = aiohttp.TCPConnector(ssl=ssl)
        async with (
            aiohttp.ClientSession(connector=connector) as http,
            http.request(method, self.sim.url + path, json=body) as resp,
        ):
            assert resp.status == 200, (path, resp.status, await resp.text())
            return await resp.json(content_type=None)

    async def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("GET", "/_sim/stats")
        return result

    async def faults(self, **faults: object) -> None:
        await self._call("POST", "/_sim/faults", faults)

    async def drop_sessions(self) -> None:
        await self._call("POST", "/_sim/sessions/drop")

    async def expire_sessions(self) -> int:
        """The server forgets every session but keeps the connections open."""
        result: dict[str, int] = await self._call("POST", "/_sim/sessions/expire")
        return result["expired"]

    async def reset(self) -> None:
        await self._call("POST", "/_sim/reset")


def server_config(sim: Simulator, **overrides: Any) -> ServerConfig:
    base: dict[str, Any] = {
        "url": sim.url,
        "login": MANAGER_LOGIN,
        "password": MANAGER_PASSWORD,
        "ca_file": sim.ca_file,
        "pool_size": 2,
        "acquire_timeout": 5.0,
        "backoff_base": 0.01,
        "backoff_cap": 0.2,
    }
    base.update(overrides)
    return ServerConfig(**base)


@pytest.fixture
def sim_config() -> SimConfig:
    return SimConfig(tls=False, seed=1, ticks_per_second=20, idle_timeout=30.0)


@pytest.fixture
async def sim(sim_config: SimConfig) -> AsyncIterator[Simulator]:
    async with Simulator(sim_config) as simulator:
        yield simulator


@pytest.fixture
def control(sim: Simulator) -> SimControl:
    return SimControl(sim)


PoolFactory = Callable[..., AbstractAsyncContextManager[SessionPool]]


@pytest.fixture
def open_pool(sim: Simulator) -> PoolFactory:
    """``async with open_pool(pool_size=3) as pool`` — closed and checked on exit."""

    @asynccontextmanager
    async def factory(**overrides: Any) -> AsyncIterator[SessionPool]:
        pool = SessionPool(server_config(sim, **overrides))
        try:
            await pool.start()
            yield pool
        finally:
            await pool.aclose()
            await asyncio.sleep(0)

    return factory
