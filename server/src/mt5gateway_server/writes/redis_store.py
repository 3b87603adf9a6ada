"""The write store shared by replicas: Redis, changed only by Lua scripts.

Per ``(method, request_id)``: the record (JSON string; a final outcome expires after
the TTL, >= 24 h, an attempt whose outcome is open never does) and a lease key
holding the owner's token (PX). Each transition is one script that checks the token,
changes the record and ``XADD``s the audit record to ``mt5gw:v1:audit`` — atomically,
so with AOF persistence an outcome never exists without its audit entry. Redis must
persist (AOF with ``appendfsync always``: ``everysec`` can lose a write-ahead mark
whose MT5 write left) and must not evict
(``maxmemory-policy noeviction``): a lost record lets a repeated request_id write again.

redis-py re-sends a script after a lost reply; every script recognises its own earlier
effect (the token, or the exact record it wrote), so a re-send changes nothing twice.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Unpack

from mt5gateway_server.cache import keys
from mt5gateway_server.writes.records import RecordState, WriteRecord
from mt5gateway_server.writes.store import Change, StoreOptions, TryClaim, WriteStore

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from mt5gateway_server.audit import AuditRecord

__all__ = ["RedisWriteStore"]

# KEYS: record, lease. ARGV: fingerprint, token, pending json, ttl ms, lease ms.
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
if rec['state'] == 'pending' then return {'taken', cur} end
return {'reconcile', cur}
"""

# KEYS: record, lease, audit stream. ARGV: token, record json ('' = delete), ttl ms
# ('0' = keep it until resolved), release (1/0), audit maxlen, then audit field/value
# pairs (none = no audit).
_COMMIT_LUA = """
if redis.call('GET', KEYS[2]) ~= ARGV[1] then
  local cur = redis.call('GET', KEYS[1])
  if ARGV[2] == '' then
    if not cur then return 2 end
  elseif cur == ARGV[2] then
    return 2
  end
  return 0
end
if ARGV[2] ~= '' and redis.call('GET', KEYS[1]) == ARGV[2] then return 2 end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
elseif ARGV[3] == '0' then
  redis.call('SET', KEYS[1], ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
if ARGV[4] == '1' then redis.call('DEL', KEYS[2]) end
if #ARGV > 5 then
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[5], '*', unpack(ARGV, 6))
end
return 1
"""

# KEYS: lease. ARGV: token, lease ms.
_RENEW_LUA = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
"""


_OPEN = frozenset({RecordState.ATTEMPTED, RecordState.UNKNOWN})


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _fields(audit: AuditRecord | None) -> list[str]:
    if audit is None:
        return []
    return [part for item in audit.stream_fields().items() for part in item]


class RedisWriteStore(WriteStore):
    """A duplicate polls with backoff (5 ms doubling to 200 ms) until the first
    caller's record is final or its lease is gone."""

    durable = True
    name = "redis"
    POLL_BASE_SECONDS = 0.005
    POLL_CAP_SECONDS = 0.2

    def __init__(
        self, redis: Redis, *, audit_maxlen: int = 1_000_000, **kw: Unpack[StoreOptions]
    ) -> None:
        super().__init__(**kw)
        self._redis = redis
        self._audit_maxlen = audit_maxlen
        self._claim_script = redis.register_script(_CLAIM_LUA)
        self._commit_script = redis.register_script(_COMMIT_LUA)
        self._renew_script = redis.register_script(_RENEW_LUA)

    @staticmethod
    def _keys(key: tuple[str, str]) -> list[str]:
        return [keys.idempotency(*key), keys.idempotency_lease(*key)]

    @staticmethod
    def _ms(seconds: float) -> int:
        return max(1, int(seconds * 1000))

    def _record_ttl_ms(self, record: WriteRecord | None) -> int:
        """0 (no expiry) for an attempt whose outcome is open: forgetting it would
        let a late repeat send the write again without a look-up."""
        if record is not None and record.state in _OPEN:
            return 0
        return self._ms(self.ttl_seconds)

    async def get(self, method: str, request_id: str) -> WriteRecord | None:
        raw = await self._redis.get(keys.idempotency(method, request_id))
        return None if raw is None else WriteRecord.from_json(raw)

    async def _try_claim(
        self, pending: WriteRecord, token: str
    ) -> tuple[TryClaim, WriteRecord | None]:
        pending_json = pending.to_json()
        result = await self._claim_script(
            keys=self._keys(pending.key),
            args=[
                pending.fingerprint,
                token,
                pending_json,
                self._ms(self.ttl_seconds),
                self._ms(self.lease_seconds),
            ],
        )
        found, current_json = _text(result[0]), _text(result[1])
        if found == "mine":
            # redis-py re-sent our claim after a lost reply: decide by what we wrote.
            found = "new" if current_json == pending_json else "reconcile"
        outcome = TryClaim(found)
        if outcome is TryClaim.NEW:
            return outcome, None
        return outcome, WriteRecord.from_json(current_json)

    async def _commit(self, change: Change) -> bool:
        done = await self._commit_script(
            keys=[*self._keys(change.key), keys.AUDIT_STREAM],
            args=[
                change.token,
                "" if change.record is None else change.record.to_json(),
                self._record_ttl_ms(change.record),
                "1" if change.release else "0",
                self._audit_maxlen,
                *_fields(change.audit),
            ],
        )
        return int(done) in {1, 2}

    async def _append_audit(self, audit: AuditRecord) -> None:
        await self._redis.xadd(
            keys.AUDIT_STREAM,
            audit.stream_fields(),  # type: ignore[arg-type]
            maxlen=self._audit_maxlen,
            approximate=True,
        )

    async def _renew(self, key: tuple[str, str], token: str) -> bool:
        done = await self._renew_script(
            keys=[keys.idempotency_lease(*key)],
            args=[token, self._ms(self.lease_seconds)],
        )
        return int(done) == 1

    async def _wait_change(
        self, key: tuple[str, str], max_wait: float, polls: int
    ) -> None:
        del key
        delay = min(self.POLL_CAP_SECONDS, self.POLL_BASE_SECONDS * 2**polls)
        await asyncio.sleep(min(max_wait, delay))
