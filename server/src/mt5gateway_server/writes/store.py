"""The claim on one ``(method, request_id)``: who may write, and every state change
committed together with its audit record.

``store.claim(method, request_id, fingerprint)`` gives a ``Claim`` with a status:

``NEW``        nothing was sent for this request_id: the caller owns a ``PENDING``
               record and may write once (after ``attempt()``).
``REPLAY``     a final outcome is stored in ``claim.existing``: answer it, never call
               MT5.
``RECONCILE``  an earlier attempt may have applied (``ATTEMPTED`` with a dead owner,
               or ``UNKNOWN``): look the effect up before anything else.

Or it raises ``IdempotencyConflictError`` (the id was used with another payload) or
``IdempotencyPendingError`` (a concurrent duplicate still runs after the wait; a
duplicate otherwise waits and then gets ``REPLAY``).

Every transition (``attempt``, ``complete``, ``fail``, ``mark_unknown``, ``release``)
is one atomic commit of the new record state *and* its audit record, checked against
the owner's token; a crash can leave an open attempt but never an outcome without its
record. The owner's claim is a lease renewed in the background while it runs; a dead
process stops renewing and the next caller takes over after at most one lease. If the
lease was taken over before the owner commits, the commit raises ``ClaimLostError``.
Leaving ``async with`` without an outcome releases a claim that never attempted and
marks an attempted one ``UNKNOWN``: the safe default for money.

Backends (memory, SQLite, Redis) implement four primitives: ``_try_claim``,
``_commit``, ``_renew``, ``_wait_change``, plus ``get`` and ``append_audit``; the state
machine is here once.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import secrets
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, TypedDict

from mt5gateway_server.log import get_logger
from mt5gateway_server.webapi.tasks import spawn
from mt5gateway_server.writes.records import (
    ClaimLostError,
    IdempotencyConflictError,
    IdempotencyPendingError,
    RecordState,
    WriteRecord,
)

if TYPE_CHECKING:
    from types import TracebackType

    from mt5gateway_server.audit import AuditRecord

__all__ = [
    "AuditSink",
    "Change",
    "Claim",
    "ClaimContext",
    "ClaimStatus",
    "StoreOptions",
    "WriteStore",
]

_log = get_logger("writes.store")

AuditSink = Callable[["AuditRecord"], None]


class StoreOptions(TypedDict, total=False):
    """What every backend's constructor takes besides its own arguments."""

    ttl_seconds: float
    lease_seconds: float
    wait_timeout_seconds: float
    clock: Callable[[], float]
    audit_sink: AuditSink | None


class ClaimStatus(enum.StrEnum):
    NEW = "new"
    REPLAY = "replay"
    RECONCILE = "reconcile"


@dataclass(frozen=True, slots=True)
class Change:
    """One transition for a backend to commit atomically: store ``record`` (None:
    forget the key) and append ``audit``, only while ``token`` owns ``key``;
    ``release`` gives the ownership up."""

    key: tuple[str, str]
    record: WriteRecord | None
    token: str
    audit: AuditRecord | None
    release: bool


class TryClaim(enum.Enum):
    """What a backend's ``_try_claim`` found (``TAKEN`` = a PENDING record whose owner
    died before sending: ours now, and safe to write)."""

    NEW = "new"
    TAKEN = "taken"
    REPLAY = "replay"
    RECONCILE = "reconcile"
    BUSY = "busy"
    CONFLICT = "conflict"


