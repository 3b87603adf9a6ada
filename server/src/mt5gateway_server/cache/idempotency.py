"""Exactly-once money operations (AIP-155): ``(method, request_id) -> outcome``.

How the service layer uses it::

    fp = fingerprint(method, without_request_id.SerializeToString(deterministic=True))
    async with store.claim(method, request.request_id, fp) as claim:
        if claim.status is ClaimStatus.REPLAY:        # a final outcome is stored
            return replay(claim.existing)             # no MT5 call
        if claim.status is ClaimStatus.RECONCILE:     # earlier attempt: outcome unknown
            deal = await find_deal_by_tag(tag(request.request_id))
            ...then claim.complete(...) / claim.fail(...) / claim.mark_unknown(...)
        else:                                         # ClaimStatus.NEW: run it once
            try:
                answer = await mt5.deposit(..., comment=tag(request.request_id))
            except NeverSent:                         # connect failed, pool timeout
                await claim.release(); raise          # a retry may run it again
            except OutcomeUnknown as exc:
                await claim.mark_unknown({"reason": "timeout"}); raise
            except MT5Rejected as exc:
                await claim.fail(status_bytes(exc)); raise
            await claim.complete(response.SerializeToString())

The states and the rules that keep a money write from running twice:

- ``claim()`` returns one of three statuses, or raises:

  ``NEW``        nothing was recorded; a ``pending`` record now exists and the caller
                 owns it. Run the operation once, then ``complete`` / ``fail`` /
                 ``mark_unknown``; or ``release()`` if the write provably never left
                 (then a retry runs it again).
  ``REPLAY``     a final outcome (``succeeded`` or ``failed``) is stored in
                 ``claim.existing``: answer it; never call MT5.
  ``RECONCILE``  an earlier attempt's outcome is not known: it was stored as
                 ``unknown``, or its owner died while ``pending`` (its lease expired).
                 The caller now owns the record but must NOT re-run the write blindly:
                 the write may have reached MT5. It looks the deal up by the tag the
                 first attempt put in the MT5 comment, then records what it found
                 (``complete``/``fail``), or ``mark_unknown`` again when it still
                 cannot tell (the RPC answers ``MT5_OUTCOME_UNKNOWN``; the next repeat
                 reconciles again). ``claim.existing`` holds the earlier record.
  ``IdempotencyConflictError``  the request_id was used with a different payload.
  ``IdempotencyPendingError``   another caller (maybe another replica) is still
                 running it after ``wait_timeout``; a concurrent duplicate otherwise
                 WAITS for the first and then gets its outcome (``REPLAY``).

- The owner's claim is a lease (``pending_lease_seconds``), renewed in the background
  while the operation runs; a dead process stops renewing and the next caller gets
  ``RECONCILE`` after at most one lease. A pending record itself lives ``ttl_seconds``
  (>= 24 h), like final outcomes, so an expired lease never looks like "never seen".
- Leaving the ``async with`` block without recording an outcome (an exception,
  cancellation, or a bug) marks the record ``unknown``: the safe default for money.
- If the owner's lease was taken over before it records the outcome, ``complete``
  etc. raise ``ClaimLostError`` (the new owner is reconciling; log it loudly).
- Redis errors (``redis.exceptions.RedisError``) propagate from ``claim()`` and from
  ``complete``/``fail``/``mark_unknown``: map them to UNAVAILABLE. A record left
  ``pending`` that way is reconciled by the next repeat once its lease expires.
- Suggested status for ``IdempotencyPendingError``: ABORTED with RetryInfo; for
  ``IdempotencyConflictError``: INVALID_ARGUMENT (field ``request_id``).

Redis used for this store must persist (AOF ``appendfsync everysec`` or better) and
must not evict keys (``maxmemory-policy noeviction``): a lost record lets a repeated
request_id run again. The in-memory store forgets everything on restart for the
same reason; it is meant for one replica and the embedded demo.

The in-memory store (default, one replica) and the Redis store (shared by replicas:
record ``SET NX PX ttl`` plus an owner-token lease key, changed only by Lua scripts that
check the token) behave the same; tests run one suite against both.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import enum
import hashlib
import json
import secrets
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol, Self

from mt5gateway_server.cache import keys
from mt5gateway_server.log import get_logger
from mt5gateway_server.settings import IdempotencySettings

if TYPE_CHECKING:
    from types import TracebackType

    from redis.asyncio import Redis

    from mt5gateway_server.settings import Settings
    from mt5gateway_server.telemetry import Metrics

__all__ = [
    "Claim",
    "ClaimLostError",
    "ClaimStatus",
    "IdempotencyConflictError",
    "IdempotencyError",
    "IdempotencyPendingError",
    "IdempotencyRecord",
    "IdempotencyStore",
    "InMemoryIdempotencyStore",
    "RecordState",
    "RedisIdempotencyStore",
    "create_store",
    "fingerprint",
]

_log = get_logger("idempotency")
_RECORD_VERSION = 1


class RecordState(enum.StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNKNOWN = "unknown"

    @property
    def final(self) -> bool:
        return self in {RecordState.SUCCEEDED, RecordState.FAILED}


class ClaimStatus(enum.StrEnum):
    NEW = "new"
    REPLAY = "replay"
    RECONCILE = "reconcile"


class IdempotencyError(Exception):
    def __init__(self, message: str, method: str, request_id: str) -> None:
        super().__init__(message)
        self.method = method
        self.request_id = request_id


class IdempotencyConflictError(IdempotencyError):
    """Same request_id, different request payload (map to INVALID_ARGUMENT)."""


class IdempotencyPendingError(IdempotencyError):
    """A duplicate is still executing after the wait (map to ABORTED + RetryInfo)."""


class ClaimLostError(IdempotencyError):
    """Our lease expired and another caller took over before we recorded the outcome."""


def fingerprint(method: str, payload: bytes | str | Mapping[str, Any]) -> str:
    """SHA-256 of the method and the canonical request, request_id excluded.

    Pass protobuf requests as ``msg.SerializeToString(deterministic=True)`` after
    clearing ``request_id``; mappings are canonicalised as sorted compact JSON.
    """
    if isinstance(payload, Mapping):
        body = json.dumps(
            payload, sort_keys=True, separators=(",", ":"), default=str
        ).encode()
    elif isinstance(payload, str):
        body = payload.encode()
    else:
        body = payload
    digest = hashlib.sha256()
    digest.update(method.encode())
    digest.update(b"\0")
    digest.update(body)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """One request's record. ``payload`` is opaque: the serialized response when
    ``succeeded``, the serialized error (e.g. a google.rpc.Status) when ``failed``."""

    method: str
    request_id: str
    fingerprint: str
    state: RecordState
    created_at: float
    updated_at: float
    payload: bytes = b""
    details: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {
                "v": _RECORD_VERSION,
                "method": self.method,
                "request_id": self.request_id,
                "fingerprint": self.fingerprint,
                "state": self.state.value,
                "created_at": self.created_at,
                "updated_at": self.updated_at,
                "payload": base64.b64encode(self.payload).decode("ascii"),
                "details": dict(self.details),
            },
            separators=(",", ":"),
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, data: str | bytes) -> Self:
        raw = json.loads(data)
        details = raw.get("details") or {}
        return cls(
            method=raw["method"],
            request_id=raw["request_id"],
            fingerprint=raw["fingerprint"],
            state=RecordState(raw["state"]),
            created_at=float(raw["created_at"]),
            updated_at=float(raw["updated_at"]),
            payload=base64.b64decode(raw.get("payload") or ""),
            # Lua's cjson turns {} into []; never rely on it, but accept it.
            details={str(k): str(v) for k, v in dict(details).items()},
        )


class _Outcome(enum.Enum):
    NEW = "new"
    REPLAY = "replay"
    RECONCILE = "reconcile"
    BUSY = "busy"
    CONFLICT = "conflict"


class IdempotencyStore(Protocol):
    def claim(
        self,
        method: str,
        request_id: str,
        fingerprint: str,
        *,
        wait_timeout: float | None = None,
    ) -> ClaimContext: ...

    async def get(self, method: str, request_id: str) -> IdempotencyRecord | None: ...

    async def aclose(self) -> None: ...


class Claim:
    """The caller's handle on one (method, request_id); see the module docstring."""

    def __init__(
        self,
        store: _BaseStore,
        status: ClaimStatus,
        existing: IdempotencyRecord | None,
        record: IdempotencyRecord,
        token: str,
    ) -> None:
        self._store = store
        self.status = status
        self.existing = existing
        self._record = record
        self._token = token
        self._done = status is ClaimStatus.REPLAY

    @property
    def method(self) -> str:
        return self._record.method

    @property
    def request_id(self) -> str:
        return self._record.request_id

    @property
    def owned(self) -> bool:
        """True while this caller must still record an outcome."""
        return not self._done

    def __repr__(self) -> str:
        return (
            f"<Claim {self.method} {self.request_id} {self.status.value}"
            f"{' owned' if self.owned else ''}>"
        )

    async def complete(self, response: bytes) -> IdempotencyRecord:
        """The operation succeeded; ``response`` is replayed to every repeat."""
        return await self._finish(RecordState.SUCCEEDED, response, {})

    async def fail(
        self, error: bytes, details: Mapping[str, str] | None = None
    ) -> IdempotencyRecord:
        """MT5 definitively rejected it (no money, ...); repeats get the same error.

        Not for "never sent" errors: use ``release()`` so a retry can run it.
        """
        return await self._finish(RecordState.FAILED, error, details or {})

    async def mark_unknown(self, details: Mapping[str, str]) -> IdempotencyRecord:
        """The write may or may not have happened; the next repeat reconciles."""
        return await self._finish(RecordState.UNKNOWN, b"", details)

    async def release(self) -> None:
        """Give the claim up without an outcome.

        For ``NEW``: the write provably never reached MT5; the record is deleted so a
        retry runs it. For ``RECONCILE``: the earlier record stays as it was and the
        next caller reconciles again.
        """
        self._check_owned()
        self._done = True
        await self._store._stop_renewal(self)  # noqa: SLF001
        forget = self.status is ClaimStatus.NEW
        await self._store._release(self._record, self._token, forget=forget)  # noqa: SLF001

    def _check_owned(self) -> None:
        if self._done:
            raise RuntimeError(f"{self!r}: outcome already recorded or replaying")

    async def _finish(
        self, state: RecordState, payload: bytes, details: Mapping[str, str]
    ) -> IdempotencyRecord:
        self._check_owned()
        self._done = True
        store = self._store
        await store._stop_renewal(self)  # noqa: SLF001
        final = replace(
            self._record,
            state=state,
            payload=payload,
            details=dict(details),
            updated_at=store._clock(),  # noqa: SLF001
        )
        if not await store._finalize(final, self._token):  # noqa: SLF001
            _log.error(
                "idempotency_claim_lost",
                method=self.method,
                request_id=self.request_id,
                outcome=state.value,
            )
            raise ClaimLostError(
                "the claim's lease was taken over before the outcome was recorded",
                self.method,
                self.request_id,
            )
        self._record = final
        return final


