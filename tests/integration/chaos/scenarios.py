"""The money chaos scenarios, shared by the tests and ``bench/chaos_money.py``.

A scenario is a fault schedule (``Chaos``) run beside the driver's storm against a
fresh stack; then faults off, a settle round for deposits still without a definitive
answer, a replay of a sample, a graceful gateway stop, and the verifiers. Chaos paces
itself on the driver's progress, so every fault lands while deposits are in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

from .driver import Driver, DriverConfig, make_deposits
from .harness import LOGINS, GatewayConfig, Stack, open_stack
from .verify import Verdict, read_audit, verify

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine
    from pathlib import Path

    from .driver import Deposit

# Runs beside the storm until ``driver.finished``; returns its figures.
Chaos: TypeAlias = "Callable[[Stack, Driver], Coroutine[Any, Any, dict[str, Any]]]"
WRITE_MARKER = b"/trade/balance"  # in the request line of every balance write


@dataclass(frozen=True)
class RunConfig:
    deposits: int = 1000
    seed: int = 20261125
    storm_seconds: float = 120.0  # bound on the storm; the settle round has its own
    settle_seconds: float = 40.0
    replay_sample: int = 100
    driver: DriverConfig = field(default_factory=DriverConfig)
    # Write evidence.json (answers, deals, mt5sim stats, audit) into the work
    # directory when a rule broke, for a post-mortem beside gateway.log.
    keep_evidence: bool = False


@dataclass
class Outcome:
    figures: dict[str, Any]
    verdict: Verdict

    def report(self) -> str:
        return "chaos figures: " + json.dumps(self.figures, default=str)

    def check(self) -> None:
        """0 duplicated, 0 lost, audit complete; the message lists what broke."""
        if self.verdict.problems:
            lines = "\n  ".join(self.verdict.problems)
            seen = "".join(f"\n  seen: {t}" for t in self.verdict.timelines)
            raise AssertionError(
                f"{self.figures['scenario']} / {self.figures['store']}: "
                f"{len(self.verdict.problems)} broken rule(s):\n  {lines}{seen}\n"
                f"{self.report()}"
            )


async def run_scenario(
    name: str,
    workdir: Path,
    gateway: GatewayConfig,
    run: RunConfig,
    chaos: Chaos,
) -> Outcome:
    rng = random.Random(run.seed)
    deposits = make_deposits(run.deposits, rng, LOGINS)
    began = time.monotonic()
    async with open_stack(workdir, gateway) as stack:
        async with Driver(stack.gateway.target, deposits, run.driver, rng) as driver:
            async with asyncio.TaskGroup() as group:
                group.create_task(driver.run(began + run.storm_seconds))
                faults = group.create_task(chaos(stack, driver))
            storm_seconds = time.monotonic() - began
            after_storm = sum(1 for d in deposits if d.sent and not d.settled)
            await stack.calm()
            settle_by = time.monotonic() + run.settle_seconds
            await driver.settle(settle_by)
            await driver.replay(run.replay_sample, settle_by)
        exit_code = await stack.gateway.stop()
        sim_stats = await stack.sim.stats()
        verdict = await verify(stack, deposits)
        if run.keep_evidence and verdict.problems:
            await _keep_evidence(workdir / "evidence.json", stack, deposits)
        figures: dict[str, Any] = {
            "scenario": name,
            "store": str(gateway.store),
            "deposits": run.deposits,
            "callers": run.driver.callers,
            **verdict.figures(),
            "unsettled_after_storm": after_storm,
            "rpc_calls": driver.tally.calls,
            "retries": driver.tally.retries,
            "unknown_answers": driver.tally.unknown_answers,
            "replayed_answers": driver.tally.replayed,
            "echo_sends": driver.tally.echo_sends,
            "answers": dict(driver.tally.answers),
            **faults.result(),
            "gateway_kills": stack.gateway.kills,
            "gateway_starts": stack.gateway.starts,
            "gateway_exit_code": exit_code,
            "proxy": asdict(stack.proxy.stats),
            "mt5_balance_requests": sim_stats["requests"].get("trade/balance", 0),
            "mt5_faults_injected": sim_stats["faults_injected"],
            "mt5_connections_dropped": sim_stats["connections_dropped"],
            "storm_seconds": round(storm_seconds, 1),
            "total_seconds": round(time.monotonic() - began, 1),
            "broken_rules": verdict.problems,
        }
    return Outcome(figures, verdict)


async def _keep_evidence(path: Path, stack: Stack, deposits: list[Deposit]) -> None:
    """What the callers were told, the balance deals and stats of mt5sim, and the
    audit, as JSON (mt5sim keeps its deals in memory only)."""
    _, audit = await read_audit(stack)
    evidence = {
        "deposits": [
            {
                "request_id": d.request_id,
                "tag": d.tag,
                "login": d.login,
                "amount": str(d.amount),
                "tickets": d.tickets,
                "rejections": d.rejections,
                "wrong_answers": d.wrong_answers,
                "history": d.history,
            }
            for d in deposits
            if d.sent
        ],
        "deals": await stack.sim.balance_deals(LOGINS, stack.started_at),
        "sim_stats": await stack.sim.stats(),
        "audit": [asdict(row) for row in audit or []],
    }
    await asyncio.to_thread(path.write_text, json.dumps(evidence, default=str))


async def _reached(driver: Driver, fraction: float) -> bool:
    """Wait until ``fraction`` of the deposits are answered; False if the storm
    ended first."""
    goal = fraction * len(driver.deposits)
    while driver.answered < goal:
        if driver.finished.is_set():
            return False
        await asyncio.sleep(0.02)
    return not driver.finished.is_set()


async def _pause(driver: Driver, seconds: float) -> bool:
    """Sleep, or return False as soon as the storm ends."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(driver.finished.wait(), seconds)
    return not driver.finished.is_set()


