"""The write engine with the balance operation over a fake MT5 client (no sockets),
on the memory and the SQLite store."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pytest
from mt5gateway_server.audit import AuditOutcome, AuditRecord
from mt5gateway_server.webapi import errors as w
from mt5gateway_server.webapi.client import BalanceOperation
from mt5gateway_server.writes import (
    DATABASE_FILE,
    Caller,
    IdempotencyConflictError,
    IdempotencyPendingError,
    MemoryWriteStore,
    OutcomeUnknownError,
    RecordState,
    SqliteWriteStore,
    WriteEngine,
    WriteStore,
    sent_state,
)
from mt5gateway_server.writes.balance import (
    MAX_USER_COMMENT,
    METHOD,
    AmountError,
    BalanceRequest,
    BalanceResult,
    BalanceWrite,
    canonical_request_id,
    max_user_comment,
    mt5_comment,
    reconciliation_tag,
)
from mt5gateway_server.writes.engine import Sent

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

LOGIN = 100_000
START = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = START
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class FakeMt5:
    """Applies writes like MT5; ``plan`` decides what each write's caller sees."""

    clock: Clock
    server: str = "main"
    deals: list[Any] = field(default_factory=list)
    # Per write: "ok", "lost" (applied, answer lost), "unsent" (not applied, answer
    # lost), "late" (answer lost, applied only by ``land_late()``), "busy" (retcode
    # 1018), "no_money" (10019), "timeout_retcode" (10012), "refused" (connect error).
    plan: list[str] = field(default_factory=list)
    failing_reads: int = 0  # the next N deal reads fail
    writes: int = 0
    reads: int = 0
    gate: asyncio.Event | None = None
    held: list[Any] = field(default_factory=list)  # "late" writes not applied yet
    send_seconds: float = 0.0  # how long a write takes to fail (waits for a session)

    async def user_get(self, login: int) -> Any:
        if login != LOGIN:
            raise w.NotFound(13, "Not found")
        return SimpleNamespace(login=login, group="real\\standard", currency_digits=2)

    async def group_get(self, group: str) -> Any:
        return SimpleNamespace(group=group, currency="USD")

    async def trade_balance(
        self,
        login: int,
        operation: BalanceOperation,
        amount: Decimal,
        comment: str = "",
        *,
        check_margin: bool = True,
    ) -> int:
        del check_margin
        self.writes += 1
        if self.gate is not None:
            await self.gate.wait()
        step = self.plan.pop(0) if self.plan else "ok"
        if step == "busy":
            raise w.TooFrequent(1018, "Server busy")
        if step == "no_money":
            raise w.NoMoney(10019, "No money")
        if step == "refused":
            raise w.ConnectError("connection refused")
        if step == "unsent":
            raise w.OutcomeUnknown("lost", command="trade/balance", params={})
        if step == "late":
            self.clock.now += self.send_seconds
            self.held.append((login, operation, amount, comment))
            raise w.OutcomeUnknown("lost", command="trade/balance", params={})
        ticket = self.apply(login, operation, amount, comment)
        if step == "lost":
            raise w.OutcomeUnknown("lost", command="trade/balance", params={})
        if step == "timeout_retcode":
            raise w.Unavailable(10012, "Request timeout")
        return ticket

    def apply(
        self, login: int, operation: BalanceOperation, amount: Decimal, comment: str
    ) -> int:
        ticket = 3_000_000 + len(self.deals)
        self.deals.append(
            SimpleNamespace(
                ticket=ticket,
                login=login,
                action=int(operation),
                profit=amount,
                comment=comment,
                time=datetime.fromtimestamp(self.clock(), UTC),
            )
        )
        return ticket

    def land_late(self) -> None:
        while self.held:
            self.apply(*self.held.pop(0))

    async def deal_get_batch(self, **kwargs: Any) -> list[Any]:
        self.reads += 1
        if self.failing_reads > 0:
            self.failing_reads -= 1
            raise w.ReadError("connection lost")
        (login,) = kwargs["logins"]
        start, end = kwargs["from_"], kwargs["to"]
        return [d for d in self.deals if d.login == login and start <= d.time <= end]


class Currencies:
    """Group -> currency straight from the client (the servicer's cache in prod)."""

    async def get(self, client: Any, group: str) -> str:
        return str((await client.group_get(group)).currency)


