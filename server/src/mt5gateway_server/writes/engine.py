"""Exactly once for every MT5 write: one flow, one failure codec, one classification.

A write RPC describes itself as a ``WriteOperation`` (what to read first, the one MT5
call, how to find its effect again, how to store its result) and calls
``WriteEngine.run(op, caller)``. The flow:

1. ``claim`` the request_id. ``REPLAY``: answer the stored outcome, no MT5 call.
2. ``op.prepare()`` (reads and checks); a failure releases the claim.
3. ``RECONCILE`` (an earlier attempt may have applied): ``op.find()`` looks the effect
   up. Found: that is the answer. Absent: a new write only once it is *certain* the
   earlier one cannot still land — ``settle_seconds`` after the last moment it may
   still have been on its way: when its failure showed, or when its dead owner's
   claim was taken over (default: three read timeouts, see
   ``docs/architecture.md#money-writes``);
   before that the caller gets ``OutcomeUnknownError`` with the time to wait. A
   ``repeatable`` operation (setting the same values again changes nothing) is sent
   again directly.
4. The write: ``attempt()`` commits the write-ahead mark (and its audit record), then
   ``op.send()`` makes the one MT5 call. Its outcome, classified once here:

   - an answer: ``complete`` (the stored result replays to every repeat);
   - MT5 refused it for good (no money, invalid, ...): ``fail``, repeats get the error;
   - it provably never left (connect failed, pool timeout, breaker open, deadline
     before sending, MT5 answered "busy"/"not logged in"): ``release``, a retry writes;
   - anything else (lost answer, read timeout, retcodes 9/10012, an unparsable
     answer, a bug): the effect is looked up once at once; found -> ``complete``,
     otherwise ``mark_unknown`` and ``OutcomeUnknownError``.

5. Two effects found for one request_id is a duplicate: an alert metric, an audit
   record and an ERROR line — never an automatic compensation.

Without a durable store (memory) a NEW claim may hide an earlier attempt made before a
restart, so the effect is looked up before the first write too.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from mt5gateway_server.audit import AuditOutcome, AuditRecord
from mt5gateway_server.log import get_logger
from mt5gateway_server.webapi import errors as w
from mt5gateway_server.writes.records import RecordState
from mt5gateway_server.writes.store import ClaimStatus

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from mt5gateway_server.writes.records import WriteRecord
    from mt5gateway_server.writes.store import Claim, WriteStore

__all__ = [
    "Caller",
    "Lookup",
    "OutcomeUnknownError",
    "Verdict",
    "WriteEngine",
    "WriteMetrics",
    "WriteOperation",
    "WriteOutcome",
    "sent_state",
]

_log = get_logger("writes")

A = TypeVar("A")  # what the MT5 call answers
R = TypeVar("R")  # what is stored and replayed

# A lookup that could not tell is retried this soon.
_RETRY_AFTER_LOOKUP_FAILED = 1.0
# Never answer "retry in 0 s": the caller would spin.
_MIN_RETRY_AFTER = 0.2
# Time kept to send the answer before the caller's deadline.
_ANSWER_RESERVE_SECONDS = 0.2


class OutcomeUnknownError(Exception):
    """The write may or may not have applied; repeat the SAME request_id (after
    ``retry_after_seconds``): the repeat looks it up, it never writes blindly."""

    def __init__(self, request_id: str, retry_after_seconds: float) -> None:
        super().__init__(
            "the MT5 write was sent but its outcome is not known yet; repeat the same "
            "request_id to look it up again"
        )
        self.request_id = request_id
        self.retry_after_seconds = retry_after_seconds


class Sent(enum.Enum):
    """Where a failed MT5 write stands."""

    NEVER = "never"  # provably did not reach MT5 or MT5 did not take it
    REJECTED = "rejected"  # MT5 answered a definite refusal
    UNKNOWN = "unknown"  # may have applied


def sent_state(exc: BaseException) -> Sent:  # noqa: PLR0911 - one per class
    """The one classification of a failed write (see the module docstring)."""
    if isinstance(exc, w.OutcomeUnknown):
        return Sent.UNKNOWN
    if isinstance(exc, w.RetcodeError):
        if exc.retcode in w.OUTCOME_OPEN_RETCODES:
            return Sent.UNKNOWN
        if exc.retcode in w.WRITE_NOT_TAKEN_RETCODES or isinstance(exc, w.AuthError):
            return Sent.NEVER  # refused before MT5 took it: rate limit, not logged in
        if exc.retryable:
            return Sent.UNKNOWN  # e.g. "no connection" after it may have been passed on
        return Sent.REJECTED
    if isinstance(
        exc,
        (w.ConnectError, w.PoolTimeout, w.CircuitOpen, w.DeadlineExceeded, w.AuthError),
    ):
        return Sent.NEVER
    return Sent.UNKNOWN


def encode_rejection(exc: w.RetcodeError) -> bytes:
    """The failure codec: what a refused write stores, replayed as the same error."""
    return json.dumps(
        {"retcode": exc.retcode, "text": exc.text, "command": exc.command or ""},
        separators=(",", ":"),
    ).encode()


def decode_rejection(payload: bytes, server: str) -> w.RetcodeError:
    stored = json.loads(payload)
    return w.retcode_error(
        int(stored["retcode"]),
        str(stored.get("text", "")),
        server=server,
        command=str(stored.get("command", "")),
    )


class Verdict(enum.Enum):
    FOUND = "found"
    ABSENT = "absent"
    UNKNOWN = "unknown"  # the look-up itself failed


@dataclass(frozen=True, slots=True)
class Lookup(Generic[R]):
    verdict: Verdict
    result: R | None = None
    matches: int = 0  # effects found; more than one means applied more than once

    @classmethod
    def found(cls, result: R, matches: int = 1) -> Lookup[R]:
        return cls(Verdict.FOUND, result, matches)


ABSENT: Lookup[Any] = Lookup(Verdict.ABSENT)
CANNOT_TELL: Lookup[Any] = Lookup(Verdict.UNKNOWN)


class WriteOperation(Protocol[A, R]):
    """One write RPC's part of the flow; built per call."""

    method: str  # full gRPC method: the idempotency and audit key
    request_id: str
    fingerprint: str  # of the request without its request_id
    server: str
    # Sending it again after an unknown outcome changes nothing further.
    repeatable: bool

    async def prepare(self) -> None:
        """Reads and checks before the write; nothing is written yet."""

    async def send(self) -> A:
        """The one MT5 write."""

    async def result(self, answer: A) -> R:
        """The stored result from MT5's answer (may read; the write stands anyway)."""

    async def find(self, record: WriteRecord) -> Lookup[R]:
        """Look an earlier attempt's effect up (``record.details`` holds evidence)."""

    def evidence(self, answer: A) -> Mapping[str, str]:
        """What identifies the effect (a deal ticket, a login) if ``result`` fails."""

    def encode(self, result: R) -> bytes: ...

    def decode(self, payload: bytes) -> R: ...

    def audit_facts(self, result: R | None) -> dict[str, Any]:
        """``AuditRecord`` fields: operation, login, amount, currency, deal, comment,
        changes."""


