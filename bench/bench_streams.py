"""StreamQuotes under load: tick -> client latency, messages/s and memory per stream
at 100, 1,000 and 10,000 concurrent streams on one gateway process.

Processes: ``mt5sim`` with its price feed on (``--ticks`` per symbol per second), one
streaming gateway process (this file, ``serve``: session pool, hub, local poller,
StreamQuotes with the gateway's interceptors, on loopback), and ``--clients`` load
processes (this file, ``client``) that open the streams, each on 3 random symbols of
the 26, and time every live quote from its ``quote_time`` (the simulator's tick
time) to receipt. The poll interval is part of that latency by design: a tick waits
up to one interval for the next poll, so p50 is about half of it.

Memory per stream is the gateway's RSS growth from before the streams were opened
to after all snapshots were read, divided by the number of streams.

    uv run python bench/bench_streams.py [--levels 100,1000,10000] [--duration 10]
        [--ticks 1] [--poll-ms 100] [--clients 2] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import random
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc
from mt5gateway.v1 import quote_service_pb2, quote_service_pb2_grpc

if TYPE_CHECKING:
    from collections.abc import Coroutine

MANAGER_LOGIN = 1000
MANAGER_PASSWORD = "Password1"  # noqa: S105 - mt5sim's documented demo manager
SYMBOLS = [
    "EURUSD",
    "GBPUSD",
    "USDJPY",
    "USDCHF",
    "AUDUSD",
    "USDCAD",
    "NZDUSD",
    "EURGBP",
    "EURJPY",
    "GBPJPY",
    "EURCHF",
    "AUDJPY",
    "EURAUD",
    "GBPCHF",
    "USDTRY",
    "USDZAR",
    "XAUUSD",
    "XAGUSD",
    "US30",
    "US500",
    "NAS100",
    "GER40",
    "UK100",
    "XTIUSD",
    "BTCUSD",
    "ETHUSD",
]
STREAMS_PER_CHANNEL = 100
OPEN_WAVE = 250
LATENCY_SAMPLES = 50_000  # per client process, reservoir-sampled


# -- gateway process -------------------------------------------------------------------


async def serve(sim_url: str, poll_ms: int) -> None:  # noqa: C901, PLR0915
    from mt5gateway_server.feeds.hub import HubConfig, QuoteHub  # noqa: PLC0415
    from mt5gateway_server.feeds.poller import LocalSource  # noqa: PLC0415
    from mt5gateway_server.log import configure  # noqa: PLC0415
    from mt5gateway_server.rpc.interceptors import build_interceptors  # noqa: PLC0415
    from mt5gateway_server.rpc.services.quote_stream import (  # noqa: PLC0415
        QuoteStreamHandler,
    )
    from mt5gateway_server.rpc.streams import StreamRegistry  # noqa: PLC0415
    from mt5gateway_server.settings import (  # noqa: PLC0415
        GrpcSettings,
        QuoteSettings,
        Settings,
        TelemetrySettings,
    )
    from mt5gateway_server.webapi import PoolManager, ServerConfig  # noqa: PLC0415

    configure(
        Settings(
            telemetry=TelemetrySettings(
                metrics_listen=None, log_level="warning", log_format="json"
            )
        )
    )
    settings = QuoteSettings(poll_interval_ms=poll_ms, heartbeat_seconds=15.0)
    pools = PoolManager(
        [ServerConfig(url=sim_url, login=MANAGER_LOGIN, password=MANAGER_PASSWORD)]
    )
    await pools.start()
    source = LocalSource(pools, interval=poll_ms / 1000)
    config = HubConfig(subscriber_queue_size=settings.subscriber_queue_size)
    hub = QuoteHub(pools, config, source)
    registry = StreamRegistry()
    fanout_delays: list[float] = []
    fanout_seen = [0]
    rng = random.Random(1)

    def observe(seconds: float) -> None:
        fanout_seen[0] += 1
        if len(fanout_delays) < LATENCY_SAMPLES:
            fanout_delays.append(seconds * 1000)
        elif (j := rng.randrange(fanout_seen[0])) < LATENCY_SAMPLES:
            fanout_delays[j] = seconds * 1000

    handler = QuoteStreamHandler(
        hub,
        registry,
        settings,
        server_name=lambda s: s or pools.default,
        observe=observe,
    )

    class Servicer(quote_service_pb2_grpc.QuoteServiceServicer):
        async def StreamQuotes(self, request: Any, context: Any) -> Any:  # noqa: N802, ANN401
            async for message in handler.stream(request, context):
                yield message

    # --bare: without the gateway's interceptor chain, to see what it costs.
    bare = os.environ.get("BENCH_STREAMS_BARE") == "1"
    server = grpc.aio.server(
        interceptors=None if bare else build_interceptors(GrpcSettings()),
        options=[("grpc.max_concurrent_streams", 100_000)],
    )
    quote_service_pb2_grpc.add_QuoteServiceServicer_to_server(Servicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    profile_to = os.environ.get("BENCH_STREAMS_PROFILE")
    profiler = None
    if profile_to:  # where the gateway's time goes (cProfile of the event loop)
        import cProfile  # noqa: PLC0415

        profiler = cProfile.Profile()
        profiler.enable()
    if os.environ.get("BENCH_STREAMS_TRACEMALLOC") == "1":  # Python's share of RSS
        import tracemalloc  # noqa: PLC0415

        tracemalloc.start(1)
    print(f"READY port={port} pid={os.getpid()}", flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), sys.stdin
    )
    while line := await reader.readline():
        if line.strip() == b"reset":
            fanout_delays.clear()
            fanout_seen[0] = 0
        if line.strip() == b"stats":
            polls = sum(p.polls for p in source.pollers.values())
            stats = {
                "streams": len(registry),
                "conflated": hub.conflated_total,
                "queue_depth": hub.queue_depth(),
                "polls": polls,
                "fanout_ms": _quantiles(fanout_delays),
            }
            if os.environ.get("BENCH_STREAMS_TRACEMALLOC") == "1":
                import tracemalloc  # noqa: PLC0415

                snap = tracemalloc.take_snapshot()
                top = snap.statistics("lineno")[:12]
                stats["python_kib"] = tracemalloc.get_traced_memory()[0] // 1024
                stats["python_top"] = [
                    f"{t.size // 1024} KiB {t.traceback}" for t in top
                ]
            print("STATS " + json.dumps(stats), flush=True)
    if profiler is not None and profile_to:
        profiler.disable()
        profiler.dump_stats(profile_to)
    await registry.drain(wait_seconds=2.0)
    await server.stop(1.0)
    await hub.aclose()
    await pools.aclose()


# -- load process --------------------------------------------------------------------


async def client(port: int, streams: int, seed: int) -> None:  # noqa: C901, PLR0915
    rng = random.Random(seed)
    channels = [
        grpc.aio.insecure_channel(
            f"127.0.0.1:{port}",
            options=[("grpc.use_local_subchannel_pool", 1), ("grpc.channel_id", i)],
        )
        for i in range((streams + STREAMS_PER_CHANNEL - 1) // STREAMS_PER_CHANNEL)
    ]
    stubs = [quote_service_pb2_grpc.QuoteServiceStub(ch) for ch in channels]
    measuring = False
    stopping = False
    latencies: list[float] = []
    seen = 0
    quotes = 0
    heartbeats = 0
    opened = 0
    errors: list[str] = []
    all_open = asyncio.Event()

    async def one(i: int) -> None:
        nonlocal seen, quotes, heartbeats, opened
        symbols = rng.sample(SYMBOLS, 3)
        call = stubs[i % len(stubs)].StreamQuotes(
            quote_service_pb2.StreamQuotesRequest(symbols=symbols)
        )
        live = False
        try:
            await consume(call, live)
        except grpc.aio.AioRpcError as exc:
            if not stopping:  # cancelled by us at the end: not an error
                errors.append(f"{exc.code().name}: {exc.details()}")
            opened += 1
            if opened == streams:
                all_open.set()

    async def consume(call: Any, live: bool) -> None:  # noqa: ANN401, FBT001
        nonlocal seen, quotes, heartbeats, opened
        async for message in call:
            kind = message.WhichOneof("event")
            if kind == "snapshot_complete":
                live = True
                opened += 1
                if opened == streams:
                    all_open.set()
            elif kind == "heartbeat":
                heartbeats += measuring
            elif live and measuring:
                q = message.quote.quote_time
                ms = time.time() * 1000 - (q.seconds * 1000 + q.nanos / 1e6)
                quotes += 1
                seen += 1
                if len(latencies) < LATENCY_SAMPLES:
                    latencies.append(ms)
                else:
                    j = rng.randrange(seen)
                    if j < LATENCY_SAMPLES:
                        latencies[j] = ms

    # Opened in waves, as real clients arrive: a burst of thousands of calls at
    # the same instant is a different benchmark (grpc's unrequested-call queue).
    tasks: list[asyncio.Task[None]] = []
    for start in range(0, streams, OPEN_WAVE):
        tasks.extend(
            asyncio.create_task(one(i))
            for i in range(start, min(start + OPEN_WAVE, streams))
        )
        while True:  # until this wave's snapshots are in
            if opened >= len(tasks):
                break
            await asyncio.sleep(0.01)
    await all_open.wait()
    print("OPEN", flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), sys.stdin
    )
    await reader.readline()  # GO
    measuring = True
    started = time.monotonic()
    await reader.readline()  # STOP
    measuring = False
    elapsed = time.monotonic() - started
    stopping = True
    print(
        "RESULT "
        + json.dumps(
            {
                "quotes": quotes,
                "heartbeats": heartbeats,
                "errors": errors,
                "seconds": elapsed,
                "latencies": latencies,
            }
        ),
        flush=True,
    )
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for ch in channels:
        await ch.close()


# -- orchestration -------------------------------------------------------------------


def _quantiles(values: list[float]) -> dict[str, float]:
    if len(values) < 2:
        return {"p50": 0.0, "p99": 0.0, "max": 0.0}
    q = statistics.quantiles(values, n=100)
    return {
        "p50": round(q[49], 3),
        "p99": round(q[98], 3),
        "max": round(max(values), 3),
    }


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _spawn(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        limit=2**26,
    )


async def _line(proc: asyncio.subprocess.Process, prefix: str, seconds: float) -> str:
    assert proc.stdout is not None
    async with asyncio.timeout(seconds):
        while True:
            raw = await proc.stdout.readline()
            if not raw:
                raise RuntimeError(f"process exited while waiting for {prefix}")
            text = raw.decode()
            if text.startswith(prefix):
                return text[len(prefix) :].strip()


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.stdin is not None and not proc.stdin.is_closing():
        proc.stdin.close()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(10):
            await proc.wait()
    if proc.returncode is None:
        proc.kill()
        await proc.wait()


async def _start_sim(ticks: float) -> tuple[asyncio.subprocess.Process, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mt5sim", "--port", "0", "--no-tls",
        "--ticks-per-second", str(ticks), "--log-level", "WARNING",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
    fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
    return proc, fields["url"]


async def run_level(args: argparse.Namespace, streams: int) -> dict[str, Any]:
    sim, sim_url = await _start_sim(args.ticks)
    gateway = await _spawn(__file__, "serve", sim_url, "--poll-ms", str(args.poll_ms))
    clients: list[asyncio.subprocess.Process] = []
    try:
        ready = await _line(gateway, "READY", 60)
        port = int(ready.split("port=")[1].split()[0])
        await asyncio.sleep(0.5)
        rss_before = _rss_kib(gateway.pid)
        n_clients = max(1, min(args.clients, streams // 50))
        shares = [streams // n_clients] * n_clients
        shares[0] += streams - sum(shares)
        opened_at = time.monotonic()
        for i, share in enumerate(shares):
            clients.append(
                await _spawn(
                    __file__, "client", str(port), str(share), "--seed", str(i)
                )
            )
        for proc in clients:
            await _line(proc, "OPEN", 900)
        open_seconds = time.monotonic() - opened_at
        await asyncio.sleep(1.0)
        rss_after = _rss_kib(gateway.pid)
        cpu_before = _cpu_seconds(gateway.pid)
        assert gateway.stdin is not None
        gateway.stdin.write(b"reset\n")
        await gateway.stdin.drain()
        for proc in clients:
            assert proc.stdin is not None
            proc.stdin.write(b"GO\n")
            await proc.stdin.drain()
        await asyncio.sleep(args.duration)
        assert gateway.stdin is not None
        gateway.stdin.write(b"stats\n")
        await gateway.stdin.drain()
        stats = json.loads(await _line(gateway, "STATS", 30))
        for proc in clients:
            assert proc.stdin is not None
            proc.stdin.write(b"STOP\n")
            await proc.stdin.drain()
        cpu = _cpu_seconds(gateway.pid) - cpu_before
        results = [json.loads(await _line(p, "RESULT", 120)) for p in clients]
    finally:
        for proc in clients:
            await _stop(proc)
        await _stop(gateway)
        sim.terminate()
        await sim.wait()
    latencies = sorted(x for r in results for x in r["latencies"])
    quotes = sum(r["quotes"] for r in results)
    seconds = max(r["seconds"] for r in results)
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {
        "streams": streams,
        "ticks_per_symbol_per_second": args.ticks,
        "poll_interval_ms": args.poll_ms,
        "open_seconds": round(open_seconds, 2),
        "messages_per_second": round(quotes / seconds, 1),
        "latency_ms_p50": round(q[49], 2),
        "latency_ms_p99": round(q[98], 2),
        "latency_ms_max": round(latencies[-1], 2) if latencies else None,
        "p99_above_poll_interval_ms": round(q[98] - args.poll_ms, 2),
        "gateway_cpu_percent": round(100 * cpu / args.duration, 1),
        "rss_mib_before": round(rss_before / 1024, 1),
        "rss_mib_after": round(rss_after / 1024, 1),
        "kib_per_stream": round((rss_after - rss_before) / streams, 2),
        "gateway_fanout_ms": stats["fanout_ms"],
        "conflated": stats["conflated"],
        "python_kib": stats.get("python_kib"),
        "python_top": stats.get("python_top"),
        "streams_held": stats["streams"],
        "stream_errors": dict(
            collections.Counter(e for r in results for e in r["errors"])
        ),
    }


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    for level in args.levels:
        row = await run_level(args, level)
        print(json.dumps(row), file=sys.stderr)
        rows.append(row)
    return rows


def _table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| streams | msg/s | p50 ms | p99 ms | p99 - poll | max ms |"
        " gateway fan-out p50/p99 ms | KiB/stream | gateway CPU | conflated |"
    )
    out = [head, "|" + "---|" * 10]
    out.extend(
        f"| {r['streams']} | {r['messages_per_second']} | {r['latency_ms_p50']} |"
        f" {r['latency_ms_p99']} | {r['p99_above_poll_interval_ms']} |"
        f" {r['latency_ms_max']} | {r['gateway_fanout_ms']['p50']} /"
        f" {r['gateway_fanout_ms']['p99']} | {r['kib_per_stream']} |"
        f" {r['gateway_cpu_percent']}% | {r['conflated']} |"
        for r in rows
    )
    return "\n".join(out)


def _run(main: Coroutine[Any, Any, None]) -> None:
    """On uvloop, as ``mt5gateway serve`` runs (``BENCH_STREAMS_ASYNCIO=1``: not)."""
    if os.environ.get("BENCH_STREAMS_ASYNCIO") == "1":
        asyncio.run(main)
        return
    import uvloop  # noqa: PLC0415

    uvloop.run(main)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        p = argparse.ArgumentParser()
        p.add_argument("mode")
        p.add_argument("sim_url")
        p.add_argument("--poll-ms", type=int, default=100)
        a = p.parse_args()
        _run(serve(a.sim_url, a.poll_ms))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "client":
        p = argparse.ArgumentParser()
        p.add_argument("mode")
        p.add_argument("port", type=int)
        p.add_argument("streams", type=int)
        p.add_argument("--seed", type=int, default=0)
        a = p.parse_args()
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        del soft
        _run(client(a.port, a.streams, a.seed))
        return
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--levels",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[100, 1000, 10_000],
    )
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--ticks", type=float, default=1.0)
    p.add_argument("--poll-ms", type=int, default=100)
    p.add_argument("--clients", type=int, default=2)
    p.add_argument(
        "--json", type=Path, default=Path("bench/results/bench_streams.json")
    )
    args = p.parse_args()
    rows = asyncio.run(main_async(args))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    print(_table(rows))


if __name__ == "__main__":
    main()
