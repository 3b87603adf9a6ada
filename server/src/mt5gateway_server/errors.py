"""GatewayError hierarchy and the one table from Web API errors to gRPC statuses.

Services raise ``GatewayError``s; ``webapi`` raises ``WebApiError``s. ``from_webapi``
converts the latter with one table (STYLE.md "Error model"), and the ``CallInterceptor``
interceptor is the only place either becomes a ``google.rpc.Status``.
"""

# ruff: noqa: N818 - names say what happened, as in the webapi taxonomy
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import (
    error_details_pb2,
    status_pb2,
)
from mt5gateway.v1 import error_reason_pb2

from mt5gateway_server.webapi import errors as w

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "DOMAIN",
    "RETCODE_RULES",
    "WEBAPI_RULES",
    "CallerUnauthenticated",
    "FieldViolation",
    "GatewayDraining",
    "GatewayError",
    "IdempotencyConflict",
    "IdempotencyPending",
    "InternalError",
    "InvalidPageToken",
    "Rule",
    "ServerNotFound",
    "StateStoreUnavailable",
    "ValidationError",
    "from_webapi",
    "rule_for",
]

DOMAIN = "mt5gateway"
Reason = error_reason_pb2.ErrorReason

# Retry hints, in seconds. Short for a busy pool, longer for a server that is down.
RETRY_RATE_LIMITED = 1.0
RETRY_UNAVAILABLE = 1.0
RETRY_POOL_EXHAUSTED = 0.2
RETRY_AUTH_FAILED = 5.0
RETRY_DRAINING = 0.5


@dataclass(frozen=True, slots=True)
class FieldViolation:
    """One BadRequest field violation; ``field`` is a proto path (``amount.units``)."""

    field: str
    description: str


class GatewayError(Exception):
    """An error with a gRPC status; ``metadata`` keys are lowerCamel (ErrorInfo)."""

    # Class defaults; the Web API table sets them per instance.
    code: grpc.StatusCode = grpc.StatusCode.INTERNAL
    reason: int = error_reason_pb2.INTERNAL_ERROR

    def __init__(
        self,
        message: str,
        *,
        metadata: Mapping[str, str] | None = None,
        retry_delay: float | None = None,
        violations: Iterable[FieldViolation] = (),
        code: grpc.StatusCode | None = None,
        reason: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.metadata: dict[str, str] = dict(metadata or {})
        self.retry_delay = retry_delay
        self.violations: tuple[FieldViolation, ...] = tuple(violations)
        # Instance overrides let the Web API table produce plain GatewayErrors.
        if code is not None:
            self.code = code
        if reason is not None:
            self.reason = reason

    @property
    def reason_name(self) -> str:
        return Reason.Name(self.reason)

    @property
    def retcode(self) -> int | None:
        text = self.metadata.get("retcode")
        return int(text) if text is not None else None

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.code.name} {self.reason_name}"
            f" {self.message!r} {self.metadata}>"
        )

    @classmethod
    def from_status(cls, status: status_pb2.Status) -> GatewayError:
        """Rebuild an error from its stored ``google.rpc.Status`` (replays)."""
        code = _CODES_BY_NUMBER.get(status.code, grpc.StatusCode.UNKNOWN)
        reason: int = error_reason_pb2.INTERNAL_ERROR
        metadata: dict[str, str] = {}
        delay: float | None = None
        violations: list[FieldViolation] = []
        for detail in status.details:
            kind = detail.type_url.rsplit("/", 1)[-1]
            if kind == "google.rpc.ErrorInfo":
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                reason = Reason.Value(info.reason)
                metadata = dict(info.metadata)
            elif kind == "google.rpc.RetryInfo":
                retry = error_details_pb2.RetryInfo()
                detail.Unpack(retry)
                delay = retry.retry_delay.ToNanoseconds() / 1e9
            elif kind == "google.rpc.BadRequest":
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                violations = [
                    FieldViolation(v.field, v.description) for v in bad.field_violations
                ]
        return GatewayError(
            status.message,
            metadata=metadata,
            retry_delay=delay,
            violations=violations,
            code=code,
            reason=reason,
        )

    def to_status(self) -> status_pb2.Status:
        """``google.rpc.Status`` with ErrorInfo, then BadRequest/RetryInfo if any."""
        details: list[any_pb2.Any] = []
        info = error_details_pb2.ErrorInfo(
            reason=self.reason_name, domain=DOMAIN, metadata=self.metadata
        )
        details.append(_pack(info))
        if self.violations:
            bad = error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(
                        field=v.field, description=v.description
                    )
                    for v in self.violations
                ]
            )
            details.append(_pack(bad))
        if self.retry_delay is not None:
            delay = duration_pb2.Duration()
            delay.FromNanoseconds(round(self.retry_delay * 1e9))
            details.append(_pack(error_details_pb2.RetryInfo(retry_delay=delay)))
        return status_pb2.Status(
            code=_CODE_NUMBERS[self.code], message=self.message, details=details
        )


