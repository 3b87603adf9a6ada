"""Unary read side by side: through the gateway, directly through the pool, and with
a handshake per request; p50/p99 and RPC/s at 1, 10 and 100 concurrent callers.

Three processes: ``mt5sim`` (the upstream), ``mt5gateway serve`` configured for it,
and this load generator. The direct-pool and handshake clients run here and call the
same simulator, so the gateway's cost is the difference between the first two rows.

    uv run python bench/bench_gateway.py [--duration 3] [--pool-size 8] [--json FILE]
        [--h2load] [--profile-gateway FILE.svg] [--gateway-workers N]

``--h2load`` adds rows measured with ``h2load`` (Debian ``nghttp2-client``), a C load
generator that costs far less CPU than the Python gRPC client: one framed GetUser
request is sent over and over (``-c`` connections x ``-m`` streams = callers).
h2load only checks HTTP 200, so a sample of responses is verified with a real gRPC
client before and after, and the gateway's own ``rpc_finished`` access lines are
counted by status code. ``--profile-gateway`` attaches ``py-spy record`` to the
gateway during the h2load run at the highest concurrency.

``--gateway-workers N`` runs ``mt5gateway serve --workers N`` (a supervisor and N
processes on one port); it starts a redis-server for the gateway (``--workers`` > 1
requires Redis; it is started for N = 1 too so both runs have the same set-up). The
h2load rows then say how many RPCs each worker finished.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import re
import shutil
import socket
import statistics
import struct
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop is a server dependency
    uvloop = None  # type: ignore[assignment]

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


def _env(sim_url: str, pool_size: int, redis_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MT5GW_")}
    env.update(
        MT5GW_MT5__MAIN__URL=sim_url,
        MT5GW_MT5__MAIN__LOGIN=str(MANAGER_LOGIN),
        MT5GW_MT5__MAIN__PASSWORD=MANAGER_PASSWORD,
        MT5GW_MT5__MAIN__POOL_SIZE=str(pool_size),
        MT5GW_TELEMETRY__LOG_FORMAT="json",
        MT5GW_TELEMETRY__METRICS_LISTEN="127.0.0.1:0",
    )
    if redis_url is not None:
        env["MT5GW_REDIS__URL"] = redis_url
    return env


async def _start_redis(workdir: Path) -> tuple[asyncio.subprocess.Process, str]:
    """A throw-away redis-server on a free loopback port (like tests/conftest.py)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server not found: apt-get install redis-server")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = await asyncio.create_subprocess_exec(
        binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
        "--appendonly", "no", "--dir", str(workdir), "--daemonize", "no",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    async with asyncio.timeout(10):
        while True:
            with contextlib.suppress(OSError):
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(b"PING\r\n")
                await writer.drain()
                answer = await reader.readline()
                writer.close()
                if answer.startswith(b"+PONG"):
                    break
            await asyncio.sleep(0.05)
    return proc, f"redis://127.0.0.1:{port}/0"


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


