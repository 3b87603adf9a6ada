"""After an MT5 outage under load the gateway serves again once MT5 is back.

Callers with 5 s deadlines call GetUser in a loop the whole time. The outage: mt5sim
drops every session and refuses every handshake (1018) for OUTAGE_SECONDS, longer
than the callers' deadlines. The sessions break inside those calls, so their
re-connects are started from calls whose deadlines pass during the outage; a
re-connect that kept its caller's deadline would fail for ever before sending
anything (health NOT_SERVING, every call UNAVAILABLE). After the faults are cleared
health must be SERVING and calls must succeed within the breaker window.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from typing import TYPE_CHECKING

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from mt5gateway.v1 import user_service_pb2 as pb
from mt5gateway_server.rpc.server import mt5_health_name

from .conftest import mt5_server, open_gateway

if TYPE_CHECKING:
    from mt5sim import Simulator

    from .conftest import Gateway

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

CALLERS = 6
CALL_DEADLINE = 5.0  # seconds, per GetUser
OUTAGE_SECONDS = 12.0  # longer than a caller's deadline
BREAKER_RESET = 1.0  # seconds the breaker stays open before a trial
# Back means: the breaker window, the capped backoff (0.2 s) and a loaded machine.
RECOVERY_LIMIT = 5 * BREAKER_RESET + 2.0
SERVING = health_pb2.HealthCheckResponse.SERVING


async def _serving(gateway: Gateway) -> bool:
    stub = health_pb2_grpc.HealthStub(gateway.channel)
    reply = await stub.Check(
        health_pb2.HealthCheckRequest(service=mt5_health_name("main")), timeout=2
    )
    return reply.status == SERVING


async def _caller(gateway: Gateway, codes: Counter[str], stop: asyncio.Event) -> None:
    request = pb.GetUserRequest(login=100_000)
    while not stop.is_set():
        try:
            await gateway.users.GetUser(request, timeout=CALL_DEADLINE)
        except grpc.aio.AioRpcError as exc:
            codes[exc.code().name] += 1
            await asyncio.sleep(0.05)  # a failing caller retries soon, not in a spin
        else:
            codes["OK"] += 1


async def _recovered(gateway: Gateway) -> bool:
    if not await _serving(gateway):
        return False
    try:
        await gateway.users.GetUser(pb.GetUserRequest(login=100_000), timeout=2)
    except grpc.aio.AioRpcError:
        return False
    return True


async def test_gateway_recovers_after_an_outage_under_load(sim: Simulator) -> None:
    server = mt5_server(sim, pool_size=3, breaker_reset_seconds=BREAKER_RESET)
    async with open_gateway(sim, mt5={"main": server}) as gateway:
        assert await _serving(gateway)
        codes: Counter[str] = Counter()
        stop = asyncio.Event()
        callers = [
            asyncio.create_task(_caller(gateway, codes, stop)) for _ in range(CALLERS)
        ]
        try:
            await asyncio.sleep(0.5)
            assert codes["OK"] > 0, codes
            await gateway.faults(reject_handshakes=1018)
            await gateway.drop_sessions()
            await asyncio.sleep(OUTAGE_SECONDS)
            failed_during_outage = sum(n for c, n in codes.items() if c != "OK")
            await gateway.faults()  # MT5 is back
            back = time.monotonic()
            while not await _recovered(gateway):
                assert time.monotonic() - back < RECOVERY_LIMIT, (
                    f"not recovered {RECOVERY_LIMIT}s after the outage: {codes}"
                    f" {gateway.app.deps.pools.pool()!r}"
                )
                await asyncio.sleep(0.2)
            ok_after = codes["OK"]
            await asyncio.sleep(0.5)
            assert codes["OK"] > ok_after, codes  # the callers get answers again
        finally:
            stop.set()
            for task in callers:
                task.cancel()
            for task in callers:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        assert failed_during_outage > 0, codes  # the outage did reach the callers