class Claim:
    """The caller's handle on one (method, request_id); see the module docstring."""

    def __init__(
        self,
        store: WriteStore,
        status: ClaimStatus,
        existing: WriteRecord | None,
        record: WriteRecord,
        token: str,
    ) -> None:
        self._store = store
        self.status = status
        self.existing = existing  # the earlier record (REPLAY, RECONCILE, or taken)
        self.record = record  # the current one, as last committed by us
        self.token = token
        self._done = status is ClaimStatus.REPLAY

    @property
    def method(self) -> str:
        return self.record.method

    @property
    def request_id(self) -> str:
        return self.record.request_id

    @property
    def owned(self) -> bool:
        """True while this caller must still record an outcome."""
        return not self._done

    @property
    def attempted(self) -> bool:
        """This claim stored a write-ahead mark that no outcome has closed yet."""
        return self.record.state is RecordState.ATTEMPTED and not self._done

    def __repr__(self) -> str:
        return (
            f"<Claim {self.method} {self.request_id} {self.status.value} "
            f"{self.record.state.value}{' owned' if self.owned else ''}>"
        )

    async def attempt(self, audit: AuditRecord) -> WriteRecord:
        """Write-ahead: committed before the MT5 write leaves."""
        now = self._store.clock()
        record = replace(
            self.record,
            state=RecordState.ATTEMPTED,
            attempts=self.record.attempts + 1,
            attempted_at=now,
            updated_at=now,
        )
        return await self._commit(record, audit, final=False)

    async def complete(
        self,
        payload: bytes,
        audit: AuditRecord,
        details: Mapping[str, str] | None = None,
    ) -> WriteRecord:
        """It applied; ``payload`` is replayed to every repeat."""
        return await self._close(RecordState.SUCCEEDED, payload, details, audit)

    async def fail(
        self,
        payload: bytes,
        audit: AuditRecord,
        details: Mapping[str, str] | None = None,
    ) -> WriteRecord:
        """MT5 definitively rejected it; repeats get the same error."""
        return await self._close(RecordState.FAILED, payload, details, audit)

    async def mark_unknown(
        self,
        details: Mapping[str, str],
        audit: AuditRecord | None,
        *,
        in_flight_until: float | None = None,
    ) -> WriteRecord:
        """It may have applied; the next repeat looks it up again.

        ``in_flight_until``: the latest moment the write may still have been on its
        way (stored as ``attempted_at``; the settle window runs from it).
        """
        if in_flight_until is not None:
            self.record = replace(self.record, attempted_at=in_flight_until)
        return await self._close(RecordState.UNKNOWN, b"", details, audit)

    async def release(self, audit: AuditRecord | None = None) -> None:
        """This claim's write never left (or was never tried): undo it.

        A claim that found no earlier record forgets the id (a retry writes); one that
        took an earlier record over puts that record back as it was.
        """
        self._check_owned()
        self._done = True
        await self._store.stop_renewal(self)
        earlier = self.existing
        restored = (
            None
            if earlier is None
            else replace(earlier, updated_at=self._store.clock())
        )
        ok = await self._store.commit(
            Change(self.record.key, restored, self.token, audit, release=True)
        )
        if not ok:
            _log.error(
                "write_claim_lost", method=self.method, request_id=self.request_id
            )

    def _check_owned(self) -> None:
        if self._done:
            raise RuntimeError(f"{self!r}: outcome already recorded or replaying")

    async def _close(
        self,
        state: RecordState,
        payload: bytes,
        details: Mapping[str, str] | None,
        audit: AuditRecord | None,
    ) -> WriteRecord:
        record = replace(
            self.record,
            state=state,
            payload=payload,
            details=dict(details or {}),
            updated_at=self._store.clock(),
        )
        return await self._commit(record, audit, final=True)

    async def _commit(
        self, record: WriteRecord, audit: AuditRecord | None, *, final: bool
    ) -> WriteRecord:
        self._check_owned()
        if final:
            self._done = True
            await self._store.stop_renewal(self)
        if not await self._store.commit(
            Change(record.key, record, self.token, audit, release=final)
        ):
            self._done = True
            await self._store.stop_renewal(self)
            _log.error(
                "write_claim_lost",
                method=self.method,
                request_id=self.request_id,
                state=record.state.value,
            )
            raise ClaimLostError(
                "the claim's lease was taken over before the outcome was recorded",
                self.method,
                self.request_id,
            )
        self.record = record
        return record


class ClaimContext:
    """``async with store.claim(...) as claim``; see the module docstring."""

    def __init__(
        self, store: WriteStore, method: str, request_id: str, fp: str, wait: float
    ) -> None:
        self._store = store
        self._args = (method, request_id, fp, wait)
        self._claim: Claim | None = None

    async def __aenter__(self) -> Claim:
        self._claim = await self._store.acquire(*self._args)
        return self._claim

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        claim = self._claim
        if claim is None or not claim.owned:
            return
        reason = "exited_without_outcome" if exc_type is None else exc_type.__name__
        if exc_type is None:
            _log.error(
                "write_claim_not_finalized",
                method=claim.method,
                request_id=claim.request_id,
            )
        try:
            if claim.attempted:
                # Sent (or about to be): it may have applied, and may still be on
                # its way until now (e.g. cancelled mid-write).
                await claim.mark_unknown(
                    {"reason": reason}, None, in_flight_until=self._store.clock()
                )
            else:
                await claim.release()
        except ClaimLostError:
            pass  # logged in _commit
        except Exception:  # noqa: BLE001  # must not replace the body's exception
            # E.g. Redis is down: the lease expires and the next caller reconciles.
            _log.warning(
                "write_claim_close_failed",
                method=claim.method,
                request_id=claim.request_id,
                exc_info=True,
            )


