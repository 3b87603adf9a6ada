"""Requests per second mt5sim serves on one core (user/get and tick/last).

Starts ``python -m mt5sim`` in a subprocess pinned to one CPU, the load generator pinned
to another, opens N authenticated keep-alive connections with a minimal HTTP/1.1 client
written here (independent of the gateway and of mt5sim's code) and reports req/s and
latency percentiles per command.

    uv run python bench/bench_simulator.py --connections 8 --duration 5 [--tls]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import ssl
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit


def _pw_hash(password: str) -> bytes:
    inner = hashlib.md5(password.encode("utf-16-le"), usedforsecurity=False).digest()
    return hashlib.md5(inner + b"WebAPI", usedforsecurity=False).digest()


def _answer(pw_hash: bytes, rand_hex: str) -> str:
    return hashlib.md5(
        pw_hash + bytes.fromhex(rand_hex), usedforsecurity=False
    ).hexdigest()


class Conn:
    """One keep-alive HTTP/1.1 connection; requests are sequential."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.host = host

    @classmethod
    async def open(cls, url: str, ctx: ssl.SSLContext | None) -> Conn:
        parts = urlsplit(url)
        host = parts.hostname or "127.0.0.1"
        reader, writer = await asyncio.open_connection(host, parts.port, ssl=ctx)
        return cls(reader, writer, f"{host}:{parts.port}")

    async def get(self, target: str) -> tuple[int, bytes]:
        self.writer.write(
            f"GET {target} HTTP/1.1\r\nHost: {self.host}\r\n"
            "Connection: keep-alive\r\n\r\n".encode()
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
                break
        body = await self.reader.readexactly(length) if length else b""
        return status, body

    async def get_json(self, target: str) -> dict[str, Any]:
        status, body = await self.get(target)
        if status != 200:
            raise RuntimeError(f"{target}: HTTP {status}")
        data: dict[str, Any] = json.loads(body)
        return data

    async def authenticate(self, login: int, password: str) -> None:
        start = await self.get_json(
            f"/api/auth/start?version=3470&agent=bench&login={login}&type=manager"
        )
        pw = _pw_hash(password)
        cli = os.urandom(16).hex()
        srv_answer = _answer(pw, start["srv_rand"])
        answer = await self.get_json(
            f"/api/auth/answer?srv_rand_answer={srv_answer}&cli_rand={cli}"
        )
        if answer.get("cli_rand_answer") != _answer(pw, cli):
            raise RuntimeError("server did not prove the password")

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


async def _worker(
    conn: Conn, target: str, deadline: float, latencies: list[float]
) -> int:
    errors = 0
    clock = time.perf_counter
    while clock() < deadline:
        t0 = clock()
        status, body = await conn.get(target)
        latencies.append(clock() - t0)
        if status != 200 or not body.startswith(b'{"retcode":"0 '):
            errors += 1
    return errors


async def _run_command(
    conns: list[Conn],
    name: str,
    target: str,
    *,
    pid: int,
    duration: float,
    warmup: float,
) -> dict[str, Any]:
    # Warm-up round, not measured.
    scratch: list[float] = []
    await asyncio.gather(
        *(_worker(c, target, time.perf_counter() + warmup, scratch) for c in conns)
    )
    latencies: list[float] = []
    cpu_start = _cpu_seconds(pid)
    start = time.perf_counter()
    deadline = start + duration
    errors = await asyncio.gather(
        *(_worker(c, target, deadline, latencies) for c in conns)
    )
    elapsed = time.perf_counter() - start
    cpu_end = _cpu_seconds(pid)
    cpu = None if cpu_start is None or cpu_end is None else cpu_end - cpu_start
    latencies.sort()
    n = len(latencies)
    return {
        "command": name,
        "requests": n,
        "errors": sum(errors),
        "seconds": round(elapsed, 3),
        "req_per_s": round(n / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 3),
        "p99_ms": round(latencies[min(n - 1, int(n * 0.99))] * 1000, 3),
        "connections": len(conns),
        # Server CPU time used: n / cpu is what one fully used core would serve,
        # a figure that holds up on a busy machine.
        "server_cpu_s": None if cpu is None else round(cpu, 3),
        "req_per_cpu_s": None if not cpu else round(n / cpu, 1),
    }


def _cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process (Linux), to report capacity per CPU-second."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and cpu < (os.cpu_count() or 1):
        os.sched_setaffinity(0, {cpu})


async def _start_server(
    args: argparse.Namespace,
) -> tuple[asyncio.subprocess.Process, str, str | None]:
    cmd = [
        sys.executable, "-m", "mt5sim", "--port", "0", "--seed", "1",
        "--ticks-per-second", str(args.ticks_per_second), "--log-level", "WARNING",
        "--tls" if args.tls else "--no-tls",
    ]  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        *cmd,
        stdout=asyncio.subprocess.PIPE,
        preexec_fn=(lambda: _pin(args.server_cpu)) if args.pin else None,
    )
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
    fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
    return proc, fields["url"], fields.get("ca_file")


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:
    if args.pin:
        _pin(args.client_cpu)
    proc, url, ca_file = await _start_server(args)
    try:
        ctx = ssl.create_default_context(cafile=ca_file) if args.tls else None
        conns = [await Conn.open(url, ctx) for _ in range(args.connections)]
        for conn in conns:
            await conn.authenticate(1000, "Password1")
        logins = await conns[0].get_json("/api/user/logins?group=" + quote("*"))
        login = logins["answer"][0]
        targets = {
            "user/get": f"/api/user/get?login={login}",
            "tick/last": "/api/tick/last?symbol="
            + quote("EURUSD,GBPUSD,USDJPY")
            + "&trans_id=0",
        }
        results = []
        for name, target in targets.items():
            results.append(
                await _run_command(
                    conns,
                    name,
                    target,
                    pid=proc.pid,
                    duration=args.duration,
                    warmup=args.warmup,
                )
            )
        for conn in conns:
            await conn.close()
        return results
    finally:
        proc.terminate()
        await proc.wait()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--duration", type=float, default=5.0)
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--tls", action="store_true")
    p.add_argument("--ticks-per-second", type=float, default=5.0)
    p.add_argument("--no-pin", dest="pin", action="store_false")
    p.add_argument("--server-cpu", type=int, default=0)
    p.add_argument("--client-cpu", type=int, default=1)
    p.add_argument("--json", type=Path, help="also write the results here")
    args = p.parse_args()
    results = asyncio.run(main_async(args))
    mode = "https" if args.tls else "http"
    for r in results:
        print(
            f"{r['command']:<10} {mode} conns={r['connections']} "
            f"{r['req_per_s']:>9.1f} req/s  p50={r['p50_ms']:.2f} ms  "
            f"p99={r['p99_ms']:.2f} ms  errors={r['errors']}  "
            f"server: {r['req_per_cpu_s']} req per CPU-second"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps({"tls": args.tls, "results": results}, indent=2)
        )


if __name__ == "__main__":
    main()