class ClaimContext:
    """``async with store.claim(...) as claim``; see the module docstring."""

    def __init__(
        self,
        store: _BaseStore,
        method: str,
        request_id: str,
        fingerprint: str,
        wait_timeout: float,
    ) -> None:
        self._store = store
        self._args = (method, request_id, fingerprint)
        self._wait_timeout = wait_timeout
        self._claim: Claim | None = None

    async def __aenter__(self) -> Claim:
        self._claim = await self._store._acquire(*self._args, self._wait_timeout)  # noqa: SLF001
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
        # No outcome recorded: the write may have happened. Unknown is the safe answer.
        reason = "exited_without_outcome" if exc_type is None else exc_type.__name__
        if exc_type is None:
            _log.error(
                "idempotency_claim_not_finalized",
                method=claim.method,
                request_id=claim.request_id,
            )
        try:
            await claim.mark_unknown({"reason": reason})
        except ClaimLostError:
            pass  # logged in _finish
        except Exception:  # noqa: BLE001  # must not replace the body's exception
            # E.g. Redis is down: the lease expires and the next caller reconciles.
            _log.warning(
                "idempotency_mark_unknown_failed",
                method=claim.method,
                request_id=claim.request_id,
                exc_info=True,
            )


class _BaseStore(ABC):
    def __init__(
        self,
        *,
        ttl_seconds: float,
        lease_seconds: float,
        wait_timeout_seconds: float,
        clock: Callable[[], float] = time.time,
        metrics: Metrics | None = None,
    ) -> None:
        self._ttl = ttl_seconds
        self._lease = lease_seconds
        self._wait_timeout = wait_timeout_seconds
        self._clock = clock
        self._metrics = metrics
        self._renewals: dict[int, asyncio.Task[None]] = {}

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
        timeout = self._wait_timeout if wait_timeout is None else wait_timeout
        return ClaimContext(self, method, request_id, fingerprint, timeout)

    async def _acquire(
        self, method: str, request_id: str, fp: str, wait_timeout: float
    ) -> Claim:
        token = secrets.token_hex(16)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_timeout
        polls = 0
        while True:
            now = self._clock()
            pending = IdempotencyRecord(
                method=method,
                request_id=request_id,
                fingerprint=fp,
                state=RecordState.PENDING,
                created_at=now,
                updated_at=now,
            )
            outcome, current = await self._try_claim(pending, token)
            if outcome is _Outcome.CONFLICT:
                raise IdempotencyConflictError(
                    "request_id was already used with a different request",
                    method,
                    request_id,
                )
            if outcome is not _Outcome.BUSY:
                break
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise IdempotencyPendingError(
                    "a request with this request_id is still in progress",
                    method,
                    request_id,
                )
            await self._wait_change(method, request_id, remaining, polls)
            polls += 1

        if outcome is _Outcome.REPLAY:
            assert current is not None  # noqa: S101
            if self._metrics is not None:
                self._metrics.record_idempotency_replay(method)
            return Claim(self, ClaimStatus.REPLAY, current, current, token)
        if outcome is _Outcome.NEW:
            claim = Claim(self, ClaimStatus.NEW, None, pending, token)
        else:
            assert current is not None  # noqa: S101
            _log.warning(
                "idempotency_reconcile",
                method=method,
                request_id=request_id,
                previous_state=current.state.value,
            )
            # Keep the original creation time; the record is the earlier one.
            record = replace(current, updated_at=self._clock())
            claim = Claim(self, ClaimStatus.RECONCILE, current, record, token)
        self._start_renewal(claim)
        return claim

    def _start_renewal(self, claim: Claim) -> None:
        async def renew() -> None:
            interval = self._lease / 3
            while True:
                await asyncio.sleep(interval)
                try:
                    renewed = await self._renew(claim._record, claim._token)  # noqa: SLF001
                except Exception:  # noqa: BLE001  # e.g. Redis restarting: try again
                    _log.warning(
                        "idempotency_lease_renew_failed",
                        method=claim.method,
                        request_id=claim.request_id,
                        exc_info=True,
                    )
                    continue
                if not renewed:
                    _log.error(
                        "idempotency_lease_lost",
                        method=claim.method,
                        request_id=claim.request_id,
                    )
                    return

        self._renewals[id(claim)] = asyncio.create_task(
            renew(), name=f"idempotency-lease {claim.method} {claim.request_id}"
        )

    async def _stop_renewal(self, claim: Claim) -> None:
        task = self._renewals.pop(id(claim), None)
        if task is not None:
            task.cancel()
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

    @abstractmethod
    async def get(self, method: str, request_id: str) -> IdempotencyRecord | None: ...

    @abstractmethod
    async def _try_claim(
        self, pending: IdempotencyRecord, token: str
    ) -> tuple[_Outcome, IdempotencyRecord | None]: ...

    @abstractmethod
    async def _wait_change(
        self, method: str, request_id: str, max_wait: float, polls: int
    ) -> None: ...

    @abstractmethod
    async def _finalize(self, record: IdempotencyRecord, token: str) -> bool: ...

    @abstractmethod
    async def _release(
        self, record: IdempotencyRecord, token: str, *, forget: bool
    ) -> None: ...

    @abstractmethod
    async def _renew(self, record: IdempotencyRecord, token: str) -> bool: ...


