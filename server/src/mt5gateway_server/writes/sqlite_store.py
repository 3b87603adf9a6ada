"""The durable embedded write store: one SQLite file, the default without Redis.

Why SQLite: it is in the standard library, a committed transaction survives ``kill -9``
and a power cut (WAL with ``synchronous=FULL`` fsyncs the log on every commit), and a
record's state change and its audit row commit in ONE transaction, so a crash can leave
an open attempt but never a deal without its record. The audit table is append-only
(triggers refuse UPDATE and DELETE).

One connection on one dedicated thread: SQLite serialises writers anyway, and a single
thread keeps the connection's use trivially safe. A transition costs one fsync (about
0.1-2 ms on local disks); a money write makes three (claim, attempt, outcome), which is
small next to the MT5 round trip.

One process owns the file: ``open`` takes an exclusive lock on ``<file>.lock`` (the
kernel drops it when the process dies, even by kill -9) and refuses a second owner. So
every lease found at open belonged to a dead process and is ended at once: a caller
retrying after a crash reconciles immediately instead of waiting out the lease.
Replicas (and ``--workers``) share the Redis store instead.

Tables: ``writes`` (one row per ``(method, request_id)``: the record as JSON plus the
owner token, its lease and the expiry) and ``audit`` (``seq`` order; the columns of
``AuditRecord``).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import sqlite3
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import IO, TYPE_CHECKING, TypeVar, Unpack

from mt5gateway_server.log import get_logger
from mt5gateway_server.writes.records import RecordState, WriteRecord
from mt5gateway_server.writes.store import Change, StoreOptions, TryClaim, WriteStore

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from mt5gateway_server.audit import AuditRecord

__all__ = ["AUDIT_COLUMNS", "DATABASE_FILE", "SqliteWriteStore"]

_log = get_logger("writes.sqlite")

DATABASE_FILE = "mt5gateway.sqlite3"
AUDIT_COLUMNS = (
    "time",
    "method",
    "operation",
    "outcome",
    "server",
    "request_id",
    "login",
    "amount",
    "currency",
    "deal",
    "retcode",
    "caller",
    "peer",
    "comment",
    "changes",
)
_SCHEMA_VERSION = 1
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS writes (
    method TEXT NOT NULL,
    request_id TEXT NOT NULL,
    state TEXT NOT NULL,
    record TEXT NOT NULL,
    owner TEXT,
    lease_until REAL NOT NULL DEFAULT 0,
    expires_at REAL NOT NULL,
    PRIMARY KEY (method, request_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS writes_expiry ON writes (expires_at) WHERE state IN
    ('succeeded', 'failed');
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    method TEXT NOT NULL,
    operation TEXT NOT NULL,
    outcome TEXT NOT NULL,
    server TEXT NOT NULL,
    request_id TEXT NOT NULL,
    login INTEGER,
    amount TEXT,
    currency TEXT,
    deal INTEGER,
    retcode INTEGER,
    caller TEXT NOT NULL,
    peer TEXT NOT NULL,
    comment TEXT,
    changes TEXT
);
CREATE INDEX IF NOT EXISTS audit_request ON audit (request_id);
CREATE TRIGGER IF NOT EXISTS audit_append_only_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit table is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_append_only_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit table is append-only'); END;
PRAGMA user_version = {_SCHEMA_VERSION};
"""
_SELECT_AUDIT = (
    f"SELECT seq, {', '.join(AUDIT_COLUMNS)} FROM audit "  # noqa: S608 - constant names
    "WHERE seq > ? ORDER BY seq LIMIT ?"
)
_INSERT_AUDIT = (
    f"INSERT INTO audit ({', '.join(AUDIT_COLUMNS)}) "  # noqa: S608 - constant names
    f"VALUES ({', '.join('?' for _ in AUDIT_COLUMNS)})"
)
# Final records past their TTL are deleted every this many commits.
_PURGE_EVERY = 1000
# Another process sharing the file cannot notify us: poll at most this far apart.
_POLL_CAP_SECONDS = 0.2

T = TypeVar("T")