class Metrics:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def record_idempotency_replay(self, method: str) -> None:
        self.events.append(("replay", method))

    def record_write_outcome(self, method: str, outcome: str) -> None:
        self.events.append((outcome, method))

    def record_duplicate_write(self, method: str) -> None:
        self.events.append(("duplicate", method))


SETTLE = 30.0


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def mt5(clock: Clock) -> FakeMt5:
    return FakeMt5(clock)


@pytest.fixture(params=["memory", "sqlite"])
async def store(
    request: pytest.FixtureRequest, clock: Clock, tmp_path: Any
) -> AsyncIterator[WriteStore]:
    s: WriteStore
    if request.param == "memory":
        s = MemoryWriteStore(clock=clock, lease_seconds=30.0)
    else:
        s = await SqliteWriteStore.open(
            tmp_path / DATABASE_FILE, clock=clock, lease_seconds=30.0
        )
    yield s
    await s.aclose()


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def engine(store: WriteStore, metrics: Metrics) -> WriteEngine:
    return WriteEngine(store, settle_seconds=lambda _: SETTLE, metrics=metrics)


def request(**overrides: Any) -> BalanceRequest:
    values: dict[str, Any] = {
        "server": "main",
        "request_id": str(uuid.uuid4()),
        "login": LOGIN,
        "action": BalanceOperation.BALANCE,
        "amount": Decimal("100.25"),
        "currency_code": "",
        "comment": "invoice 42",
        "check_margin": True,
    }
    values.update(overrides)
    return BalanceRequest(**values)


CALLER = Caller("key-abc", "ipv4:127.0.0.1:5000")


def deposit(req: BalanceRequest, mt5: FakeMt5, clock: Clock, **kw: Any) -> BalanceWrite:
    return BalanceWrite(req, mt5, Currencies(), clock=clock, **kw)


async def run(
    engine: WriteEngine, req: BalanceRequest, mt5: FakeMt5, clock: Clock, **kw: Any
) -> Any:
    return await engine.run(deposit(req, mt5, clock, **kw), CALLER)


async def audit_outcomes(store: WriteStore) -> list[str]:
    if isinstance(store, MemoryWriteStore):
        return [r.outcome.value for r in store.audit_records]
    assert isinstance(store, SqliteWriteStore)
    return [str(r["outcome"]) for r in await store.audit_rows()]


def test_tag_and_comment_format() -> None:
    rid = "6f1c1e0a-8d55-4f57-9a43-1a2b3c4d5e6f"
    tag = reconciliation_tag(rid)
    assert tag.startswith("gw:")
    assert len(tag) == 13
    assert tag == reconciliation_tag(rid)
    assert tag != reconciliation_tag(str(uuid.uuid4()))
    assert mt5_comment(rid, "") == tag
    longest = mt5_comment(rid, "x" * MAX_USER_COMMENT)
    assert longest.startswith(tag + " ")
    assert len(longest) == 31
    assert canonical_request_id(rid.upper()) == rid
    assert canonical_request_id("not-a-uuid") is None
    # A shorter tag leaves more of MT5's 31 characters to the caller.
    assert len(reconciliation_tag(rid, 6)) == 9
    assert reconciliation_tag(rid).startswith(reconciliation_tag(rid, 6))
    assert max_user_comment(6) == MAX_USER_COMMENT + 4
    assert len(mt5_comment(rid, "x" * max_user_comment(6), 6)) == 31


@pytest.mark.parametrize(
    ("error", "state"),
    [
        (w.ConnectError("refused"), Sent.NEVER),
        (w.PoolTimeout("busy"), Sent.NEVER),
        (w.TooFrequent(12, "Too frequent"), Sent.NEVER),
        (w.NoMoney(10019, "No money"), Sent.REJECTED),
        (w.Unavailable(10012, "Timeout"), Sent.UNKNOWN),
        (w.OutcomeUnknown("lost", command="trade/balance", params={}), Sent.UNKNOWN),
        (w.ReadTimeout("slow"), Sent.UNKNOWN),
        (w.ProtocolError("garbage"), Sent.UNKNOWN),
        (RuntimeError("a bug"), Sent.UNKNOWN),
    ],
)
def test_one_classification_of_failed_writes(error: Exception, state: Sent) -> None:
    assert sent_state(error) is state


