"""Append-only audit log of money operations and user changes.

One ``AuditRecord`` per operation attempt that reached a decision (applied, rejected,
outcome unknown, replayed), written as one JSON line to ``audit.file`` or, without a
file, through the structlog logger ``audit`` (stdout, beside the access log). With Redis
configured each record is also ``XADD``-ed to the stream ``mt5gw:v1:audit`` (trimmed to
about ``audit.stream_maxlen`` entries), one field per record attribute, strings only, so
other apps (Laravel) can read it with ``XRANGE``/``XREAD``.

Records never hold secrets: they have no password fields, and ``changes`` goes through
the same redaction as logs (a changed password shows as ``***``).
"""

from __future__ import annotations

import asyncio
import enum
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import IO, TYPE_CHECKING

from redis.exceptions import RedisError

from mt5gateway_server.cache import keys
from mt5gateway_server.log import get_logger, redact
from mt5gateway_server.settings import AuditSettings, Settings

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from redis.asyncio import Redis
    from structlog.typing import FilteringBoundLogger

__all__ = ["AuditLog", "AuditOutcome", "AuditRecord"]

_log = get_logger("audit_log")


class AuditOutcome(enum.StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # MT5 rejected it or validation failed after the claim
    UNKNOWN = "unknown"  # sent, outcome not known (reconciliation pending)
    REPLAYED = "replayed"  # a repeated request_id answered from the idempotency store


def _decimal_text(value: Decimal | str | None) -> str | None:
    if value is None:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"amount must be a decimal number, got {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"amount must be finite, got {value!r}")
    # Exact text, never float: "100.10" stays "100.10".
    return str(value) if isinstance(value, str) else format(number, "f")


@dataclass(frozen=True, kw_only=True, slots=True)
class AuditRecord:
    """What happened, to whom, by whom. Amounts are exact decimal strings."""

    method: (
        str  # full gRPC method, "/mt5gateway.v1.TradeService/CreateBalanceOperation"
    )
    operation: str  # "deposit", "withdrawal", "credit", "user_create", "user_update"...
    outcome: AuditOutcome
    server: str  # MT5 server name
    request_id: str = ""
    login: int | None = None
    amount: Decimal | str | None = None
    currency: str | None = None
    deal: int | None = None  # MT5 deal ticket when one was created or found
    retcode: int | None = None  # MT5 retcode when MT5 answered
    caller: str = ""  # authenticated caller identity (API key name), "" when auth off
    peer: str = ""  # gRPC peer address
    comment: str | None = None
    # User changes: field -> new value (redacted). Free-form extra facts otherwise.
    changes: Mapping[str, str] = field(default_factory=dict)
    time: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", _decimal_text(self.amount))
        object.__setattr__(self, "outcome", AuditOutcome(self.outcome))
        if self.time.tzinfo is None:
            raise ValueError("audit time must be timezone-aware")

    def to_dict(self) -> dict[str, object]:
        """JSON-ready, ``None`` fields left out, ``changes`` redacted."""
        data: dict[str, object] = {
            "time": self.time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "method": self.method,
            "operation": self.operation,
            "outcome": self.outcome.value,
            "server": self.server,
            "request_id": self.request_id,
            "login": self.login,
            "amount": self.amount,
            "currency": self.currency,
            "deal": self.deal,
            "retcode": self.retcode,
            "caller": self.caller,
            "peer": self.peer,
            "comment": self.comment,
        }
        if self.changes:
            data["changes"] = redact(dict(self.changes))
        return {k: v for k, v in data.items() if v is not None}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=False)

    def stream_fields(self) -> dict[str, str]:
        """Flat string fields for XADD (``changes`` as a JSON object)."""
        fields: dict[str, str] = {}
        for key, value in self.to_dict().items():
            fields[key] = (
                json.dumps(value, separators=(",", ":"), ensure_ascii=False)
                if isinstance(value, dict)
                else str(value)
            )
        return fields


class AuditLog:
    """Writes audit records; ``aclose()`` is idempotent.

    A Redis failure is logged, never raised: by the time we audit, the money has moved
    and the caller must get its answer; the file/stdout line is already written.
    """

    def __init__(
        self,
        *,
        file: Path | None = None,
        redis: Redis | None = None,
        stream_maxlen: int = 1_000_000,
        logger: FilteringBoundLogger | None = None,
    ) -> None:
        self._path = file
        self._fh: IO[str] | None = None
        if file is not None:
            file.parent.mkdir(parents=True, exist_ok=True)
            # Line-buffered append: each record reaches the OS as one write.
            self._fh = file.open("a", encoding="utf-8", buffering=1)
        self._redis = redis
        self._maxlen = stream_maxlen
        self._logger = logger if logger is not None else get_logger("audit")
        self._lock = asyncio.Lock()
        self._closed = False

    @classmethod
    def create(
        cls, settings: Settings | AuditSettings, redis: Redis | None = None
    ) -> AuditLog:
        cfg = settings if isinstance(settings, AuditSettings) else settings.audit
        return cls(file=cfg.file, redis=redis, stream_maxlen=cfg.stream_maxlen)

    def __repr__(self) -> str:
        sinks = [str(self._path) if self._path else "log:audit"]
        if self._redis is not None:
            sinks.append(f"redis:{keys.AUDIT_STREAM}")
        return f"<AuditLog {' + '.join(sinks)}{' closed' if self._closed else ''}>"

    async def write(self, record: AuditRecord) -> None:
        if self._closed:
            raise RuntimeError("audit log is closed")
        if self._fh is not None:
            line = record.to_json() + "\n"
            async with self._lock:
                self._fh.write(line)
        else:
            self._logger.info("audit", **record.to_dict())
        if self._redis is not None:
            try:
                await self._redis.xadd(
                    keys.AUDIT_STREAM,
                    record.stream_fields(),  # type: ignore[arg-type]
                    maxlen=self._maxlen,
                    approximate=True,
                )
            except (RedisError, OSError):
                _log.exception(
                    "audit_stream_write_failed",
                    request_id=record.request_id,
                    method=record.method,
                )

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._fh is not None:
            async with self._lock:
                self._fh.close()
