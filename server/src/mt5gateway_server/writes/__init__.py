"""Every MT5 write exactly once: the engine, its durable stores, the balance operation.

``engine.py`` is the one flow (claim, write-ahead, write, classify, reconcile, audit);
``store.py`` the claim state machine shared by the backends ``sqlite_store.py``
(the default: one file, survives kill -9), ``redis_store.py`` (replicas) and
``memory_store.py`` (tests); ``records.py`` what a store keeps; ``balance.py`` the
balance operation. The room takes its own ``StoreConfig``; ``app.py`` converts the
settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from mt5gateway_server.log import get_logger
from mt5gateway_server.writes.balance import AmountError
from mt5gateway_server.writes.engine import (
    Caller,
    Lookup,
    OutcomeUnknownError,
    Verdict,
    WriteEngine,
    WriteMetrics,
    WriteOperation,
    WriteOutcome,
    decode_rejection,
    encode_rejection,
    sent_state,
)
from mt5gateway_server.writes.memory_store import MemoryWriteStore
from mt5gateway_server.writes.records import (
    ClaimLostError,
    IdempotencyConflictError,
    IdempotencyError,
    IdempotencyPendingError,
    RecordState,
    WriteRecord,
    canonical_request_id,
    fingerprint,
)
from mt5gateway_server.writes.redis_store import RedisWriteStore
from mt5gateway_server.writes.sqlite_store import DATABASE_FILE, SqliteWriteStore
from mt5gateway_server.writes.store import (
    Claim,
    ClaimStatus,
    StoreOptions,
    WriteStore,
)

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from mt5gateway_server.writes.store import AuditSink

__all__ = [
    "DATABASE_FILE",
    "AmountError",
    "Caller",
    "Claim",
    "ClaimLostError",
    "ClaimStatus",
    "IdempotencyConflictError",
    "IdempotencyError",
    "IdempotencyPendingError",
    "Lookup",
    "MemoryWriteStore",
    "OutcomeUnknownError",
    "RecordState",
    "RedisWriteStore",
    "SqliteWriteStore",
    "StoreConfig",
    "Verdict",
    "WriteEngine",
    "WriteMetrics",
    "WriteOperation",
    "WriteOutcome",
    "WriteRecord",
    "WriteStore",
    "canonical_request_id",
    "decode_rejection",
    "encode_rejection",
    "fingerprint",
    "open_store",
    "sent_state",
]

_log = get_logger("writes")


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreConfig:
    backend: Literal["sqlite", "redis", "memory"]
    sqlite_path: Path | None = None
    ttl_seconds: float = 86_400
    lease_seconds: float = 30.0
    wait_timeout_seconds: float = 30.0
    max_entries: int = 100_000  # memory only
    audit_stream_maxlen: int = 1_000_000  # redis only


async def open_store(
    config: StoreConfig, redis: Redis | None = None, audit_sink: AuditSink | None = None
) -> WriteStore:
    common: StoreOptions = {
        "ttl_seconds": config.ttl_seconds,
        "lease_seconds": config.lease_seconds,
        "wait_timeout_seconds": config.wait_timeout_seconds,
        "audit_sink": audit_sink,
    }
    if config.backend == "redis":
        if redis is None:
            raise ValueError("the redis write store needs a Redis client")
        return RedisWriteStore(redis, audit_maxlen=config.audit_stream_maxlen, **common)
    if config.backend == "sqlite":
        path = config.sqlite_path or Path(DATABASE_FILE)
        return await SqliteWriteStore.open(path, **common)
    _log.warning(
        "write_store_not_durable",
        backend="memory",
        consequence="a write retried after a restart may apply twice",
    )
    return MemoryWriteStore(max_entries=config.max_entries, **common)
