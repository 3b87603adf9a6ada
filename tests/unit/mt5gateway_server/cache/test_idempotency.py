from __future__ import annotations

import asyncio

import pytest
from mt5gateway_server.cache.idempotency import (
    ClaimLostError,
    ClaimStatus,
    IdempotencyConflictError,
    IdempotencyPendingError,
    IdempotencyRecord,
    InMemoryIdempotencyStore,
    RecordState,
    RedisIdempotencyStore,
    create_store,
    fingerprint,
)
from mt5gateway_server.settings import Settings

METHOD = "/mt5gateway.v1.TradeService/CreateBalanceOperation"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def store(clock: FakeClock):
    s = InMemoryIdempotencyStore(
        ttl_seconds=86_400, lease_seconds=30, wait_timeout_seconds=5, clock=clock
    )
    yield s
    await s.aclose()


FP = fingerprint(METHOD, b"login=1001 amount=10.00 USD")


def test_fingerprint_is_stable_and_payload_sensitive():
    assert fingerprint(METHOD, {"b": 1, "a": "x"}) == fingerprint(
        METHOD, {"a": "x", "b": 1}
    )
    assert fingerprint(METHOD, b"x") != fingerprint(METHOD, b"y")
    assert fingerprint("/a/B", b"x") != fingerprint("/a/C", b"x")
    assert fingerprint(METHOD, "x") == fingerprint(METHOD, b"x")


def test_record_json_round_trip():
    rec = IdempotencyRecord(
        method=METHOD,
        request_id="r1",
        fingerprint=FP,
        state=RecordState.SUCCEEDED,
        created_at=1.5,
        updated_at=2.5,
        payload=b"\x00\xffbytes",
        details={"deal": "123"},
    )
    assert IdempotencyRecord.from_json(rec.to_json()) == rec
    assert IdempotencyRecord.from_json(rec.to_json().encode()) == rec


async def test_first_call_runs_and_repeat_replays(store):
    async with store.claim(METHOD, "r1", FP) as claim:
        assert claim.status is ClaimStatus.NEW
        assert claim.existing is None
        assert claim.owned
        stored = await claim.complete(b"response-1")
    assert stored.state is RecordState.SUCCEEDED
    assert not claim.owned

    async with store.claim(METHOD, "r1", FP) as again:
        assert again.status is ClaimStatus.REPLAY
        assert again.existing is not None
        assert again.existing.payload == b"response-1"
        assert again.existing.state is RecordState.SUCCEEDED
        with pytest.raises(RuntimeError):
            await again.complete(b"other")
    record = await store.get(METHOD, "r1")
    assert record is not None
    assert record.payload == b"response-1"


async def test_failed_outcome_replays_the_error(store):
    async with store.claim(METHOD, "r2", FP) as claim:
        await claim.fail(b"status:no-money", {"retcode": "10019"})
    async with store.claim(METHOD, "r2", FP) as again:
        assert again.status is ClaimStatus.REPLAY
        assert again.existing is not None
        assert again.existing.state is RecordState.FAILED
        assert again.existing.payload == b"status:no-money"
        assert again.existing.details == {"retcode": "10019"}


async def test_same_request_id_different_payload_conflicts(store):
    async with store.claim(METHOD, "r3", FP) as claim:
        await claim.complete(b"ok")
    other = fingerprint(METHOD, b"login=1001 amount=99.00 USD")
    with pytest.raises(IdempotencyConflictError) as info:
        async with store.claim(METHOD, "r3", other):
            pytest.fail("must not enter")
    assert info.value.request_id == "r3"


async def test_request_ids_are_scoped_per_method(store):
    async with store.claim(METHOD, "r4", FP) as claim:
        await claim.complete(b"a")
    async with store.claim("/x.v1.Other/Do", "r4", FP) as claim:
        assert claim.status is ClaimStatus.NEW
        await claim.complete(b"b")


async def test_concurrent_duplicate_waits_for_the_first(store):
    started = asyncio.Event()
    finish = asyncio.Event()
    runs = 0

    async def call() -> bytes:
        nonlocal runs
        async with store.claim(METHOD, "r5", FP) as claim:
            if claim.status is ClaimStatus.REPLAY:
                assert claim.existing is not None
                return claim.existing.payload
            runs += 1
            started.set()
            await finish.wait()
            await claim.complete(b"done")
            return b"done"

    first = asyncio.create_task(call())
    await started.wait()
    duplicates = [asyncio.create_task(call()) for _ in range(5)]
    await asyncio.sleep(0)  # let them reach the wait
    assert not any(d.done() for d in duplicates)
    finish.set()
    results = await asyncio.gather(first, *duplicates)
    assert results == [b"done"] * 6
    assert runs == 1


async def test_duplicate_gives_up_after_wait_timeout(store):
    async with store.claim(METHOD, "r6", FP) as claim:
        with pytest.raises(IdempotencyPendingError):
            async with store.claim(METHOD, "r6", FP, wait_timeout=0.05):
                pytest.fail("must not enter")
        await claim.complete(b"x")


async def test_exception_in_body_marks_unknown_then_repeat_reconciles(store):
    class BoomError(Exception):
        pass

    with pytest.raises(BoomError):
        async with store.claim(METHOD, "r7", FP):
            raise BoomError
    record = await store.get(METHOD, "r7")
    assert record is not None
    assert record.state is RecordState.UNKNOWN
    assert record.details == {"reason": "BoomError"}

    async with store.claim(METHOD, "r7", FP) as claim:
        assert claim.status is ClaimStatus.RECONCILE
        assert claim.existing is not None
        assert claim.existing.state is RecordState.UNKNOWN
        # The service found the deal by its comment tag: record the real outcome.
        await claim.complete(b"found-deal-42")
    async with store.claim(METHOD, "r7", FP) as claim:
        assert claim.status is ClaimStatus.REPLAY
        assert claim.existing is not None
        assert claim.existing.payload == b"found-deal-42"