class WriteMetrics(Protocol):
    def record_idempotency_replay(self, method: str) -> None: ...

    def record_write_outcome(self, method: str, outcome: str) -> None: ...

    def record_duplicate_write(self, method: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Caller:
    identity: str = ""  # authenticated caller (API key name), "" with auth off
    peer: str = ""  # gRPC peer address


@dataclass(frozen=True, slots=True)
class WriteOutcome(Generic[R]):
    result: R
    replayed: bool  # made by an earlier call with this request_id
    reconciled: bool = False  # found by a look-up after an unknown outcome


class _Run(Generic[A, R]):
    """One call of ``WriteEngine.run``: the operation, its claim and its caller."""

    def __init__(
        self,
        engine: WriteEngine,
        op: WriteOperation[A, R],
        claim: Claim,
        caller: Caller,
    ) -> None:
        self.engine = engine
        self.op = op
        self.claim = claim
        self.caller = caller

    def audit(
        self,
        outcome: AuditOutcome,
        result: R | None = None,
        *,
        retcode: int | None = None,
        **changes: str,
    ) -> AuditRecord:
        facts = self.op.audit_facts(result)
        merged = {**facts.pop("changes", {}), **changes}
        return AuditRecord(
            method=self.op.method,
            outcome=outcome,
            server=self.op.server,
            request_id=self.op.request_id,
            retcode=retcode,
            caller=self.caller.identity,
            peer=self.caller.peer,
            changes=merged,
            **facts,
        )

    def settle_left(self, sent_at: float, *, at: float | None = None) -> float:
        """Seconds from ``at`` (now) until a write sent at ``sent_at`` can no longer
        apply."""
        settle = self.engine.settle_seconds(self.op.server)
        return sent_at + settle - (self.engine.clock() if at is None else at)

    def retry_after(self, sent_at: float, *, lookup_failed: bool) -> float:
        floor = _RETRY_AFTER_LOOKUP_FAILED if lookup_failed else _MIN_RETRY_AFTER
        return max(floor, self.settle_left(sent_at))

    async def replay(self) -> WriteOutcome[R]:
        record = self.claim.existing
        assert record is not None  # noqa: S101 - REPLAY carries the record
        self.engine.count_replay(self.op.method)
        if record.state is RecordState.FAILED:
            error = decode_rejection(record.payload, self.op.server)
            await self.engine.store.append_audit(
                self.audit(
                    AuditOutcome.REPLAYED, retcode=error.retcode, stored="failed"
                )
            )
            raise error
        result = self.op.decode(record.payload)
        await self.engine.store.append_audit(self.audit(AuditOutcome.REPLAYED, result))
        return WriteOutcome(result, replayed=True)

    def _evidence(self, answer: A) -> Mapping[str, str]:
        try:
            return self.op.evidence(answer)
        except Exception:  # noqa: BLE001 - the write stands; "applied" must be kept
            _log.exception("write_evidence_failed", request_id=self.op.request_id)
            return {}

    async def find(self, record: WriteRecord) -> Lookup[R]:
        """The operation's look-up; any failure of it only means "cannot tell"."""
        try:
            return await self.op.find(record)
        except Exception:  # noqa: BLE001 - a look-up must never decide an outcome
            _log.exception(
                "write_lookup_failed",
                method=self.op.method,
                request_id=self.op.request_id,
            )
            return Lookup(Verdict.UNKNOWN)

    async def reconcile(self, earlier: WriteRecord) -> WriteOutcome[R]:
        # "Absent" proves only what the look-up saw when it started.
        looked_at = self.engine.clock()
        found = await self.find(earlier)
        _log.info(
            "write_reconciled",
            method=self.op.method,
            request_id=self.op.request_id,
            verdict=found.verdict.value,
            matches=found.matches,
        )
        if found.verdict is Verdict.FOUND:
            return await self.found(found, replayed=True)
        if self.op.repeatable:
            # Sending it again changes nothing further, whatever the look-up said.
            return await self.write()
        applied = earlier.details.get("applied") == "true"
        if earlier.state is RecordState.ATTEMPTED:
            # Its owner died with the write possibly on its way: it may have left
            # until the owner's end, which is no later than now.
            sent_at = self.engine.clock()
        else:
            sent_at = earlier.attempted_at or earlier.updated_at
        settled = self.settle_left(sent_at, at=looked_at) <= 0
        if found.verdict is Verdict.ABSENT and not applied and settled:
            return await self.write()
        return await self.unknown(
            {**earlier.details, "lookup": found.verdict.value},
            sent_at,
            lookup_failed=found.verdict is Verdict.UNKNOWN,
        )

    async def found(self, found: Lookup[R], *, replayed: bool) -> WriteOutcome[R]:
        assert found.result is not None  # noqa: S101 - FOUND carries the result
        result = found.result
        if found.matches > 1:
            await self.engine.duplicate(self, found.matches, result)
        await self.claim.complete(
            self.op.encode(result),
            self.audit(AuditOutcome.SUCCEEDED, result, reconciled="found"),
        )
        self.engine.count(self.op.method, "reconciled")
        return WriteOutcome(result, replayed=replayed, reconciled=True)

    async def unknown(
        self, details: Mapping[str, str], sent_at: float, *, lookup_failed: bool
    ) -> WriteOutcome[R]:
        await self.claim.mark_unknown(
            details, self.audit(AuditOutcome.UNKNOWN), in_flight_until=sent_at
        )
        self.engine.count(self.op.method, "unknown")
        delay = self.retry_after(sent_at, lookup_failed=lookup_failed)
        raise OutcomeUnknownError(self.op.request_id, delay)

    async def write(self) -> WriteOutcome[R]:
        attempt = await self.claim.attempt(self.audit(AuditOutcome.ATTEMPTING))
        try:
            answer = await self.op.send()
        except BaseException as exc:  # noqa: BLE001 - every failure is classified
            return await self.send_failed(exc, attempt)
        try:
            result = await self.op.result(answer)
        except Exception as exc:
            # It applied, but the answer could not be built: never write it again,
            # and never answer as if it failed (a caller may take that as final).
            details = {"applied": "true", **self._evidence(answer)}
            await self.claim.mark_unknown(details, self.audit(AuditOutcome.UNKNOWN))
            _log.warning(
                "write_applied_answer_failed",
                method=self.op.method,
                request_id=self.op.request_id,
                error=type(exc).__name__,
            )
            raise OutcomeUnknownError(
                self.op.request_id, _RETRY_AFTER_LOOKUP_FAILED
            ) from exc
        await self.claim.complete(
            self.op.encode(result), self.audit(AuditOutcome.SUCCEEDED, result)
        )
        self.engine.count(self.op.method, "succeeded")
        return WriteOutcome(result, replayed=False)

    async def send_failed(
        self, exc: BaseException, attempt: WriteRecord
    ) -> WriteOutcome[R]:
        state = sent_state(exc)
        if state is Sent.NEVER:
            await self.claim.release(self.audit(AuditOutcome.NOT_SENT))
            self.engine.count(self.op.method, "not_sent")
            raise exc
        if state is Sent.REJECTED:
            assert isinstance(exc, w.RetcodeError)  # noqa: S101 - classification
            await self.claim.fail(
                encode_rejection(exc),
                self.audit(AuditOutcome.FAILED, retcode=exc.retcode),
                {"retcode": str(exc.retcode)},
            )
            self.engine.count(self.op.method, "failed")
            raise exc
        if not isinstance(exc, Exception):
            # Cancelled mid-write: the context manager marks it unknown.
            raise exc
        _log.warning(
            "write_outcome_unknown",
            method=self.op.method,
            request_id=self.op.request_id,
            error=type(exc).__name__,
        )
        # The write may have left any time until its failure showed (a wait for a
        # session, a slow send): the settle window runs from now, not from the
        # write-ahead mark.
        failed_at = self.engine.clock()
        found = await self.find(attempt)
        if found.verdict is Verdict.FOUND:
            return await self.found(found, replayed=False)
        return await self.unknown(
            {"error": type(exc).__name__},
            failed_at,
            lookup_failed=found.verdict is Verdict.UNKNOWN,
        )


class WriteEngine:
    """One per process; ``run`` is safe to call concurrently."""

    def __init__(
        self,
        store: WriteStore,
        *,
        settle_seconds: Callable[[str], float],
        metrics: WriteMetrics | None = None,
        remaining: Callable[[], float | None] = lambda: None,
    ) -> None:
        self.store = store
        # Per MT5 server: how long after sending a write can still apply.
        self.settle_seconds = settle_seconds
        self._metrics = metrics
        # Seconds left of the calling RPC's deadline (None: no deadline).
        self._remaining = remaining
        self.clock = store.clock

    async def run(self, op: WriteOperation[A, R], caller: Caller) -> WriteOutcome[R]:
        """Raises the Web API error of a refused or never-sent write, the prepare
        step's errors, ``OutcomeUnknownError``, or the store's conflict/pending/claim
        errors."""
        wait = self._wait_timeout()
        claim_ctx = self.store.claim(
            op.method, op.request_id, op.fingerprint, wait_timeout=wait
        )
        async with claim_ctx as claim:
            run = _Run(self, op, claim, caller)
            if claim.status is ClaimStatus.REPLAY:
                return await run.replay()
            try:
                await op.prepare()
            except Exception as exc:
                await claim.release()
                if claim.status is ClaimStatus.RECONCILE:
                    # An earlier attempt may have applied: a check failing now (the
                    # account moved or was deleted since) must not read as final.
                    _log.warning(
                        "write_reconcile_prepare_failed",
                        method=op.method,
                        request_id=op.request_id,
                        error=type(exc).__name__,
                    )
                    raise OutcomeUnknownError(
                        op.request_id, _RETRY_AFTER_LOOKUP_FAILED
                    ) from exc
                raise
            except BaseException:
                await claim.release()
                raise
            try:
                return await self._decide(run, claim)
            except BaseException as exc:
                if claim.attempted:
                    # Left mid-write (cancelled, a bug): open, with its audit record.
                    await claim.mark_unknown(
                        {"reason": type(exc).__name__},
                        run.audit(AuditOutcome.UNKNOWN),
                        in_flight_until=self.clock(),
                    )
                raise

    async def _decide(self, run: _Run[A, R], claim: Claim) -> WriteOutcome[R]:
        if claim.status is ClaimStatus.RECONCILE:
            assert claim.existing is not None  # noqa: S101 - store contract
            return await run.reconcile(claim.existing)
        if not self.store.durable:
            found = await run.find(claim.record)
            if found.verdict is Verdict.FOUND:
                return await run.found(found, replayed=True)
        return await run.write()

    def _wait_timeout(self) -> float | None:
        """A concurrent duplicate waits for the first at most until shortly before its
        own deadline, then answers "in progress" (ABORTED + RetryInfo) instead of
        running into DEADLINE_EXCEEDED."""
        left = self._remaining()
        if left is None:
            return None
        return max(0.0, left - _ANSWER_RESERVE_SECONDS)

    def count(self, method: str, outcome: str) -> None:
        self._measure(lambda m: m.record_write_outcome(method, outcome))

    def count_replay(self, method: str) -> None:
        self._measure(lambda m: m.record_idempotency_replay(method))

    def _measure(self, record: Callable[[WriteMetrics], None]) -> None:
        # Bookkeeping after an outcome is stored must never change the answer.
        if self._metrics is None:
            return
        try:
            record(self._metrics)
        except Exception:  # noqa: BLE001 - metrics are not the money
            _log.exception("write_metrics_failed")

    async def duplicate(
        self, run: _Run[Any, Any], matches: int, result: object
    ) -> None:
        _log.error(
            "write_applied_more_than_once",
            method=run.op.method,
            request_id=run.op.request_id,
            server=run.op.server,
            matches=matches,
        )
        self._measure(lambda m: m.record_duplicate_write(run.op.method))
        await self.store.append_audit(
            run.audit(AuditOutcome.DUPLICATE, result, matches=str(matches))
        )
