"""Edge cases of the write engine found in review, each once a way to apply a write
twice or to answer a final-looking error for a write that applied: a settle window
judged after a slow look-up, a prepare check failing on a reconcile, and open records
expiring with the TTL (memory, SQLite and a real redis-server)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from mt5gateway_server.webapi import errors as w
from mt5gateway_server.writes import (
    DATABASE_FILE,
    Caller,
    Lookup,
    MemoryWriteStore,
    OutcomeUnknownError,
    RedisWriteStore,
    SqliteWriteStore,
    Verdict,
    WriteEngine,
    fingerprint,
)
from mt5gateway_server.writes.balance import AmountError
from redis.asyncio import Redis

pytestmark = pytest.mark.integration

METHOD = "/test/Deposit"
SETTLE = 30.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Ledger:
    """A fake MT5: applied effects, a 'late' write that lands later, a slow look-up."""

    clock: Any
    applied: int = 0
    sends: int = 0
    plan: list[str] = field(default_factory=list)
    held: int = 0
    lookup_seconds: float = 0.0
    land_during_lookup: bool = False
    prepare_error: Exception | None = None


class Op:
    method = METHOD
    server = "main"
    repeatable = False

    def __init__(self, ledger: Ledger, request_id: str = "r1") -> None:
        self.l = ledger
        self.request_id = request_id
        self.fingerprint = fingerprint(METHOD, b"x")

    async def prepare(self) -> None:
        if self.l.prepare_error is not None:
            raise self.l.prepare_error

    async def send(self) -> int:
        self.l.sends += 1
        step = self.l.plan.pop(0) if self.l.plan else "ok"
        if step == "late":  # the answer is lost; the write lands later
            self.l.held += 1
            raise w.OutcomeUnknown("lost", command="x", params={})
        if step == "lost":  # applied, answer lost
            self.l.applied += 1
            raise w.OutcomeUnknown("lost", command="x", params={})
        self.l.applied += 1
        return self.l.applied

    async def result(self, answer: int) -> int:
        return answer

    async def find(self, record: Any) -> Lookup[int]:
        del record
        snapshot = self.l.applied  # what MT5 had when the search ran
        if self.l.lookup_seconds:
            self.l.clock.now += self.l.lookup_seconds  # a slow deal search
        if self.l.land_during_lookup and self.l.held:
            self.l.applied += self.l.held  # the late write lands (inside the window)
            self.l.held = 0
        return Lookup.found(snapshot) if snapshot else Lookup(Verdict.ABSENT)

    def evidence(self, answer: int) -> dict[str, str]:
        del answer
        return {}

    def encode(self, result: int) -> bytes:
        return str(result).encode()

    def decode(self, payload: bytes) -> int:
        return int(payload)

    def audit_facts(self, result: Any) -> dict[str, Any]:
        del result
        return {"operation": "deposit", "login": 1}


CALLER = Caller("k", "p")


# ---- 1. settle window judged at the END of a slow look-up, not its start
@pytest.mark.parametrize("backend", ["memory", "sqlite"])
async def test_settle_checked_after_slow_lookup_duplicates(
    backend: str, tmp_path: Any
) -> None:
    clock = Clock()
    store = (
        MemoryWriteStore(clock=clock)
        if backend == "memory"
        else await SqliteWriteStore.open(tmp_path / DATABASE_FILE, clock=clock)
    )
    engine = WriteEngine(store, settle_seconds=lambda _: SETTLE)
    ledger = Ledger(clock, plan=["late"])
    with pytest.raises(OutcomeUnknownError):
        await engine.run(
            Op(ledger), CALLER
        )  # failed at T0; UNKNOWN, in flight until T0
    # A repeat 0.5 s before the window closes; the deal search takes 1 s, and the late
    # write lands (at ~T0+29.7, inside the window) after the search's snapshot.
    clock.now += SETTLE - 0.5
    ledger.lookup_seconds = 1.0
    ledger.land_during_lookup = True
    with contextlib.suppress(OutcomeUnknownError):
        await engine.run(Op(ledger), CALLER)
    await store.aclose()
    assert ledger.applied == 1, f"applied {ledger.applied} times (sends={ledger.sends})"


# ---- 2. prepare failing on a RECONCILE claim answers a final-looking error
async def test_prepare_error_on_reconcile_hides_applied_write(tmp_path: Any) -> None:
    clock = Clock()
    store = await SqliteWriteStore.open(tmp_path / DATABASE_FILE, clock=clock)
    engine = WriteEngine(store, settle_seconds=lambda _: SETTLE)
    ledger = Ledger(clock, plan=["lost"])
    ledger.lookup_seconds = 0

    class Blind(Op):
        async def find(self, record: Any) -> Lookup[int]:
            del record
            return Lookup(Verdict.UNKNOWN)  # the first look-up cannot tell

    with pytest.raises(OutcomeUnknownError):
        await engine.run(Blind(ledger), CALLER)
    assert ledger.applied == 1
    # The account's group changed digits / the user was moved: prepare now refuses.
    ledger.prepare_error = AmountError("amount", "the account currency has 0 decimals")
    clock.now += 60
    with pytest.raises(OutcomeUnknownError):  # what it should be: the deposit applied
        await engine.run(Op(ledger), CALLER)
    await store.aclose()


# ---- 3. open records (attempted/unknown) must not expire with the TTL


@pytest.mark.parametrize("backend", ["memory", "sqlite", "redis"])
async def test_an_open_record_outlives_the_ttl(
    backend: str, redis_server: Any, tmp_path: Any
) -> None:
    redis_server.ensure_running()
    redis = Redis.from_url(redis_server.url)
    await redis.flushdb()
    store: Any
    if backend == "redis":
        store = RedisWriteStore(redis, ttl_seconds=1.0)
    elif backend == "sqlite":
        store = await SqliteWriteStore.open(tmp_path / DATABASE_FILE, ttl_seconds=1.0)
    else:
        store = MemoryWriteStore(ttl_seconds=1.0)
    engine = WriteEngine(store, settle_seconds=lambda _: 0.01)

    class Blind(Op):
        async def find(self, record: Any) -> Lookup[int]:
            del record
            return Lookup(Verdict.UNKNOWN)  # MT5 deal search down

    ledger = Ledger(time.time, plan=["lost"])
    with pytest.raises(OutcomeUnknownError):
        await engine.run(Blind(ledger), CALLER)
    await asyncio.sleep(1.3)  # stands for ttl_seconds (24 h) passing
    with contextlib.suppress(OutcomeUnknownError):
        await engine.run(Blind(ledger), CALLER)
    await store.aclose()
    await redis.aclose()
    assert ledger.sends == 1, (
        f"re-sent blindly: sends={ledger.sends} applied={ledger.applied}"
    )
