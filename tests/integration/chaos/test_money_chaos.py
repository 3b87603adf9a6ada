"""Money writes exactly once under chaos, for both stores: the gateway killed with
SIGKILL, writes that reach MT5 after the gateway gave up, MT5 faults and session
drops, Redis crashing. Each run asserts 0 duplicated, 0 lost, one ``succeeded`` audit
record per applied deal (``Outcome.check`` lists every broken rule) and that its
faults really happened, and prints its figures.

Bounded: fixed counts, a storm deadline, a settle deadline; the gateway is a
subprocess, so nothing here depends on its internals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from .harness import GatewayConfig, Store
from .scenarios import (
    RunConfig,
    gateway_kills,
    late_writes,
    redis_restarts,
    run_scenario,
    sim_faults,
)

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = [pytest.mark.integration, pytest.mark.chaos, pytest.mark.timeout(240)]

STORES = [
    pytest.param(Store.DEFAULT, id="default-store"),
    pytest.param(Store.REDIS, id="redis-store"),
]
KILLS = 6
READ_TIMEOUT_SECONDS = 1.5
# Past the read timeout (the gateway gives up on the answer and closes), within
# 3 x the read timeout: the gateway's default idempotency.settle_seconds, how long
# it assumes a write with a lost answer may still land.
HOLD_SECONDS = READ_TIMEOUT_SECONDS + 2.0
HOLDS = 8


@pytest.mark.parametrize("store", STORES)
async def test_gateway_killed_repeatedly(store: Store, tmp_path: Path) -> None:
    outcome = await run_scenario(
        "gateway kill -9",
        tmp_path,
        GatewayConfig(store),
        RunConfig(deposits=1000),
        gateway_kills(KILLS),
    )
    print(outcome.report())  # noqa: T201
    outcome.check()
    assert outcome.figures["gateway_kills"] >= 5
    assert outcome.verdict.answered_ok > 900


@pytest.mark.parametrize("store", STORES)
async def test_write_reaching_mt5_after_the_read_timeout(
    store: Store, tmp_path: Path
) -> None:
    outcome = await run_scenario(
        "write delayed past the read timeout",
        tmp_path,
        GatewayConfig(store, read_timeout_seconds=READ_TIMEOUT_SECONDS),
        RunConfig(deposits=300),
        late_writes(HOLD_SECONDS, HOLDS),
    )
    print(outcome.report())  # noqa: T201
    outcome.check()
    # The writes really were late: forwarded after the gateway had closed.
    assert outcome.figures["proxy"]["held_after_client_left"] >= HOLDS // 2


@pytest.mark.parametrize("store", STORES)
async def test_mt5_faults_and_session_drops(store: Store, tmp_path: Path) -> None:
    outcome = await run_scenario(
        "mt5sim faults, session drops, proxy latency and outage",
        tmp_path,
        GatewayConfig(store),
        RunConfig(deposits=1000),
        sim_faults(),
    )
    print(outcome.report())  # noqa: T201
    outcome.check()
    injected = outcome.figures["mt5_faults_injected"]
    assert injected.get("drop", 0) > 10, injected
    assert injected.get("error", 0) > 10, injected
    assert outcome.figures["session_drops"] > 0
    assert outcome.figures["proxy"]["dropped"] > 0
    assert outcome.verdict.answered_rejected > 0  # injected 10021: stored rejections


async def test_redis_restarted_mid_run(tmp_path: Path) -> None:
    outcome = await run_scenario(
        "redis-server kill -9 and restart (AOF)",
        tmp_path,
        GatewayConfig(Store.REDIS),
        RunConfig(deposits=1000),
        redis_restarts(2),
    )
    print(outcome.report())  # noqa: T201
    outcome.check()
    assert outcome.figures["redis_kills"] == 2
    assert outcome.figures["answers"].get("UNAVAILABLE/STATE_STORE_UNAVAILABLE", 0) > 0
