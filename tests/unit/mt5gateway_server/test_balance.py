"""The exactly-once balance workflow with a fake MT5 client: no sockets, no sleeping."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from mt5gateway_server.audit import AuditOutcome, AuditRecord
from mt5gateway_server.balance import (
    MAX_USER_COMMENT,
    METHOD,
    AmountError,
    BalanceRequest,
    BalanceWorkflow,
    Caller,
    NotAppliedError,
    OutcomeUnknownError,
    canonical_request_id,
    mt5_comment,
    reconciliation_tag,
)
from mt5gateway_server.cache.idempotency import (
    IdempotencyConflictError,
    InMemoryIdempotencyStore,
    RecordState,
)
from mt5gateway_server.webapi import errors as w
from mt5gateway_server.webapi.client import BalanceOperation

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
    # lost), "busy" (retcode 1018), "no_money" (10019), "timeout_retcode" (10012).
    plan: list[str] = field(default_factory=list)
    failing_reads: int = 0  # the next N deal reads fail
    writes: int = 0
    reads: int = 0
    gate: asyncio.Event | None = None

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
        if step == "unsent":
            raise w.OutcomeUnknown("lost", command="trade/balance", params={})
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
        if step == "lost":
            raise w.OutcomeUnknown("lost", command="trade/balance", params={})
        if step == "timeout_retcode":
            raise w.Unavailable(10012, "Request timeout")
        return ticket

    async def deal_get_batch(self, **kwargs: Any) -> list[Any]:
        self.reads += 1
        if self.failing_reads > 0:
            self.failing_reads -= 1
            raise w.ReadError("connection lost")
        (login,) = kwargs["logins"]
        start, end = kwargs["from_"], kwargs["to"]
        return [d for d in self.deals if d.login == login and start <= d.time <= end]


class FakeAudit:
    def __init__(self) -> None:
        self.records: list[AuditRecord] = []

    async def write(self, record: AuditRecord) -> None:
        self.records.append(record)

    @property
    def outcomes(self) -> list[AuditOutcome]:
        return [r.outcome for r in self.records]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def mt5(clock: Clock) -> FakeMt5:
    return FakeMt5(clock)


@pytest.fixture
async def store(clock: Clock) -> Any:
    s = InMemoryIdempotencyStore(clock=clock, lease_seconds=30.0)
    yield s
    await s.aclose()


@pytest.fixture
def audit() -> FakeAudit:
    return FakeAudit()


@pytest.fixture
def flow(store: Any, audit: FakeAudit, clock: Clock) -> BalanceWorkflow:
    return BalanceWorkflow(
        store, audit, clock=clock, sleep=clock.sleep, checks=3, settle_seconds=0.5
    )  # type: ignore[arg-type]


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


async def test_success_then_replay_without_second_write(
    flow: BalanceWorkflow, mt5: FakeMt5, audit: FakeAudit
) -> None:
    req = request()
    first = await flow.run(req, mt5, CALLER)
    assert not first.replayed
    assert first.result.deal_ticket == mt5.deals[0].ticket
    assert first.result.currency == "USD"
    assert first.result.comment == mt5_comment(req.request_id, "invoice 42")
    again = await flow.run(req, mt5, CALLER)
    assert again.replayed
    assert again.result == first.result
    assert mt5.writes == 1
    assert audit.outcomes == [AuditOutcome.SUCCEEDED, AuditOutcome.REPLAYED]
    record = audit.records[0]
    assert (record.login, record.amount, record.deal) == (LOGIN, "100.25", 3_000_000)
    assert (record.caller, record.peer) == ("key-abc", "ipv4:127.0.0.1:5000")
    assert record.operation == "deposit"


async def test_same_request_id_other_payload_conflicts(
    flow: BalanceWorkflow, mt5: FakeMt5
) -> None:
    req = request()
    await flow.run(req, mt5, CALLER)
    other = request(request_id=req.request_id, amount=Decimal(5))
    with pytest.raises(IdempotencyConflictError):
        await flow.run(other, mt5, CALLER)
    assert mt5.writes == 1


async def test_concurrent_duplicate_waits_for_the_first(
    flow: BalanceWorkflow, mt5: FakeMt5
) -> None:
    mt5.gate = asyncio.Event()
    req = request()
    first = asyncio.create_task(flow.run(req, mt5, CALLER))
    second = asyncio.create_task(flow.run(req, mt5, CALLER))
    for _ in range(5):
        await asyncio.sleep(0)
    assert mt5.writes == 1
    assert not second.done()
    mt5.gate.set()
    one, two = await asyncio.gather(first, second)
    assert not one.replayed
    assert two.replayed
    assert one.result == two.result
    assert mt5.writes == 1


async def test_business_rejection_is_stored(
    flow: BalanceWorkflow, mt5: FakeMt5, store: Any, audit: FakeAudit
) -> None:
    mt5.plan = ["no_money"]
    req = request(amount=Decimal(-(10**6)))
    with pytest.raises(w.NoMoney):
        await flow.run(req, mt5, CALLER)
    with pytest.raises(w.NoMoney) as again:
        await flow.run(req, mt5, CALLER)
    assert again.value.retcode == 10019
    assert mt5.writes == 1
    record = await store.get(METHOD, req.request_id)
    assert record.state is RecordState.FAILED
    assert audit.outcomes == [AuditOutcome.FAILED, AuditOutcome.REPLAYED]
    assert audit.records[0].retcode == 10019
    assert audit.records[0].operation == "withdrawal"


async def test_busy_releases_the_claim_so_a_retry_writes(
    flow: BalanceWorkflow, mt5: FakeMt5, store: Any
) -> None:
    mt5.plan = ["busy"]
    req = request()
    with pytest.raises(w.TooFrequent):
        await flow.run(req, mt5, CALLER)
    assert await store.get(METHOD, req.request_id) is None
    outcome = await flow.run(req, mt5, CALLER)
    assert not outcome.replayed
    assert mt5.writes == 2
    assert len(mt5.deals) == 1


async def test_lost_answer_reconciled_found(
    flow: BalanceWorkflow, mt5: FakeMt5, store: Any, audit: FakeAudit
) -> None:
    mt5.plan = ["lost"]
    req = request()
    outcome = await flow.run(req, mt5, CALLER)
    assert outcome.reconciled
    assert not outcome.replayed
    assert outcome.result.deal_ticket == mt5.deals[0].ticket
    assert (await store.get(METHOD, req.request_id)).state is RecordState.SUCCEEDED
    assert audit.records[-1].changes == {"reconciled": "found"}
    again = await flow.run(req, mt5, CALLER)
    assert again.replayed
    assert mt5.writes == 1


@pytest.mark.parametrize("step", ["lost", "timeout_retcode"])
async def test_unknown_retcodes_reconcile(
    flow: BalanceWorkflow, mt5: FakeMt5, step: str
) -> None:
    mt5.plan = [step]
    outcome = await flow.run(request(), mt5, CALLER)
    assert outcome.reconciled
    assert len(mt5.deals) == 1


async def test_lost_and_not_applied_then_same_id_writes_once(
    flow: BalanceWorkflow, mt5: FakeMt5, store: Any, clock: Clock, audit: FakeAudit
) -> None:
    mt5.plan = ["unsent"]
    req = request()
    with pytest.raises(NotAppliedError):
        await flow.run(req, mt5, CALLER)
    # Three reads, spread over the settle time; no deal.
    assert mt5.reads == 3
    assert clock.sleeps == [0.25, 0.25]
    record = await store.get(METHOD, req.request_id)
    assert record.state is RecordState.UNKNOWN
    assert record.details["outcome"] == "not_applied"
    assert mt5.deals == []
    # The retry with the same id reconciles once more, then makes the one write.
    outcome = await flow.run(req, mt5, CALLER)
    assert not outcome.replayed
    assert mt5.writes == 2
    assert len(mt5.deals) == 1
    assert (await store.get(METHOD, req.request_id)).state is RecordState.SUCCEEDED
    assert audit.outcomes == [AuditOutcome.FAILED, AuditOutcome.SUCCEEDED]


async def test_cannot_tell_stays_unknown_and_never_writes_blindly(
    flow: BalanceWorkflow, mt5: FakeMt5, store: Any, audit: FakeAudit
) -> None:
    mt5.plan = ["lost"]
    mt5.failing_reads = 3
    req = request()
    with pytest.raises(OutcomeUnknownError):
        await flow.run(req, mt5, CALLER)
    record = await store.get(METHOD, req.request_id)
    assert record.state is RecordState.UNKNOWN
    assert record.details["outcome"] == "unknown"
    assert audit.outcomes == [AuditOutcome.UNKNOWN]
    # MT5 reachable again: the repeat finds the deal, no second write.
    outcome = await flow.run(req, mt5, CALLER)
    assert outcome.replayed
    assert outcome.reconciled
    assert mt5.writes == 1
    assert len(mt5.deals) == 1


async def test_one_failed_read_is_not_proof_of_absence(
    flow: BalanceWorkflow, mt5: FakeMt5
) -> None:
    mt5.plan = ["unsent"]
    mt5.failing_reads = 2  # only the last of three reads works
    with pytest.raises(OutcomeUnknownError):
        await flow.run(request(), mt5, CALLER)


async def test_crashed_owner_is_reconciled_after_its_lease(
    flow: BalanceWorkflow, mt5: FakeMt5, store: Any, clock: Clock
) -> None:
    req = request()
    # A process claims, writes, and dies before recording anything.
    ctx = store.claim(METHOD, req.request_id, req.fingerprint)
    await ctx.__aenter__()
    await store.aclose()  # its lease renewal dies with it
    await mt5.trade_balance(
        LOGIN, req.action, req.amount, mt5_comment(req.request_id, req.comment)
    )
    clock.now += 31  # past the 30 s lease
    outcome = await flow.run(req, mt5, CALLER)
    assert outcome.reconciled
    assert outcome.result.deal_ticket == mt5.deals[0].ticket
    assert mt5.writes == 1


async def test_amount_finer_than_the_currency_is_rejected_before_writing(
    flow: BalanceWorkflow, mt5: FakeMt5, store: Any
) -> None:
    req = request(amount=Decimal("1.005"))
    with pytest.raises(AmountError) as caught:
        await flow.run(req, mt5, CALLER)
    assert caught.value.field == "amount"
    assert mt5.writes == 0
    assert await store.get(METHOD, req.request_id) is None
    wrong = request(currency_code="EUR")
    with pytest.raises(AmountError) as caught:
        await flow.run(wrong, mt5, CALLER)
    assert caught.value.field == "amount.currency_code"


async def test_unknown_login_writes_nothing(
    flow: BalanceWorkflow, mt5: FakeMt5
) -> None:
    req = request(login=7)
    with pytest.raises(w.NotFound):
        await flow.run(req, mt5, CALLER)
    assert mt5.writes == 0


def test_fingerprint_ignores_request_id_and_trailing_zeros() -> None:
    a = request(amount=Decimal("100.50"))
    b = request(amount=Decimal("100.5"))
    assert a.fingerprint == b.fingerprint
    assert a.fingerprint != request(comment="other").fingerprint


async def test_unknown_then_absent_answers_not_applied_before_writing(
    flow: BalanceWorkflow, mt5: FakeMt5, store: Any
) -> None:
    mt5.plan = ["unsent"]
    mt5.failing_reads = 3  # cannot tell
    req = request()
    with pytest.raises(OutcomeUnknownError):
        await flow.run(req, mt5, CALLER)
    # MT5 reachable: the repeat proves absence and says so; it does not write yet.
    with pytest.raises(NotAppliedError):
        await flow.run(req, mt5, CALLER)
    assert mt5.writes == 1
    record = await store.get(METHOD, req.request_id)
    assert record.details["outcome"] == "not_applied"
    # Told "not applied", the caller retries the same id: now the one write.
    outcome = await flow.run(req, mt5, CALLER)
    assert not outcome.replayed
    assert mt5.writes == 2
    assert len(mt5.deals) == 1


async def test_crashed_owner_without_a_deal_is_not_applied_then_written(
    flow: BalanceWorkflow, mt5: FakeMt5, store: Any, clock: Clock
) -> None:
    req = request()
    ctx = store.claim(METHOD, req.request_id, req.fingerprint)
    await ctx.__aenter__()
    await store.aclose()  # died before its write left
    clock.now += 31
    with pytest.raises(NotAppliedError):
        await flow.run(req, mt5, CALLER)
    assert mt5.writes == 0
    outcome = await flow.run(req, mt5, CALLER)
    assert outcome.result.deal_ticket == mt5.deals[0].ticket
    assert mt5.writes == 1


async def test_short_deadline_answers_unknown_instead_of_waiting(
    store: Any, audit: FakeAudit, clock: Clock, mt5: FakeMt5
) -> None:
    flow = BalanceWorkflow(
        store,  # type: ignore[arg-type]
        audit,  # type: ignore[arg-type]
        clock=clock,
        sleep=clock.sleep,
        remaining=lambda: 0.1,
    )
    mt5.plan = ["unsent"]
    req = request()
    with pytest.raises(OutcomeUnknownError):
        await flow.run(req, mt5, CALLER)
    assert mt5.reads == 1
    assert clock.sleeps == []
    record = await store.get(METHOD, req.request_id)
    assert record.state is RecordState.UNKNOWN


def test_checks_must_allow_a_second_read(store: Any) -> None:
    with pytest.raises(ValueError, match="checks"):
        BalanceWorkflow(store, None, checks=1)
