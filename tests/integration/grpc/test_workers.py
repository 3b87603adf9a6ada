"""``mt5gateway serve --workers N``: a supervisor and worker processes on one port,
against an in-process mt5sim and the session's redis-server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import sys
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import grpc
import pytest
from mt5gateway.v1 import trade_pb2, trade_service_pb2_grpc, user_service_pb2_grpc
from mt5gateway.v1 import trade_service_pb2 as ts
from mt5gateway.v1 import user_service_pb2 as pb
from mt5gateway_server.mapping.money import money_to_proto

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable
    from pathlib import Path

    from mt5sim import Simulator
    from redis.asyncio import Redis

pytestmark = pytest.mark.integration

FIRST = 100_000
DEPOSIT_LOGIN = 100_002
READY = re.compile(r"mt5gateway ready on 127\.0\.0\.1:(\d+)")
WORKER = re.compile(r"worker (\d+): pid (\d+)")
# A fresh TCP connection per channel: grpc shares subchannels between channels to
# the same target unless told not to, and the kernel balances connections.
FRESH = (("grpc.use_local_subchannel_pool", 1),)


def _env(sim: Simulator, redis_url: str | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MT5GW_")}
    env.update(
        MT5GW_MT5__MAIN__URL=sim.url,
        MT5GW_MT5__MAIN__LOGIN="1000",
        MT5GW_MT5__MAIN__PASSWORD="Password1",
        MT5GW_MT5__MAIN__POOL_SIZE="2",
        MT5GW_GRPC__GRACE_PERIOD_SECONDS="3",
        MT5GW_TELEMETRY__LOG_FORMAT="json",
    )
    if redis_url is not None:
        env["MT5GW_REDIS__URL"] = redis_url
    env.update(extra)
    return env


class Supervised:
    """A ``serve --workers`` process; stdout and stderr collected as they come."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self.port = 0
        self.pids: dict[int, int] = {}
        assert proc.stdout is not None
        assert proc.stderr is not None
        self._readers = [
            asyncio.ensure_future(self._collect(proc.stdout, self.stdout)),
            asyncio.ensure_future(self._collect(proc.stderr, self.stderr)),
        ]

    @staticmethod
    async def _collect(stream: asyncio.StreamReader, into: list[str]) -> None:
        async for line in stream:  # live: tests look while it runs
            into.append(line.decode())  # noqa: PERF401

    @property
    def err(self) -> str:
        return "".join(self.stderr)

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        found = []
        for line in self.stdout:
            with contextlib.suppress(ValueError):
                event = json.loads(line)
                if name is None or event.get("event") == name:
                    found.append(event)
        return found

    async def wait_ready(self) -> int:
        async with asyncio.timeout(45):
            while "try: grpcurl" not in self.err:
                if self.proc.returncode is not None:
                    raise AssertionError(f"exited before ready: {self.err}")
                await asyncio.sleep(0.05)
        found = READY.search(self.err)
        assert found, self.err
        self.port = int(found.group(1))
        self.pids = {int(i): int(p) for i, p in WORKER.findall(self.err)}
        return self.port

    async def wait_event(
        self, name: str, match: Callable[[dict[str, Any]], bool]
    ) -> dict[str, Any]:
        async with asyncio.timeout(20):
            while True:
                for event in self.events(name):
                    if match(event):
                        return event
                await asyncio.sleep(0.05)

    async def finish(self) -> int:
        async with asyncio.timeout(40):
            code = await self.proc.wait()
            await asyncio.gather(*self._readers)
        return code

    async def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return await self.finish()


@pytest.fixture
async def serve(
    tmp_path: Path,
) -> AsyncIterator[Callable[..., Awaitable[Supervised]]]:
    started: list[Supervised] = []

    async def start(env: dict[str, str], workers: int = 2) -> Supervised:
        # Its own write store: other gateways may run from the same directory.
        env = {"MT5GW_DATA_DIR": str(tmp_path / "data"), **env}
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "mt5gateway_server", "serve",
            "--workers", str(workers),
            "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
        )  # fmt: skip
        served = Supervised(proc)
        started.append(served)
        return served

    yield start
    for served in started:
        if served.proc.returncode is None:
            served.proc.kill()
            await served.proc.wait()
        for pid in served.pids.values():  # never leave a worker behind
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def _get_user(port: int, login: int = FIRST) -> pb.GetUserResponse:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=FRESH) as ch:
        stub = user_service_pb2_grpc.UserServiceStub(ch)
        return await stub.GetUser(pb.GetUserRequest(login=login), timeout=10)


def _served_by(served: Supervised, method: str) -> dict[int, int]:
    """Worker index -> access lines for ``method`` (``rpc_finished`` events)."""
    counts: dict[int, int] = {}
    for event in served.events("rpc_finished"):
        if str(event.get("rpc_method", "")).endswith(method):
            assert event["role"] == "worker"
            assert event["pid"] == served.pids[event["worker"]]
            counts[event["worker"]] = counts.get(event["worker"], 0) + 1
    return counts


async def _wait_served(served: Supervised, method: str, n: int) -> dict[int, int]:
    """Access lines are written after the reply: wait (bounded) for ``n`` of them."""
    async with asyncio.timeout(10):
        while sum((by_worker := _served_by(served, method)).values()) < n:  # noqa: ASYNC110 - polls a log
            await asyncio.sleep(0.05)
    return by_worker


