"""Typed exceptions decoded from the gateway's rich error status.

Every failed RPC carries a ``google.rpc.Status`` in the ``grpc-status-details-bin``
trailer with one ``ErrorInfo`` (domain ``mt5gateway``), plus ``BadRequest`` for
validation failures and ``RetryInfo`` for retryable ones (protos/README.md, "Errors").
:func:`decode` turns a :class:`grpc.RpcError` (sync or aio) into the exception class
for its reason, falling back to the class for its status code when the reason is
unknown or missing.
Branch on the class or on ``reason``, never on the message text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol

import grpc
from google.rpc import error_details_pb2, status_pb2

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import timedelta

__all__ = [
    "DOMAIN",
    "STATUS_DETAILS_KEY",
    "Aborted",
    "AlreadyExists",
    "Cancelled",
    "DeadlineExceeded",
    "FailedPrecondition",
    "FieldViolation",
    "GatewayDraining",
    "GatewayError",
    "IdempotencyConflict",
    "InternalError",
    "InvalidArgument",
    "InvalidPageToken",
    "Mt5AuthFailed",
    "Mt5Error",
    "Mt5InvalidParameters",
    "NoMoney",
    "NotFound",
    "OutcomeUnknown",
    "PermissionDenied",
    "PoolExhausted",
    "RateLimited",
    "Rejected",
    "RequestInProgress",
    "ServerNotFound",
    "StateStoreUnavailable",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
    "ValidationFailed",
    "decode",
    "decode_status",
]

DOMAIN = "mt5gateway"
STATUS_DETAILS_KEY = "grpc-status-details-bin"


@dataclass(frozen=True, slots=True)
class FieldViolation:
    """One ``BadRequest.field_violations`` entry; ``field`` is a proto path."""

    field: str
    description: str
    reason: str = ""


class _RpcErrorLike(Protocol):
    # grpc.Call and grpc.aio.AioRpcError both answer these synchronously.
    def code(self) -> grpc.StatusCode: ...
    def details(self) -> str | None: ...
    def trailing_metadata(self) -> object: ...


class GatewayError(Exception):
    """Base of every decoded gateway error.

    ``reason`` is the ``ErrorInfo.reason`` (``""`` when the status carried none, e.g. a
    deadline set by the caller); ``metadata`` the ErrorInfo metadata; ``retcode`` and
    ``retcode_name`` what MT5 answered, if it did; ``retry_delay`` the server's hint.
    """

    code: grpc.StatusCode
    #: Whether retrying the same call (same request_id for writes) is safe and useful.
    retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        code: grpc.StatusCode,
        reason: str = "",
        domain: str = "",
        metadata: Mapping[str, str] | None = None,
        field_violations: tuple[FieldViolation, ...] = (),
        retry_delay: timedelta | None = None,
        status: status_pb2.Status | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.reason = reason
        self.domain = domain
        self.metadata: dict[str, str] = dict(metadata or {})
        self.field_violations = field_violations
        self.retry_delay = retry_delay
        self.status = status

    @property
    def retcode(self) -> int | None:
        raw = self.metadata.get("retcode")
        try:
            return int(raw) if raw is not None else None
        except ValueError:
            return None

    @property
    def retcode_name(self) -> str | None:
        return self.metadata.get("retcodeName")

    def __str__(self) -> str:
        parts = [f"{self.code.name}: {self.message}"]
        if self.reason:
            parts.append(f"reason={self.reason}")
        if self.retcode is not None:
            parts.append(f"retcode={self.retcode} ({self.retcode_name})")
        if self.field_violations:
            fields = ", ".join(v.field for v in self.field_violations)
            parts.append(f"fields=[{fields}]")
        return " ".join(parts)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code.name}, reason={self.reason!r}, "
            f"message={self.message!r})"
        )


class InvalidArgument(GatewayError):  # noqa: N818
    pass


class ValidationFailed(InvalidArgument):
    """The gateway's own validation; see ``field_violations``."""


class Mt5InvalidParameters(InvalidArgument):
    pass


class InvalidPageToken(InvalidArgument):
    pass


class Unauthenticated(GatewayError):  # noqa: N818
    pass


class PermissionDenied(GatewayError):  # noqa: N818
    pass


class NotFound(GatewayError):  # noqa: N818
    pass


class ServerNotFound(NotFound):
    pass


class AlreadyExists(GatewayError):  # noqa: N818
    pass


class FailedPrecondition(GatewayError):  # noqa: N818
    pass


class Rejected(FailedPrecondition):
    """A business rule refused the operation (market closed, open trades, …)."""


class NoMoney(Rejected):
    pass


class IdempotencyConflict(InvalidArgument):
    """The request_id was already used with a different payload: use a new one."""


class Aborted(GatewayError):  # noqa: N818
    pass


class RequestInProgress(Aborted):
    """Another call with this request_id is still running: repeat it later."""

    retryable = True


class RateLimited(GatewayError):  # noqa: N818
    retryable = True


class Unavailable(GatewayError):  # noqa: N818
    """MT5 or the gateway is unreachable; for a write, MT5 never received it."""

    retryable = True


class PoolExhausted(Unavailable):
    pass


class Mt5AuthFailed(Unavailable):
    pass


class GatewayDraining(Unavailable):
    pass


class StateStoreUnavailable(Unavailable):
    """The gateway's Redis did not answer. A money write may or may not have been
    applied: repeat it with the same request_id to learn its outcome (never twice)."""