def gateway_kills(kills: int) -> Chaos:
    """kill -9 the gateway ``kills`` times, evenly over the deposits, and start it
    again at once on the same port (callers see UNAVAILABLE meanwhile)."""

    async def chaos(stack: Stack, driver: Driver) -> dict[str, Any]:
        restarts: list[float] = []
        for k in range(1, kills + 1):
            if not await _reached(driver, k / (kills + 1)):
                break
            await stack.gateway.kill()
            down = time.monotonic()
            await stack.gateway.start()
            restarts.append(time.monotonic() - down)
        return {"restart_seconds_max": round(max(restarts, default=0.0), 2)}

    return chaos


def late_writes(hold_seconds: float, holds: int, every: int = 3) -> Chaos:
    """The proxy holds one in ``every`` balance writes for ``hold_seconds`` (more
    than the gateway's read timeout), ``holds`` in all, and then delivers them."""

    async def chaos(stack: Stack, driver: Driver) -> dict[str, Any]:
        stack.proxy.hold(WRITE_MARKER, seconds=hold_seconds, count=holds, every=every)
        while stack.proxy.holds_left and await _pause(driver, 0.1):
            pass
        return {"hold_seconds": hold_seconds}

    return chaos


@dataclass(frozen=True)
class Phase:
    name: str
    seconds: float
    sim: dict[str, Any] = field(default_factory=dict)  # POST /_sim/faults body
    proxy_latency: tuple[float, float] = (0.0, 0.0)  # client->server, server->client
    outage: bool = False  # the proxy refuses connections and drops the open ones
    drop_sessions_after: bool = False


FAULT_PHASES = (
    Phase(
        "answers of applied writes lost",
        0.6,
        {"drop_rate": 0.15, "drop_after_apply": True, "commands": ["trade/balance"]},
    ),
    Phase("MT5 unreachable (connections refused)", 1.0, outage=True),
    Phase(
        "MT5 rejects some writes (10021)",
        0.6,
        {"error_rate": 0.05, "error_retcode": 10021, "commands": ["trade/balance"]},
        drop_sessions_after=True,
    ),
    Phase(
        "MT5 busy (7) and slow",
        0.6,
        {"error_rate": 0.2, "error_retcode": 7, "latency_ms": 30, "jitter_ms": 60},
    ),
    Phase(
        "writes answered 9 (timeout: outcome open)",
        0.6,
        {"error_rate": 0.1, "error_retcode": 9, "commands": ["trade/balance"]},
        drop_sessions_after=True,
    ),
    Phase("network latency both ways", 0.6, proxy_latency=(0.01, 0.02)),
    Phase("requests of every kind dropped", 0.6, {"drop_rate": 0.05}),
    Phase(
        "writes and reconciliation reads unreachable",
        1.0,
        {
            "drop_rate": 1.0,
            "drop_after_apply": True,
            "commands": ["trade/balance", "deal/get_batch"],
        },
        drop_sessions_after=True,
    ),
    Phase("calm", 0.6),
)


def sim_faults(phases: tuple[Phase, ...] = FAULT_PHASES) -> Chaos:
    """Round and round the phases until the storm ends."""

    async def chaos(stack: Stack, driver: Driver) -> dict[str, Any]:
        counts: Counter[str] = Counter()
        index = 0
        while not driver.finished.is_set():
            phase = phases[index % len(phases)]
            index += 1
            await stack.sim.set_faults(phase.sim)
            c2s, s2c = phase.proxy_latency
            stack.proxy.set_latency(client_to_server=c2s, server_to_client=s2c)
            await stack.proxy.refuse_new(phase.outage)
            counts["fault_phases"] += 1
            running = await _pause(driver, phase.seconds)
            if phase.drop_sessions_after:
                counts["session_drops"] += await stack.sim.drop_sessions()
            if not running:
                break
        return dict(counts)

    return chaos


def redis_restarts(restarts: int, down_seconds: float = 1.0) -> Chaos:
    """kill -9 redis-server (AOF, appendfsync always) ``restarts`` times, evenly
    over the deposits; it comes back on the same port after ``down_seconds``."""

    async def chaos(stack: Stack, driver: Driver) -> dict[str, Any]:
        assert stack.redis is not None, "the Redis store only"
        for k in range(1, restarts + 1):
            if not await _reached(driver, k / (restarts + 1)):
                break
            await stack.redis.kill()
            await asyncio.sleep(down_seconds)
            await stack.redis.start()
        return {"redis_kills": stack.redis.kills}

    return chaos