def _pack(message: error_details_pb2.ErrorInfo | object) -> any_pb2.Any:
    out = any_pb2.Any()
    out.Pack(message)  # type: ignore[arg-type,unused-ignore]
    return out


_CODE_NUMBERS: Mapping[grpc.StatusCode, int] = MappingProxyType(
    {code: code.value[0] for code in grpc.StatusCode}
)
_CODES_BY_NUMBER: Mapping[int, grpc.StatusCode] = MappingProxyType(
    {number: code for code, number in _CODE_NUMBERS.items()}
)


class ValidationError(GatewayError):
    """The request failed our checks; nothing was sent to MT5."""

    code = grpc.StatusCode.INVALID_ARGUMENT
    reason = error_reason_pb2.VALIDATION_FAILED

    def __init__(self, violations: Iterable[FieldViolation]) -> None:
        found = tuple(violations)
        if not found:
            raise ValueError("a ValidationError needs at least one violation")
        fields = ", ".join(dict.fromkeys(v.field for v in found))
        super().__init__(f"invalid request: {fields}", violations=found)

    @classmethod
    def single(cls, field: str, description: str) -> ValidationError:
        return cls([FieldViolation(field, description)])


class InvalidPageToken(GatewayError):
    code = grpc.StatusCode.INVALID_ARGUMENT
    reason = error_reason_pb2.INVALID_PAGE_TOKEN

    def __init__(self, description: str) -> None:
        super().__init__(
            f"invalid page_token: {description}",
            violations=[FieldViolation("page_token", description)],
        )


class ServerNotFound(GatewayError):
    code = grpc.StatusCode.NOT_FOUND
    reason = error_reason_pb2.SERVER_NOT_FOUND

    def __init__(self, server: str) -> None:
        super().__init__(
            f"no MT5 server named {server!r} is configured",
            metadata={"server": server},
        )


class CallerUnauthenticated(GatewayError):
    code = grpc.StatusCode.UNAUTHENTICATED
    reason = error_reason_pb2.CALLER_UNAUTHENTICATED

    def __init__(self, message: str = "missing or invalid x-api-key") -> None:
        super().__init__(message)


class IdempotencyConflict(GatewayError):
    """The request_id was used before with another payload (error_reason.proto)."""

    code = grpc.StatusCode.INVALID_ARGUMENT
    reason = error_reason_pb2.IDEMPOTENCY_CONFLICT

    def __init__(self, request_id: str) -> None:
        description = "already used with a different request; use a new request_id"
        super().__init__(
            "request_id was already used with a different request",
            metadata={"requestId": request_id},
            violations=[FieldViolation("request_id", description)],
        )


class IdempotencyPending(GatewayError):
    """A call with the same request_id is still running after the wait."""

    code = grpc.StatusCode.ABORTED
    reason = error_reason_pb2.REQUEST_IN_PROGRESS

    def __init__(self, request_id: str) -> None:
        super().__init__(
            "a call with this request_id is still being processed",
            metadata={"requestId": request_id},
            retry_delay=RETRY_UNAVAILABLE,
        )


class StateStoreUnavailable(GatewayError):
    """Redis (idempotency records) failed; the write was not attempted, or if it was,
    a repeat with the same request_id reconciles it by the deal tag."""

    code = grpc.StatusCode.UNAVAILABLE
    reason = error_reason_pb2.STATE_STORE_UNAVAILABLE

    def __init__(self) -> None:
        super().__init__(
            "the gateway's state store is not answering; repeat with the same"
            " request_id",
            retry_delay=RETRY_UNAVAILABLE,
        )


class GatewayDraining(GatewayError):
    code = grpc.StatusCode.UNAVAILABLE
    reason = error_reason_pb2.GATEWAY_DRAINING

    def __init__(self, message: str = "the gateway is shutting down") -> None:
        super().__init__(message, retry_delay=RETRY_DRAINING)


class InternalError(GatewayError):
    """The only message an unexpected exception is allowed to show callers."""

    def __init__(self, message: str = "internal error") -> None:
        super().__init__(message)


# ------------------------------------------------------------------ Web API table


@dataclass(frozen=True, slots=True)
class Rule:
    code: grpc.StatusCode
    reason: int
    retry_delay: float | None = None  # None: not retryable, no RetryInfo

    @property
    def retryable(self) -> bool:
        return self.retry_delay is not None


_S = grpc.StatusCode
_R = error_reason_pb2

# Retcodes whose meaning differs from their Web API class (checked first).
RETCODE_RULES: Mapping[int, Rule] = MappingProxyType(
    {
        # "Invalid password" outside check_password: the new password breaks the
        # group's rules, a caller mistake rather than the gateway's login failing.
        3006: Rule(_S.INVALID_ARGUMENT, _R.MT5_INVALID_PARAMETERS),
    }
)

