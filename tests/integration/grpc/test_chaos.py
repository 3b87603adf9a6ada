"""Chaos: thousands of deposits with retries and repeated request_ids while mt5sim
drops sessions and connections (before and after applying writes).

Afterwards every distinct request_id is applied at most once, and exactly the ones
the gateway reported as applied are applied: checked against the simulator's deals
(the comments carry the reconciliation tags), ``/_sim/stats`` per-login sums and the
gateway's audit log. Bounded: a fixed number of operations, a time limit, no sleeps
longer than a fault phase.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import grpc
import pytest
from mt5gateway.v1 import trade_pb2
from mt5gateway.v1 import trade_service_pb2 as ts
from mt5gateway_server.mapping.money import money_to_proto
from mt5gateway_server.settings import AuditSettings, TelemetrySettings
from mt5gateway_server.writes.balance import reconciliation_tag

from .conftest import decode_error, mt5_server

if TYPE_CHECKING:
    from pathlib import Path

    from mt5sim import Simulator

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

OPERATIONS = 2000  # distinct request_ids
CALLERS = 48
DUPLICATE_SHARE = 0.3  # operations also sent by a second, concurrent caller
MAX_ATTEMPTS = 8  # per caller and operation (retries keep the request_id)
LOGINS = list(range(100_000, 100_040))
# Seconds for the storm: jobs not started by then are left out (a loaded machine
# runs fewer operations; every check below still holds for the ones sent).
TIME_LIMIT = 35.0
# After the storm: the settle window (3 x the 3 s read timeout) plus margin.
SETTLE_SECONDS = 20.0
MIN_SENT = 300
# (faults, seconds): one after the other, round and round, sessions dropped between.
FAULT_PHASES: list[tuple[dict[str, Any], float]] = [
    # The answer is lost after MT5 applied the write: must be reconciled, not redone.
    ({"drop_rate": 0.15, "drop_after_apply": True, "commands": ["trade/balance"]}, 0.4),
    # Requests of every kind vanish before they are handled (connections dropped).
    ({"drop_rate": 0.05}, 0.4),
    # Dropped after apply everywhere (reads too).
    ({"drop_rate": 0.05, "drop_after_apply": True}, 0.4),
    # MT5 unreachable for writes' answers and for the reconciliation reads: outcomes
    # stay unknown (DEADLINE_EXCEEDED MT5_OUTCOME_UNKNOWN) until a repeat can tell.
    (
        {
            "drop_rate": 1.0,
            "drop_after_apply": True,
            "commands": ["trade/balance", "deal/get_batch"],
        },
        1.0,
    ),
    ({}, 0.4),
]


@dataclass
class Op:
    request_id: str
    login: int
    amount: Decimal
    # What callers were told: deal tickets of successes, codes of final failures.
    applied: set[int] = field(default_factory=set)
    final_codes: list[str] = field(default_factory=list)
    sent: bool = False

    @property
    def settled(self) -> bool:
        return bool(self.applied or self.final_codes)

    def request(self) -> ts.CreateBalanceOperationRequest:
        return ts.CreateBalanceOperationRequest(
            request_id=self.request_id,
            login=self.login,
            type=trade_pb2.BALANCE_OPERATION_TYPE_BALANCE,
            amount=money_to_proto(self.amount, ""),
            comment="chaos",
        )


@dataclass
class Tally:
    calls: int = 0
    answers: Counter[str] = field(default_factory=Counter)
    replayed: int = 0


async def _send(stub: Any, op: Op, tally: Tally, rng: random.Random) -> None:
    """One caller's view of one operation: retry with the same request_id until an
    answer that is final (success or a business error) or attempts run out."""
    op.sent = True
    for _ in range(MAX_ATTEMPTS):
        tally.calls += 1
        try:
            reply = await stub.CreateBalanceOperation(op.request(), timeout=15)
        except grpc.aio.AioRpcError as exc:
            failure = decode_error(exc)
            tally.answers[f"{failure.code.name}/{failure.reason}"] += 1
            if failure.code in {
                grpc.StatusCode.UNAVAILABLE,
                grpc.StatusCode.ABORTED,
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                grpc.StatusCode.DEADLINE_EXCEEDED,
            }:
                await asyncio.sleep(rng.uniform(0.0, 0.05))
                continue
            op.final_codes.append(failure.reason)
            return
        tally.answers["OK"] += 1
        tally.replayed += reply.replayed
        op.applied.add(reply.balance_operation.deal_ticket)
        return


async def _chaos(sim: Simulator, stop: asyncio.Event, counts: Counter[str]) -> None:
    phase = 0
    while not stop.is_set():
        config, seconds = FAULT_PHASES[phase % len(FAULT_PHASES)]
        sim.set_faults_json(config)
        phase += 1
        counts["phases"] += 1
        with_drop = phase % 2 == 0
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)
        if with_drop:
            counts["session_drops"] += sim.drop_sessions()
    sim.clear_faults()


def _check_deals(sim: Simulator, ops: list[Op], stats: dict[str, Any]) -> list[Op]:
    """At most once per request_id, and applied exactly when reported applied."""
    deals_by_tag: dict[str, list[Any]] = {}
    for deal in sim.broker.deals.values():
        if deal.comment.startswith("gw:"):
            deals_by_tag.setdefault(deal.comment[:13], []).append(deal)
    applied_ops = [op for op in ops if op.applied]
    for op in ops:
        found = deals_by_tag.get(reconciliation_tag(op.request_id), [])
        assert len(found) <= 1, f"{op.request_id} applied {len(found)} times"
        assert len(op.applied) <= 1, f"{op.request_id} answered two deal tickets"
        if op.applied:
            assert found, f"{op.request_id} reported applied but no deal"
            assert {found[0].ticket} == op.applied
            assert (found[0].login, found[0].profit) == (op.login, op.amount)
        else:
            assert not found, f"{op.request_id} applied but never reported"
    # No deal the gateway made is unaccounted for.
    assert sum(len(v) for v in deals_by_tag.values()) == len(applied_ops)
    expected: dict[int, Decimal] = {}
    for op in applied_ops:
        expected[op.login] = expected.get(op.login, Decimal(0)) + op.amount
    sums = stats["balance_operations"]["per_login"]
    assert {int(k): Decimal(v) for k, v in sums.items()} == expected
    assert stats["balance_operations"]["count"] == len(applied_ops)
    return applied_ops


def _check_audit(
    audit_file: Path, applied_ops: list[Op]
) -> tuple[Counter[str], Counter[str]]:
    """One "succeeded" audit record per applied operation, none for the others."""
    records = [json.loads(line) for line in audit_file.read_text().splitlines()]
    outcomes = Counter(r["outcome"] for r in records)
    reconciled = Counter(r["changes"]["reconciled"] for r in records if "changes" in r)
    succeeded = [r["request_id"] for r in records if r["outcome"] == "succeeded"]
    assert sorted(succeeded) == sorted(op.request_id for op in applied_ops)
    return outcomes, reconciled


async def test_deposits_under_chaos_apply_exactly_once(
    sim: Simulator, make_gateway: Any, tmp_path: Path
) -> None:
    rng = random.Random(20261125)
    audit_file = tmp_path / "audit.jsonl"
    settings: dict[str, Any] = {
        "mt5": {"main": mt5_server(sim, pool_size=4, read_timeout_seconds=3.0)},
        "audit": AuditSettings(file=audit_file),
        "telemetry": TelemetrySettings(
            metrics_listen=None, log_format="json", log_level="error"
        ),
    }
    ops = [
        Op(
            str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            rng.choice(LOGINS),
            Decimal(rng.randint(1, 100_000)) / 100,
        )
        for _ in range(OPERATIONS)
    ]
    jobs: list[Op] = list(ops)
    jobs += [op for op in ops if rng.random() < DUPLICATE_SHARE]
    rng.shuffle(jobs)
    tally = Tally()
    faults: Counter[str] = Counter()
    started = time.monotonic()

    async with make_gateway(sim, **settings) as gw:
        queue: asyncio.Queue[Op] = asyncio.Queue()
        for job in jobs:
            queue.put_nowait(job)

        async def caller() -> None:
            while time.monotonic() - started < TIME_LIMIT:
                try:
                    op = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                await _send(gw.trade, op, tally, rng)

        stop = asyncio.Event()
        chaos = asyncio.create_task(_chaos(sim, stop, faults))
        await asyncio.gather(*(caller() for _ in range(CALLERS)))
        stop.set()
        await chaos
        storm_seconds = time.monotonic() - started
        ops = [op for op in ops if op.sent]
        assert len(ops) >= MIN_SENT, f"only {len(ops)} operations in {TIME_LIMIT} s"

        # Faults off: anything left unknown is asked again (a repeat only ever looks
        # up or replays; it writes only once the write's settle window, 3 read
        # timeouts = 9 s here, has passed), for a bounded time.
        unsettled = [op for op in ops if not op.settled]
        settle_deadline = time.monotonic() + SETTLE_SECONDS
        while time.monotonic() < settle_deadline:
            waiting = [op for op in ops if not op.settled]
            if not waiting:
                break
            await asyncio.sleep(1.0)  # the breaker closes, the window runs out
            for start in range(0, len(waiting), CALLERS):
                chunk = waiting[start : start + CALLERS]
                await asyncio.gather(*(_send(gw.trade, op, tally, rng) for op in chunk))
        assert all(op.settled for op in ops), "outcomes still unknown without faults"
        stats = await gw.stats()

    applied_ops = _check_deals(sim, ops, stats)
    outcomes, reconciled = _check_audit(audit_file, applied_ops)

    figures = {
        "operations_sent": len(ops),
        "jobs_incl_duplicates": len(jobs) - queue.qsize(),
        "rpc_calls": tally.calls,
        "answers": dict(tally.answers),
        "replayed_answers": tally.replayed,
        "applied": len(applied_ops),
        "not_applied_final": sum(1 for op in ops if not op.applied),
        "mt5_trade_balance_requests": stats["requests"].get("trade/balance", 0),
        "faults_injected": stats["faults_injected"],
        "connections_dropped": stats["connections_dropped"],
        "session_drops": faults["session_drops"],
        "fault_phases": faults["phases"],
        "audit_outcomes": dict(outcomes),
        "reconciled": dict(reconciled),
        "unsettled_after_storm": len(unsettled),
        "storm_seconds": round(storm_seconds, 1),
    }
    print("chaos figures:", json.dumps(figures, default=str))  # noqa: T201
    # The storm really was stormy.
    assert stats["faults_injected"].get("drop", 0) > 50
    assert reconciled.get("found", 0) > 0
    assert len(applied_ops) > len(ops) * 0.9