async def test_two_workers_share_the_port_and_drain_on_sigterm(
    sim: Simulator, redis_url: str, serve: Any
) -> None:
    served = await serve(_env(sim, redis_url))
    port = await served.wait_ready()
    assert set(served.pids) == {0, 1}
    assert len(set(served.pids.values())) == 2
    # Each worker has its own metrics endpoint (port 0: each picked one).
    assert served.err.count("metrics: http://127.0.0.1:") == 2
    replies = await asyncio.gather(*(_get_user(port, FIRST + i) for i in range(40)))
    assert [r.user.login for r in replies] == [FIRST + i for i in range(40)]
    by_worker = await _wait_served(served, "GetUser", 40)
    assert set(by_worker) == {0, 1}, by_worker  # 40 connections, both workers
    assert await served.stop() == 0, served.err
    assert all(_gone(pid) for pid in served.pids.values())
    stopped = served.events("gateway_stopped")
    assert sorted(e["worker"] for e in stopped) == [0, 1]
    assert served.events("supervisor_stopped")[0]["exit_code"] == 0
    # Three processes shared stdout: every line is one whole JSON object.
    assert all(json.loads(line)["event"] for line in served.stdout)


def _deposit(request_id: str) -> ts.CreateBalanceOperationRequest:
    return ts.CreateBalanceOperationRequest(
        request_id=request_id,
        login=DEPOSIT_LOGIN,
        type=trade_pb2.BALANCE_OPERATION_TYPE_BALANCE,
        amount=money_to_proto(Decimal("12.34"), ""),
        comment="workers",
    )


async def _send_deposit(
    port: int, request_id: str
) -> ts.CreateBalanceOperationResponse:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=FRESH) as ch:
        stub = trade_service_pb2_grpc.TradeServiceStub(ch)
        return await stub.CreateBalanceOperation(_deposit(request_id), timeout=15)


async def test_exactly_once_across_workers(
    sim: Simulator, redis: Redis, redis_url: str, serve: Any
) -> None:
    del redis  # a flushed database
    served = await serve(_env(sim, redis_url))
    port = await served.wait_ready()
    request_id = str(uuid.uuid4())
    # Concurrent duplicates on separate connections, then late retries.
    replies = list(
        await asyncio.gather(*(_send_deposit(port, request_id) for _ in range(12)))
    )
    replies += [await _send_deposit(port, request_id) for _ in range(8)]
    tickets = {r.balance_operation.deal_ticket for r in replies}
    assert len(tickets) == 1
    assert sum(not r.replayed for r in replies) == 1
    stats = sim.stats()["balance_operations"]
    assert stats["count"] == 1
    assert Decimal(stats["per_login"][str(DEPOSIT_LOGIN)]) == Decimal("12.34")
    by_worker = await _wait_served(served, "CreateBalanceOperation", 20)
    assert set(by_worker) == {0, 1}, by_worker  # the duplicates met on both
    assert await served.stop() == 0, served.err


async def test_killed_worker_is_replaced(
    sim: Simulator, redis_url: str, serve: Any
) -> None:
    served = await serve(_env(sim, redis_url))
    port = await served.wait_ready()
    victim = served.pids[0]
    os.kill(victim, signal.SIGKILL)
    restarted = await served.wait_event(
        "worker_ready", lambda e: e["index"] == 0 and e["worker_pid"] != victim
    )
    assert _gone(victim)
    exited = served.events("worker_exited")
    assert exited[0]["exit"] == "killed by SIGKILL"
    assert served.events("worker_restart_scheduled")[0]["index"] == 0
    new_pid = restarted["worker_pid"]
    served.pids[0] = new_pid
    replies = await asyncio.gather(*(_get_user(port) for _ in range(30)))
    assert all(r.user.login == FIRST for r in replies)
    by_worker = await _wait_served(served, "GetUser", 30)
    assert by_worker.get(0)  # the replacement (pid checked) took connections
    assert await served.stop() == 0, served.err
    assert _gone(new_pid)
    assert _gone(served.pids[1])


async def test_workers_refused_without_redis(sim: Simulator, serve: Any) -> None:
    served = await serve(_env(sim))
    assert await served.finish() == 2
    assert "refusing to start" in served.err
    assert "needs Redis (MT5GW_REDIS__URL)" in served.err
    assert "applied twice" in served.err
    assert not served.events("worker_started")


async def test_workers_refused_in_demo_mode(redis_url: str, serve: Any) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MT5GW_")}
    env["MT5GW_REDIS__URL"] = redis_url
    env["MT5GW_DEMO"] = "true"
    served = await serve(env)
    assert await served.finish() == 2
    assert "needs a configured MT5 server: with --demo" in served.err
    assert "Redis" not in served.err  # only what is actually missing


async def test_workers_wrong_password_stops_without_retrying(
    sim: Simulator, redis_url: str, serve: Any
) -> None:
    served = await serve(
        _env(sim, redis_url, MT5GW_MT5__MAIN__PASSWORD="wrong-password")
    )
    assert await served.finish() == 1
    assert "cannot start" in served.err
    assert "failed to start" in served.err
    assert "wrong-password" not in served.err + "".join(served.stdout)
    # Each worker tried its login once; nothing was restarted.
    assert len(served.events("worker_started")) == 2
    assert not served.events("worker_restart_scheduled")


async def test_one_worker_is_the_plain_server(sim: Simulator, serve: Any) -> None:
    served = await serve(_env(sim), workers=1)  # no Redis needed, no supervisor
    port = await served.wait_ready()
    assert "workers:" not in served.err
    assert (await _get_user(port)).user.login == FIRST
    assert await served.stop() == 0, served.err
    assert not served.events("supervisor_started")
    assert all("worker" not in e for e in served.events("rpc_finished"))