async def test_success_then_replay_without_second_write(
    engine: WriteEngine, store: WriteStore, mt5: FakeMt5, clock: Clock, metrics: Metrics
) -> None:
    req = request()
    first = await run(engine, req, mt5, clock)
    assert not first.replayed
    assert first.result.deal_ticket == mt5.deals[0].ticket
    assert first.result.currency == "USD"
    assert first.result.comment == mt5_comment(req.request_id, req.comment)
    again = await run(engine, req, mt5, clock)
    assert again.replayed
    assert again.result == first.result
    assert mt5.writes == 1
    assert await audit_outcomes(store) == ["attempting", "succeeded", "replayed"]
    assert metrics.events == [("succeeded", METHOD), ("replay", METHOD)]


async def test_same_request_id_other_payload_conflicts(
    engine: WriteEngine, mt5: FakeMt5, clock: Clock
) -> None:
    req = request()
    await run(engine, req, mt5, clock)
    other = request(request_id=req.request_id, amount=Decimal(5))
    with pytest.raises(IdempotencyConflictError):
        await run(engine, other, mt5, clock)
    assert mt5.writes == 1


async def test_concurrent_duplicate_waits_for_the_first(
    engine: WriteEngine, mt5: FakeMt5, clock: Clock
) -> None:
    mt5.gate = asyncio.Event()
    req = request()
    first = asyncio.create_task(run(engine, req, mt5, clock))
    await asyncio.sleep(0.01)
    second = asyncio.create_task(run(engine, req, mt5, clock))
    await asyncio.sleep(0.01)
    mt5.gate.set()
    a, b = await asyncio.gather(first, second)
    assert a.result == b.result
    assert mt5.writes == 1


async def test_business_rejection_is_stored_and_replayed(
    engine: WriteEngine, store: WriteStore, mt5: FakeMt5, clock: Clock
) -> None:
    mt5.plan = ["no_money"]
    req = request(amount=Decimal(-50))
    with pytest.raises(w.NoMoney):
        await run(engine, req, mt5, clock)
    with pytest.raises(w.NoMoney) as replayed:
        await run(engine, req, mt5, clock)
    assert replayed.value.retcode == 10019
    assert mt5.writes == 1
    record = await store.get(METHOD, req.request_id)
    assert record is not None
    assert record.state is RecordState.FAILED
    assert await audit_outcomes(store) == ["attempting", "failed", "replayed"]


@pytest.mark.parametrize("step", ["busy", "refused"])
async def test_never_sent_releases_the_claim_so_a_retry_writes(
    engine: WriteEngine, store: WriteStore, mt5: FakeMt5, clock: Clock, step: str
) -> None:
    mt5.plan = [step]
    req = request()
    with pytest.raises((w.TooFrequent, w.ConnectError)):
        await run(engine, req, mt5, clock)
    assert await store.get(METHOD, req.request_id) is None
    outcome = await run(engine, req, mt5, clock)
    assert not outcome.replayed
    assert len(mt5.deals) == 1
    assert await audit_outcomes(store) == [
        "attempting",
        "not_sent",
        "attempting",
        "succeeded",
    ]


@pytest.mark.parametrize("step", ["lost", "timeout_retcode"])
async def test_lost_answer_of_an_applied_write_is_found_at_once(
    engine: WriteEngine, store: WriteStore, mt5: FakeMt5, clock: Clock, step: str
) -> None:
    mt5.plan = [step]
    outcome = await run(engine, request(), mt5, clock)
    assert outcome.reconciled
    assert not outcome.replayed
    assert outcome.result.deal_ticket == mt5.deals[0].ticket
    assert mt5.writes == 1
    # One look-up after the lost answer (memory: one more before the write).
    assert mt5.reads == (1 if store.durable else 2)
    assert await audit_outcomes(store) == ["attempting", "succeeded"]


async def test_not_applied_is_only_concluded_after_the_settle_window(
    engine: WriteEngine, store: WriteStore, mt5: FakeMt5, clock: Clock
) -> None:
    mt5.plan = ["unsent"]
    req = request()
    with pytest.raises(OutcomeUnknownError) as unknown:
        await run(engine, req, mt5, clock)
    assert unknown.value.retry_after_seconds == pytest.approx(SETTLE)
    # Repeats inside the window look it up and never write.
    for _ in range(3):
        clock.now += 5
        with pytest.raises(OutcomeUnknownError) as again:
            await run(engine, req, mt5, clock)
        assert again.value.retry_after_seconds < unknown.value.retry_after_seconds
    assert mt5.writes == 1
    assert mt5.deals == []
    # Past the window the deal is provably absent: this repeat makes the one write.
    clock.now += SETTLE
    outcome = await run(engine, req, mt5, clock)
    assert not outcome.replayed
    assert mt5.writes == 2
    assert len(mt5.deals) == 1
    record = await store.get(METHOD, req.request_id)
    assert record is not None
    assert record.state is RecordState.SUCCEEDED
    assert record.attempts == 2


