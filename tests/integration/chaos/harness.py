"""Processes for the money chaos suite: mt5sim, the fault proxy, the gateway and an
optional redis-server, each its own process (mt5sim outlives gateway kills).

    async with open_stack(tmp_path, store=Store.REDIS, read_timeout=1.5) as stack:
        stack.gateway.target                  # "127.0.0.1:<fixed port>"
        await stack.gateway.kill()            # SIGKILL
        await stack.gateway.start()           # same port, same data directory
        await stack.sim.set_faults({"drop_rate": 0.1})
        stack.proxy.hold(b"trade/balance", seconds=3.5)

The gateway is ``python -m mt5gateway_server serve`` configured only through
``MT5GW_*`` (the way an operator runs it) and reaches mt5sim over plain HTTP through
the proxy. The store is the gateway's choice: with ``MT5GW_REDIS__URL`` its Redis
store, without it the default store in ``MT5GW_DATA_DIR``.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import os
import re
import shutil
import signal
import socket
import sys
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp
from redis.asyncio import Redis
from redis.exceptions import RedisError

from tests.integration.conftest import open_mt5_session

from .proxy import LOOPBACK, FaultProxy

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable, Mapping
    from pathlib import Path

MANAGER_LOGIN = 1000
MANAGER_PASSWORD = "Password1"  # mt5sim's documented manager
LOGINS = tuple(range(100_000, 100_060))  # mt5sim's seeded accounts
DEAL_BALANCE = 2  # EnDealAction of a balance operation
_START_TIMEOUT_SECONDS = 45.0
_STOP_TIMEOUT_SECONDS = 15.0
_SIM_READY = re.compile(r"mt5sim ready url=(http://[^\s]+)")
_GATEWAY_READY = re.compile(r"mt5gateway ready on ")


class Store(enum.StrEnum):
    """Where the gateway keeps request_id outcomes and the audit."""

    DEFAULT = "default"  # no Redis: the gateway's own store in MT5GW_DATA_DIR
    REDIS = "redis"


class StartError(RuntimeError):
    """A process exited or stayed silent before its ready line."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def _clean_env(extra: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MT5GW_")}
    env.update(extra)
    return env


def _tail(path: Path, lines: int = 20) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _search(path: Path, pattern: re.Pattern[str], offset: int) -> re.Match[str] | None:
    with contextlib.suppress(OSError), path.open("rb") as log:
        log.seek(offset)
        return pattern.search(log.read().decode(errors="replace"))
    return None


async def _wait_for_line(
    path: Path,
    pattern: re.Pattern[str],
    proc: asyncio.subprocess.Process,
    what: str,
    offset: int = 0,
) -> re.Match[str]:
    """The ready line, written to ``path`` after ``offset`` by ``proc``."""
    deadline = time.monotonic() + _START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        found = _search(path, pattern, offset)
        if found:
            return found
        if proc.returncode is not None:
            raise StartError(f"{what} exited with {proc.returncode}:\n{_tail(path)}")
        await asyncio.sleep(0.05)
    raise StartError(f"{what} not ready in {_START_TIMEOUT_SECONDS} s:\n{_tail(path)}")


async def _end(proc: asyncio.subprocess.Process | None, *, kill: bool) -> int | None:
    """SIGKILL, or SIGTERM then SIGKILL after the stop timeout; the exit code."""
    if proc is None or proc.returncode is not None:
        return None if proc is None else proc.returncode
    if kill:
        proc.kill()
        return await proc.wait()
    proc.send_signal(signal.SIGTERM)
    try:
        async with asyncio.timeout(_STOP_TIMEOUT_SECONDS):
            return await proc.wait()
    except TimeoutError:
        proc.kill()
        return await proc.wait()


