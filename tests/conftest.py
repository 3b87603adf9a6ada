"""Shared fixtures: a real redis-server for the whole
session (docs/architecture.md#redis-in-tests).

``--redis-url redis://host:port/db`` uses an existing server instead (it is flushed
before each test that asks for ``redis``; never point it at a server you care about).
A missing ``redis-server`` binary fails the run: ``scripts/test`` installs it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest
from redis import Redis as SyncRedis
from redis.asyncio import Redis
from redis.exceptions import RedisError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator
    from pathlib import Path

_START_TIMEOUT_SECONDS = 10.0


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--redis-url",
        default=None,
        help="use this Redis instead of starting redis-server (it gets FLUSHDB)",
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_ping(url: str, proc: subprocess.Popen[bytes] | None) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_SECONDS
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"redis-server exited with code {proc.returncode}")
        client = SyncRedis.from_url(url, socket_connect_timeout=0.5)
        try:
            if client.ping():
                return
        except (RedisError, OSError) as exc:
            last = exc
        finally:
            client.close()
        time.sleep(0.02)
    raise RuntimeError(f"redis at {url} did not answer PING: {last}")


@dataclass
class RedisServer:
    """A redis-server subprocess (or an external server when ``proc`` is None)."""

    url: str
    port: int
    data_dir: Path | None = None
    binary: str | None = None
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def external(self) -> bool:
        return self.binary is None

    def start(self) -> None:
        if self.binary is None or self.data_dir is None:
            raise RuntimeError("an external --redis-url server cannot be started")
        # --save "" --appendonly no: nothing survives a restart, like a crashed cache.
        self.proc = subprocess.Popen(  # noqa: S603
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.data_dir),
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for_ping(self.url, self.proc)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def kill(self) -> None:
        """Simulate a crash (SIGKILL); ``start()`` brings it back on the same port."""
        proc, self.proc = self.proc, None
        if proc is not None:
            proc.kill()
            proc.wait()

    def ensure_running(self) -> None:
        """Bring a server a test stopped or killed back (the fixture is shared)."""
        if not self.external and (self.proc is None or self.proc.poll() is not None):
            self.proc = None
            self.start()

    def restart(self) -> None:
        """Stop and start on the same port (data is lost: no persistence)."""
        if self.external:
            raise RuntimeError("cannot restart an external --redis-url server")
        self.stop()
        self.start()


@pytest.fixture(scope="session")
def redis_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RedisServer]:
    url = request.config.getoption("--redis-url")
    if url:
        _wait_for_ping(url, None)
        port = int(url.rsplit(":", 1)[-1].split("/", 1)[0]) if ":" in url else 6379
        yield RedisServer(url=url, port=port)
        return
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail(
            "redis-server not found: install it (apt-get install redis-server; "
            "scripts/test does) or pass --redis-url",
            pytrace=False,
        )
    port = _free_port()
    server = RedisServer(
        url=f"redis://127.0.0.1:{port}/0",
        port=port,
        data_dir=tmp_path_factory.mktemp("redis"),
        binary=binary,
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    return redis_server.url


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[Redis]:
    """A client on a flushed database, closed after the test."""
    redis_server.ensure_running()
    client: Redis = Redis.from_url(redis_server.url)
    try:
        await client.flushdb()
        yield client
    finally:
        await client.aclose()


@pytest.fixture(autouse=True)
def _gateway_data_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each test's gateways keep their durable write store in a fresh directory
    (settings read MT5GW_DATA_DIR; subprocesses inherit it)."""
    monkeypatch.setenv("MT5GW_DATA_DIR", str(tmp_path_factory.mktemp("gateway-data")))