async def test_a_write_that_lands_late_is_found_not_repeated(
    engine: WriteEngine, mt5: FakeMt5, clock: Clock
) -> None:
    """Defect 2: the write's bytes reach MT5 after the gateway gave up."""
    mt5.plan = ["late"]
    req = request()
    with pytest.raises(OutcomeUnknownError):
        await run(engine, req, mt5, clock)
    clock.now += 1
    with pytest.raises(OutcomeUnknownError):  # still in flight: no second write
        await run(engine, req, mt5, clock)
    clock.now += 5
    mt5.land_late()
    outcome = await run(engine, req, mt5, clock)
    assert outcome.reconciled
    assert mt5.writes == 1
    assert len(mt5.deals) == 1


async def test_the_settle_window_runs_from_when_the_failure_showed(
    engine: WriteEngine, store: WriteStore, mt5: FakeMt5, clock: Clock
) -> None:
    """A write that waited for a session left late; its window starts at its
    failure, not at the write-ahead mark (found by the chaos suite)."""
    mt5.plan = ["late"]
    mt5.send_seconds = 10.0
    req = request()
    with pytest.raises(OutcomeUnknownError) as unknown:
        await run(engine, req, mt5, clock)
    assert unknown.value.retry_after_seconds == pytest.approx(SETTLE)
    record = await store.get(METHOD, req.request_id)
    assert record is not None
    assert record.attempted_at == pytest.approx(clock.now)
    clock.now += SETTLE - 5  # past mark + window, not past failure + window
    with pytest.raises(OutcomeUnknownError):
        await run(engine, req, mt5, clock)
    assert mt5.writes == 1
    mt5.land_late()
    outcome = await run(engine, req, mt5, clock)
    assert outcome.reconciled
    assert len(mt5.deals) == 1


async def test_a_dead_owners_write_settles_from_the_takeover(
    engine: WriteEngine, store: WriteStore, mt5: FakeMt5, clock: Clock
) -> None:
    req = request()
    claim = await store.claim(METHOD, req.request_id, req.fingerprint).__aenter__()
    await claim.attempt(attempt_record(req))
    await store.stop_renewal(claim)  # died while its write may be on its way
    clock.now += 31 + SETTLE  # long after the mark: still unknown when it ended
    with pytest.raises(OutcomeUnknownError) as unknown:
        await run(engine, req, mt5, clock)
    assert unknown.value.retry_after_seconds == pytest.approx(SETTLE)
    assert mt5.writes == 0
    clock.now += SETTLE
    outcome = await run(engine, req, mt5, clock)
    assert not outcome.reconciled
    assert mt5.writes == 1


async def test_cannot_tell_stays_unknown_and_never_writes_blindly(
    engine: WriteEngine, store: WriteStore, mt5: FakeMt5, clock: Clock
) -> None:
    mt5.plan = ["lost"]
    mt5.failing_reads = 2 if store.durable else 3  # memory looks up first as well
    req = request()
    with pytest.raises(OutcomeUnknownError):
        await run(engine, req, mt5, clock)
    clock.now += SETTLE + 1  # settled, but the look-up fails: still no write
    with pytest.raises(OutcomeUnknownError):
        await run(engine, req, mt5, clock)
    record = await store.get(METHOD, req.request_id)
    assert record is not None
    assert record.state is RecordState.UNKNOWN
    outcome = await run(engine, req, mt5, clock)
    assert outcome.replayed
    assert outcome.reconciled
    assert mt5.writes == 1
    assert len(mt5.deals) == 1


async def test_owner_died_after_sending_is_looked_up_not_rewritten(
    engine: WriteEngine, store: WriteStore, mt5: FakeMt5, clock: Clock
) -> None:
    req = request()
    op = deposit(req, mt5, clock)
    claim = await store.claim(METHOD, req.request_id, req.fingerprint).__aenter__()
    await op.prepare()
    await claim.attempt(attempt_record(req))
    await store.stop_renewal(claim)  # the process dies with its write in flight
    await op.send()
    clock.now += 31  # past the lease
    outcome = await run(engine, req, mt5, clock)
    assert outcome.reconciled
    assert outcome.result.deal_ticket == mt5.deals[0].ticket
    assert mt5.writes == 1


