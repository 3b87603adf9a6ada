"""What the write store keeps per ``(method, request_id)`` and the errors it raises.

A record's life (``RecordState``)::

    PENDING ──attempt()──> ATTEMPTED ──> SUCCEEDED | FAILED | UNKNOWN
       │                       │                               │
       └──release()── gone     └──release() (never sent)       └──> ATTEMPTED (re-send
          (never sent)            back to what it was              only once provably
                                                                   not applied)

``PENDING`` means claimed and nothing sent yet: a claim whose owner died in that state
can be taken over and written without a look-up. ``ATTEMPTED`` is the write-ahead mark
stored *before* the MT5 write leaves; an owner that died there leaves a write that may
have applied, so whoever comes next looks it up first. ``UNKNOWN`` is an attempt whose
answer was lost and whose effect is not yet found or provably absent.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Self

__all__ = [
    "ClaimLostError",
    "IdempotencyConflictError",
    "IdempotencyError",
    "IdempotencyPendingError",
    "RecordState",
    "WriteRecord",
    "canonical_request_id",
    "fingerprint",
]

_RECORD_VERSION = 2


class RecordState(enum.StrEnum):
    PENDING = "pending"
    ATTEMPTED = "attempted"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNKNOWN = "unknown"

    @property
    def final(self) -> bool:
        return self in {RecordState.SUCCEEDED, RecordState.FAILED}


class IdempotencyError(Exception):
    def __init__(self, message: str, method: str, request_id: str) -> None:
        super().__init__(message)
        self.method = method
        self.request_id = request_id


class IdempotencyConflictError(IdempotencyError):
    """Same request_id, different request payload (INVALID_ARGUMENT)."""


class IdempotencyPendingError(IdempotencyError):
    """A duplicate is still executing after the wait (ABORTED + RetryInfo)."""


class ClaimLostError(IdempotencyError):
    """Our lease expired and another caller took over before we recorded the outcome."""


def canonical_request_id(text: str) -> str | None:
    """Lower-case hyphenated UUID text, or None when ``text`` is no UUID: one
    idempotency key per UUID, whatever its spelling."""
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None


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


@dataclass(frozen=True, slots=True, kw_only=True)
class WriteRecord:
    """One request's record. ``payload`` is opaque to the store: the encoded result
    when ``succeeded``, the encoded error when ``failed``. ``attempted_at`` is when the
    latest write was sent (wall clock), ``attempts`` how many were sent."""

    method: str
    request_id: str
    fingerprint: str
    state: RecordState
    created_at: float
    updated_at: float
    attempts: int = 0
    attempted_at: float | None = None
    payload: bytes = b""
    details: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, self.request_id)

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
                "attempts": self.attempts,
                "attempted_at": self.attempted_at,
                "payload": base64.b64encode(self.payload).decode("ascii"),
                "details": dict(self.details),
            },
            separators=(",", ":"),
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, data: str | bytes) -> Self:
        raw = json.loads(data)
        state = RecordState(raw["state"])
        attempts = int(raw.get("attempts", 0))
        attempted_at = raw.get("attempted_at")
        if raw.get("v", 1) < 2 and not state.final:
            # Version 1 had no write-ahead mark: a pending or unknown record of it may
            # have been sent. Treat it as attempted at its last update.
            if state is RecordState.PENDING:
                state = RecordState.ATTEMPTED
            attempts = max(attempts, 1)
            attempted_at = float(raw["updated_at"])
        details = raw.get("details") or {}
        return cls(
            method=raw["method"],
            request_id=raw["request_id"],
            fingerprint=raw["fingerprint"],
            state=state,
            created_at=float(raw["created_at"]),
            updated_at=float(raw["updated_at"]),
            attempts=attempts,
            attempted_at=None if attempted_at is None else float(attempted_at),
            payload=base64.b64decode(raw.get("payload") or ""),
            # Lua's cjson turns {} into []; never rely on it, but accept it.
            details={str(k): str(v) for k, v in dict(details).items()},
        )
