"""History reads are bounded: long ranges are refused before MT5 is asked, a page is
fetched page by page (the token says where the next one starts), and the largest
allowed request holds one page, not the whole range, in memory."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from mt5gateway.v1 import quote_service_pb2 as qpb
from mt5gateway.v1 import quote_service_pb2_grpc
from mt5gateway_server.rpc.services.quotes import TICKS_MAX
from mt5gateway_server.webapi import MAX_BAR_SPAN, MAX_TICK_SPAN

from .conftest import MANAGER_LOGIN, MANAGER_PASSWORD

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from mt5sim import Simulator

    from .conftest import Gateway, RpcFailure

pytestmark = pytest.mark.integration

DAY = 86_400
READY = re.compile(r"mt5gateway ready on 127\.0\.0\.1:(\d+)")
# Growth of the gateway's peak RSS for one full page (100,000 ticks) over the longest
# allowed range. Measured: ~175 MB; the whole-range fetch it replaced grew ~530 MB
# for the same request (and past 1.7 GB for a year).
MAX_PEAK_GROWTH_MB = 320


def _stamp(seconds: int) -> Timestamp:
    return Timestamp(seconds=seconds)


def _description(failure: RpcFailure) -> str:
    assert failure.bad_request is not None
    (violation,) = failure.bad_request.field_violations
    return violation.description


def _ticks(start: int, end: int, **kw: object) -> qpb.ListTickHistoryRequest:
    return qpb.ListTickHistoryRequest(
        symbol="EURUSD", start_time=_stamp(start), end_time=_stamp(end), **kw
    )


async def test_ranges_over_the_limit_are_refused_before_mt5(
    gateway: Gateway, rpc_error
) -> None:
    now = int(time.time())
    before = await gateway.requests()
    year = await rpc_error(gateway.quotes.ListTickHistory(_ticks(now - 365 * DAY, now)))
    assert year.code is grpc.StatusCode.INVALID_ARGUMENT
    assert year.fields == ["end_time"]
    assert f"{MAX_TICK_SPAN.days} days" in _description(year)
    bars = await rpc_error(
        gateway.quotes.ListBars(
            qpb.ListBarsRequest(
                symbol="EURUSD",
                start_time=_stamp(now - (MAX_BAR_SPAN.days + 1) * DAY),
                end_time=_stamp(now),
            )
        )
    )
    assert bars.fields == ["end_time"]
    assert f"{MAX_BAR_SPAN.days} days" in _description(bars)
    assert await gateway.requests() == before
    # The longest allowed range is accepted.
    reply = await gateway.quotes.ListTickHistory(
        _ticks(now - MAX_TICK_SPAN.days * DAY, now, page_size=5)
    )
    assert len(reply.ticks) == 5


async def test_pages_continue_where_the_previous_one_ended(gateway: Gateway) -> None:
    now = int(time.time())
    request = _ticks(now - 3 * 3600, now, page_size=TICKS_MAX)
    whole = await gateway.quotes.ListTickHistory(request)
    assert not whole.next_page_token
    expected = [t.tick_time.ToMilliseconds() for t in whole.ticks]
    assert len(expected) > 2000
    paged: list[int] = []
    request.page_size = 999
    while True:
        page = await gateway.quotes.ListTickHistory(request)
        assert len(page.ticks) <= 999
        paged.extend(t.tick_time.ToMilliseconds() for t in page.ticks)
        if not page.next_page_token:
            break
        request.page_token = page.next_page_token
    assert paged == expected


# ------------------------------------------------------------------ memory


def _rss_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


@pytest.fixture
async def gateway_process(sim: Simulator) -> AsyncIterator[tuple[int, int]]:
    """``mt5gateway serve`` as its own process: (pid, port)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MT5GW_")}
    env.update(
        MT5GW_MT5__MAIN__URL=sim.url,
        MT5GW_MT5__MAIN__LOGIN=str(MANAGER_LOGIN),
        MT5GW_MT5__MAIN__PASSWORD=MANAGER_PASSWORD,
        MT5GW_TELEMETRY__LOG_FORMAT="json",
        MT5GW_TELEMETRY__LOG_LEVEL="warning",
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mt5gateway_server",
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--metrics-listen",
        "127.0.0.1:0",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    assert proc.stderr is not None
    port = 0
    async with asyncio.timeout(40):
        while True:
            line = (await proc.stderr.readline()).decode()
            assert line, "the gateway exited before it was ready"
            found = READY.search(line)
            if found:
                port = int(found.group(1))
            if port and "try: grpcurl" in line:
                break

    async def drain(stream: asyncio.StreamReader) -> None:
        while await stream.readline():
            pass

    reader = asyncio.create_task(drain(proc.stderr))
    try:
        yield proc.pid, port
    finally:
        proc.terminate()
        await proc.wait()
        await reader


@pytest.mark.timeout(120)
async def test_a_maximum_range_page_holds_one_page_in_memory(
    gateway_process: tuple[int, int],
) -> None:
    pid, port = gateway_process
    now = int(time.time())
    request = _ticks(now - MAX_TICK_SPAN.days * DAY, now, page_size=TICKS_MAX)
    options = [("grpc.max_receive_message_length", 64 * 1024 * 1024)]
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=options) as ch:
        stub = quote_service_pb2_grpc.QuoteServiceStub(ch)
        idle = _rss_kib(pid, "VmRSS")
        reply = await stub.ListTickHistory(request, timeout=90)
        growth_mb = (_rss_kib(pid, "VmHWM") - idle) / 1024
        assert len(reply.ticks) == TICKS_MAX
        assert reply.next_page_token  # a month holds far more than one page
        assert growth_mb < MAX_PEAK_GROWTH_MB, f"peak RSS grew {growth_mb:.0f} MB"
        last = reply.ticks[-1].tick_time.ToMilliseconds()
        request.page_token, request.page_size = reply.next_page_token, 10
        following = await stub.ListTickHistory(request, timeout=90)
        assert following.ticks[0].tick_time.ToMilliseconds() > last