class WriteStore(ABC):
    """The shared half of every backend: claiming, waiting, lease renewal."""

    #: Survives a restart of the process (what makes "exactly once" hold after -9).
    durable: bool = False
    name: str = "abstract"

    def __init__(
        self,
        *,
        ttl_seconds: float = 86_400,
        lease_seconds: float = 30.0,
        wait_timeout_seconds: float = 30.0,
        clock: Callable[[], float] = time.time,
        audit_sink: AuditSink | None = None,
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self.lease_seconds = lease_seconds
        self._wait_timeout = wait_timeout_seconds
        self.clock = clock
        self._sink = audit_sink
        self._renewals: dict[int, asyncio.Task[None]] = {}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

    def claim(
        self,
        method: str,
        request_id: str,
        fingerprint: str,
        *,
        wait_timeout: float | None = None,
    ) -> ClaimContext:
        if not method or not request_id or not fingerprint:
            raise ValueError("method, request_id and fingerprint must be non-empty")
        wait = (
            self._wait_timeout
            if wait_timeout is None
            else min(wait_timeout, self._wait_timeout)
        )
        return ClaimContext(self, method, request_id, fingerprint, wait)

    async def acquire(
        self, method: str, request_id: str, fp: str, wait_timeout: float
    ) -> Claim:
        token = secrets.token_hex(16)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_timeout
        polls = 0
        while True:
            now = self.clock()
            pending = WriteRecord(
                method=method,
                request_id=request_id,
                fingerprint=fp,
                state=RecordState.PENDING,
                created_at=now,
                updated_at=now,
            )
            found, current = await self._try_claim(pending, token)
            if found is TryClaim.CONFLICT:
                raise IdempotencyConflictError(
                    "request_id was already used with a different request",
                    method,
                    request_id,
                )
            if found is not TryClaim.BUSY:
                break
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise IdempotencyPendingError(
                    "a request with this request_id is still in progress",
                    method,
                    request_id,
                )
            await self._wait_change(pending.key, remaining, polls)
            polls += 1
        if found is TryClaim.REPLAY:
            assert current is not None  # noqa: S101 - backend contract
            return Claim(self, ClaimStatus.REPLAY, current, current, token)
        if found is TryClaim.NEW:
            claim = Claim(self, ClaimStatus.NEW, None, pending, token)
        else:
            assert current is not None  # noqa: S101 - backend contract
            status = (
                ClaimStatus.NEW if found is TryClaim.TAKEN else ClaimStatus.RECONCILE
            )
            _log.warning(
                "write_claim_taken_over",
                method=method,
                request_id=request_id,
                previous_state=current.state.value,
                status=status.value,
            )
            claim = Claim(
                self, status, current, replace(current, updated_at=now), token
            )
        self._start_renewal(claim)
        return claim

    async def commit(self, change: Change) -> bool:
        """Commit ``change`` in one transaction; False if its token lost the key."""
        ok = await self._commit(change)
        if ok and change.audit is not None:
            self._feed(change.audit)
        return ok

    def _feed(self, audit: AuditRecord) -> None:
        # After the commit: a failing feed must never change a stored outcome.
        if self._sink is None:
            return
        try:
            self._sink(audit)
        except Exception:  # noqa: BLE001 - the store holds the record
            _log.exception("write_audit_feed_failed", request_id=audit.request_id)

    async def append_audit(self, audit: AuditRecord) -> None:
        """An audit record without a state change (a replay)."""
        await self._append_audit(audit)
        self._feed(audit)

    def _start_renewal(self, claim: Claim) -> None:
        async def renew() -> None:
            interval = self.lease_seconds / 3
            while True:
                await asyncio.sleep(interval)
                try:
                    renewed = await self._renew(claim.record.key, claim.token)
                except Exception:  # noqa: BLE001  # e.g. Redis restarting: try again
                    _log.warning(
                        "write_lease_renew_failed",
                        method=claim.method,
                        request_id=claim.request_id,
                        exc_info=True,
                    )
                    continue
                if not renewed:
                    _log.error(
                        "write_lease_lost",
                        method=claim.method,
                        request_id=claim.request_id,
                    )
                    return

        # spawn: a fresh context, so the renewal never inherits the call's deadline.
        self._renewals[id(claim)] = spawn(
            renew(), name=f"write-lease {claim.method} {claim.request_id}"
        )

    async def stop_renewal(self, claim: Claim) -> None:
        task = self._renewals.pop(id(claim), None)
        if task is not None:
            task.cancel()
            # The renewal ends at once; this also runs while the caller is being
            # cancelled (cleanup after a cancelled write), so never re-raise here.
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def aclose(self) -> None:
        tasks = list(self._renewals.values())
        self._renewals.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._close()

    # ------------------------------------------------------------ backends

    @abstractmethod
    async def get(self, method: str, request_id: str) -> WriteRecord | None: ...

    @abstractmethod
    async def _try_claim(
        self, pending: WriteRecord, token: str
    ) -> tuple[TryClaim, WriteRecord | None]:
        """Atomically: no record -> store ``pending`` owned by ``token`` (NEW);
        other fingerprint -> CONFLICT; final -> REPLAY; owned by a live lease -> BUSY;
        else take the lease: PENDING -> TAKEN, ATTEMPTED/UNKNOWN -> RECONCILE."""

    @abstractmethod
    async def _commit(self, change: Change) -> bool: ...

    @abstractmethod
    async def _append_audit(self, audit: AuditRecord) -> None: ...

    @abstractmethod
    async def _renew(self, key: tuple[str, str], token: str) -> bool: ...

    @abstractmethod
    async def _wait_change(
        self, key: tuple[str, str], max_wait: float, polls: int
    ) -> None: ...

    async def _close(self) -> None:  # noqa: B027 - optional hook
        """Release the backend's resources (after renewals stopped)."""