class SimProcess:
    """``python -m mt5sim`` over plain HTTP (the proxy must see request lines)."""

    def __init__(self, workdir: Path, *, seed: int = 1) -> None:
        self._workdir = workdir
        self._seed = seed
        self._proc: asyncio.subprocess.Process | None = None
        self._http: aiohttp.ClientSession | None = None
        self.url = ""
        self.port = 0

    async def start(self) -> None:
        log = self._workdir / "mt5sim.log"
        with log.open("ab") as out:
            self._proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "mt5sim", "--no-tls", "--port", "0",
                "--seed", str(self._seed), "--ticks-per-second", "0",
                "--idle-timeout", "120", "--log-level", "WARNING",
                stdout=out, stderr=out, env=_clean_env({}),
            )  # fmt: skip
        found = await _wait_for_line(log, _SIM_READY, self._proc, "mt5sim")
        self.url = found.group(1)
        self.port = int(self.url.rsplit(":", 1)[1])
        self._http = aiohttp.ClientSession()

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None
        await _end(self._proc, kill=False)

    def client_ssl_context(self) -> None:
        """No TLS (``open_mt5_session`` asks)."""

    async def _control(self, method: str, path: str, body: object = None) -> Any:
        assert self._http is not None, "mt5sim not started"
        async with self._http.request(method, self.url + path, json=body) as resp:
            text = await resp.text()
            assert resp.status == 200, (path, resp.status, text)
            return await resp.json(content_type=None)

    async def set_faults(self, faults: Mapping[str, object]) -> None:
        """``POST /_sim/faults`` (replaces the whole set; ``{}`` clears)."""
        await self._control("POST", "/_sim/faults", dict(faults))

    async def drop_sessions(self) -> int:
        return int((await self._control("POST", "/_sim/sessions/drop"))["dropped"])

    async def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._control("GET", "/_sim/stats")
        return result

    async def balance_deals(
        self, logins: Iterable[int], since: float
    ) -> list[dict[str, str]]:
        """Balance deals of ``logins`` from ``since`` (Unix time; a day of margin
        either side for the server's time zone) until now, read through the Web API
        as a manager would (``deal/get_batch``), not through the proxy."""
        window = {"from": int(since) - 86_400, "to": int(time.time()) + 86_400}
        async with open_mt5_session(self, MANAGER_LOGIN, MANAGER_PASSWORD) as mt5:  # type: ignore[arg-type]
            status, body = await mt5.get(
                "deal/get_batch", login=",".join(map(str, logins)), **window
            )
        assert status == 200, status
        assert body["retcode"] == "0 Done", body
        return [d for d in body["answer"] if int(d["Action"]) == DEAL_BALANCE]


