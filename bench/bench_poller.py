"""Quote pollers alone: MT5 requests per second and tick latency for 1 and 5 views.

Starts ``python -m mt5sim`` in a subprocess with its price feed on (``--ticks`` per
symbol per second), opens one ``SessionPool`` of ``--pool-size`` sessions and runs one
``QuotePoller`` per price view (the raw prices, then one per client group) on the same
symbols, every ``--poll-ms``. Meanwhile a unary caller sends ``test/access`` through
the pool every 20 ms, to show what the pollers leave to other callers.

Figures per run: MT5 requests per second as mt5sim counted them (all commands, and the
``tick/*`` polls alone), the latency from a tick's time (the simulator's clock) to the
poller's sink (p50, p99), and the unary call's latency (p50, p99, failures). A tick
waits up to one interval for the next poll, so p50 is about half of it.

    uv run python bench/bench_poller.py [--views 1,5] [--pool-size 6] [--duration 10]
        [--ticks 4] [--poll-ms 100]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import time
from typing import Any

import aiohttp
import structlog
from bench_streams import SYMBOLS, _start_sim
from mt5gateway_server.feeds.hub import FeedKey, FeedTick
from mt5gateway_server.feeds.poller import QuotePoller
from mt5gateway_server.webapi import ServerConfig, SessionPool, WebApiError

PASSWORD = "Password1"  # noqa: S105 - mt5sim's documented default manager
GROUPS = ("demo\\forex", "demo\\forex-usd", "real\\standard", "real\\vip")
VIEW_SYMBOLS = SYMBOLS[:10]
UNARY_EVERY = 0.02


def _quantiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return 0.0, 0.0
    q = statistics.quantiles(values, n=100)
    return round(q[49], 2), round(q[98], 2)


async def _sim_stats(http: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    async with http.get(url + "/_sim/stats") as resp:
        stats: dict[str, Any] = await resp.json(content_type=None)
        return stats


def _tick_polls(stats: dict[str, Any]) -> int:
    return sum(n for name, n in stats["requests"].items() if name.startswith("tick/"))


async def run(args: argparse.Namespace, views: int) -> dict[str, Any]:
    sim, url = await _start_sim(args.ticks)
    config = ServerConfig(
        url=url, login=1000, password=PASSWORD, pool_size=args.pool_size
    )
    latencies: list[float] = []
    measuring = False

    async def sink(ticks: list[FeedTick]) -> None:
        if measuring:
            latencies.extend((t.received - t.stamp / 1000) * 1000 for t in ticks)

    unary: list[float] = []
    unary_failed = 0

    async def unary_caller(pool: SessionPool) -> None:
        nonlocal unary_failed
        client = pool.client()
        while True:
            started = time.perf_counter()
            try:
                await client.ping()
            except WebApiError:
                unary_failed += measuring
            else:
                if measuring:
                    unary.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(UNARY_EVERY)

    try:
        async with SessionPool(config) as pool, aiohttp.ClientSession() as http:
            keys = [FeedKey(config.name, g) for g in ("", *GROUPS)][:views]
            pollers = [
                QuotePoller(pool, key, sink, interval=args.poll_ms / 1000)
                for key in keys
            ]
            for poller in pollers:
                poller.set_symbols(VIEW_SYMBOLS)
                poller.start()
            caller = asyncio.create_task(unary_caller(pool))
            await asyncio.sleep(1.0)  # every view has its snapshot
            before = await _sim_stats(http, url)
            measuring, started = True, time.monotonic()
            await asyncio.sleep(args.duration)
            measuring, seconds = False, time.monotonic() - started
            after = await _sim_stats(http, url)
            caller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await caller
            for poller in pollers:
                await poller.aclose()
    finally:
        sim.terminate()
        await sim.wait()
    total = after["requests_total"] - before["requests_total"]
    polls = _tick_polls(after) - _tick_polls(before)
    tick_p50, tick_p99 = _quantiles(latencies)
    unary_p50, unary_p99 = _quantiles(unary)
    return {
        "views": views,
        "pool_size": args.pool_size,
        "poll_ms": args.poll_ms,
        "mt5_requests_per_second": round(total / seconds, 1),
        "tick_polls_per_second": round(polls / seconds, 1),
        "ticks_emitted": len(latencies),
        "tick_latency_ms_p50": tick_p50,
        "tick_latency_ms_p99": tick_p99,
        "unary_ms_p50": unary_p50,
        "unary_ms_p99": unary_p99,
        "unary_failed": unary_failed,
    }


def _table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| views | pool | MT5 req/s | tick polls/s | ticks | tick p50 / p99 ms |"
        " unary p50 / p99 ms | unary failed |"
    )
    out = [head, "|" + "---|" * 8]
    out.extend(
        f"| {r['views']} | {r['pool_size']} | {r['mt5_requests_per_second']} |"
        f" {r['tick_polls_per_second']} | {r['ticks_emitted']} |"
        f" {r['tick_latency_ms_p50']} / {r['tick_latency_ms_p99']} |"
        f" {r['unary_ms_p50']} / {r['unary_ms_p99']} | {r['unary_failed']} |"
        for r in rows
    )
    return "\n".join(out)


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    for views in args.views:
        row = await run(args, views)
        print(json.dumps(row), file=sys.stderr)
        rows.append(row)
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--views", type=lambda s: [int(x) for x in s.split(",")], default=[1, 5]
    )
    p.add_argument("--pool-size", type=int, default=6)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--ticks", type=float, default=4.0)
    p.add_argument("--poll-ms", type=int, default=100)
    args = p.parse_args()
    if max(args.views) > 1 + len(GROUPS):
        p.error(f"at most {1 + len(GROUPS)} views (raw and {len(GROUPS)} groups)")
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(30)  # warnings and up
    )
    print(_table(asyncio.run(main_async(args))))


if __name__ == "__main__":
    main()