# Most specific class first; the first isinstance match wins.
WEBAPI_RULES: tuple[tuple[type[w.WebApiError], Rule], ...] = (
    (w.OutcomeUnknown, Rule(_S.DEADLINE_EXCEEDED, _R.MT5_OUTCOME_UNKNOWN)),
    (w.NotFound, Rule(_S.NOT_FOUND, _R.MT5_NOT_FOUND)),
    (w.InvalidParams, Rule(_S.INVALID_ARGUMENT, _R.MT5_INVALID_PARAMETERS)),
    (w.NoPermission, Rule(_S.PERMISSION_DENIED, _R.MT5_PERMISSION_DENIED)),
    (w.Duplicate, Rule(_S.ALREADY_EXISTS, _R.MT5_DUPLICATE)),
    (w.NoMoney, Rule(_S.FAILED_PRECONDITION, _R.MT5_NO_MONEY)),
    (w.Rejected, Rule(_S.FAILED_PRECONDITION, _R.MT5_REJECTED)),
    (
        w.TooFrequent,
        Rule(_S.RESOURCE_EXHAUSTED, _R.MT5_RATE_LIMITED, RETRY_RATE_LIMITED),
    ),
    (w.Unavailable, Rule(_S.UNAVAILABLE, _R.MT5_UNAVAILABLE, RETRY_UNAVAILABLE)),
    (w.NotReady, Rule(_S.UNAVAILABLE, _R.MT5_UNAVAILABLE, RETRY_UNAVAILABLE)),
    (w.Partial, Rule(_S.UNKNOWN, _R.MT5_ERROR)),
    (w.AuthError, Rule(_S.UNAVAILABLE, _R.MT5_AUTH_FAILED, RETRY_AUTH_FAILED)),
    (w.RetcodeError, Rule(_S.UNKNOWN, _R.MT5_ERROR)),
    (w.PoolTimeout, Rule(_S.UNAVAILABLE, _R.POOL_EXHAUSTED, RETRY_POOL_EXHAUSTED)),
    # Our caller's deadline ran out before anything was sent.
    (w.DeadlineExceeded, Rule(_S.DEADLINE_EXCEEDED, _R.MT5_UNAVAILABLE)),
    (w.CircuitOpen, Rule(_S.UNAVAILABLE, _R.MT5_UNAVAILABLE, RETRY_UNAVAILABLE)),
    (w.TransportError, Rule(_S.UNAVAILABLE, _R.MT5_UNAVAILABLE, RETRY_UNAVAILABLE)),
    # The upstream spoke something else than MT5: like an HTTP 502.
    (w.ProtocolError, Rule(_S.UNAVAILABLE, _R.MT5_UNAVAILABLE, RETRY_UNAVAILABLE)),
    (w.WebApiError, Rule(_S.UNKNOWN, _R.MT5_ERROR)),
)


def rule_for(exc: w.WebApiError) -> Rule:
    if isinstance(exc, w.RetcodeError) and exc.retcode in RETCODE_RULES:
        return RETCODE_RULES[exc.retcode]
    for cls, rule in WEBAPI_RULES:
        if isinstance(exc, cls):
            return rule
    raise AssertionError("WebApiError is the last rule")  # pragma: no cover


_PUBLIC_MESSAGES: Mapping[int, str] = MappingProxyType(
    {
        _R.MT5_UNAVAILABLE: "the MT5 server is unavailable",
        _R.POOL_EXHAUSTED: "no MT5 session became free in time",
        _R.MT5_AUTH_FAILED: "the gateway cannot log in to the MT5 server",
        _R.MT5_OUTCOME_UNKNOWN: "the MT5 write was sent but its outcome is unknown",
    }
)


def from_webapi(
    exc: w.WebApiError, metadata: Mapping[str, str] | None = None
) -> GatewayError:
    """The GatewayError for a Web API error; ``metadata`` adds request values."""
    rule = rule_for(exc)
    meta: dict[str, str] = {}
    if exc.server:
        meta["server"] = exc.server
    if exc.command:
        meta["mt5Command"] = exc.command
    if isinstance(exc, w.RetcodeError):
        meta["retcode"] = str(exc.retcode)
        meta["retcodeName"] = w.RETCODE_NAMES.get(exc.retcode, exc.text)
        message = f"MT5 answered {exc.retcode} {exc.text}"
    else:
        # Transport/auth messages may carry hosts and pool state; keep them generic.
        message = _PUBLIC_MESSAGES.get(rule.reason, "MT5 request failed")
    if metadata:
        meta.update(metadata)
    delay = rule.retry_delay
    if isinstance(exc, w.CircuitOpen):
        delay = max(exc.retry_after, 0.1)
    return GatewayError(
        message, metadata=meta, retry_delay=delay, code=rule.code, reason=rule.reason
    )