class AccessCounter:
    """Counts the gateway's ``rpc_finished`` lines by code: its stdout goes to a
    file (a real sink with a write per line, read only between runs)."""

    _CODE = re.compile(rb'"code": ?"([A-Z_]+)"')
    _WORKER = re.compile(rb'"worker": ?(\d+)')

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = path.open("wb")

    def snapshot(self) -> dict[str, int]:
        """Access lines by code, plus ``worker:<index>`` keys with --workers."""
        codes: dict[str, int] = {}
        with self.path.open("rb") as f:
            for line in f:
                if b'"rpc_finished"' in line:
                    found = self._CODE.search(line)
                    code = found.group(1).decode() if found else "?"
                    codes[code] = codes.get(code, 0) + 1
                    worker = self._WORKER.search(line)
                    if worker:
                        key = f"worker:{worker.group(1).decode()}"
                        codes[key] = codes.get(key, 0) + 1
        return codes


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process and its reaped children (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its live children (gateway workers)."""
    total = _cpu_seconds(pid)
    with contextlib.suppress(OSError):
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            total += _tree_cpu(int(child))
    return total


async def _start_gateway(
    sim_url: str,
    pool_size: int,
    counter: AccessCounter,
    extra: list[str],
    redis_url: str | None = None,
) -> tuple[asyncio.subprocess.Process, int]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mt5gateway_server", "serve",
        "--listen", "127.0.0.1:0", *extra,
        stdout=counter.file,  # access lines, counted by code
        stderr=asyncio.subprocess.PIPE,
        env=_env(sim_url, pool_size, redis_url),
    )  # fmt: skip
    assert proc.stderr is not None
    seen = ""
    async with asyncio.timeout(60):
        while True:
            line = (await proc.stderr.readline()).decode()
            seen += line
            if not line:
                raise RuntimeError(f"gateway exited before it was ready:\n{seen}")
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


def _h2load_shape(callers: int) -> tuple[int, int]:
    """h2load connections x streams per connection for a number of callers."""
    conns = next(c for c in (4, 2, 1) if callers % c == 0)
    return conns, callers // conns


async def _h2load(
    port: int, callers: int, duration: float, warmup: float, workdir: Path
) -> dict[str, Any]:
    """One h2load run against GetUser; percentiles from its per-request log."""
    body = user_service_pb2.GetUserRequest(login=FIRST_LOGIN).SerializeToString()
    body_file = workdir / "body.bin"
    body_file.write_bytes(b"\x00" + struct.pack(">I", len(body)) + body)
    log_file = workdir / f"h2load-{callers}.log"
    conns, streams = _h2load_shape(callers)
    proc = await asyncio.create_subprocess_exec(
        "h2load", "-c", str(conns), "-m", str(streams), "-t", "1",
        "-D", f"{int(duration * 1000)}ms", "--warm-up-time", f"{int(warmup * 1000)}ms",
        "-d", str(body_file), "--log-file", str(log_file),
        "-H", "content-type: application/grpc", "-H", "te: trailers",
        f"http://127.0.0.1:{port}/mt5gateway.v1.UserService/GetUser",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await proc.communicate()
    text = out.decode()
    found = re.search(r"finished in ([\d.]+)(m?s), ([\d.]+) req/s", text)
    ok = re.search(r"(\d+) succeeded, (\d+) failed, (\d+) errored", text)
    status = re.search(r"status codes: (\d+) 2xx", text)
    if not found or not ok:
        raise RuntimeError(f"h2load output not understood:\n{text}")
    latencies = sorted(
        int(parts[2]) / 1e6
        for parts in (line.split("\t") for line in log_file.read_text().splitlines())
        if len(parts) >= 3 and parts[1] == "200"
    )

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return {
        "concurrency": callers,
        "mode": f"gateway via h2load (-c{conns} -m{streams})",
        "requests": int(ok.group(1)),
        "failed": int(ok.group(2)) + int(ok.group(3)),
        "http_2xx": int(status.group(1)) if status else None,
        "rps": float(found.group(3)),
        "p50_ms": round(pct(0.50), 3) if latencies else 0.0,
        "p99_ms": round(pct(0.99), 3) if latencies else 0.0,
        "mean_ms": round(statistics.fmean(latencies) * 1000, 3) if latencies else 0.0,
    }


async def _verify_sample(stubs: list[Any], n: int = 50) -> None:
    """A real gRPC client checks grpc-status and content (h2load cannot)."""
    for i in range(n):
        login = FIRST_LOGIN + i % ACCOUNTS
        reply = await stubs[i % len(stubs)].GetUser(
            user_service_pb2.GetUserRequest(login=login)
        )
        if reply.user.login != login:
            raise RuntimeError(f"GetUser({login}) answered login {reply.user.login}")


async def _py_spy(
    pid: int, out: Path, seconds: float, *, subprocesses: bool = False
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        "uvx", "py-spy", "record", "--pid", str(pid),
        *(["--subprocesses"] if subprocesses else []), "--duration",
        str(max(1, int(seconds))), "--rate", "250", "--nonblocking",
        "--output", str(out),
        "--format", "speedscope" if out.suffix == ".json" else "flamegraph",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:  # noqa: C901
    sim_proc, sim_url = await _start_sim()
    gw_proc: asyncio.subprocess.Process | None = None
    redis_proc: asyncio.subprocess.Process | None = None
    results: list[dict[str, Any]] = []
    access_dir = tempfile.TemporaryDirectory()
    try:
        counter = AccessCounter(Path(access_dir.name) / "gateway-stdout.jsonl")
        extra: list[str] = []
        redis_url = None
        if args.gateway_workers is not None:
            redis_proc, redis_url = await _start_redis(Path(access_dir.name))
            extra += ["--workers", str(args.gateway_workers)]
        gw_proc, port = await _start_gateway(
            sim_url, args.pool_size, counter, extra, redis_url
        )
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
            if args.only_h2load:
                modes = []
            for concurrency in args.concurrency:
                for name, call, duration in modes:
                    before, cpu0 = counter.snapshot(), _tree_cpu(gw_proc.pid)
                    row = await _measure(call, concurrency, duration, args.warmup)
                    row["mode"] = name
                    if name.startswith("gateway"):
                        _add_cpu(row, counter, before, gw_proc.pid, cpu0)
                    results.append(row)
                    print(json.dumps(row), file=sys.stderr)
            if args.h2load or args.only_h2load:
                results.extend(await _run_h2load(args, port, stubs, counter, gw_proc))
        for channel in channels:
            await channel.close()
    finally:
        if gw_proc is not None:
            await _stop(gw_proc)
        if redis_proc is not None:
            await _stop(redis_proc)
        access_dir.cleanup()
        await _stop(sim_proc)
    return results


def _add_cpu(
    row: dict[str, Any],
    counter: AccessCounter,
    before: dict[str, int],
    gw_pid: int,
    gw_cpu0: float,
) -> None:
    """Gateway CPU per RPC it finished (warm-up included on both sides)."""
    after = counter.snapshot()
    codes = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    codes = {k: v for k, v in codes.items() if v}
    workers = {k: codes.pop(k) for k in list(codes) if k.startswith("worker:")}
    served = sum(codes.values())
    if workers:
        row["per_worker"] = workers
    if served:
        row["grpc_codes"] = codes
        row["gw_cpu_ms_per_rpc"] = round(
            (_tree_cpu(gw_pid) - gw_cpu0) * 1000 / served, 3
        )


async def _run_h2load(
    args: argparse.Namespace,
    port: int,
    stubs: list[Any],
    counter: AccessCounter,
    gw_proc: asyncio.subprocess.Process,
) -> list[dict[str, Any]]:
    if shutil.which("h2load") is None:
        raise RuntimeError("h2load not found: apt-get install nghttp2-client")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for concurrency in args.concurrency:
            await _verify_sample(stubs)
            await asyncio.sleep(0.3)  # let the sample's access lines be written
            before, cpu0 = counter.snapshot(), _tree_cpu(gw_proc.pid)
            spy = None
            if args.profile_gateway and concurrency == max(args.concurrency):
                spy = await _py_spy(
                    gw_proc.pid,
                    args.profile_gateway,
                    args.warmup + args.duration,
                    subprocesses=args.gateway_workers is not None,
                )
            row = await _h2load(
                port, concurrency, args.duration, args.warmup, Path(tmp)
            )
            if args.gateway_workers is not None:
                row["gateway_workers"] = args.gateway_workers
                row["mode"] += f", {args.gateway_workers} worker(s)"
            await asyncio.sleep(0.3)
            _add_cpu(row, counter, before, gw_proc.pid, cpu0)
            if spy is not None:
                _, err = await spy.communicate()
                if spy.returncode:
                    print(f"py-spy failed: {err.decode()[-500:]}", file=sys.stderr)
            await _verify_sample(stubs)
            rows.append(row)
            print(json.dumps(row), file=sys.stderr)
    return rows


def _table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| callers | mode | RPC/s | p50 ms | p99 ms | gateway CPU ms/RPC |",
        "| ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    lines.extend(
        f"| {r['concurrency']} | {r['mode']} | {r['rps']:.0f} | {r['p50_ms']:.2f} |"
        f" {r['p99_ms']:.2f} | {r.get('gw_cpu_ms_per_rpc', '')} |"
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
    parser.add_argument("--h2load", action="store_true", help="add h2load rows")
    parser.add_argument(
        "--only-h2load", action="store_true", help="h2load rows only (profiling)"
    )
    parser.add_argument(
        "--profile-gateway",
        type=Path,
        metavar="FILE",
        help="py-spy record of the gateway at the highest h2load concurrency "
        "(.svg flamegraph or .json speedscope)",
    )
    parser.add_argument(
        "--gateway-workers",
        type=int,
        metavar="N",
        help="serve --workers N, with a redis-server started for the gateway",
    )
    parser.add_argument(
        "--json", type=Path, default=Path("bench/results/bench_gateway.json")
    )
    args = parser.parse_args()
    # The load generator's own pools would log every open/close; keep stderr readable.
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING)
    )
    if uvloop is not None:
        results = uvloop.run(main_async(args))
    else:  # pragma: no cover
        results = asyncio.run(main_async(args))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(_table(results))


if __name__ == "__main__":
    main()
