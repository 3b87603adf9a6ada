"""The claim state machine on every backend: memory, SQLite (a real file) and Redis
(a real redis-server). One suite, so the backends cannot drift apart."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from typing import TYPE_CHECKING

import pytest
from mt5gateway_server.audit import AuditOutcome, AuditRecord
from mt5gateway_server.cache import keys
from mt5gateway_server.writes import (
    DATABASE_FILE,
    ClaimLostError,
    ClaimStatus,
    IdempotencyConflictError,
    IdempotencyPendingError,
    MemoryWriteStore,
    RecordState,
    RedisWriteStore,
    SqliteWriteStore,
    StoreConfig,
    WriteRecord,
    WriteStore,
    fingerprint,
    open_store,
)
from redis.asyncio import Redis

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from pathlib import Path

pytestmark = pytest.mark.integration

METHOD = "/mt5gateway.v1.TradeService/CreateBalanceOperation"
FP = fingerprint(METHOD, b"login=1001 amount=10.00 USD")
LEASE = 0.3  # short, so a dead owner's lease runs out within a test


def audit(outcome: AuditOutcome, request_id: str = "r1") -> AuditRecord:
    return AuditRecord(
        method=METHOD,
        operation="deposit",
        outcome=outcome,
        server="main",
        request_id=request_id,
        login=1001,
        amount="10.00",
    )


@pytest.fixture(params=["memory", "sqlite", "redis"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def make_store(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Callable[..., asyncio.Future[WriteStore]]]:
    """Opens stores of the backend on the same data (a second one = a restart)."""
    opened: list[WriteStore] = []
    redis: Redis | None = None
    if backend == "redis":
        server = request.getfixturevalue("redis_server")  # sync: usable from here
        server.ensure_running()
        redis = Redis.from_url(server.url)
        await redis.flushdb()

    async def make(**kw: float) -> WriteStore:
        options = {"lease_seconds": LEASE, "wait_timeout_seconds": 2.0, **kw}
        store: WriteStore
        if backend == "memory":
            store = MemoryWriteStore(**options)  # type: ignore[arg-type]
        elif backend == "sqlite":
            store = await SqliteWriteStore.open(
                tmp_path / DATABASE_FILE,
                **options,  # type: ignore[arg-type]
            )
        else:
            assert redis is not None
            store = RedisWriteStore(redis, **options)  # type: ignore[arg-type]
        opened.append(store)
        return store

    make.redis = redis  # type: ignore[attr-defined]
    yield make  # type: ignore[misc]
    for store in opened:
        await store.aclose()
    if redis is not None:
        await redis.aclose()


@pytest.fixture
async def store(make_store: Callable[..., asyncio.Future[WriteStore]]) -> WriteStore:
    return await make_store()


async def test_new_then_replay(store: WriteStore) -> None:
    async with store.claim(METHOD, "r1", FP) as claim:
        assert claim.status is ClaimStatus.NEW
        await claim.attempt(audit(AuditOutcome.ATTEMPTING))
        final = await claim.complete(b"answer", audit(AuditOutcome.SUCCEEDED))
    assert final.state is RecordState.SUCCEEDED
    assert final.attempts == 1
    assert final.attempted_at is not None
    async with store.claim(METHOD, "r1", FP) as again:
        assert again.status is ClaimStatus.REPLAY
        assert again.existing is not None
        assert again.existing.payload == b"answer"
    got = await store.get(METHOD, "r1")
    assert got is not None
    assert got.state is RecordState.SUCCEEDED


async def test_failed_outcome_replays(store: WriteStore) -> None:
    async with store.claim(METHOD, "r1", FP) as claim:
        await claim.attempt(audit(AuditOutcome.ATTEMPTING))
        await claim.fail(b"no money", audit(AuditOutcome.FAILED), {"retcode": "10019"})
    async with store.claim(METHOD, "r1", FP) as again:
        assert again.status is ClaimStatus.REPLAY
        assert again.existing is not None
        assert again.existing.state is RecordState.FAILED
        assert again.existing.details == {"retcode": "10019"}


async def test_conflicting_payload_and_scoping(store: WriteStore) -> None:
    async with store.claim(METHOD, "r1", FP) as claim:
        await claim.release()
    async with store.claim(METHOD, "r1", FP) as claim:
        await claim.complete(b"x", audit(AuditOutcome.SUCCEEDED))
    with pytest.raises(IdempotencyConflictError):
        async with store.claim(METHOD, "r1", fingerprint(METHOD, b"other")):
            pass
    # The same id under another method is another request.
    async with store.claim(METHOD + "X", "r1", FP) as other:
        assert other.status is ClaimStatus.NEW
        await other.release()


async def test_concurrent_duplicate_waits_for_the_first(store: WriteStore) -> None:
    started = asyncio.Event()
    finish = asyncio.Event()

    async def first() -> None:
        async with store.claim(METHOD, "r1", FP) as claim:
            await claim.attempt(audit(AuditOutcome.ATTEMPTING))
            started.set()
            await finish.wait()
            await claim.complete(b"one", audit(AuditOutcome.SUCCEEDED))

    async def second() -> bytes:
        await started.wait()
        async with store.claim(METHOD, "r1", FP) as claim:
            assert claim.status is ClaimStatus.REPLAY
            assert claim.existing is not None
            return claim.existing.payload

    task = asyncio.create_task(first())
    waiter = asyncio.create_task(second())
    await asyncio.sleep(0.05)
    assert not waiter.done()
    finish.set()
    assert await waiter == b"one"
    await task


async def test_duplicate_gives_up_after_wait_timeout(store: WriteStore) -> None:
    async with store.claim(METHOD, "r1", FP) as claim:
        await claim.attempt(audit(AuditOutcome.ATTEMPTING))
        with pytest.raises(IdempotencyPendingError):
            async with store.claim(METHOD, "r1", FP, wait_timeout=0.05):
                pass
        await claim.complete(b"x", audit(AuditOutcome.SUCCEEDED))


async def test_exit_after_attempt_marks_unknown_then_reconciles(
    store: WriteStore,
) -> None:
    async def crash() -> None:
        async with store.claim(METHOD, "r1", FP) as claim:
            await claim.attempt(audit(AuditOutcome.ATTEMPTING))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await crash()
    record = await store.get(METHOD, "r1")
    assert record is not None
    assert record.state is RecordState.UNKNOWN
    assert record.details == {"reason": "RuntimeError"}
    async with store.claim(METHOD, "r1", FP) as again:
        assert again.status is ClaimStatus.RECONCILE
        assert again.existing is not None
        assert again.existing.attempted_at == record.attempted_at
        await again.complete(b"found", audit(AuditOutcome.SUCCEEDED))


async def test_cancellation_after_attempt_marks_unknown(store: WriteStore) -> None:
    entered = asyncio.Event()

    async def body() -> None:
        async with store.claim(METHOD, "r1", FP) as claim:
            await claim.attempt(audit(AuditOutcome.ATTEMPTING))
            entered.set()
            await asyncio.sleep(30)

    task = asyncio.create_task(body())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    record = await store.get(METHOD, "r1")
    assert record is not None
    assert record.state is RecordState.UNKNOWN


async def test_exit_before_attempt_forgets_the_id(store: WriteStore) -> None:
    with pytest.raises(ValueError, match="read failed"):
        async with store.claim(METHOD, "r1", FP):
            raise ValueError("read failed")
    assert await store.get(METHOD, "r1") is None
    async with store.claim(METHOD, "r1", FP) as again:
        assert again.status is ClaimStatus.NEW
        await again.release()


async def test_release_after_attempt_is_not_sent(store: WriteStore) -> None:
    async with store.claim(METHOD, "r1", FP) as claim:
        await claim.attempt(audit(AuditOutcome.ATTEMPTING))
        await claim.release(audit(AuditOutcome.NOT_SENT))
    assert await store.get(METHOD, "r1") is None


async def test_release_of_a_reconcile_claim_restores_the_earlier_record(
    store: WriteStore,
) -> None:
    async with store.claim(METHOD, "r1", FP) as claim:
        await claim.attempt(audit(AuditOutcome.ATTEMPTING))
        first = await claim.mark_unknown({"error": "lost"}, audit(AuditOutcome.UNKNOWN))
    async with store.claim(METHOD, "r1", FP) as again:
        assert again.status is ClaimStatus.RECONCILE
        await again.attempt(audit(AuditOutcome.ATTEMPTING))  # a re-send that ...
        await again.release(audit(AuditOutcome.NOT_SENT))  # ... never left
    kept = await store.get(METHOD, "r1")
    assert kept is not None
    assert kept.state is RecordState.UNKNOWN
    assert kept.attempts == first.attempts
    assert kept.attempted_at == first.attempted_at


async def _crash(store: WriteStore) -> None:
    """The process dies: no renewal, no outcome, its connections gone."""
    await store.aclose()


async def test_dead_owner_before_attempt_is_taken_over_as_new(
    make_store: Callable[..., asyncio.Future[WriteStore]], backend: str
) -> None:
    crashed = await make_store()
    claim = await crashed.claim(METHOD, "r1", FP).__aenter__()
    if backend == "memory":
        await crashed.stop_renewal(claim)  # memory forgets on restart: same process
        restarted = crashed
    else:
        await _crash(crashed)
        restarted = await make_store()
    if backend != "sqlite":  # SQLite ends a dead process's leases at open
        await asyncio.sleep(LEASE + 0.15)
    async with restarted.claim(METHOD, "r1", FP) as taken:
        assert taken.status is ClaimStatus.NEW  # nothing was sent: safe to write
        await taken.attempt(audit(AuditOutcome.ATTEMPTING))
        await taken.complete(b"x", audit(AuditOutcome.SUCCEEDED))
    if backend == "memory":
        with pytest.raises(ClaimLostError):
            await claim.complete(b"late", audit(AuditOutcome.SUCCEEDED))


async def test_dead_owner_after_attempt_must_be_reconciled_after_restart(
    make_store: Callable[..., asyncio.Future[WriteStore]], backend: str
) -> None:
    if backend == "memory":
        pytest.skip("the memory store does not survive a restart (by design)")
    crashed = await make_store()
    claim = await crashed.claim(METHOD, "r1", FP).__aenter__()
    await claim.attempt(audit(AuditOutcome.ATTEMPTING))
    await _crash(crashed)
    restarted = await make_store()
    if backend == "redis":  # shared by replicas: only the lease tells death
        with pytest.raises(IdempotencyPendingError):
            async with restarted.claim(METHOD, "r1", FP, wait_timeout=0.05):
                pass
        await asyncio.sleep(LEASE + 0.15)
    async with restarted.claim(METHOD, "r1", FP) as again:
        assert again.status is ClaimStatus.RECONCILE
        assert again.existing is not None
        assert again.existing.state is RecordState.ATTEMPTED
        assert again.existing.attempts == 1
        await again.mark_unknown({"lookup": "absent"}, audit(AuditOutcome.UNKNOWN))


async def test_sqlite_file_has_one_owner(tmp_path: Path) -> None:
    path = tmp_path / DATABASE_FILE
    first = await SqliteWriteStore.open(path)
    with pytest.raises(RuntimeError, match="another gateway process"):
        await SqliteWriteStore.open(path)
    await first.aclose()
    second = await SqliteWriteStore.open(path)  # the owner is gone: fine
    await second.aclose()


async def test_lease_is_renewed_while_the_owner_runs(store: WriteStore) -> None:
    async with store.claim(METHOD, "r1", FP) as claim:
        await claim.attempt(audit(AuditOutcome.ATTEMPTING))
        await asyncio.sleep(LEASE * 3)  # several leases: renewal keeps it ours
        with pytest.raises(IdempotencyPendingError):
            async with store.claim(METHOD, "r1", FP, wait_timeout=0.05):
                pass
        await claim.complete(b"x", audit(AuditOutcome.SUCCEEDED))


async def test_empty_arguments_rejected(store: WriteStore) -> None:
    with pytest.raises(ValueError, match="non-empty"):
        store.claim(METHOD, "", FP)


async def test_every_transition_commits_its_audit_record(
    make_store: Callable[..., asyncio.Future[WriteStore]],
    backend: str,
    tmp_path: Path,
) -> None:
    store = await make_store()
    async with store.claim(METHOD, "r1", FP) as claim:
        await claim.attempt(audit(AuditOutcome.ATTEMPTING))
        await claim.complete(b"x", audit(AuditOutcome.SUCCEEDED))
    await store.append_audit(audit(AuditOutcome.REPLAYED))
    if backend == "memory":
        assert isinstance(store, MemoryWriteStore)
        outcomes = [r.outcome.value for r in store.audit_records]
    elif backend == "sqlite":
        assert isinstance(store, SqliteWriteStore)
        outcomes = [str(r["outcome"]) for r in await store.audit_rows()]
        # Another connection (an operator's tool) sees the same committed rows.
        with sqlite3.connect(tmp_path / DATABASE_FILE) as db:
            query = "SELECT outcome, amount FROM audit ORDER BY seq"
            rows = db.execute(query).fetchall()
        assert rows[0] == ("attempting", "10.00")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("DELETE FROM audit")
    else:
        redis: Redis = make_store.redis  # type: ignore[attr-defined]
        entries = await redis.xrange(keys.AUDIT_STREAM)
        outcomes = [fields[b"outcome"].decode() for _, fields in entries]
        assert entries[0][1][b"amount"] == b"10.00"
    assert outcomes == ["attempting", "succeeded", "replayed"]


async def test_old_records_without_write_ahead_count_as_attempted() -> None:
    v1 = json.dumps(
        {
            "v": 1,
            "method": METHOD,
            "request_id": "r1",
            "fingerprint": FP,
            "state": "pending",
            "created_at": 1.0,
            "updated_at": 2.0,
            "payload": "",
            "details": [],
        }
    )
    record = WriteRecord.from_json(v1)
    assert record.state is RecordState.ATTEMPTED
    assert record.attempted_at == 2.0
    assert WriteRecord.from_json(record.to_json()) == record


async def test_open_store_picks_the_backend(tmp_path: Path, redis: Redis) -> None:
    sqlite_store = await open_store(
        StoreConfig(backend="sqlite", sqlite_path=tmp_path / "s" / DATABASE_FILE)
    )
    assert sqlite_store.durable
    assert (tmp_path / "s" / DATABASE_FILE).exists()
    await sqlite_store.aclose()
    redis_store = await open_store(StoreConfig(backend="redis"), redis)
    assert isinstance(redis_store, RedisWriteStore)
    assert redis_store.durable
    memory = await open_store(StoreConfig(backend="memory"))
    assert not memory.durable
    with pytest.raises(ValueError, match="Redis client"):
        await open_store(StoreConfig(backend="redis"))


async def test_redis_record_ttl_is_the_configured_one(redis: Redis) -> None:
    store = RedisWriteStore(redis, ttl_seconds=90_000)
    async with store.claim(METHOD, "r9", FP) as claim:
        await claim.complete(b"x", audit(AuditOutcome.SUCCEEDED))
    ttl_ms = await redis.pttl(keys.idempotency(METHOD, "r9"))
    assert 89_000_000 < ttl_ms <= 90_000_000
    await store.aclose()


async def test_an_abandoned_attempt_counts_as_in_flight_until_it_was_left(
    store: WriteStore,
) -> None:
    """The settle window of a write cancelled mid-way starts when it was left."""
    entered = asyncio.Event()

    async def body() -> None:
        async with store.claim(METHOD, "r1", FP) as claim:
            await claim.attempt(audit(AuditOutcome.ATTEMPTING))
            entered.set()
            await asyncio.sleep(30)

    task = asyncio.create_task(body())
    await entered.wait()
    marked = (await store.get(METHOD, "r1") or _never()).attempted_at
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    record = await store.get(METHOD, "r1")
    assert record is not None
    assert record.attempted_at is not None
    assert marked is not None
    assert record.attempted_at >= marked + 0.04


def _never() -> WriteRecord:
    raise AssertionError("no record")
