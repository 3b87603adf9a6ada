"""Every ``/_sim/`` control over real sockets."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest
from mt5sim import SimConfig, Simulator
from mt5sim.commands.base import Command, CommandContext, Reply

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


class FakeBroker:
    def __init__(self, seed: int, now: float) -> None:  # noqa: ARG002
        self.trans_id = 1
        self.applied = 0
        self.resets = 0

    def reset(self, now: float) -> None:  # noqa: ARG002
        self.applied = 0
        self.resets += 1

    def balance_stats(self) -> dict[str, object]:
        return {"count": self.applied, "per_login": {}}


def _apply(ctx: CommandContext, params) -> Reply:
    ctx.broker.applied += 1  # type: ignore[attr-defined]
    return Reply(answer={"Ticket": str(ctx.broker.applied)})  # type: ignore[attr-defined]


def _read(ctx: CommandContext, params) -> Reply:
    return Reply(answer={"Login": "1"})


STAND_INS = {
    "sim/apply": Command("sim/apply", "SIM_APPLY", _apply),
    "sim/read": Command("sim/read", "SIM_READ", _read),
}


@pytest.fixture
async def sim(sim_config: SimConfig) -> AsyncIterator[Simulator]:
    async with Simulator(
        sim_config, commands=STAND_INS, broker_factory=FakeBroker
    ) as s:
        yield s


async def _set(control: Any, **faults: Any) -> dict[str, Any]:
    status, body = await control.post("/_sim/faults", faults)
    assert status == 200, body
    return body


async def test_faults_get_set_clear(control: Any) -> None:
    status, body = await control.get("/_sim/faults")
    assert status == 200
    assert body["error_rate"] == 0.0
    assert body["commands"] is None
    body = await _set(
        control, error_rate=0.5, error_retcode=10019, commands=["sim/read"]
    )
    assert body["error_rate"] == 0.5
    assert body["commands"] == ["sim/read"]
    assert (await control.get("/_sim/faults"))[1] == body
    status, body = await control.request("DELETE", "/_sim/faults")
    assert status == 200
    assert body["error_rate"] == 0.0
    await _set(control, error_rate=1)
    assert (await control.post("/_sim/faults", {}))[1]["error_rate"] == 0.0


@pytest.mark.parametrize(
    "bad",
    [
        {"error_rate": 2},
        {"latency_ms": -1},
        {"latency_ms": "10"},
        {"nonsense": 1},
        {"commands": "user/get"},
        {"reject_handshakes": "yes"},
        {"drop_after_apply": 1},
    ],
)
async def test_faults_validation(control: Any, bad: dict[str, Any]) -> None:
    status, body = await control.post("/_sim/faults", bad)
    assert status == 400
    assert "error" in body


async def test_faults_invalid_json(control: Any) -> None:
    status, _ = await control.request("POST", "/_sim/faults", raw_body=b"{nope")
    assert status == 400


async def test_unknown_control(control: Any) -> None:
    assert (await control.get("/_sim/nothing"))[0] == 404
    assert (await control.get("/_sim/reset"))[0] == 405


async def test_latency_is_measurable(sim: Simulator, control: Any, mt5_session) -> None:
    async with mt5_session(sim) as c:
        start = time.monotonic()
        await c.get("sim/read")
        fast = time.monotonic() - start
        await _set(control, latency_ms=150, jitter_ms=20)
        start = time.monotonic()
        status, body = await c.get("sim/read")
        slow = time.monotonic() - start
        assert (status, body["retcode"]) == (200, "0 Done")
        assert slow >= 0.15
        assert slow > fast


async def test_latency_scoped_to_commands(
    sim: Simulator, control: Any, mt5_session
) -> None:
    async with mt5_session(sim) as c:
        await _set(control, latency_ms=300, commands=["sim/apply"])
        start = time.monotonic()
        await c.get("sim/read")
        assert time.monotonic() - start < 0.25


async def test_slow_auth_answer_times_out(control: Any, mt5_session) -> None:
    # A short window and latency on auth/answer only: the answer arrives late.
    config = SimConfig(tls=False, ticks_per_second=0, auth_answer_timeout=0.1)
    async with Simulator(config, commands=STAND_INS, broker_factory=FakeBroker) as sim:
        sim.set_faults_json({"latency_ms": 200, "commands": ["auth/answer"]})
        with pytest.raises(AssertionError, match="403"):
            async with mt5_session(sim):
                pass
    del control


async def test_error_rate_one(sim: Simulator, control: Any, mt5_session) -> None:
    async with mt5_session(sim) as c:
        await _set(control, error_rate=1.0, error_retcode=10019)
        assert await c.get("sim/read") == (200, {"retcode": "10019 No money"})
        assert await c.get("sim/apply") == (200, {"retcode": "10019 No money"})
        assert sim.broker.applied == 0  # type: ignore[attr-defined]
        # The handshake is spared unless named.
        async with mt5_session(sim) as other:
            assert (await other.get("sim/read"))[1]["retcode"] == "10019 No money"
    _, stats = await control.get("/_sim/stats")
    assert stats["faults_injected"]["error"] == 3


async def test_error_limited_to_commands(
    sim: Simulator, control: Any, mt5_session
) -> None:
    async with mt5_session(sim) as c:
        await _set(control, error_rate=1.0, error_retcode=12, commands=["sim/apply"])
        assert await c.get("sim/apply") == (
            200,
            {"retcode": "12 Too frequent requests"},
        )
        assert (await c.get("sim/read"))[1]["retcode"] == "0 Done"
        assert (await c.get("/sim_apply"))[1]["retcode"] == "12 Too frequent requests"


async def test_drop_closes_without_answer(
    sim: Simulator, control: Any, mt5_session
) -> None:
    async with mt5_session(sim) as c:
        await _set(control, drop_rate=1.0, commands=["sim/apply"])
        # POST: aiohttp does not retry it on a fresh connection.
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await c.post("sim/apply")
        assert sim.broker.applied == 0  # type: ignore[attr-defined]
        # Reconnected: a new, unauthenticated connection.
        assert await c.get("sim/read") == (403, None)
        # Beware: aiohttp silently retries an idempotent GET once on a new connection
        # when a reused keep-alive connection drops, so the caller sees a 403.
        await c.authenticate()
        assert await c.get("sim/apply") == (403, None)


async def test_drop_after_apply(sim: Simulator, control: Any, mt5_session) -> None:
    async with mt5_session(sim) as c:
        await _set(
            control, drop_rate=1.0, drop_after_apply=True, commands=["sim/apply"]
        )
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await c.post("sim/apply")
        # Applied, answer lost: the gateway's "outcome unknown" case.
        assert sim.broker.applied == 1  # type: ignore[attr-defined]
    _, stats = await control.get("/_sim/stats")
    assert stats["balance_operations"]["count"] == 1
    assert stats["connections_dropped"] == 1
    assert stats["faults_injected"]["drop"] == 1


async def test_reject_handshakes(sim: Simulator, control: Any, mt5_session) -> None:
    async with mt5_session(sim) as established:
        await _set(control, reject_handshakes=1018)
        async with mt5_session(sim, authenticate=False) as c:
            status, body = await c.get(
                "auth/start",
                version=3470,
                agent="WebManager",
                login=1000,
                type="manager",
            )
            assert (status, body) == (200, {"retcode": "1018 Server is busy"})
        # Existing sessions keep working.
        assert (await established.get("sim/read"))[1]["retcode"] == "0 Done"
        await _set(control, reject_handshakes=True)
        async with mt5_session(sim, authenticate=False) as c:
            _, body = await c.get(
                "auth/start",
                version=3470,
                agent="WebManager",
                login=1000,
                type="manager",
            )
            assert body == {"retcode": "1018 Server is busy"}
    _, stats = await control.get("/_sim/stats")
    assert stats["handshakes"]["failed"] == 2


async def test_rate_limit(sim: Simulator, control: Any, mt5_session) -> None:
    async with mt5_session(sim) as c:
        await _set(control, rate_limit_rps=5)
        codes = [(await c.get("sim/read"))[1]["retcode"] for _ in range(12)]
        assert codes[:5] == ["0 Done"] * 5
        assert "12 Too frequent requests" in codes[5:]
        await asyncio.sleep(0.45)  # two tokens back
        assert (await c.get("sim/read"))[1]["retcode"] == "0 Done"


async def test_sessions_drop(sim: Simulator, control: Any, mt5_session) -> None:
    async with mt5_session(sim) as a, mt5_session(sim) as b:
        assert (await a.get("sim/read"))[0] == 200
        status, body = await control.post("/_sim/sessions/drop")
        assert (status, body) == (200, {"dropped": 2})
        await asyncio.sleep(0.05)
        assert sim.stats()["sessions_live"] == 0
        assert sim.stats()["connections_live"] == 1  # the control connection
        for client in (a, b):
            try:
                status, _ = await client.get("sim/read")
            except aiohttp.ServerDisconnectedError:
                status = 0
            assert status in (0, 403)


async def test_sessions_drop_from_own_session(sim: Simulator, mt5_session) -> None:
    async with mt5_session(sim) as c:
        async with c.http.post(c.base_url + "/_sim/sessions/drop") as resp:
            assert await resp.json() == {"dropped": 1}
            assert resp.headers["Connection"].lower() == "close"
        assert await c.get("sim/read") == (403, None)


async def test_reset(sim: Simulator, control: Any, mt5_session) -> None:
    async with mt5_session(sim) as c:
        await c.get("sim/apply")
        await _set(control, error_rate=1.0)
        status, body = await control.post("/_sim/reset")
        assert (status, body) == (200, {"reset": True})
        assert sim.broker.resets == 1  # type: ignore[attr-defined]
        _, faults = await control.get("/_sim/faults")
        assert faults["error_rate"] == 0.0
        _, stats = await control.get("/_sim/stats")
        assert stats["requests"] == {}
        assert stats["handshakes"] == {"started": 0, "completed": 0, "failed": 0}
        assert stats["balance_operations"]["count"] == 0
        # Sessions survive a reset.
        assert (await c.get("sim/read"))[1]["retcode"] == "0 Done"


async def test_in_process_controls(sim: Simulator, mt5_session) -> None:
    async with mt5_session(sim) as c:
        sim.set_faults_json({"error_rate": 1, "error_retcode": 9})
        assert (await c.get("sim/read"))[1] == {"retcode": "9 Operation timeout"}
        sim.clear_faults()
        assert (await c.get("sim/read"))[1]["retcode"] == "0 Done"
        assert sim.drop_sessions() == 1


async def test_stop_is_idempotent_and_closes_connections(mt5_session) -> None:
    config = SimConfig(tls=False, ticks_per_second=0)
    sim = Simulator(config, commands=STAND_INS, broker_factory=FakeBroker)
    await sim.start()
    async with mt5_session(sim) as c:
        await sim.stop()
        await sim.stop()
        with pytest.raises(aiohttp.ClientConnectionError):
            await c.get("sim/read")
    assert "stopped" in repr(sim)
