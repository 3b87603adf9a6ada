"""The in-process write store: for tests and throw-away demos only.

It forgets everything when the process stops, so a request_id retried after a restart
looks new; the engine then looks the effect up before writing (``durable`` is False),
which narrows but cannot close that window. Production uses the SQLite store (one
replica) or the Redis store (replicas).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Unpack

from mt5gateway_server.writes.records import RecordState, WriteRecord
from mt5gateway_server.writes.store import Change, StoreOptions, TryClaim, WriteStore

if TYPE_CHECKING:
    from mt5gateway_server.audit import AuditRecord

__all__ = ["MemoryWriteStore"]


@dataclass(slots=True)
class _Entry:
    record: WriteRecord
    expires_at: float
    owner: str | None
    lease_until: float
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def notify(self) -> None:
        # Wake every waiter, then arm a fresh event for the next change.
        self.changed.set()
        self.changed = asyncio.Event()


def _may_expire(entry: _Entry) -> bool:
    state = entry.record.state
    return state.final or state is RecordState.PENDING


class MemoryWriteStore(WriteStore):
    """A bounded dict; a duplicate waits on the first caller's event. Final outcomes
    are evicted oldest-first beyond ``max_entries`` (open ones never are)."""

    name = "memory"

    def __init__(
        self,
        *,
        max_entries: int = 100_000,
        audit_keep: int = 10_000,
        **kw: Unpack[StoreOptions],
    ) -> None:
        super().__init__(**kw)
        self._max_entries = max_entries
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        # The latest audit records, for tests and debugging (not durable).
        self.audit_records: deque[AuditRecord] = deque(maxlen=audit_keep)

    def __len__(self) -> int:
        return len(self._entries)

    def _live(self, key: tuple[str, str], now: float) -> _Entry | None:
        entry = self._entries.get(key)
        # An attempt whose outcome is open never expires: forgetting it could send
        # the write again.
        if entry is not None and entry.expires_at <= now and _may_expire(entry):
            del self._entries[key]
            entry.notify()
            return None
        return entry

    async def get(self, method: str, request_id: str) -> WriteRecord | None:
        entry = self._live((method, request_id), self.clock())
        return None if entry is None else entry.record

    async def _try_claim(
        self, pending: WriteRecord, token: str
    ) -> tuple[TryClaim, WriteRecord | None]:
        now = self.clock()
        entry = self._live(pending.key, now)
        if entry is None:
            self._entries[pending.key] = _Entry(
                pending, now + self.ttl_seconds, token, now + self.lease_seconds
            )
            self._evict(now)
            return TryClaim.NEW, None
        record = entry.record
        if record.fingerprint != pending.fingerprint:
            return TryClaim.CONFLICT, record
        if record.state.final:
            return TryClaim.REPLAY, record
        if entry.owner is not None and entry.lease_until > now:
            return TryClaim.BUSY, record
        entry.owner = token
        entry.lease_until = now + self.lease_seconds
        if record.state is RecordState.PENDING:
            return TryClaim.TAKEN, record
        return TryClaim.RECONCILE, record

    async def _commit(self, change: Change) -> bool:
        now = self.clock()
        key = change.key
        entry = self._live(key, now)
        if entry is None or entry.owner != change.token:
            return False
        if change.record is None:
            del self._entries[key]
        else:
            entry.record = change.record
            entry.expires_at = now + self.ttl_seconds
            if change.release:
                entry.owner = None
            self._entries.move_to_end(key)
        if change.audit is not None:
            self.audit_records.append(change.audit)
        entry.notify()
        self._evict(now)
        return True

    async def _append_audit(self, audit: AuditRecord) -> None:
        self.audit_records.append(audit)

    async def _renew(self, key: tuple[str, str], token: str) -> bool:
        entry = self._entries.get(key)
        if entry is None or entry.owner != token:
            return False
        entry.lease_until = self.clock() + self.lease_seconds
        return True

    async def _wait_change(
        self, key: tuple[str, str], max_wait: float, polls: int
    ) -> None:
        del polls
        entry = self._entries.get(key)
        if entry is None:
            return
        # Bounded so an owner that vanished without notifying (lease expiry) is seen.
        step = min(max_wait, max(self.lease_seconds / 3, 0.01))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(entry.changed.wait(), step)

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
