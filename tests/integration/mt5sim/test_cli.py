"""The ``mt5sim`` command: one ready line, serves, exits 0 on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import signal
import ssl
import sys

import aiohttp
import pytest


async def _start(*args: str) -> tuple[asyncio.subprocess.Process, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mt5sim", "--port", "0", "--ticks-per-second", "0", *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode().strip()
    return proc, line


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_plain_http_ready_line_and_signal(sig: signal.Signals) -> None:
    proc, line = await _start("--no-tls", "--seed", "9", "--manager", "1000:Password1")
    try:
        assert line.startswith("mt5sim ready url=http://127.0.0.1:")
        assert "managers=1000" in line
        assert "seed=9" in line
        url = line.split("url=")[1].split()[0]
        async with aiohttp.ClientSession() as http, http.get(url + "/_sim/stats") as r:
            assert r.status == 200
            assert (await r.json())["handshakes"]["started"] == 0
    finally:
        proc.send_signal(sig)
        _, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0, err.decode()


async def test_tls_ready_line_has_ca_file() -> None:
    proc, line = await _start(
        "--manager", "1000:Password1", "--manager", "7:Pw#1:demo*"
    )
    try:
        assert line.startswith("mt5sim ready url=https://127.0.0.1:")
        assert "managers=1000,7" in line
        ca_file = line.split("ca_file=")[1].split()[0]
        url = line.split("url=")[1].split()[0]
        ctx = ssl.create_default_context(cafile=ca_file)
        connector = aiohttp.TCPConnector(ssl=ctx)
        async with (
            aiohttp.ClientSession(connector=connector) as http,
            http.get(url + "/api/test/access") as r,
        ):
            assert r.status == 403
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0


async def test_bad_flag_exits_2() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mt5sim", "--manager", "oops",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 2
    assert b"LOGIN:PASSWORD" in err