async def test_cancellation_marks_unknown(store):
    entered = asyncio.Event()

    async def body() -> None:
        async with store.claim(METHOD, "r8", FP):
            entered.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(body())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    record = await store.get(METHOD, "r8")
    assert record is not None
    assert record.state is RecordState.UNKNOWN
    assert record.details == {"reason": "CancelledError"}


async def test_exit_without_outcome_marks_unknown(store):
    async with store.claim(METHOD, "r9", FP):
        pass
    record = await store.get(METHOD, "r9")
    assert record is not None
    assert record.state is RecordState.UNKNOWN


async def test_release_of_new_claim_lets_a_retry_run(store):
    async with store.claim(METHOD, "r10", FP) as claim:
        await claim.release()  # e.g. the pool wait timed out: never sent
    assert await store.get(METHOD, "r10") is None
    async with store.claim(METHOD, "r10", FP) as claim:
        assert claim.status is ClaimStatus.NEW
        await claim.complete(b"ok")


async def test_release_of_reconcile_claim_keeps_unknown(store):
    async with store.claim(METHOD, "r11", FP) as claim:
        await claim.mark_unknown({"reason": "timeout"})
    async with store.claim(METHOD, "r11", FP) as claim:
        assert claim.status is ClaimStatus.RECONCILE
        await claim.release()  # could not reach MT5 to look the deal up
    async with store.claim(METHOD, "r11", FP) as claim:
        assert claim.status is ClaimStatus.RECONCILE
        await claim.mark_unknown({"reason": "still unknown"})
    record = await store.get(METHOD, "r11")
    assert record is not None
    assert record.details == {"reason": "still unknown"}


async def test_dead_owner_lease_expiry_requires_reconcile(store, clock):
    # The first owner "dies": its claim is entered and never exited.
    ctx = store.claim(METHOD, "r12", FP)
    dead = await ctx.__aenter__()
    assert dead.status is ClaimStatus.NEW
    with pytest.raises(IdempotencyPendingError):
        async with store.claim(METHOD, "r12", FP, wait_timeout=0.01):
            pass
    clock.advance(31)  # past the 30 s lease, no renewal happened
    async with store.claim(METHOD, "r12", FP) as claim:
        assert claim.status is ClaimStatus.RECONCILE
        assert claim.existing is not None
        assert claim.existing.state is RecordState.PENDING
        await claim.mark_unknown({"reason": "owner died"})
    # The zombie wakes up: its outcome must not overwrite the reconciled record.
    with pytest.raises(ClaimLostError):
        await dead.complete(b"late")
    await ctx.__aexit__(None, None, None)
    record = await store.get(METHOD, "r12")
    assert record is not None
    assert record.details == {"reason": "owner died"}


async def test_final_outcomes_expire_after_ttl(store, clock):
    async with store.claim(METHOD, "r13", FP) as claim:
        await claim.complete(b"ok")
    clock.advance(86_399)
    assert await store.get(METHOD, "r13") is not None
    clock.advance(2)
    assert await store.get(METHOD, "r13") is None
    async with store.claim(METHOD, "r13", FP) as claim:
        assert claim.status is ClaimStatus.NEW
        await claim.complete(b"ok")


async def test_bounded_eviction_keeps_pending_and_unknown(clock):
    store = InMemoryIdempotencyStore(max_entries=3, clock=clock)
    ctx = store.claim(METHOD, "pending", FP)
    pending = await ctx.__aenter__()
    async with store.claim(METHOD, "unknown", FP) as c:
        await c.mark_unknown({"reason": "x"})
    for i in range(5):
        async with store.claim(METHOD, f"ok{i}", FP) as c:
            await c.complete(b"ok")
    assert len(store) == 3
    assert await store.get(METHOD, "pending") is not None
    assert await store.get(METHOD, "unknown") is not None
    assert await store.get(METHOD, "ok4") is not None
    assert await store.get(METHOD, "ok0") is None
    await pending.complete(b"x")
    await ctx.__aexit__(None, None, None)
    await store.aclose()


async def test_empty_arguments_rejected(store):
    with pytest.raises(ValueError, match="non-empty"):
        store.claim(METHOD, "", FP)


async def test_repr_shows_state(store):
    async with store.claim(METHOD, "r14", FP) as claim:
        assert repr(claim) == f"<Claim {METHOD} r14 new owned>"
        await claim.complete(b"x")
        assert repr(claim) == f"<Claim {METHOD} r14 new>"


async def test_create_store_picks_memory_without_redis():
    settings = Settings(idempotency={"ttl_seconds": 172_800, "max_entries": 10})
    store = create_store(settings)
    assert isinstance(store, InMemoryIdempotencyStore)
    assert not isinstance(store, RedisIdempotencyStore)
    assert store._ttl == 172_800
    assert store._max_entries == 10
    await store.aclose()


class CountingMetrics:
    def __init__(self) -> None:
        self.replays: list[str] = []

    def record_idempotency_replay(self, method: str) -> None:
        self.replays.append(method)


async def test_replays_are_counted():
    metrics = CountingMetrics()
    store = InMemoryIdempotencyStore(metrics=metrics)  # type: ignore[arg-type]
    async with store.claim(METHOD, "r", FP) as c:
        await c.complete(b"x")
    async with store.claim(METHOD, "r", FP):
        pass
    assert metrics.replays == [METHOD]
    await store.aclose()
