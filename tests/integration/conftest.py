"""Shared loopback fixtures: a running ``mt5sim`` and authenticated MT5 sessions.

    async def test_x(sim, mt5_session):
        async with mt5_session(sim) as s:
            status, data = await s.get("user/get", login="2001")

Override ``sim_config`` in a test module to change settings (TLS, timeouts, seed).
The handshake hash here is written independently of ``mt5sim.auth`` on purpose.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from mt5sim import SimConfig, Simulator
from yarl import URL


def mt5_password_hash(password: str) -> bytes:
    inner = hashlib.md5(password.encode("utf-16-le")).digest()  # noqa: S324
    return hashlib.md5(inner + b"WebAPI").digest()  # noqa: S324


def mt5_rand_answer(pw_hash: bytes, rand_hex: str) -> str:
    return hashlib.md5(pw_hash + bytes.fromhex(rand_hex)).hexdigest()  # noqa: S324


def encode_query(params: dict[str, Any]) -> str:
    """MT5 escaping, then percent-encoding with %20 for
    spaces (docs/mt5-webapi.md#escaping)."""
    parts = []
    for name, value in params.items():
        text = str(value)
        text = (
            text.replace("\\", "\\\\")
            .replace("=", "\\=")
            .replace("|", "\\|")
            .replace("\n", "\\\n")
        )
        parts.append(f"{quote(name, safe='')}={quote(text, safe='')}")
    return "&".join(parts)


class Mt5TestClient:
    """One keep-alive connection (``limit=1``), like a real MT5 session."""

    def __init__(self, base_url: str, session: aiohttp.ClientSession) -> None:
        self.base_url = base_url
        self.http = session
        self.cli_rand_answer: str | None = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        raw_query: str | None = None,
        body: object = None,
        raw_body: bytes | None = None,
        **params: Any,
    ) -> tuple[int, Any]:
        """``path`` after ``/api/`` (or absolute when it starts with ``/``)."""
        target = path if path.startswith("/") else "/api/" + path
        query = raw_query if raw_query is not None else encode_query(params)
        url = URL(self.base_url + target + ("?" + query if query else ""), encoded=True)
        data = raw_body
        if body is not None:
            data = json.dumps(body).encode()
        async with self.http.request(method, url, data=data) as resp:
            text = await resp.read()
            payload = json.loads(text) if text else None
            return resp.status, payload

    async def get(self, path: str, **params: Any) -> tuple[int, Any]:
        return await self.request("GET", path, **params)

    async def post(
        self, path: str, body: object = None, **params: Any
    ) -> tuple[int, Any]:
        return await self.request("POST", path, body=body, **params)

    async def authenticate(
        self,
        login: int = 1000,
        password: str = "Password1",  # noqa: S107 - the documented test manager
        *,
        cli_rand: str | None = None,
    ) -> None:
        status, start = await self.get(
            "auth/start", version=3470, agent="WebManager", login=login, type="manager"
        )
        assert status == 200, status
        assert start["retcode"] == "0 Done", start
        pw_hash = mt5_password_hash(password)
        cli = cli_rand or os.urandom(16).hex()
        status, answer = await self.get(
            "auth/answer",
            srv_rand_answer=mt5_rand_answer(pw_hash, start["srv_rand"]),
            cli_rand=cli,
        )
        assert status == 200, status
        assert answer["retcode"] == "0 Done", answer
        assert answer["cli_rand_answer"] == mt5_rand_answer(pw_hash, cli)
        self.cli_rand_answer = answer["cli_rand_answer"]


SessionFactory = Callable[..., AbstractAsyncContextManager[Mt5TestClient]]


@asynccontextmanager
async def open_mt5_session(
    sim: Simulator,
    login: int = 1000,
    password: str = "Password1",  # noqa: S107 - the documented test manager
    *,
    authenticate: bool = True,
) -> AsyncIterator[Mt5TestClient]:
    connector = aiohttp.TCPConnector(
        limit=1, keepalive_timeout=300, ssl=sim.client_ssl_context() or False
    )
    async with aiohttp.ClientSession(connector=connector) as http:
        client = Mt5TestClient(sim.url, http)
        if authenticate:
            await client.authenticate(login, password)
        yield client


@pytest.fixture
def sim_config() -> SimConfig:
    return SimConfig(tls=False, seed=1, ticks_per_second=0, idle_timeout=30.0)


@pytest.fixture
async def sim(sim_config: SimConfig) -> AsyncIterator[Simulator]:
    async with Simulator(sim_config) as simulator:
        yield simulator


@pytest.fixture
def mt5_session() -> SessionFactory:
    """``async with mt5_session(sim, login=..., password=...) as client``."""
    return open_mt5_session


@pytest.fixture
async def control(sim: Simulator) -> AsyncIterator[Mt5TestClient]:
    """An unauthenticated client for the ``/_sim/`` controls."""
    async with open_mt5_session(sim, authenticate=False) as client:
        yield client
