from __future__ import annotations

import asyncio

import pytest
from mt5gateway_server.cache import keys
from mt5gateway_server.cache.idempotency import (
    ClaimLostError,
    ClaimStatus,
    IdempotencyConflictError,
    IdempotencyPendingError,
    RecordState,
    RedisIdempotencyStore,
    create_store,
    fingerprint,
)
from mt5gateway_server.settings import Settings
from redis.asyncio import Redis

pytestmark = pytest.mark.integration

METHOD = "/mt5gateway.v1.TradeService/CreateBalanceOperation"
FP = fingerprint(METHOD, b"login=1001 deposit 10.00")


@pytest.fixture
async def replicas(redis_url: str, redis: Redis):
    """Two stores with their own clients, as two gateway processes would have."""
    clients = [Redis.from_url(redis_url) for _ in range(2)]
    stores = [
        RedisIdempotencyStore(c, lease_seconds=1.0, wait_timeout_seconds=5)
        for c in clients
    ]
    yield stores
    for store in stores:
        await store.aclose()
    for client in clients:
        await client.aclose()


async def test_duplicate_replays_from_another_replica(replicas, redis: Redis):
    a, b = replicas
    async with a.claim(METHOD, "r1", FP) as claim:
        assert claim.status is ClaimStatus.NEW
        await claim.complete(b"resp")
    async with b.claim(METHOD, "r1", FP) as claim:
        assert claim.status is ClaimStatus.REPLAY
        assert claim.existing is not None
        assert claim.existing.payload == b"resp"
        assert claim.existing.state is RecordState.SUCCEEDED
    # The record lives >= 24 h; the lease key is gone.
    ttl_ms = await redis.pttl(keys.idempotency(METHOD, "r1"))
    assert 86_000_000 < ttl_ms <= 86_400_000
    assert await redis.exists(keys.idempotency_lease(METHOD, "r1")) == 0


async def test_conflicting_payload_across_replicas(replicas):
    a, b = replicas
    async with a.claim(METHOD, "r2", FP) as claim:
        await claim.complete(b"resp")
    with pytest.raises(IdempotencyConflictError):
        async with b.claim(METHOD, "r2", fingerprint(METHOD, b"other")):
            pytest.fail("must not enter")


async def test_concurrent_duplicates_on_two_replicas_run_once(replicas):
    a, b = replicas
    release = asyncio.Event()
    runs = 0

    async def call(store: RedisIdempotencyStore) -> bytes:
        nonlocal runs
        async with store.claim(METHOD, "r3", FP) as claim:
            if claim.status is ClaimStatus.REPLAY:
                assert claim.existing is not None
                return claim.existing.payload
            assert claim.status is ClaimStatus.NEW
            runs += 1
            await release.wait()
            await claim.complete(b"once")
            return b"once"

    tasks = [asyncio.create_task(call(s)) for s in (a, b, a, b, a, b)]
    await asyncio.sleep(0.05)
    assert runs == 1
    assert not any(t.done() for t in tasks)
    release.set()
    assert await asyncio.gather(*tasks) == [b"once"] * 6
    assert runs == 1


async def test_lease_is_renewed_while_the_owner_runs(replicas):
    a, b = replicas  # lease 1 s, renewed every ~0.33 s
    async with a.claim(METHOD, "r4", FP) as claim:
        await asyncio.sleep(1.5)
        with pytest.raises(IdempotencyPendingError):
            async with b.claim(METHOD, "r4", FP, wait_timeout=0.1):
                pytest.fail("the owner is alive")
        await claim.complete(b"slow but fine")


async def test_dead_replica_lease_expiry_requires_reconcile(replicas, redis: Redis):
    a, b = replicas
    ctx = a.claim(METHOD, "r5", FP)
    zombie = await ctx.__aenter__()
    # Simulate the process dying: no more renewals, nothing recorded.
    await a._stop_renewal(zombie)
    assert await redis.exists(keys.idempotency_lease(METHOD, "r5")) == 1
    # A duplicate on replica b waits, then takes over once the lease is gone.
    async with b.claim(METHOD, "r5", FP, wait_timeout=5) as claim:
        assert claim.status is ClaimStatus.RECONCILE
        assert claim.existing is not None
        assert claim.existing.state is RecordState.PENDING
        await claim.complete(b"reconciled: deal 77 found by tag")
    with pytest.raises(ClaimLostError):
        await zombie.complete(b"late")
    await ctx.__aexit__(None, None, None)
    record = await b.get(METHOD, "r5")
    assert record is not None
    assert record.payload == b"reconciled: deal 77 found by tag"


