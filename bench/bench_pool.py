"""Pooled sessions vs a fresh connection + handshake per request (the PHP way).

Starts ``python -m mt5sim`` in a subprocess (its own event loop and CPU), then for each
simulated latency (``/_sim/faults`` latency_ms, applied to every request including the
two handshake steps) and each pool size runs, side by side:

* pool:  N workers calling ``user/get`` through a warm ``SessionPool`` of size N;
* fresh: N workers each opening a new ``Mt5Session`` (TCP + auth/start + auth/answer),
  sending ``user/get`` and closing it (``/api/quit``), per request.

    uv run python bench/bench_pool.py [--seconds 3] [--tls] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import structlog
from mt5gateway_server.webapi import Mt5Session, ServerConfig, SessionPool

PASSWORD = "Password1"  # noqa: S105 - mt5sim's documented default manager


def _pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and cpu < (os.cpu_count() or 1):
        os.sched_setaffinity(0, {cpu})


async def start_sim(
    *, tls: bool, pin: bool
) -> tuple[asyncio.subprocess.Process, str, str | None]:
    cmd = [
        sys.executable, "-m", "mt5sim", "--port", "0", "--seed", "1",
        "--ticks-per-second", "0", "--log-level", "WARNING",
        "--tls" if tls else "--no-tls",
    ]  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        *cmd,
        stdout=asyncio.subprocess.PIPE,
        preexec_fn=(lambda: _pin(1)) if pin else None,
    )
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
    fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
    return proc, fields["url"], fields.get("ca_file")


async def set_latency(url: str, ca_file: str | None, latency_ms: float) -> None:
    connector = aiohttp.TCPConnector(ssl=False) if ca_file else None
    async with (
        aiohttp.ClientSession(connector=connector) as http,
        http.post(f"{url}/_sim/faults", json={"latency_ms": latency_ms}) as resp,
    ):
        assert resp.status == 200, await resp.text()


def summarise(
    mode: str, latencies: list[float], elapsed: float, errors: int
) -> dict[str, Any]:
    latencies.sort()
    n = len(latencies)
    return {
        "mode": mode,
        "requests": n,
        "errors": errors,
        "req_per_s": round(n / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2) if n else None,
        "p99_ms": round(latencies[min(n - 1, int(n * 0.99))] * 1000, 2) if n else None,
    }


async def run_pool(config: ServerConfig, login: int, seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    async with SessionPool(config) as pool:
        client = pool.client()
        # Warm: every session authenticated before timing starts.
        while "connecting" in repr(pool):  # noqa: ASYNC110 - a bench may poll
            await asyncio.sleep(0.01)
        end = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal errors
            while (t0 := time.perf_counter()) < end:
                try:
                    await client.user_get(login)
                except Exception:  # noqa: BLE001 - counted, the bench keeps going
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - t0)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(config.pool_size)))
        elapsed = time.perf_counter() - started
    return summarise("pool", latencies, elapsed, errors)


async def run_fresh(
    config: ServerConfig, login: int, seconds: float, workers: int
) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    end = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal errors
        while (t0 := time.perf_counter()) < end:
            try:
                session = await Mt5Session.open(config, ping=False)
                try:
                    env = await session.request("user/get", {"login": login})
                    assert env.retcode == 0
                finally:
                    await session.aclose()
            except Exception:  # noqa: BLE001
                errors += 1
                continue
            latencies.append(time.perf_counter() - t0)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return summarise("fresh", latencies, time.perf_counter() - started, errors)


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:
    if args.pin:
        _pin(0)
    proc, url, ca_file = await start_sim(tls=args.tls, pin=args.pin)
    rows: list[dict[str, Any]] = []
    try:
        base = ServerConfig(
            url=url,
            login=1000,
            password=PASSWORD,
            ca_file=ca_file,
            acquire_timeout=30,
        )
        async with SessionPool(base) as pool:
            logins = await pool.client().user_logins(["*"])
        login = next(lg for lg in logins if lg >= 100000)
        for latency in args.latencies:
            await set_latency(url, ca_file, latency)
            for size in args.sizes:
                cfg = ServerConfig(
                    url=url,
                    login=1000,
                    password=PASSWORD,
                    ca_file=ca_file,
                    pool_size=size,
                    acquire_timeout=30,
                )
                for row in (
                    await run_pool(cfg, login, args.seconds),
                    await run_fresh(cfg, login, args.seconds, size),
                ):
                    row.update(latency_ms=latency, pool_size=size)
                    rows.append(row)
                    print_row(row)
    finally:
        proc.terminate()
        await proc.wait()
    return rows


HEADER = (
    f"{'latency':>8} {'size':>5} {'mode':>6} {'req/s':>9}"
    f" {'p50 ms':>8} {'p99 ms':>8} {'err':>4}"
)


def print_row(r: dict[str, Any]) -> None:
    print(
        f"{r['latency_ms']:>6}ms {r['pool_size']:>5} {r['mode']:>6} {r['req_per_s']:>9}"
        f" {r['p50_ms']:>8} {r['p99_ms']:>8} {r['errors']:>4}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--tls", action="store_true", help="HTTPS (default plain HTTP)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 5, 10])
    parser.add_argument("--latencies", type=float, nargs="+", default=[0, 5])
    parser.add_argument("--no-pin", dest="pin", action="store_false")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    # Quiet: the pool logs an info line per close.
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING)
    )
    scheme = "https" if args.tls else "http"
    print(f"user/get via mt5sim ({scheme}), {args.seconds}s per cell")
    print(HEADER)
    rows = asyncio.run(main_async(args))
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
