"""The transport with the real command registry and seeded
broker (docs/mt5-webapi.md#example-session)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from mt5sim import ManagerSpec, SimConfig, Simulator


@pytest.fixture
def sim_config() -> SimConfig:
    return SimConfig(
        tls=True,
        ticks_per_second=0,
        srv_rand="73007dc7184747ce0f7c98516ef1c851",
    )


async def _first_login(c: Any) -> str:
    status, body = await c.get("user/logins", group="*")
    assert status == 200, body
    assert body["retcode"] == "0 Done"
    return str(body["answer"][0])


async def test_rest_and_legacy_paths_agree(sim: Simulator, mt5_session) -> None:
    async with mt5_session(sim) as c:
        login = await _first_login(c)
        _, rest = await c.get("user/get", login=login)
        _, legacy = await c.get("/user_get", login=login)
        assert rest["retcode"] == "0 Done"
        assert rest == legacy
        assert rest["answer"]["Login"] == login
        _, upper = await c.get("user/get", raw_query=f"LOGIN={login}")
        assert upper == rest


async def test_official_flow_with_ticks(sim: Simulator, mt5_session) -> None:
    async with mt5_session(sim) as c:
        _, first = await c.get("tick/last", symbol="EURUSD,GBPUSD", trans_id=0)
        assert first["retcode"] == "0 Done"
        assert list(first) == ["retcode", "trans_id", "answer"]
        assert isinstance(first["trans_id"], str)
        assert len(first["answer"]) == 2
        _, again = await c.get(
            "tick/last", symbol="EURUSD,GBPUSD", trans_id=first["trans_id"]
        )
        assert again["retcode"] == "0 Done"
        assert again["answer"] == []
        assert await c.get("test/access") == (200, {"retcode": "0 Done"})
        assert await c.get("quit") == (200, {"retcode": "0 Done"})


async def test_balance_stats_and_reset(sim: Simulator, mt5_session, control) -> None:
    async with mt5_session(sim) as c:
        login = await _first_login(c)
        _, body = await c.get(
            "trade/balance", login=login, type=2, balance="12.50", comment="e2e"
        )
        assert body["retcode"] == "0 Done", body
        _, stats = await control.get("/_sim/stats")
        assert stats["balance_operations"]["count"] == 1
        assert stats["balance_operations"]["per_login"][login] in ("12.5", "12.50")
        assert int(stats["trans_id"]) >= 0
        await control.post("/_sim/reset")
        _, stats = await control.get("/_sim/stats")
        assert stats["balance_operations"]["count"] == 0


async def test_group_limited_manager_gets_8(mt5_session) -> None:
    config = SimConfig(
        tls=False,
        ticks_per_second=0,
        managers=(
            SimConfig().managers[0],
            ManagerSpec(1001, "Secret#12", ("nosuchgroup\\*",)),
        ),
    )
    async with Simulator(config) as sim:
        async with mt5_session(sim) as admin:
            login = await _first_login(admin)
        async with mt5_session(sim, 1001, "Secret#12") as limited:
            _, body = await limited.get("user/get", login=login)
            assert body == {"retcode": "8 Not enough permissions"}


async def test_price_feed_runs_and_stops() -> None:
    async with Simulator(SimConfig(tls=False, ticks_per_second=50)) as sim:
        start = sim.broker.trans_id
        for _ in range(100):
            await asyncio.sleep(0.02)
            if sim.broker.trans_id > start:
                break
        assert sim.broker.trans_id > start
    stopped = sim.broker.trans_id
    await asyncio.sleep(0.05)
    assert sim.broker.trans_id == stopped
