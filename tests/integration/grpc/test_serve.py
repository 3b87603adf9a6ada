"""``mt5gateway serve`` as a process, and the graceful drain in-process."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from typing import TYPE_CHECKING

import grpc
import pytest
import structlog
from grpc_health.v1 import health_pb2, health_pb2_grpc
from mt5gateway.v1 import user_service_pb2 as pb
from mt5gateway.v1 import user_service_pb2_grpc
from mt5sim import ManagerSpec, SimConfig

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from mt5sim import Simulator

FIRST = 100_000
SECRET = "Sup3r-Secret-Pw!"  # the manager password that must never be logged
READY = re.compile(r"mt5gateway ready on 127\.0\.0\.1:(\d+)")
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SERVING = health_pb2.HealthCheckResponse.SERVING


@pytest.fixture
def sim_config() -> SimConfig:
    return SimConfig(
        tls=False,
        seed=1,
        ticks_per_second=0,
        idle_timeout=30.0,
        managers=(ManagerSpec(1000, SECRET),),
    )


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MT5GW_")}
    env.update(extra)
    return env


class Served:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.stderr = ""
        self.port = 0

    async def wait_ready(self) -> int:
        assert self.proc.stderr is not None
        async with asyncio.timeout(40):
            while True:
                line = (await self.proc.stderr.readline()).decode()
                if not line:
                    raise AssertionError(f"exited before ready: {self.stderr}")
                self.stderr += line
                found = READY.search(line)
                if found:
                    self.port = int(found.group(1))
                if self.port and "try: grpcurl" in line:  # the block's last line
                    return self.port

    async def stop(self) -> tuple[int, str, str]:
        self.proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            out, err = await self.proc.communicate()
        assert self.proc.returncode is not None
        self.stderr += err.decode()
        return self.proc.returncode, out.decode(), self.stderr


@pytest.fixture
async def serve(tmp_path: Path) -> AsyncIterator[object]:
    started: list[Served] = []

    async def start(env: dict[str, str], *args: str) -> Served:
        # Its own write store: other gateways may run from the same directory.
        env = {"MT5GW_DATA_DIR": str(tmp_path / "data"), **env}
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "mt5gateway_server",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        served = Served(proc)
        started.append(served)
        return served

    yield start
    for served in started:
        if served.proc.returncode is None:
            served.proc.kill()
            await served.proc.wait()


async def _get_user(port: int) -> pb.GetUserResponse:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = user_service_pb2_grpc.UserServiceStub(channel)
        return await stub.GetUser(pb.GetUserRequest(login=FIRST), timeout=10)


async def test_serve_configured_server_drains_on_sigterm(sim: Simulator, serve) -> None:
    env = _clean_env(
        MT5GW_MT5__MAIN__URL=sim.url,
        MT5GW_MT5__MAIN__LOGIN="1000",
        MT5GW_MT5__MAIN__PASSWORD=SECRET,
        MT5GW_TELEMETRY__LOG_FORMAT="json",
    )
    served = await serve(env)
    port = await served.wait_ready()
    assert "grpcurl -plaintext" in served.stderr
    reply = await _get_user(port)
    assert reply.user.login == FIRST
    code, out, err = await served.stop()
    assert code == 0, err
    assert '"event": "rpc_finished"' in out or '"event":"rpc_finished"' in out
    assert "gateway_stopped" in out
    assert "mt5_pool_closed" in out
    # The manager password appears nowhere: not in logs, not in the ready text.
    assert SECRET not in out
    assert SECRET not in err
    stats = sim.stats()
    assert stats["requests"].get("quit", 0) >= 1 or stats["connections_dropped"] >= 1


async def test_serve_embedded_demo_mode(serve) -> None:
    served = await serve(_clean_env(MT5GW_TELEMETRY__LOG_FORMAT="json"), "--demo")
    port = await served.wait_ready()
    assert "embedded MT5 simulator" in served.stderr
    assert f"127.0.0.1:{port} mt5gateway.v1.UserService/GetUser" in served.stderr
    reply = await _get_user(port)
    assert reply.user.login == FIRST
    code, _, err = await served.stop()
    assert code == 0, err


async def test_serve_rejects_bad_settings(serve) -> None:
    served = await serve(_clean_env(MT5GW_MT5__MAIN__URL="not a url"))
    async with asyncio.timeout(30):
        _, err = await served.proc.communicate()
    assert served.proc.returncode == 2
    assert "invalid settings" in err.decode()


SERVER_ENV = {
    "MT5GW_MT5__MAIN__URL": "https://mt5.example.com:443",
    "MT5GW_MT5__MAIN__LOGIN": "1000",
    "MT5GW_MT5__MAIN__PASSWORD": SECRET,
}
# (environment, config file text or None, extra arguments, what stderr must say)
SETTINGS_PROBLEMS = {
    "no server, no demo": (
        {},
        None,
        (),
        ["no MT5 server configured", "MT5GW_MT5__<NAME>__URL", "--demo"],
    ),
    "mistyped server variable": (
        {**SERVER_ENV, "MT5GW_MT5_MAIN__URL": "https://mt5.example.com:443"},
        None,
        (),
        ["MT5GW_MT5_MAIN__URL: not a setting; did you mean MT5GW_MT5__MAIN__URL?"],
    ),
    "the typo alone": (
        {"MT5GW_MT5_MAIN__URL": "https://x", "MT5GW_MT5_MAIN__PASSWORD": SECRET},
        None,
        (),
        [
            "MT5GW_MT5_MAIN__URL: not a setting; did you mean MT5GW_MT5__MAIN__URL?",
            (
                "MT5GW_MT5_MAIN__PASSWORD: not a setting; "
                "did you mean MT5GW_MT5__MAIN__PASSWORD?"
            ),
        ],
    ),
    "unknown variable": (
        {**SERVER_ENV, "MT5GW_GRPC__LISTN": "0.0.0.0:1"},
        None,
        (),
        ["MT5GW_GRPC__LISTN: not a setting; did you mean MT5GW_GRPC__LISTEN?"],
    ),
    "API keys not JSON": (
        {**SERVER_ENV, "MT5GW_GRPC__API_KEYS": SECRET},
        None,
        (),
        ['MT5GW_GRPC__API_KEYS: must be JSON (a list is ["a", "b"])'],
    ),
    "unknown config-file key": (
        SERVER_ENV,
        "[grpc]\napi_keyz = ['k']\n",
        (),
        ["grpc.api_keyz: unknown setting; did you mean grpc.api_keys?"],
    ),
    "config file not TOML": (
        SERVER_ENV,
        f"[grpc]\napi_keys = {SECRET}\n",
        (),
        ["cannot read it: Invalid value (at line 2"],
    ),
    "demo and a server": (
        SERVER_ENV,
        None,
        ("--demo",),
        ["configure mt5 servers or demo (--demo, MT5GW_DEMO), not both"],
    ),
    "a ServerConfig rule": (
        {**SERVER_ENV, "MT5GW_MT5__MAIN__REAUTH_RETCODES": "[10012]"},
        None,
        (),
        ["mt5.main.reauth_retcodes (MT5GW_MT5__MAIN__REAUTH_RETCODES): must not"],
    ),
}


@pytest.mark.parametrize("case", sorted(SETTINGS_PROBLEMS))
async def test_settings_problems_exit_2_with_a_readable_message(
    serve, tmp_path, case: str
) -> None:
    env, config, args, expected = SETTINGS_PROBLEMS[case]
    extra: dict[str, str] = {}
    if config is not None:
        path = tmp_path / "gateway.toml"
        path.write_text(config)
        extra["MT5GW_CONFIG_FILE"] = str(path)
    served = await serve(_clean_env(**env, **extra), *args)
    async with asyncio.timeout(30):
        out, err_bytes = await served.proc.communicate()
    err = err_bytes.decode()
    assert served.proc.returncode == 2, err
    assert err.startswith("mt5gateway: ")
    for text in expected:
        assert text in err
    assert "Traceback" not in err
    assert SECRET not in err
    assert not out  # nothing started, nothing logged


async def test_demo_without_the_demo_extra_exits_2() -> None:
    # What an install without mt5gateway-server[demo] sees: mt5sim cannot be
    # imported (a None entry in sys.modules makes `import mt5sim` fail).
    code = (
        "import sys; sys.modules['mt5sim'] = None; "
        "from mt5gateway_server.__main__ import main; sys.exit(main())"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        code,
        "serve",
        "--demo",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_clean_env(),
    )
    async with asyncio.timeout(30):
        _, err = await proc.communicate()
    assert proc.returncode == 2
    assert "install mt5gateway-server[demo]" in err.decode()
    assert "Traceback" not in err.decode()


async def test_drain_health_then_in_flight_finishes(
    sim: Simulator, make_gateway, mt5_server_settings
) -> None:
    grpc_overrides = {"drain_pause_seconds": 0.5, "grace_period_seconds": 5.0}
    servers = {"main": mt5_server_settings(sim, password=SECRET)}
    async with make_gateway(sim, grpc=grpc_overrides, mt5=servers) as gateway:
        health = health_pb2_grpc.HealthStub(gateway.channel)
        check = health_pb2.HealthCheckRequest(service="mt5gateway.v1.UserService")
        assert (await health.Check(check)).status == SERVING
        await gateway.faults(latency_ms=800, commands=["user/get"])
        in_flight = asyncio.ensure_future(
            gateway.users.GetUser(pb.GetUserRequest(login=FIRST), timeout=10)
        )
        async with asyncio.timeout(5):
            while sim.stats()["requests"].get("user/get", 0) == 0:  # noqa: ASYNC110 - polls the sim
                await asyncio.sleep(0.01)
        drain = asyncio.ensure_future(gateway.app.drain())
        await asyncio.sleep(0.1)  # inside the drain pause
        assert (await health.Check(check)).status == NOT_SERVING
        overall = await health.Check(health_pb2.HealthCheckRequest(service=""))
        assert overall.status == NOT_SERVING
        reply = await in_flight
        assert reply.user.login == FIRST
        await drain
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await gateway.users.GetUser(pb.GetUserRequest(login=FIRST), timeout=2)
        assert refused.value.code() is grpc.StatusCode.UNAVAILABLE
        # Draining twice is a no-op.
        await gateway.app.drain()


async def test_drain_outlives_a_cancelled_caller_in_a_context_of_its_own(
    sim: Simulator, make_gateway, mt5_server_settings
) -> None:
    servers = {"main": mt5_server_settings(sim, password=SECRET)}
    grpc_overrides = {"drain_pause_seconds": 0.3, "grace_period_seconds": 1.0}
    async with make_gateway(sim, grpc=grpc_overrides, mt5=servers) as gateway:

        async def caller() -> None:
            structlog.contextvars.bind_contextvars(rpc_method="/test.Caller/Drain")
            await gateway.app.drain()

        with structlog.testing.capture_logs(
            processors=[structlog.contextvars.merge_contextvars]
        ) as logs:
            started = asyncio.create_task(caller())
            await asyncio.sleep(0.1)  # inside the drain pause
            started.cancel()
            async with asyncio.timeout(5):
                while not any(e["event"] == "grpc_server_stopped" for e in logs):  # noqa: ASYNC110 - polls the log
                    await asyncio.sleep(0.01)
        assert started.cancelled()
        drain_lines = [e for e in logs if e["event"].startswith("grpc_")]
        assert [e["event"] for e in drain_lines] == [
            "grpc_drain_started",
            "grpc_server_stopped",
        ]
        assert all("rpc_method" not in e for e in drain_lines)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await gateway.users.GetUser(pb.GetUserRequest(login=FIRST), timeout=2)
        assert refused.value.code() is grpc.StatusCode.UNAVAILABLE


async def test_serve_wrong_manager_password_exits_1(sim: Simulator, serve) -> None:
    env = _clean_env(
        MT5GW_MT5__MAIN__URL=sim.url,
        MT5GW_MT5__MAIN__LOGIN="1000",
        MT5GW_MT5__MAIN__PASSWORD="wrong-password",
    )
    served = await serve(env)
    async with asyncio.timeout(40):
        out, err = await served.proc.communicate()
    assert served.proc.returncode == 1
    assert "cannot start" in err.decode()
    assert "wrong-password" not in out.decode() + err.decode()
