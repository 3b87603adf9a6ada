"""Two ``mt5gateway serve`` processes sharing one Redis and one simulator: exactly one
polls; when it is killed (SIGKILL, no lease released) the other takes over."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from typing import TYPE_CHECKING, Any

import grpc
import pytest
from mt5gateway.v1 import quote_service_pb2, quote_service_pb2_grpc
from mt5gateway_server.cache import keys

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from mt5sim import Simulator
    from redis.asyncio import Redis

pytestmark = pytest.mark.integration

READY = re.compile(r"mt5gateway ready on [^\s]+:(\d+)")
POLL_MS = 50


@contextlib.asynccontextmanager
async def gateway_process(
    sim: Simulator, redis_url: str
) -> AsyncIterator[tuple[asyncio.subprocess.Process, int]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MT5GW_")}
    env.update(
        MT5GW_MT5__MAIN__URL=sim.url,
        MT5GW_MT5__MAIN__LOGIN="1000",
        MT5GW_MT5__MAIN__PASSWORD="Password1",
        MT5GW_MT5__MAIN__POOL_SIZE="2",
        MT5GW_REDIS__URL=redis_url,
        MT5GW_QUOTES__POLL_INTERVAL_MS=str(POLL_MS),
        MT5GW_TELEMETRY__LOG_FORMAT="json",
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mt5gateway_server", "serve",
        "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )  # fmt: skip
    assert proc.stderr is not None
    try:
        async with asyncio.timeout(15):
            while True:
                line = (await proc.stderr.readline()).decode()
                assert line, "gateway exited before it was ready"
                found = READY.search(line)
                if found:
                    break
        yield proc, int(found.group(1))
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(10):
                    await proc.wait()
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_one_poller_and_takeover_when_killed(
    sim: Simulator, redis: Redis, redis_url: str, h: Any
) -> None:
    lease = keys.quote_lease("main", "raw")
    async with (
        gateway_process(sim, redis_url) as (proc_a, port_a),
        gateway_process(sim, redis_url) as (proc_b, port_b),
        grpc.aio.insecure_channel(f"127.0.0.1:{port_a}") as ch_a,
        grpc.aio.insecure_channel(f"127.0.0.1:{port_b}") as ch_b,
    ):
        request = quote_service_pb2.StreamQuotesRequest(symbols=["EURUSD"])
        on_a = quote_service_pb2_grpc.QuoteServiceStub(ch_a).StreamQuotes(request)
        on_b = quote_service_pb2_grpc.QuoteServiceStub(ch_b).StreamQuotes(request)
        await h.read_snapshot(on_a)
        await h.read_snapshot(on_b)
        async with asyncio.timeout(5):
            while True:  # the lease is taken by one of them shortly
                holder = await redis.get(lease)
                if holder is not None:
                    break
                await asyncio.sleep(0.05)
        holder_pid = int(holder.decode().split(":")[1])
        assert holder_pid in (proc_a.pid, proc_b.pid)
        expected = h.move(sim, "EURUSD")
        for call in (on_a, on_b):
            assert h.quote_values(await h.next_quote(call))[1:] == expected
        # One poller: about 1000/POLL_MS polls a second, not twice that.
        before = await h.tick_polls(sim)
        await asyncio.sleep(1.0)
        rate = await h.tick_polls(sim) - before
        assert 0.5 * 1000 / POLL_MS <= rate <= 1.4 * 1000 / POLL_MS, rate
        # Kill the holder: its lease (5 s) must expire and the other take over.
        killed, survivor = (
            (proc_a, on_b) if holder_pid == proc_a.pid else (proc_b, on_a)
        )
        killed.kill()
        await killed.wait()
        loop = asyncio.get_running_loop()
        died = loop.time()
        async with asyncio.timeout(10):
            while True:
                current = await redis.get(lease)
                if current is not None and current != holder:
                    break
                await asyncio.sleep(0.05)
        assert loop.time() - died < 7.0
        while True:
            expected = h.move(sim, "EURUSD")
            values = h.quote_values(await h.next_quote(survivor, 3.0))
            if values[1:] == expected:
                break
        survivor.cancel()
