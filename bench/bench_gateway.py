"""Unary read side by side: through the gateway, directly through the pool, and with
a handshake per request; p50/p99 and RPC/s at 1, 10 and 100 concurrent callers.

Three processes: ``mt5sim`` (the upstream), ``mt5gateway serve`` configured for it,
and this load generator. The direct-pool and handshake clients run here and call the
same simulator, so the gateway's cost is the difference between the first two rows.

    uv run python bench/bench_gateway.py [--duration 3] [--pool-size 8] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import re
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import structlog
from mt5gateway.v1 import user_service_pb2, user_service_pb2_grpc
from mt5gateway_server.webapi import PoolManager, ServerConfig, SessionPool

MANAGER_LOGIN = 1000
MANAGER_PASSWORD = "Password1"  # noqa: S105 - mt5sim's documented demo manager
FIRST_LOGIN = 100_000
ACCOUNTS = 60
READY = re.compile(r"mt5gateway ready on [^\s]+:(\d+)")

Call = Callable[[int], Awaitable[object]]


def _env(sim_url: str, pool_size: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MT5GW_")}
    env.update(
        MT5GW_MT5__MAIN__URL=sim_url,
        MT5GW_MT5__MAIN__LOGIN=str(MANAGER_LOGIN),
        MT5GW_MT5__MAIN__PASSWORD=MANAGER_PASSWORD,
        MT5GW_MT5__MAIN__POOL_SIZE=str(pool_size),
        MT5GW_TELEMETRY__LOG_FORMAT="json",
        MT5GW_TELEMETRY__METRICS_LISTEN="127.0.0.1:0",
    )
    return env


async def _start_sim() -> tuple[asyncio.subprocess.Process, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mt5sim", "--port", "0", "--no-tls",
        "--ticks-per-second", "0", "--log-level", "WARNING",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
    fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
    return proc, fields["url"]


async def _start_gateway(
    sim_url: str, pool_size: int
) -> tuple[asyncio.subprocess.Process, int]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mt5gateway_server", "serve",
        "--listen", "127.0.0.1:0",
        stdout=asyncio.subprocess.DEVNULL,  # the access log is written, not read
        stderr=asyncio.subprocess.PIPE,
        env=_env(sim_url, pool_size),
    )  # fmt: skip
    assert proc.stderr is not None
    async with asyncio.timeout(60):
        while True:
            line = (await proc.stderr.readline()).decode()
            if not line:
                raise RuntimeError("gateway exited before it was ready")
            found = READY.search(line)
            if found:
                return proc, int(found.group(1))


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.terminate()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(15):
                await proc.wait()
    if proc.returncode is None:
        proc.kill()
        await proc.wait()


def _config(sim_url: str, pool_size: int) -> ServerConfig:
    return ServerConfig(
        url=sim_url,
        login=MANAGER_LOGIN,
        password=MANAGER_PASSWORD,
        name="main",
        pool_size=pool_size,
    )


async def _measure(
    call: Call, concurrency: int, duration: float, warmup: float
) -> dict[str, Any]:
    latencies: list[float] = []
    stop_at = 0.0
    measuring = False

    async def worker(index: int) -> None:
        n = index
        while True:
            started = time.perf_counter()
            if started >= stop_at:
                return
            await call(FIRST_LOGIN + n % ACCOUNTS)
            if measuring:
                latencies.append(time.perf_counter() - started)
            n += concurrency

    stop_at = time.perf_counter() + warmup
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    measuring = True
    began = time.perf_counter()
    stop_at = began + duration
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    elapsed = time.perf_counter() - began
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return {
        "concurrency": concurrency,
        "requests": len(latencies),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(pct(0.50), 3),
        "p99_ms": round(pct(0.99), 3),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 3),
    }


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:
    sim_proc, sim_url = await _start_sim()
    gw_proc: asyncio.subprocess.Process | None = None
    results: list[dict[str, Any]] = []
    try:
        gw_proc, port = await _start_gateway(sim_url, args.pool_size)
        channels = [
            grpc.aio.insecure_channel(f"127.0.0.1:{port}") for _ in range(args.channels)
        ]
        stubs = [user_service_pb2_grpc.UserServiceStub(c) for c in channels]

        async def via_gateway(login: int) -> object:
            stub = stubs[login % len(stubs)]
            return await stub.GetUser(user_service_pb2.GetUserRequest(login=login))

        async with PoolManager([_config(sim_url, args.pool_size)]) as pools:
            client = pools.client()

            async def via_pool(login: int) -> object:
                return await client.user_get(login)

            async def handshake_per_request(login: int) -> object:
                pool = SessionPool(_config(sim_url, 1))
                async with pool:
                    return await pool.client().user_get(login)

            modes: list[tuple[str, Call, float]] = [
                ("gateway (gRPC GetUser)", via_gateway, args.duration),
                ("direct pool (user_get)", via_pool, args.duration),
                ("handshake per request", handshake_per_request, args.duration),
            ]
            for concurrency in args.concurrency:
                for name, call, duration in modes:
                    row = await _measure(call, concurrency, duration, args.warmup)
                    row["mode"] = name
                    results.append(row)
                    print(json.dumps(row), file=sys.stderr)
        for channel in channels:
            await channel.close()
    finally:
        if gw_proc is not None:
            await _stop(gw_proc)
        await _stop(sim_proc)
    return results


def _table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| callers | mode | RPC/s | p50 ms | p99 ms |",
        "| ---: | --- | ---: | ---: | ---: |",
    ]
    lines.extend(
        f"| {r['concurrency']} | {r['mode']} | {r['rps']:.0f} | {r['p50_ms']:.2f} |"
        f" {r['p99_ms']:.2f} |"
        for r in results
    )
    by = {(r["concurrency"], r["mode"]): r for r in results}
    lines.append("")
    lines.append("| callers | gateway - pool p50 ms | gateway - pool p99 ms |")
    lines.append("| ---: | ---: | ---: |")
    for c in sorted({r["concurrency"] for r in results}):
        gw = by.get((c, "gateway (gRPC GetUser)"))
        pool = by.get((c, "direct pool (user_get)"))
        if gw and pool:
            lines.append(
                f"| {c} | {gw['p50_ms'] - pool['p50_ms']:+.2f} |"
                f" {gw['p99_ms'] - pool['p99_ms']:+.2f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--warmup", type=float, default=0.5)
    parser.add_argument("--pool-size", type=int, default=8)
    parser.add_argument("--channels", type=int, default=2)
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=[1, 10, 100], metavar="N"
    )
    parser.add_argument(
        "--json", type=Path, default=Path("bench/results/bench_gateway.json")
    )
    args = parser.parse_args()
    # The load generator's own pools would log every open/close; keep stderr readable.
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING)
    )
    results = asyncio.run(main_async(args))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(_table(results))


if __name__ == "__main__":
    main()
