"""Helpers every servicer shares: paging over MT5 answers, idempotent audited writes.

Keeping these in one place is what stops each service from growing its own slightly
different pagination and exactly-once code.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from google.rpc import status_pb2

from mt5gateway_server.audit import AuditOutcome, AuditRecord
from mt5gateway_server.cache.idempotency import ClaimStatus, RecordState, fingerprint
from mt5gateway_server.errors import GatewayError
from mt5gateway_server.log import get_logger
from mt5gateway_server.mapping.pagination import (
    Page,
    decode_page,
    next_token,
    request_fingerprint,
)
from mt5gateway_server.rpc.interceptors import current_call, to_gateway_error
from mt5gateway_server.webapi import (
    OUTCOME_OPEN_RETCODES,
    AuthError,
    CircuitOpen,
    ConnectError,
    DeadlineExceeded,
    OutcomeUnknown,
    PoolTimeout,
    ProtocolError,
    ReadError,
    ReadTimeout,
    RetcodeError,
    TimeConvention,
    TooFrequent,
    Unavailable,
    WebApiError,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping, Sequence

    from google.protobuf.message import Message

    from mt5gateway_server.rpc.deps import ServiceDeps
    from mt5gateway_server.webapi import WebApiClient

__all__ = [
    "CurrencyCache",
    "PageCursor",
    "WriteSpec",
    "idempotent_write",
    "page_cursor",
    "time_convention",
]

_log = get_logger("rpc.services")

T = TypeVar("T")
M = TypeVar("M", bound="Message")


# ------------------------------------------------------------------ pagination


class _Paged(Protocol):
    page_size: int
    page_token: str


@dataclass(frozen=True, slots=True)
class PageCursor:
    """The page a List/BatchGet request asks for, bound to its filters."""

    page: Page
    fingerprint: str

    def slice(self, items: Sequence[T]) -> tuple[list[T], str]:
        """This page of ``items`` (the full, stably ordered answer) and the next
        token ("" at the end)."""
        chunk = list(items[self.page.offset : self.page.end])
        return chunk, next_token(self.page, len(items), self.fingerprint)

    def next_after(self, total: int) -> str:
        return next_token(self.page, total, self.fingerprint)


def page_cursor(request: Message, *, default: int, maximum: int) -> PageCursor:
    paged: _Paged = request  # type: ignore[assignment]
    fp = request_fingerprint(request)
    page = decode_page(
        paged.page_token, paged.page_size, fp, default=default, maximum=maximum
    )
    return PageCursor(page, fp)


def time_convention(client: WebApiClient) -> TimeConvention:
    """How this server's MT5 time stamps become UTC (for fields the DTOs left raw)."""
    return TimeConvention(client.pool.config.server_utc_offset)


# ------------------------------------------------------------------ currencies


@dataclass
class CurrencyCache:
    """Group -> deposit currency, per MT5 server; Money fields need it on every
    user and account, and groups rarely change their currency."""

    ttl_seconds: float = 300.0
    clock: Callable[[], float] = time.monotonic
    _entries: dict[tuple[str, str], tuple[float, str]] = field(default_factory=dict)

    async def get(self, client: WebApiClient, group: str) -> str:
        key = (client.server, group)
        now = self.clock()
        hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        currency = (await client.group_get(group)).currency
        self._entries[key] = (now + self.ttl_seconds, currency)
        return currency

    def clear(self) -> None:
        self._entries.clear()


# ------------------------------------------------------------------ writes