# ---------------------------------------------------------------------------
# In memory


@dataclass(slots=True)
class _Entry:
    record: IdempotencyRecord
    expires_at: float
    owner: str | None
    lease_until: float
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def notify(self) -> None:
        # Wake every waiter, then arm a fresh event for the next change.
        self.changed.set()
        self.changed = asyncio.Event()


class InMemoryIdempotencyStore(_BaseStore):
    """One process: a bounded dict; a duplicate waits on the first caller's event.

    Final outcomes are evicted oldest-first beyond ``max_entries`` (pending and
    unknown records are kept: forgetting them could run a money write twice).
    """

    def __init__(
        self,
        *,
        ttl_seconds: float = 86_400,
        lease_seconds: float = 30.0,
        wait_timeout_seconds: float = 30.0,
        max_entries: int = 100_000,
        clock: Callable[[], float] = time.time,
        metrics: Metrics | None = None,
    ) -> None:
        super().__init__(
            ttl_seconds=ttl_seconds,
            lease_seconds=lease_seconds,
            wait_timeout_seconds=wait_timeout_seconds,
            clock=clock,
            metrics=metrics,
        )
        self._max_entries = max_entries
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def _live(self, key: tuple[str, str], now: float) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is not None and entry.expires_at <= now:
            del self._entries[key]
            entry.notify()
            return None
        return entry

    async def get(self, method: str, request_id: str) -> IdempotencyRecord | None:
        entry = self._live((method, request_id), self._clock())
        return None if entry is None else entry.record

    async def _try_claim(
        self, pending: IdempotencyRecord, token: str
    ) -> tuple[_Outcome, IdempotencyRecord | None]:
        key = (pending.method, pending.request_id)
        now = self._clock()
        entry = self._live(key, now)
        if entry is None:
            self._entries[key] = _Entry(
                record=pending,
                expires_at=now + self._ttl,
                owner=token,
                lease_until=now + self._lease,
            )
            self._evict(now)
            return _Outcome.NEW, None
        record = entry.record
        if record.fingerprint != pending.fingerprint:
            return _Outcome.CONFLICT, record
        if record.state.final:
            return _Outcome.REPLAY, record
        if entry.owner is not None and entry.lease_until > now:
            return _Outcome.BUSY, record
        entry.owner = token
        entry.lease_until = now + self._lease
        return _Outcome.RECONCILE, record

    async def _wait_change(
        self, method: str, request_id: str, max_wait: float, polls: int
    ) -> None:
        entry = self._entries.get((method, request_id))
        if entry is None:
            return
        # Bounded so an owner that vanished without notifying (lease expiry) is seen.
        step = min(max_wait, max(self._lease / 3, 0.01))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(entry.changed.wait(), step)
        del polls

    async def _finalize(self, record: IdempotencyRecord, token: str) -> bool:
        key = (record.method, record.request_id)
        now = self._clock()
        entry = self._live(key, now)
        if entry is None or entry.owner != token:
            return False
        entry.record = record
        entry.owner = None
        entry.expires_at = now + self._ttl
        self._entries.move_to_end(key)
        entry.notify()
        self._evict(now)
        return True

    async def _release(
        self, record: IdempotencyRecord, token: str, *, forget: bool
    ) -> None:
        key = (record.method, record.request_id)
        entry = self._entries.get(key)
        if entry is None or entry.owner != token:
            return
        if forget:
            del self._entries[key]
        else:
            entry.owner = None
        entry.notify()

    async def _renew(self, record: IdempotencyRecord, token: str) -> bool:
        entry = self._entries.get((record.method, record.request_id))
        if entry is None or entry.owner != token:
            return False
        entry.lease_until = self._clock() + self._lease
        return True

    def _evict(self, now: float) -> None:
        if len(self._entries) <= self._max_entries:
            return
        for key in list(self._entries):
            if len(self._entries) <= self._max_entries:
                break
            entry = self._entries[key]
            if entry.expires_at <= now or (
                entry.owner is None and entry.record.state.final
            ):
                del self._entries[key]