class RedisProcess:
    """A redis-server with AOF (``appendfsync always``) that can be killed and
    started again on the same port with its data."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://{LOOPBACK}:{self.port}/0"
        self._dir = workdir / "redis"
        self._dir.mkdir(parents=True, exist_ok=True)
        self._proc: asyncio.subprocess.Process | None = None
        self.kills = 0

    async def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise StartError("redis-server not found (apt-get install redis-server)")
        self._proc = await asyncio.create_subprocess_exec(
            binary, "--port", str(self.port), "--bind", LOOPBACK,
            "--dir", str(self._dir), "--save", "", "--appendonly", "yes",
            "--appendfsync", "always", "--maxmemory-policy", "noeviction",
            "--daemonize", "no",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + _START_TIMEOUT_SECONDS
        client = Redis.from_url(self.url, socket_connect_timeout=0.5)
        try:
            while True:
                try:
                    if await client.ping():
                        return
                except (RedisError, OSError):
                    if self._proc.returncode is not None or time.monotonic() > deadline:
                        raise StartError("redis-server did not answer PING") from None
                await asyncio.sleep(0.05)
        finally:
            await client.aclose()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    async def kill(self) -> None:
        """A crash: SIGKILL. ``start()`` brings it back with the AOF data."""
        await _end(self._proc, kill=True)
        self.kills += 1

    async def stop(self) -> None:
        await _end(self._proc, kill=False)


@dataclass(frozen=True)
class GatewayConfig:
    store: Store
    # mt5sim answers in milliseconds; low, so unknown outcomes settle quickly.
    read_timeout_seconds: float = 2.0
    pool_size: int = 4
    # A killed gateway's pending claim is taken over after this (Redis store).
    pending_lease_seconds: float = 2.0
    wait_timeout_seconds: float = 5.0
    # "info" adds the access line (rpc_finished) of every call to gateway.log.
    log_level: str = "warning"


class GatewayProcess:
    """``python -m mt5gateway_server serve`` on a fixed port; kill -9 and start
    again keep the port, the data directory and the Redis URL."""

    def __init__(
        self, workdir: Path, config: GatewayConfig, mt5_url: str, redis_url: str | None
    ) -> None:
        self.port = free_port()
        self.target = f"{LOOPBACK}:{self.port}"
        self.data_dir = workdir / "gateway-data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log = workdir / "gateway.log"
        password_file = workdir / "mt5-password"
        password_file.write_text(MANAGER_PASSWORD + "\n")
        password_file.chmod(0o600)
        mt5 = "MT5GW_MT5__MAIN__"
        env = {
            f"{mt5}URL": mt5_url,
            f"{mt5}LOGIN": str(MANAGER_LOGIN),
            f"{mt5}PASSWORD_FILE": str(password_file),
            f"{mt5}POOL_SIZE": str(config.pool_size),
            f"{mt5}CONNECT_TIMEOUT_SECONDS": "1",
            f"{mt5}READ_TIMEOUT_SECONDS": str(config.read_timeout_seconds),
            f"{mt5}TOTAL_TIMEOUT_SECONDS": str(
                max(10.0, 3 * config.read_timeout_seconds)
            ),
            f"{mt5}ACQUIRE_TIMEOUT_SECONDS": "2",
            f"{mt5}BACKOFF_BASE_SECONDS": "0.01",
            f"{mt5}BACKOFF_CAP_SECONDS": "0.2",
            f"{mt5}BREAKER_RESET_SECONDS": "1",
            "MT5GW_GRPC__LISTEN": self.target,
            "MT5GW_GRPC__GRACE_PERIOD_SECONDS": "2",
            "MT5GW_TELEMETRY__METRICS_LISTEN": "off",
            "MT5GW_TELEMETRY__LOG_FORMAT": "json",
            "MT5GW_TELEMETRY__LOG_LEVEL": config.log_level,
            "MT5GW_IDEMPOTENCY__PENDING_LEASE_SECONDS": str(
                config.pending_lease_seconds
            ),
            "MT5GW_IDEMPOTENCY__WAIT_TIMEOUT_SECONDS": str(config.wait_timeout_seconds),
            "MT5GW_DATA_DIR": str(self.data_dir),
        }
        if redis_url is not None:
            env["MT5GW_REDIS__URL"] = redis_url
            env["MT5GW_REDIS__SOCKET_TIMEOUT_SECONDS"] = "1"
            env["MT5GW_REDIS__CONNECT_TIMEOUT_SECONDS"] = "1"
        self.env = _clean_env(env)
        self._proc: asyncio.subprocess.Process | None = None
        self.starts = 0
        self.kills = 0

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    async def start(self, attempts: int = 3) -> None:
        """Start and wait for the ready line; a start-up refused while MT5 or Redis
        is still coming back is tried again."""
        for attempt in range(attempts):
            offset = _size(self.log)
            with self.log.open("ab") as out:
                self._proc = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "mt5gateway_server", "serve",
                    stdout=out, stderr=out, env=self.env,
                )  # fmt: skip
            try:
                await _wait_for_line(
                    self.log, _GATEWAY_READY, self._proc, "gateway", offset
                )
            except StartError:
                await _end(self._proc, kill=True)
                if attempt == attempts - 1:
                    raise
                await asyncio.sleep(0.5)
            else:
                self.starts += 1
                return

    async def kill(self) -> None:
        """kill -9: no drain, no flush, pending claims left behind."""
        await _end(self._proc, kill=True)
        self.kills += 1

    async def stop(self) -> int | None:
        """SIGTERM: drain and exit (0 expected)."""
        return await _end(self._proc, kill=False)

    async def close(self) -> None:
        """Leave no process behind, whatever the test did (not counted as a kill)."""
        await _end(self._proc, kill=True)


@dataclass
class Stack:
    sim: SimProcess
    proxy: FaultProxy
    gateway: GatewayProcess
    redis: RedisProcess | None
    store: Store
    started_at: float  # Unix time, before the first deposit

    async def calm(self) -> None:
        """Every fault off and every process up: for the final settle round."""
        await self.sim.set_faults({})
        self.proxy.clear()
        await self.proxy.refuse_new(False)
        await self.proxy.deliver_held()
        if self.redis is not None and not self.redis.running:
            await self.redis.start()
        if not self.gateway.running:
            await self.gateway.start()


@asynccontextmanager
async def open_stack(workdir: Path, config: GatewayConfig) -> AsyncIterator[Stack]:
    """mt5sim, proxy, redis-server (Redis store only) and a ready gateway; every
    process and connection is ended on exit."""
    sim = SimProcess(workdir)
    redis = RedisProcess(workdir) if config.store is Store.REDIS else None
    proxy: FaultProxy | None = None
    gateway: GatewayProcess | None = None
    try:
        await sim.start()
        if redis is not None:
            await redis.start()
        proxy = FaultProxy(sim.port)
        await proxy.start()
        gateway = GatewayProcess(
            workdir,
            config,
            f"http://{LOOPBACK}:{proxy.port}",
            None if redis is None else redis.url,
        )
        started_at = time.time()
        await gateway.start()
        yield Stack(sim, proxy, gateway, redis, config.store, started_at)
    finally:
        if gateway is not None:
            await gateway.close()
        if proxy is not None:
            await proxy.aclose()
        if redis is not None:
            await redis.stop()
        await sim.stop()