class DeadlineExceeded(GatewayError):  # noqa: N818
    """The caller's own deadline ran out; a write's outcome is then unknown too."""


class OutcomeUnknown(DeadlineExceeded):
    """A write reached MT5 but its result is unknown. Repeat it with the SAME
    request_id (after ``retry_delay`` if given): the gateway looks the write up before
    anything is written again. Never use a new request_id for it: that is a new
    operation and can apply the money twice."""


class Mt5Error(GatewayError):
    pass


class InternalError(GatewayError):
    pass


class Unimplemented(GatewayError):  # noqa: N818
    pass


class Cancelled(GatewayError):  # noqa: N818
    pass


_BY_REASON: dict[str, type[GatewayError]] = {
    "VALIDATION_FAILED": ValidationFailed,
    "MT5_INVALID_PARAMETERS": Mt5InvalidParameters,
    "INVALID_PAGE_TOKEN": InvalidPageToken,
    "CALLER_UNAUTHENTICATED": Unauthenticated,
    "MT5_PERMISSION_DENIED": PermissionDenied,
    "MT5_NOT_FOUND": NotFound,
    "SERVER_NOT_FOUND": ServerNotFound,
    "MT5_DUPLICATE": AlreadyExists,
    "MT5_REJECTED": Rejected,
    "MT5_NO_MONEY": NoMoney,
    "IDEMPOTENCY_CONFLICT": IdempotencyConflict,
    "REQUEST_IN_PROGRESS": RequestInProgress,
    "MT5_RATE_LIMITED": RateLimited,
    "MT5_UNAVAILABLE": Unavailable,
    "POOL_EXHAUSTED": PoolExhausted,
    "MT5_AUTH_FAILED": Mt5AuthFailed,
    "GATEWAY_DRAINING": GatewayDraining,
    "STATE_STORE_UNAVAILABLE": StateStoreUnavailable,
    "MT5_OUTCOME_UNKNOWN": OutcomeUnknown,
    "MT5_ERROR": Mt5Error,
    "INTERNAL_ERROR": InternalError,
}

# An unknown reason is treated like the generic error of its code (error_reason.proto).
_BY_CODE: dict[grpc.StatusCode, type[GatewayError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.OUT_OF_RANGE: InvalidArgument,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExists,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.ABORTED: Aborted,
    grpc.StatusCode.RESOURCE_EXHAUSTED: RateLimited,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
    grpc.StatusCode.UNKNOWN: Mt5Error,
    grpc.StatusCode.UNIMPLEMENTED: Unimplemented,
    grpc.StatusCode.CANCELLED: Cancelled,
    grpc.StatusCode.INTERNAL: InternalError,
}

_CODES_BY_VALUE = {code.value[0]: code for code in grpc.StatusCode}


def _status_from_metadata(metadata: object) -> status_pb2.Status | None:
    if not metadata:
        return None
    for item in metadata:  # type: ignore[attr-defined]
        key, value = item
        if key == STATUS_DETAILS_KEY and isinstance(value, bytes):
            return status_pb2.Status.FromString(value)
    return None


def decode_status(
    status: status_pb2.Status, *, code: grpc.StatusCode | None = None
) -> GatewayError:
    """Build the typed exception for a ``google.rpc.Status``.

    ``code`` is the transport's status code; it wins over ``status.code`` when both
    exist (the code is what gRPC reported; the status could come from a proxy).
    """
    if code is None:
        code = _CODES_BY_VALUE.get(status.code, grpc.StatusCode.UNKNOWN)
    info: error_details_pb2.ErrorInfo | None = None
    violations: list[FieldViolation] = []
    retry_delay: timedelta | None = None
    for detail in status.details:
        # Any.Unpack answers False for another type: no descriptor comparison needed.
        candidate = error_details_pb2.ErrorInfo()
        if info is None and detail.Unpack(candidate):
            info = candidate
            continue
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            violations.extend(
                FieldViolation(v.field, v.description, v.reason)
                for v in bad.field_violations
            )
            continue
        retry = error_details_pb2.RetryInfo()
        if detail.Unpack(retry):
            retry_delay = retry.retry_delay.ToTimedelta()
    reason = info.reason if info is not None else ""
    domain = info.domain if info is not None else ""
    by_code = _BY_CODE.get(code, GatewayError)
    cls = _BY_REASON.get(reason) if domain == DOMAIN else None
    # The reason refines the code's class; a reason that contradicts the code (e.g.
    # INTERNAL_ERROR sent with UNIMPLEMENTED) must not turn the error into another kind.
    if cls is None or not issubclass(cls, by_code):
        cls = by_code
    return cls(
        status.message,
        code=code,
        reason=reason,
        domain=domain,
        metadata=dict(info.metadata) if info is not None else None,
        field_violations=tuple(violations),
        retry_delay=retry_delay,
        status=status,
    )


def decode(error: _RpcErrorLike) -> GatewayError:
    """Turn a failed call (``grpc.RpcError`` / ``grpc.aio.AioRpcError``) into a
    :class:`GatewayError` subclass. The original error becomes ``__cause__`` when raised
    with ``raise decode(exc) from exc``.
    """
    code = error.code()
    message = error.details() or ""
    try:
        status = _status_from_metadata(error.trailing_metadata())
    except Exception:  # noqa: BLE001 - a corrupt trailer must not hide the real error
        status = None
    if status is None:
        cls = _BY_CODE.get(code, GatewayError)
        return cls(message, code=code)
    if not status.message:
        status.message = message
    return decode_status(status, code=code)