# ---------------------------------------------------------------------------
# Redis

# KEYS: record, lease. ARGV: fingerprint, token, pending json, ttl ms, lease ms.
# Returns {outcome, current record json}.
_CLAIM_LUA = """
local cur = redis.call('GET', KEYS[1])
if not cur then
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
  redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[5])
  return {'new', ARGV[3]}
end
local rec = cjson.decode(cur)
if rec['fingerprint'] ~= ARGV[1] then return {'conflict', cur} end
if rec['state'] == 'succeeded' or rec['state'] == 'failed' then
  return {'replay', cur}
end
local holder = redis.call('GET', KEYS[2])
if holder == ARGV[2] then return {'mine', cur} end
if holder then return {'busy', cur} end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[5])
return {'reconcile', cur}
"""

# KEYS: record, lease. ARGV: token, final json, ttl ms.
_FINALIZE_LUA = """
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('DEL', KEYS[2])
return 1
"""

# KEYS: record, lease. ARGV: token, forget (1/0).
_RELEASE_LUA = """
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
if ARGV[2] == '1' then redis.call('DEL', KEYS[1]) end
redis.call('DEL', KEYS[2])
return 1
"""

# KEYS: lease. ARGV: token, lease ms.
_RENEW_LUA = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
"""


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisIdempotencyStore(_BaseStore):
    """Shared by replicas. A duplicate polls with backoff (5 ms doubling to 200 ms)
    until the first caller's record is final or its lease is gone."""

    POLL_BASE_SECONDS = 0.005
    POLL_CAP_SECONDS = 0.2

    def __init__(
        self,
        redis: Redis,
        *,
        ttl_seconds: float = 86_400,
        lease_seconds: float = 30.0,
        wait_timeout_seconds: float = 30.0,
        clock: Callable[[], float] = time.time,
        metrics: Metrics | None = None,
    ) -> None:
        super().__init__(
            ttl_seconds=ttl_seconds,
            lease_seconds=lease_seconds,
            wait_timeout_seconds=wait_timeout_seconds,
            clock=clock,
            metrics=metrics,
        )
        self._redis = redis
        self._claim_script = redis.register_script(_CLAIM_LUA)
        self._finalize_script = redis.register_script(_FINALIZE_LUA)
        self._release_script = redis.register_script(_RELEASE_LUA)
        self._renew_script = redis.register_script(_RENEW_LUA)

    @staticmethod
    def _keys(method: str, request_id: str) -> list[str]:
        return [
            keys.idempotency(method, request_id),
            keys.idempotency_lease(method, request_id),
        ]

    def _ms(self, seconds: float) -> int:
        return max(1, int(seconds * 1000))

    async def get(self, method: str, request_id: str) -> IdempotencyRecord | None:
        raw = await self._redis.get(keys.idempotency(method, request_id))
        return None if raw is None else IdempotencyRecord.from_json(raw)

    async def _try_claim(
        self, pending: IdempotencyRecord, token: str
    ) -> tuple[_Outcome, IdempotencyRecord | None]:
        pending_json = pending.to_json()
        result = await self._claim_script(
            keys=self._keys(pending.method, pending.request_id),
            args=[
                pending.fingerprint,
                token,
                pending_json,
                self._ms(self._ttl),
                self._ms(self._lease),
            ],
        )
        outcome_text, current_json = _text(result[0]), _text(result[1])
        if outcome_text == "mine":
            # redis-py re-sent our claim after a lost reply: decide by what we wrote.
            outcome_text = "new" if current_json == pending_json else "reconcile"
        outcome = _Outcome(outcome_text)
        if outcome is _Outcome.NEW:
            return outcome, None
        return outcome, IdempotencyRecord.from_json(current_json)

    async def _wait_change(
        self, method: str, request_id: str, max_wait: float, polls: int
    ) -> None:
        del method, request_id
        delay = min(self.POLL_CAP_SECONDS, self.POLL_BASE_SECONDS * 2**polls)
        await asyncio.sleep(min(max_wait, delay))

    async def _finalize(self, record: IdempotencyRecord, token: str) -> bool:
        final_json = record.to_json()
        done = await self._finalize_script(
            keys=self._keys(record.method, record.request_id),
            args=[token, final_json, self._ms(self._ttl)],
        )
        if int(done) == 1:
            return True
        # A re-sent finalize (lost reply) finds the lease gone and our record stored.
        stored = await self._redis.get(
            keys.idempotency(record.method, record.request_id)
        )
        return stored is not None and _text(stored) == final_json

    async def _release(
        self, record: IdempotencyRecord, token: str, *, forget: bool
    ) -> None:
        await self._release_script(
            keys=self._keys(record.method, record.request_id),
            args=[token, "1" if forget else "0"],
        )

    async def _renew(self, record: IdempotencyRecord, token: str) -> bool:
        done = await self._renew_script(
            keys=[keys.idempotency_lease(record.method, record.request_id)],
            args=[token, self._ms(self._lease)],
        )
        return int(done) == 1


def create_store(
    settings: Settings | IdempotencySettings,
    redis: Redis | None = None,
    *,
    metrics: Metrics | None = None,
) -> InMemoryIdempotencyStore | RedisIdempotencyStore:
    """Redis-backed when a client is given (replicas share it), else in memory."""
    cfg = (
        settings if isinstance(settings, IdempotencySettings) else settings.idempotency
    )
    common: dict[str, Any] = {
        "ttl_seconds": cfg.ttl_seconds,
        "lease_seconds": cfg.pending_lease_seconds,
        "wait_timeout_seconds": cfg.wait_timeout_seconds,
        "metrics": metrics,
    }
    if redis is not None:
        return RedisIdempotencyStore(redis, **common)
    return InMemoryIdempotencyStore(max_entries=cfg.max_entries, **common)