async def test_unknown_outcome_is_reconciled_by_the_next_repeat(replicas):
    a, b = replicas
    with pytest.raises(TimeoutError):
        async with a.claim(METHOD, "r6", FP):
            raise TimeoutError
    record = await b.get(METHOD, "r6")
    assert record is not None
    assert record.state is RecordState.UNKNOWN
    async with b.claim(METHOD, "r6", FP) as claim:
        assert claim.status is ClaimStatus.RECONCILE
        await claim.fail(b"not applied", {"reason": "no deal with tag"})
    async with a.claim(METHOD, "r6", FP) as claim:
        assert claim.status is ClaimStatus.REPLAY
        assert claim.existing is not None
        assert claim.existing.state is RecordState.FAILED


async def test_release_lets_a_retry_run(replicas, redis: Redis):
    a, b = replicas
    async with a.claim(METHOD, "r7", FP) as claim:
        await claim.release()
    assert await redis.exists(keys.idempotency(METHOD, "r7")) == 0
    async with b.claim(METHOD, "r7", FP) as claim:
        assert claim.status is ClaimStatus.NEW
        await claim.complete(b"ok")


async def test_final_record_ttl_expiry(redis: Redis):
    store = RedisIdempotencyStore(redis, ttl_seconds=0.2, lease_seconds=1)
    async with store.claim(METHOD, "r8", FP) as claim:
        await claim.complete(b"ok")
    assert await store.get(METHOD, "r8") is not None
    await asyncio.sleep(0.3)
    assert await store.get(METHOD, "r8") is None
    await store.aclose()


async def test_create_store_uses_redis_and_settings(redis: Redis):
    settings = Settings(idempotency={"ttl_seconds": 90_000})
    store = create_store(settings, redis)
    assert isinstance(store, RedisIdempotencyStore)
    async with store.claim(METHOD, "r9", FP) as claim:
        await claim.complete(b"ok")
    ttl_ms = await redis.pttl(keys.idempotency(METHOD, "r9"))
    assert 89_000_000 < ttl_ms <= 90_000_000
    await store.aclose()


async def test_many_concurrent_request_ids(replicas):
    a, b = replicas
    applied: list[str] = []

    async def call(store: RedisIdempotencyStore, rid: str) -> None:
        async with store.claim(METHOD, rid, FP) as claim:
            if claim.status is ClaimStatus.NEW:
                applied.append(rid)
                await asyncio.sleep(0)
                await claim.complete(rid.encode())

    rids = [f"bulk-{i}" for i in range(50)]
    await asyncio.gather(*(call(s, r) for r in rids for s in (a, b, b)))
    assert sorted(applied) == sorted(rids)


async def test_store_keeps_working_across_a_redis_restart(redis_server, redis: Redis):
    from mt5gateway_server.cache.redis import redis_client  # noqa: PLC0415
    from mt5gateway_server.settings import RedisSettings  # noqa: PLC0415

    settings = RedisSettings(url=redis_server.url, retries=20, backoff_cap_seconds=0.2)
    async with redis_client(settings) as client:
        assert client is not None
        store = RedisIdempotencyStore(client, lease_seconds=5)
        async with store.claim(METHOD, "before", FP) as claim:
            await claim.complete(b"x")
        redis_server.restart()
        # Scripts are re-loaded (NOSCRIPT) and connections re-made transparently.
        async with store.claim(METHOD, "after", FP) as claim:
            assert claim.status is ClaimStatus.NEW
            await claim.complete(b"y")
        record = await store.get(METHOD, "after")
        assert record is not None
        assert record.payload == b"y"
        await store.aclose()