async def test_owner_died_before_sending_is_written_without_waiting(
    engine: WriteEngine, store: WriteStore, mt5: FakeMt5, clock: Clock
) -> None:
    req = request()
    claim = await store.claim(METHOD, req.request_id, req.fingerprint).__aenter__()
    await store.stop_renewal(claim)  # died between claim and write-ahead mark
    clock.now += 31
    outcome = await run(engine, req, mt5, clock)
    assert not outcome.reconciled
    assert mt5.writes == 1


async def test_answer_that_cannot_be_built_never_repeats_the_write(
    engine: WriteEngine, store: WriteStore, mt5: FakeMt5, clock: Clock
) -> None:
    req = request()

    class Broken(BalanceWrite):
        async def result(self, answer: int) -> BalanceResult:
            raise RuntimeError(f"cannot build the answer for {answer}")

    broken = Broken(req, mt5, Currencies(), clock=clock)
    with pytest.raises(OutcomeUnknownError) as caught:  # never "failed": it applied
        await engine.run(broken, CALLER)
    assert isinstance(caught.value.__cause__, RuntimeError)
    record = await store.get(METHOD, req.request_id)
    assert record is not None
    assert record.details["applied"] == "true"
    assert record.details["deal"] == str(mt5.deals[0].ticket)
    outcome = await run(engine, req, mt5, clock)
    assert outcome.reconciled
    assert mt5.writes == 1


async def test_two_deals_with_one_tag_raise_the_duplicate_alarm(
    engine: WriteEngine, store: WriteStore, mt5: FakeMt5, clock: Clock, metrics: Metrics
) -> None:
    req = request()
    comment = mt5_comment(req.request_id, req.comment)
    mt5.apply(LOGIN, req.action, req.amount, comment)
    mt5.apply(LOGIN, req.action, req.amount, comment)  # e.g. a dealer repeated it
    mt5.plan = ["unsent"]
    with pytest.raises(OutcomeUnknownError):
        await run(engine, request(), mt5, clock)  # another id: its own, absent
    claim = await store.claim(METHOD, req.request_id, req.fingerprint).__aenter__()
    await claim.attempt(attempt_record(req))
    await store.stop_renewal(claim)
    clock.now += 31
    outcome = await run(engine, req, mt5, clock)
    assert outcome.result.deal_ticket == min(d.ticket for d in mt5.deals[:2])
    assert ("duplicate", METHOD) in metrics.events
    assert "duplicate" in await audit_outcomes(store)


async def test_memory_store_looks_up_before_the_first_write(
    clock: Clock, mt5: FakeMt5
) -> None:
    """Defect 1, the non-durable store: a restart forgets; the look-up catches it."""
    req = request()
    before = WriteEngine(MemoryWriteStore(clock=clock), settle_seconds=lambda _: SETTLE)
    await run(before, req, mt5, clock)
    restarted = WriteEngine(
        MemoryWriteStore(clock=clock), settle_seconds=lambda _: SETTLE
    )
    outcome = await run(restarted, req, mt5, clock)
    assert outcome.reconciled
    assert mt5.writes == 1


async def test_sqlite_store_survives_a_restart(
    clock: Clock, mt5: FakeMt5, tmp_path: Any
) -> None:
    """Defect 1: kill -9 after sending, restart, retry: looked up, never rewritten."""
    path = tmp_path / DATABASE_FILE
    first = await SqliteWriteStore.open(path, clock=clock)
    req = request()
    mt5.plan = ["unsent"]
    with pytest.raises(OutcomeUnknownError):
        await run(WriteEngine(first, settle_seconds=lambda _: SETTLE), req, mt5, clock)
    await first.aclose()
    restarted = await SqliteWriteStore.open(path, clock=clock)
    engine = WriteEngine(restarted, settle_seconds=lambda _: SETTLE)
    with pytest.raises(OutcomeUnknownError):  # inside the window: no write
        await run(engine, req, mt5, clock)
    assert mt5.writes == 1
    done = await run(engine, request(), mt5, clock)
    assert not done.replayed
    await restarted.aclose()


