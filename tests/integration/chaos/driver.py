"""Callers of ``CreateBalanceOperation`` as a careful client writes them.

Each deposit has its own request_id; a caller repeats the SAME request_id until a
definitive answer: OK, or a failure the gateway stored (an MT5 rejection). Retryable
answers (UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED, RESOURCE_EXHAUSTED, CANCELLED, and
the ErrorInfo reason MT5_OUTCOME_UNKNOWN whatever its code) are repeated after the
server's RetryInfo delay, or a short jittered pause without one. Some deposits are
sent by two callers at once, and echo callers keep re-sending deposits that were
already answered. Only the public contract is used: the stubs and the Python
client's error decoding and money helpers.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Self

import grpc
from mt5gateway.client import decode, money_from_proto, money_to_proto
from mt5gateway.v1 import trade_pb2, trade_service_pb2_grpc
from mt5gateway.v1 import trade_service_pb2 as ts

if TYPE_CHECKING:
    import random
    from collections.abc import Iterable, Sequence
    from types import TracebackType

RETRY_CODES = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.CANCELLED,
    }
)
OUTCOME_UNKNOWN = "MT5_OUTCOME_UNKNOWN"
COMMENT = "chaos"
# Quick reconnects after a gateway restart; no transparent retries by grpc itself.
CHANNEL_OPTIONS = (
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 500),
    ("grpc.enable_retries", 0),
)


_HISTORY = 40  # attempts kept per deposit
TAG_PREFIX = "gw:"
TAG_LENGTH = len(TAG_PREFIX) + 10


def reconciliation_tag(request_id: str) -> str:
    """The documented rule: ``gw:`` + the first 10 base32 characters of SHA-256 of
    the request_id (canonical UUID text). Recomputed here, not imported."""
    digest = hashlib.sha256(request_id.encode("ascii")).digest()
    return (
        TAG_PREFIX
        + base64.b32encode(digest).decode("ascii")[: TAG_LENGTH - len(TAG_PREFIX)]
    )


@dataclass(eq=False)
class Deposit:
    request_id: str
    login: int
    amount: Decimal
    tickets: list[int] = field(default_factory=list)  # deal ticket of each OK
    rejections: list[str] = field(default_factory=list)  # "CODE/REASON" each
    wrong_answers: list[str] = field(default_factory=list)  # OK for another deposit
    history: list[str] = field(default_factory=list)  # every attempt, for reports
    sent: bool = False

    def note(self, at: float, took: float, answer: str) -> None:
        if len(self.history) < _HISTORY:
            self.history.append(f"+{at:.2f}s {answer} ({took:.2f}s)")

    @property
    def settled(self) -> bool:
        return bool(self.tickets or self.rejections)

    @property
    def tag(self) -> str:
        return reconciliation_tag(self.request_id)

    def request(self) -> ts.CreateBalanceOperationRequest:
        return ts.CreateBalanceOperationRequest(
            request_id=self.request_id,
            login=self.login,
            type=trade_pb2.BALANCE_OPERATION_TYPE_BALANCE,
            amount=money_to_proto(self.amount, ""),
            comment=COMMENT,
        )


def make_deposits(
    count: int, rng: random.Random, logins: Sequence[int]
) -> list[Deposit]:
    """Distinct request_ids, amounts 0.01..1,000.00 with two decimals."""
    return [
        Deposit(
            str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            rng.choice(logins),
            Decimal(rng.randint(1, 100_000)).scaleb(-2),
        )
        for _ in range(count)
    ]


@dataclass
class Tally:
    calls: int = 0
    retries: int = 0
    unknown_answers: int = 0  # MT5_OUTCOME_UNKNOWN
    replayed: int = 0
    echo_sends: int = 0  # deposits re-sent after they had been answered
    answers: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class DriverConfig:
    callers: int = 32
    echo_callers: int = 4
    concurrent_duplicate_share: float = 0.2  # deposits two callers send at once
    attempt_timeout_seconds: float = 8.0
    # RetryInfo is honoured; this only bounds a nonsensical hint.
    max_retry_delay_seconds: float = 30.0


class Driver:
    """``async with Driver(target, deposits, config, rng) as driver:``, then
    ``await driver.run(deadline)`` (the storm) and ``await driver.settle(deadline)``
    (every unsettled deposit again, once the faults are off)."""

    def __init__(
        self,
        target: str,
        deposits: Sequence[Deposit],
        config: DriverConfig,
        rng: random.Random,
    ) -> None:
        self.deposits = list(deposits)
        self.config = config
        self.tally = Tally()
        self.answered = 0  # deposits settled so far (chaos paces itself on this)
        self.finished = asyncio.Event()  # the storm is over
        self._rng = rng
        self._epoch = time.monotonic()  # attempt times in histories are relative
        self._channel = grpc.aio.insecure_channel(target, options=CHANNEL_OPTIONS)
        self._stub = trade_service_pb2_grpc.TradeServiceStub(self._channel)
        self._settled: list[Deposit] = []

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._channel.close()

    async def run(self, deadline: float) -> None:
        """The storm: every deposit sent until answered or ``deadline``
        (``time.monotonic()``); ``finished`` is set at the end."""
        jobs: asyncio.Queue[Deposit] = asyncio.Queue()
        for deposit in self.deposits:
            jobs.put_nowait(deposit)
            if self._rng.random() < self.config.concurrent_duplicate_share:
                jobs.put_nowait(deposit)  # the next free caller sends it too

        async def caller() -> None:
            while time.monotonic() < deadline:
                try:
                    deposit = jobs.get_nowait()
                except asyncio.QueueEmpty:
                    return
                await self._until_definitive(deposit, deadline)

        echoes = [
            asyncio.create_task(self._echo(deadline))
            for _ in range(self.config.echo_callers)
        ]
        try:
            await asyncio.gather(*(caller() for _ in range(self.config.callers)))
        finally:
            self.finished.set()
            await asyncio.gather(*echoes)

    async def settle(self, deadline: float) -> None:
        """Ask again for every deposit that was sent but has no definitive answer."""
        while time.monotonic() < deadline:
            waiting = [d for d in self.deposits if d.sent and not d.settled]
            if not waiting:
                return
            await self._each(waiting, deadline)

    async def replay(self, sample: int, deadline: float) -> None:
        """Send ``sample`` answered deposits once more (faults off): the answer must
        be the first one again."""
        answered = [d for d in self.deposits if d.settled]
        await self._each(
            self._rng.sample(answered, min(sample, len(answered))), deadline
        )

    async def _each(self, deposits: Iterable[Deposit], deadline: float) -> None:
        """Every deposit until definitive, ``callers`` at a time."""
        limit = asyncio.Semaphore(self.config.callers)

        async def one(deposit: Deposit) -> None:
            async with limit:
                await self._until_definitive(deposit, deadline)

        await asyncio.gather(*(one(d) for d in deposits))

    async def _echo(self, deadline: float) -> None:
        while not self.finished.is_set() and time.monotonic() < deadline:
            if not self._settled:
                await asyncio.sleep(0.05)
                continue
            self.tally.echo_sends += 1
            await self._until_definitive(self._rng.choice(self._settled), deadline)
            await asyncio.sleep(self._rng.uniform(0.005, 0.03))

    async def _until_definitive(self, deposit: Deposit, deadline: float) -> None:
        deposit.sent = True
        while time.monotonic() < deadline:
            self.tally.calls += 1
            began = time.monotonic()
            try:
                reply = await self._stub.CreateBalanceOperation(
                    deposit.request(), timeout=self.config.attempt_timeout_seconds
                )
            except grpc.aio.AioRpcError as exc:
                answer, delay = self._failed(deposit, exc)
                deposit.note(began - self._epoch, time.monotonic() - began, answer)
                if delay is None:
                    return
                self.tally.retries += 1
                await asyncio.sleep(min(delay, max(0.0, deadline - time.monotonic())))
                continue
            answer = self._succeeded(deposit, reply)
            deposit.note(began - self._epoch, time.monotonic() - began, answer)
            return

    def _failed(
        self, deposit: Deposit, exc: grpc.aio.AioRpcError
    ) -> tuple[str, float | None]:
        """Record a failed attempt: its answer and the pause before repeating it
        (None when the answer is definitive)."""
        error = decode(exc)
        answer = f"{exc.code().name}/{error.reason or '-'}"
        self.tally.answers[answer] += 1
        if error.reason == OUTCOME_UNKNOWN:
            self.tally.unknown_answers += 1
        if exc.code() in RETRY_CODES or error.reason == OUTCOME_UNKNOWN:
            if error.retry_delay is not None:
                hint = error.retry_delay.total_seconds()
                return answer, min(hint, self.config.max_retry_delay_seconds)
            return answer, self._rng.uniform(0.05, 0.25)
        self._answer(deposit)
        deposit.rejections.append(answer)
        return answer, None

    def _succeeded(
        self, deposit: Deposit, reply: ts.CreateBalanceOperationResponse
    ) -> str:
        self.tally.answers["OK"] += 1
        self.tally.replayed += reply.replayed
        operation = reply.balance_operation
        got = (
            operation.request_id,
            operation.login,
            money_from_proto(operation.amount),
        )
        if got != (deposit.request_id, deposit.login, deposit.amount):
            deposit.wrong_answers.append(repr(got))
        self._answer(deposit)
        deposit.tickets.append(operation.deal_ticket)
        replayed = " replayed" if reply.replayed else ""
        return f"OK{replayed} deal {operation.deal_ticket}"

    def _answer(self, deposit: Deposit) -> None:
        if not deposit.settled:
            self.answered += 1
            self._settled.append(deposit)