def _audit_row(audit: AuditRecord) -> tuple[object, ...]:
    data = audit.to_dict()
    changes = data.get("changes")
    data["changes"] = (
        None
        if changes is None
        else json.dumps(changes, separators=(",", ":"), ensure_ascii=False)
    )
    data.setdefault("caller", "")
    data.setdefault("peer", "")
    return tuple(data.get(column) for column in AUDIT_COLUMNS)


class SqliteWriteStore(WriteStore):
    durable = True
    name = "sqlite"

    def __init__(self, path: Path, **kw: Unpack[StoreOptions]) -> None:
        super().__init__(**kw)
        self.path = path
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="mt5gw-sqlite")
        self._db: sqlite3.Connection | None = None
        self._lock: IO[bytes] | None = None
        self._closed = False
        self._commits = 0
        # In-process waiters for a key (a concurrent duplicate in this process).
        self._events: weakref.WeakValueDictionary[tuple[str, str], asyncio.Event] = (
            weakref.WeakValueDictionary()
        )

    def __repr__(self) -> str:
        return f"<SqliteWriteStore {self.path}>"

    @classmethod
    async def open(cls, path: Path, **kw: Unpack[StoreOptions]) -> SqliteWriteStore:
        store = cls(path, **kw)
        try:
            await store._run(store._open)
        except BaseException:
            await store._close()
            raise
        _log.info("write_store_opened", backend="sqlite", path=str(path))
        return store

    # ------------------------------------------------------------ thread side

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = self._take_lock()
        db = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=10.0
        )
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > _SCHEMA_VERSION:
            db.close()
            raise RuntimeError(
                f"{self.path} has schema version {version}, newer than this gateway "
                f"({_SCHEMA_VERSION}); refusing to use it"
            )
        db.executescript(_SCHEMA)
        # We own the file: whoever held a lease before us is dead.
        ended = db.execute(
            "UPDATE writes SET owner = NULL, lease_until = 0 WHERE owner IS NOT NULL"
        ).rowcount
        if ended:
            _log.warning("write_leases_of_a_dead_process_ended", count=ended)
        self._db = db

    def _take_lock(self) -> IO[bytes]:
        lock = self.path.with_name(self.path.name + ".lock").open("ab")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise RuntimeError(
                f"another gateway process uses {self.path}; give each process its own "
                "data_dir, or share state between processes through Redis"
            ) from None
        return lock

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("the write store is closed")
        return self._db

    def _row(
        self, key: tuple[str, str]
    ) -> tuple[WriteRecord, str | None, float, float] | None:
        found = (
            self._conn()
            .execute(
                "SELECT record, owner, lease_until, expires_at FROM writes "
                "WHERE method = ? AND request_id = ?",
                key,
            )
            .fetchone()
        )
        if found is None:
            return None
        return WriteRecord.from_json(found[0]), found[1], found[2], found[3]

    def _try_claim_sync(
        self, pending: WriteRecord, token: str
    ) -> tuple[TryClaim, WriteRecord | None]:
        db = self._conn()
        now = self.clock()
        db.execute("BEGIN IMMEDIATE")
        try:
            row = self._row(pending.key)
            if row is not None and row[3] <= now and row[0].state.final:
                db.execute(
                    "DELETE FROM writes WHERE method = ? AND request_id = ?",
                    pending.key,
                )
                row = None
            if row is None:
                db.execute(
                    "INSERT INTO writes (method, request_id, state, record, owner, "
                    "lease_until, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        *pending.key,
                        pending.state.value,
                        pending.to_json(),
                        token,
                        now + self.lease_seconds,
                        now + self.ttl_seconds,
                    ),
                )
                result: tuple[TryClaim, WriteRecord | None] = (TryClaim.NEW, None)
            else:
                record, owner, lease_until, _ = row
                if record.fingerprint != pending.fingerprint:
                    result = (TryClaim.CONFLICT, record)
                elif record.state.final:
                    result = (TryClaim.REPLAY, record)
                elif owner is not None and lease_until > now:
                    result = (TryClaim.BUSY, record)
                else:
                    db.execute(
                        "UPDATE writes SET owner = ?, lease_until = ? "
                        "WHERE method = ? AND request_id = ?",
                        (token, now + self.lease_seconds, *pending.key),
                    )
                    taken = record.state is RecordState.PENDING
                    result = (TryClaim.TAKEN if taken else TryClaim.RECONCILE, record)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return result

    def _commit_sync(self, change: Change) -> bool:
        key, record, audit = change.key, change.record, change.audit
        db = self._conn()
        now = self.clock()
        db.execute("BEGIN IMMEDIATE")
        try:
            owner = db.execute(
                "SELECT owner FROM writes WHERE method = ? AND request_id = ?", key
            ).fetchone()
            if owner is None or owner[0] != change.token:
                db.execute("ROLLBACK")
                return False
            if record is None:
                db.execute(
                    "DELETE FROM writes WHERE method = ? AND request_id = ?", key
                )
            else:
                db.execute(
                    "UPDATE writes SET state = ?, record = ?, owner = ?, "
                    "expires_at = ? WHERE method = ? AND request_id = ?",
                    (
                        record.state.value,
                        record.to_json(),
                        None if change.release else change.token,
                        now + self.ttl_seconds,
                        *key,
                    ),
                )
            if audit is not None:
                db.execute(_INSERT_AUDIT, _audit_row(audit))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._commits += 1
        if self._commits % _PURGE_EVERY == 0:
            self._purge(now)
        return True

    def _purge(self, now: float) -> None:
        # Only final outcomes expire; an open attempt is kept until resolved.
        self._conn().execute(
            "DELETE FROM writes WHERE expires_at <= ? AND state IN "
            "('succeeded', 'failed')",
            (now,),
        )

    def _append_audit_sync(self, audit: AuditRecord) -> None:
        self._conn().execute(_INSERT_AUDIT, _audit_row(audit))

    def _renew_sync(self, key: tuple[str, str], token: str) -> bool:
        cursor = self._conn().execute(
            "UPDATE writes SET lease_until = ? WHERE method = ? AND request_id = ? "
            "AND owner = ?",
            (self.clock() + self.lease_seconds, *key, token),
        )
        return cursor.rowcount == 1

    def _get_sync(self, key: tuple[str, str]) -> WriteRecord | None:
        row = self._row(key)
        return None if row is None else row[0]

    def _close_sync(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._lock is not None:
            self._lock.close()  # releases the flock
            self._lock = None

    # ------------------------------------------------------------ loop side

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, fn, *args
        )

    def _notify(self, key: tuple[str, str]) -> None:
        event = self._events.pop(key, None)
        if event is not None:
            event.set()

    async def get(self, method: str, request_id: str) -> WriteRecord | None:
        return await self._run(self._get_sync, (method, request_id))

    async def _try_claim(
        self, pending: WriteRecord, token: str
    ) -> tuple[TryClaim, WriteRecord | None]:
        return await self._run(self._try_claim_sync, pending, token)

    async def _commit(self, change: Change) -> bool:
        ok = await self._run(self._commit_sync, change)
        if ok and change.release:
            self._notify(change.key)
        return ok

    async def _append_audit(self, audit: AuditRecord) -> None:
        await self._run(self._append_audit_sync, audit)

    async def _renew(self, key: tuple[str, str], token: str) -> bool:
        return await self._run(self._renew_sync, key, token)

    async def _wait_change(
        self, key: tuple[str, str], max_wait: float, polls: int
    ) -> None:
        event = self._events.get(key)
        if event is None:
            event = self._events[key] = asyncio.Event()
        step = min(max_wait, _POLL_CAP_SECONDS, 0.005 * 2**polls)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), step)

    async def _close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._run(self._close_sync)
        self._executor.shutdown(wait=True)

    # ------------------------------------------------------------ reading

    async def audit_rows(
        self, *, after_seq: int = 0, limit: int = 1000
    ) -> list[dict[str, object]]:
        """Audit rows in ``seq`` order (for operators' tools and tests)."""

        def read() -> list[dict[str, object]]:
            cursor = self._conn().execute(_SELECT_AUDIT, (after_seq, limit))
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor]

        return await self._run(read)