async def test_comment_too_long_for_the_configured_tag_is_refused(
    engine: WriteEngine, store: WriteStore, mt5: FakeMt5, clock: Clock
) -> None:
    req = request(comment="x" * MAX_USER_COMMENT)
    with pytest.raises(AmountError) as caught:
        await run(engine, req, mt5, clock, tag_chars=16)
    assert caught.value.field == "comment"
    assert mt5.writes == 0
    assert await store.get(METHOD, req.request_id) is None


async def test_amount_finer_than_the_currency_is_rejected_before_writing(
    engine: WriteEngine, store: WriteStore, mt5: FakeMt5, clock: Clock
) -> None:
    req = request(amount=Decimal("1.005"))
    with pytest.raises(AmountError) as caught:
        await run(engine, req, mt5, clock)
    assert caught.value.field == "amount"
    assert mt5.writes == 0
    assert await store.get(METHOD, req.request_id) is None
    wrong = request(currency_code="EUR")
    with pytest.raises(AmountError) as caught:
        await run(engine, wrong, mt5, clock)
    assert caught.value.field == "amount.currency_code"


async def test_unknown_login_writes_nothing(
    engine: WriteEngine, mt5: FakeMt5, clock: Clock
) -> None:
    with pytest.raises(w.NotFound):
        await run(engine, request(login=7), mt5, clock)
    assert mt5.writes == 0


def test_fingerprint_ignores_request_id_and_trailing_zeros() -> None:
    a = request(amount=Decimal("100.50"))
    b = request(amount=Decimal("100.5"))
    assert a.fingerprint == b.fingerprint
    assert a.fingerprint != request(comment="other").fingerprint


def attempt_record(req: BalanceRequest) -> Any:
    return AuditRecord(
        method=METHOD,
        operation=req.operation_name,
        outcome=AuditOutcome.ATTEMPTING,
        server=req.server,
        request_id=req.request_id,
    )


async def test_a_duplicate_gives_up_before_its_own_deadline(
    store: WriteStore, mt5: FakeMt5, clock: Clock
) -> None:
    """It answers "in progress" (ABORTED + RetryInfo) instead of running out."""
    engine = WriteEngine(store, settle_seconds=lambda _: SETTLE, remaining=lambda: 0.3)
    mt5.gate = asyncio.Event()
    req = request()
    first = asyncio.create_task(run(engine, req, mt5, clock))
    await asyncio.sleep(0.01)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(IdempotencyPendingError):
        await run(engine, req, mt5, clock)
    assert loop.time() - started < 0.25
    mt5.gate.set()
    await first
    assert mt5.writes == 1


async def test_failing_bookkeeping_never_changes_the_answer(
    store: WriteStore, mt5: FakeMt5, clock: Clock
) -> None:
    class BrokenMetrics(Metrics):
        def record_write_outcome(self, method: str, outcome: str) -> None:
            raise AttributeError(f"a metrics bug ({method}, {outcome})")

    engine = WriteEngine(
        store, settle_seconds=lambda _: SETTLE, metrics=BrokenMetrics()
    )
    outcome = await run(engine, request(), mt5, clock)
    assert not outcome.replayed
    assert mt5.writes == 1


async def test_a_failing_look_up_only_means_cannot_tell(
    engine: WriteEngine, store: WriteStore, mt5: FakeMt5, clock: Clock
) -> None:
    class BadLookUp(BalanceWrite):
        async def find(self, record: Any) -> Any:
            raise KeyError(f"a bug in the look-up of {record!r}")

    mt5.plan = ["lost"]
    req = request()
    op = BadLookUp(req, mt5, Currencies(), clock=clock)
    with pytest.raises(OutcomeUnknownError):  # not INTERNAL
        await engine.run(op, CALLER)
    record = await store.get(METHOD, req.request_id)
    assert record is not None
    assert record.state is RecordState.UNKNOWN
    outcome = await run(engine, req, mt5, clock)  # a working look-up finds it
    assert outcome.reconciled
    assert mt5.writes == 1


async def test_a_write_cancelled_mid_way_is_open_with_its_audit_record(
    engine: WriteEngine, store: WriteStore, mt5: FakeMt5, clock: Clock
) -> None:
    mt5.gate = asyncio.Event()  # the write hangs in flight
    req = request()
    task = asyncio.create_task(run(engine, req, mt5, clock))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    record = await store.get(METHOD, req.request_id)
    assert record is not None
    assert record.state is RecordState.UNKNOWN
    assert record.details["reason"] == "CancelledError"
    assert await audit_outcomes(store) == ["attempting", "unknown"]
