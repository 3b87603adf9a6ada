"""Audit records of MT5 writes, and the feed that shows them as they happen.

The write engine (``mt5gateway_server.writes``) makes one ``AuditRecord`` per step of a
write — ``attempting`` before the MT5 write leaves, then ``succeeded`` / ``failed`` /
``unknown`` / ``not_sent``, ``replayed`` for a repeat, ``duplicate`` when a write is
found applied twice — and the write store commits each in the same transaction as the
record's state change: the SQLite ``audit`` table by default, the Redis stream
``mt5gw:v1:audit`` with Redis (one field per attribute, strings only, readable with
``XRANGE``/``XREAD`` by other apps). That copy is the trail a crash cannot skip.

``AuditFeed`` additionally writes each committed record as one JSON line to
``audit.file`` or, without a file, through the structlog logger ``audit`` (stdout,
beside the access log): for log shipping, best effort.

Records never hold secrets: they have no password fields, and ``changes`` goes through
the same redaction as logs (a changed password shows as ``***``).
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import IO, TYPE_CHECKING

from mt5gateway_server.log import get_logger, redact

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from structlog.typing import FilteringBoundLogger

__all__ = ["AuditFeed", "AuditOutcome", "AuditRecord"]

_log = get_logger("audit_log")


class AuditOutcome(enum.StrEnum):
    ATTEMPTING = "attempting"  # write-ahead: committed before the MT5 write leaves
    SUCCEEDED = "succeeded"  # applied (answered, or found by its tag)
    FAILED = "failed"  # MT5 refused it for good
    UNKNOWN = "unknown"  # sent, outcome not known yet (the next repeat looks it up)
    NOT_SENT = "not_sent"  # the attempt never reached MT5 (a retry may write)
    REPLAYED = "replayed"  # a repeated request_id answered from the write store
    DUPLICATE = "duplicate"  # found applied more than once: needs an operator


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
    caller: str = ""  # authenticated caller identity (API key id), "" when auth off
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


class AuditFeed:
    """Writes committed audit records as JSON lines to a file or the ``audit``
    logger; ``aclose()`` is idempotent. Called synchronously after each commit."""

    def __init__(
        self, *, file: Path | None = None, logger: FilteringBoundLogger | None = None
    ) -> None:
        self._path = file
        self._fh: IO[str] | None = None
        if file is not None:
            file.parent.mkdir(parents=True, exist_ok=True)
            # Line-buffered append: each record reaches the OS as one write.
            self._fh = file.open("a", encoding="utf-8", buffering=1)
        self._logger = logger if logger is not None else get_logger("audit")
        self._closed = False

    def __repr__(self) -> str:
        sink = str(self._path) if self._path else "log:audit"
        return f"<AuditFeed {sink}{' closed' if self._closed else ''}>"

    def __call__(self, record: AuditRecord) -> None:
        if self._closed:
            return  # shutting down: the store has the record
        try:
            if self._fh is not None:
                self._fh.write(record.to_json() + "\n")
            else:
                self._logger.info("audit", **record.to_dict())
        except (OSError, ValueError):
            _log.exception("audit_feed_write_failed", request_id=record.request_id)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._fh is not None:
            self._fh.close()