# Never reached MT5 (or MT5 refused before doing anything): a retry may run it again.
_NEVER_SENT = (
    ConnectError,
    PoolTimeout,
    CircuitOpen,
    DeadlineExceeded,
    AuthError,
    TooFrequent,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class WriteSpec(Generic[M]):
    """One mutating RPC: what to run, how to check an unknown earlier outcome."""

    method: str  # full gRPC method, the idempotency and audit key
    operation: str  # audit name: "user_create", "user_delete", ...
    request: Message  # has `request_id` and `server`
    response_type: type[M]
    execute: Callable[[], Awaitable[M]]
    # Looks an earlier attempt's effect up; None if it cannot tell. Without it, a
    # repeat of an unknown outcome answers MT5_OUTCOME_UNKNOWN again.
    reconcile: Callable[[], Awaitable[M | None]] | None = None
    login: int | None = None
    changes: Mapping[str, str] = field(default_factory=dict)


def _request_fingerprint(spec: WriteSpec[M]) -> str:
    copy = type(spec.request)()
    copy.CopyFrom(spec.request)
    copy.ClearField("request_id")
    return fingerprint(spec.method, copy.SerializeToString(deterministic=True))


def _stored_error(payload: bytes) -> GatewayError:
    status = status_pb2.Status.FromString(payload)
    return GatewayError.from_status(status)


def _is_unknown(exc: BaseException) -> bool:
    if isinstance(exc, (OutcomeUnknown, ProtocolError, ReadError, ReadTimeout)):
        return True
    return isinstance(exc, Unavailable) and exc.retcode in OUTCOME_OPEN_RETCODES


async def _audit(
    deps: ServiceDeps,
    spec: WriteSpec[M],
    outcome: AuditOutcome,
    *,
    retcode: int | None = None,
) -> None:
    call = current_call()
    record = AuditRecord(
        method=spec.method,
        operation=spec.operation,
        outcome=outcome,
        server=deps.server_name(getattr(spec.request, "server", "")),
        request_id=getattr(spec.request, "request_id", ""),
        login=spec.login,
        retcode=retcode,
        caller=call.caller if call is not None else "",
        peer=call.peer if call is not None else "",
        changes=spec.changes,
    )
    try:
        await deps.audit.write(record)
    except Exception:  # noqa: BLE001  # the write happened; the caller gets its answer
        _log.exception("audit_write_failed", method=spec.method)


async def idempotent_write(deps: ServiceDeps, spec: WriteSpec[M]) -> M:  # noqa: C901
    """Run a mutation at most once per request_id and audit its outcome."""
    request_id: str = getattr(spec.request, "request_id", "")
    store = deps.idempotency
    async with store.claim(
        spec.method, request_id, _request_fingerprint(spec)
    ) as claim:
        if claim.status is ClaimStatus.REPLAY:
            existing = claim.existing
            if deps.metrics is not None:
                deps.metrics.record_idempotency_replay(spec.method)
            await _audit(deps, spec, AuditOutcome.REPLAYED)
            if existing is not None and existing.state is RecordState.SUCCEEDED:
                return spec.response_type.FromString(existing.payload)
            raise _stored_error(existing.payload if existing is not None else b"")
        if claim.status is ClaimStatus.RECONCILE:
            found = await spec.reconcile() if spec.reconcile is not None else None
            if found is None:
                await claim.mark_unknown({"reason": "not_reconciled"})
                await _audit(deps, spec, AuditOutcome.UNKNOWN)
                raise OutcomeUnknown(
                    "an earlier attempt's outcome is unknown",
                    command=spec.operation,
                    params={},
                    server=deps.server_name(getattr(spec.request, "server", "")),
                )
            await claim.complete(found.SerializeToString())
            await _audit(deps, spec, AuditOutcome.SUCCEEDED)
            return found
        try:
            response = await spec.execute()
        except _NEVER_SENT:
            await claim.release()
            raise
        except GatewayError:
            await claim.release()  # our own checks failed before the write
            raise
        except WebApiError as exc:
            retcode = exc.retcode if isinstance(exc, RetcodeError) else None
            if _is_unknown(exc):
                await claim.mark_unknown({"error": type(exc).__name__})
                await _audit(deps, spec, AuditOutcome.UNKNOWN, retcode=retcode)
            elif isinstance(exc, RetcodeError):
                status = to_gateway_error(exc).to_status()
                await claim.fail(status.SerializeToString())
                await _audit(deps, spec, AuditOutcome.FAILED, retcode=retcode)
            else:
                await claim.release()  # a read error on the way: nothing was written
            raise
        await claim.complete(response.SerializeToString())
        await _audit(deps, spec, AuditOutcome.SUCCEEDED)
        return response
