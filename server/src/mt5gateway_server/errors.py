"""The gateway's errors and the one table from every exception to a gRPC status.

Two kinds of exception reach the RPC edge:

* ``GatewayError`` and its subclasses here: the gateway's own refusals (validation,
  unknown server, caller, drain). Each names its code and reason once, on its class.
* Everything the gateway's rooms raise in their own terms: the Web API client
  (``webapi.errors``), the write engine and its stores (``writes``), the quote hub,
  Redis. ``STATUS_TABLE`` maps each of them to a ``Rule``; nothing else does.

``map_exception`` applies the table; the ``CallInterceptor`` is the one place its
result becomes a ``google.rpc.Status`` on the wire (``rpc/services/common.py`` stores
one for replays). Values a caller sent are shortened by ``echoed`` wherever they are
repeated back (ErrorInfo metadata, messages), so a 100 kB field cannot blow the
caller's metadata limit.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2
from mt5gateway.v1 import error_reason_pb2
from redis.exceptions import RedisError

from mt5gateway_server import writes
from mt5gateway_server.feeds import hub
from mt5gateway_server.log import get_logger
from mt5gateway_server.webapi import errors as w

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "DOMAIN",
    "ECHO_LIMIT",
    "RETCODE_RULES",
    "STATUS_TABLE",
    "CallerUnauthenticatedError",
    "FieldViolation",
    "GatewayDrainingError",
    "GatewayError",
    "InternalError",
    "InvalidPageTokenError",
    "MalformedRequestError",
    "Rule",
    "ServerNotFoundError",
    "ValidationError",
    "echoed",
    "map_exception",
    "rule_for",
]

_log = get_logger("rpc.errors")

DOMAIN = "mt5gateway"
Reason = error_reason_pb2.ErrorReason

# Retry hints, in seconds. Short for a busy pool, longer for a server that is down.
RETRY_RATE_LIMITED = 1.0
RETRY_UNAVAILABLE = 1.0
RETRY_POOL_EXHAUSTED = 0.2
RETRY_AUTH_FAILED = 5.0
RETRY_DRAINING = 0.5
RETRY_IN_PROGRESS = 1.0

# Caller values repeated in errors are cut to this many characters (+ "...").
ECHO_LIMIT = 64


def echoed(value: object) -> str:
    """A caller's value as the gateway repeats it: at most ECHO_LIMIT characters."""
    text = str(value)
    return text if len(text) <= ECHO_LIMIT else text[:ECHO_LIMIT] + "..."


@dataclass(frozen=True, slots=True)
class FieldViolation:
    """One BadRequest field violation; ``field`` is a proto path (``amount.units``)."""

    field: str
    description: str


class GatewayError(Exception):
    """An error with a gRPC status; ``metadata`` keys are lowerCamel (ErrorInfo)."""

    # Class defaults; map_exception and replays set them per instance.
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
            reason=self.reason_name,
            domain=DOMAIN,
            metadata={key: echoed(value) for key, value in self.metadata.items()},
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


# ------------------------------------------------------- the gateway's own refusals


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


class MalformedRequestError(GatewayError):
    """The request bytes do not parse as the method's request message (invalid UTF-8
    in a string field, a truncated message): no field of it can be trusted."""

    code = grpc.StatusCode.INVALID_ARGUMENT
    reason = error_reason_pb2.VALIDATION_FAILED

    def __init__(self, message_type: str) -> None:
        # The field path is empty: the violation is the request message itself.
        super().__init__(
            f"the request is not a valid {message_type}",
            violations=[FieldViolation("", f"not a valid {message_type} message")],
        )


class InvalidPageTokenError(GatewayError):
    code = grpc.StatusCode.INVALID_ARGUMENT
    reason = error_reason_pb2.INVALID_PAGE_TOKEN

    def __init__(self, description: str) -> None:
        super().__init__(
            f"invalid page_token: {description}",
            violations=[FieldViolation("page_token", description)],
        )


class ServerNotFoundError(GatewayError):
    code = grpc.StatusCode.NOT_FOUND
    reason = error_reason_pb2.SERVER_NOT_FOUND

    def __init__(self, server: str) -> None:
        super().__init__(
            f"no MT5 server named {echoed(server)!r} is configured",
            metadata={"server": server},
        )


class CallerUnauthenticatedError(GatewayError):
    code = grpc.StatusCode.UNAUTHENTICATED
    reason = error_reason_pb2.CALLER_UNAUTHENTICATED

    def __init__(self, message: str = "missing or invalid x-api-key") -> None:
        super().__init__(message)


class GatewayDrainingError(GatewayError):
    code = grpc.StatusCode.UNAVAILABLE
    reason = error_reason_pb2.GATEWAY_DRAINING

    def __init__(self, message: str = "the gateway is shutting down") -> None:
        super().__init__(message, retry_delay=RETRY_DRAINING)


class InternalError(GatewayError):
    """The only message an unexpected exception is allowed to show callers."""

    def __init__(self, message: str = "internal error") -> None:
        super().__init__(message)


# ------------------------------------------------------------------ the table


@dataclass(frozen=True, slots=True)
class Rule:
    """The status of one exception class.

    ``message`` is what callers read, never the exception's own text (it may hold
    hosts or pool state); empty for MT5 retcodes, whose message is MT5's answer.
    ``field``: the request field a BadRequest violation names, described by the
    exception's text (the gateway's own wording). ``log``: an event logged when the
    rule is used (with the traceback for INTERNAL: a bug).
    """

    code: grpc.StatusCode
    reason: int
    message: str = ""
    retry_delay: float | None = None  # None: not retryable, no RetryInfo
    field: str = ""
    log: str = ""


_S = grpc.StatusCode
_R = error_reason_pb2

_UNAVAILABLE = Rule(
    _S.UNAVAILABLE,
    _R.MT5_UNAVAILABLE,
    "the MT5 server is unavailable",
    RETRY_UNAVAILABLE,
)
_STATE_STORE = Rule(
    _S.UNAVAILABLE,
    _R.STATE_STORE_UNAVAILABLE,
    "the gateway's state store is not answering; repeat with the same request_id",
    RETRY_UNAVAILABLE,
    log="state_store_unavailable",
)

# Retcodes whose meaning differs from their Web API class (checked first).
RETCODE_RULES: Mapping[int, Rule] = MappingProxyType(
    {
        # "Invalid password" outside check_password: the new password breaks the
        # group's rules, a caller mistake rather than the gateway's login failing.
        3006: Rule(_S.INVALID_ARGUMENT, _R.MT5_INVALID_PARAMETERS),
    }
)

# Every exception the gateway's rooms raise -> its status. Most specific class first:
# the first isinstance match wins (a test checks that no row shadows a later one).
STATUS_TABLE: tuple[tuple[type[Exception], Rule], ...] = (
    # -- MT5 answered with a retcode (message: MT5's answer)
    (w.NotFound, Rule(_S.NOT_FOUND, _R.MT5_NOT_FOUND)),
    (w.InvalidParams, Rule(_S.INVALID_ARGUMENT, _R.MT5_INVALID_PARAMETERS)),
    (w.NoPermission, Rule(_S.PERMISSION_DENIED, _R.MT5_PERMISSION_DENIED)),
    (w.Duplicate, Rule(_S.ALREADY_EXISTS, _R.MT5_DUPLICATE)),
    (w.NoMoney, Rule(_S.FAILED_PRECONDITION, _R.MT5_NO_MONEY)),
    (w.Rejected, Rule(_S.FAILED_PRECONDITION, _R.MT5_REJECTED)),
    (
        w.TooFrequent,
        Rule(
            _S.RESOURCE_EXHAUSTED, _R.MT5_RATE_LIMITED, retry_delay=RETRY_RATE_LIMITED
        ),
    ),
    (
        w.Unavailable,
        Rule(_S.UNAVAILABLE, _R.MT5_UNAVAILABLE, retry_delay=RETRY_UNAVAILABLE),
    ),
    (
        w.NotReady,
        Rule(_S.UNAVAILABLE, _R.MT5_UNAVAILABLE, retry_delay=RETRY_UNAVAILABLE),
    ),
    (w.Partial, Rule(_S.UNKNOWN, _R.MT5_ERROR)),
    (
        w.AuthFailed,
        Rule(_S.UNAVAILABLE, _R.MT5_AUTH_FAILED, retry_delay=RETRY_AUTH_FAILED),
    ),
    (w.RetcodeError, Rule(_S.UNKNOWN, _R.MT5_ERROR)),
    # -- the Web API client, no answer from MT5
    (
        w.OutcomeUnknown,
        Rule(
            _S.DEADLINE_EXCEEDED,
            _R.MT5_OUTCOME_UNKNOWN,
            "the MT5 write was sent but its outcome is unknown",
        ),
    ),
    (
        w.AuthError,
        Rule(
            _S.UNAVAILABLE,
            _R.MT5_AUTH_FAILED,
            "the gateway cannot log in to the MT5 server",
            RETRY_AUTH_FAILED,
        ),
    ),
    (
        w.PoolTimeout,
        Rule(
            _S.UNAVAILABLE,
            _R.POOL_EXHAUSTED,
            "no MT5 session became free in time",
            RETRY_POOL_EXHAUSTED,
        ),
    ),
    # Our caller's deadline ran out before anything was sent.
    (
        w.DeadlineExceeded,
        Rule(_S.DEADLINE_EXCEEDED, _R.MT5_UNAVAILABLE, "the MT5 server is unavailable"),
    ),
    (w.CircuitOpen, _UNAVAILABLE),  # retry hint: the breaker's retry_after
    (w.TransportError, _UNAVAILABLE),
    # The upstream spoke something else than MT5: like an HTTP 502.
    (w.ProtocolError, _UNAVAILABLE),
    (w.WebApiError, Rule(_S.UNKNOWN, _R.MT5_ERROR, "MT5 request failed")),
    # -- the write engine (exactly once) and its stores
    (writes.AmountError, Rule(_S.INVALID_ARGUMENT, _R.VALIDATION_FAILED)),
    (
        writes.OutcomeUnknownError,  # retry hint: its retry_after_seconds
        Rule(
            _S.DEADLINE_EXCEEDED,
            _R.MT5_OUTCOME_UNKNOWN,
            "the MT5 write was sent but its outcome is not known yet; repeat the same"
            " request_id to look it up again (never a new one)",
        ),
    ),
    (
        writes.IdempotencyConflictError,
        Rule(
            _S.INVALID_ARGUMENT,
            _R.IDEMPOTENCY_CONFLICT,
            "request_id was already used with a different request",
            field="request_id",
        ),
    ),
    (
        writes.IdempotencyPendingError,
        Rule(
            _S.ABORTED,
            _R.REQUEST_IN_PROGRESS,
            "a call with this request_id is still being processed",
            RETRY_IN_PROGRESS,
        ),
    ),
    (
        # Another attempt took the record over and looks the write up: ours may have
        # applied, and a repeat with the same request_id gets the outcome.
        writes.ClaimLostError,
        Rule(
            _S.DEADLINE_EXCEEDED,
            _R.MT5_OUTCOME_UNKNOWN,
            "another attempt with this request_id took over before the outcome was"
            " recorded; repeat the same request_id to get its outcome",
            RETRY_IN_PROGRESS,
        ),
    ),
    # -- the quote hub
    (
        hub.HubClosedError,
        Rule(
            _S.UNAVAILABLE,
            _R.GATEWAY_DRAINING,
            "the gateway is shutting down",
            RETRY_DRAINING,
        ),
    ),
    (
        hub.TooManySymbolsError,
        Rule(
            _S.INVALID_ARGUMENT,
            _R.VALIDATION_FAILED,
            "invalid request: symbols",
            field="symbols",
        ),
    ),
    (
        # NOT_FOUND like a plain name MT5 does not know (retcode 13): the request is
        # well formed, the server has no such symbol (yet).
        hub.NoSymbolMatchedError,
        Rule(
            _S.NOT_FOUND,
            _R.MT5_NOT_FOUND,
            "no symbol of the MT5 server matches the requested names and masks",
        ),
    ),
    # -- the state store (the write records: SQLite or Redis): the write was not
    # attempted, or if it was, a repeat with the same request_id looks it up first.
    (RedisError, _STATE_STORE),
    (sqlite3.Error, _STATE_STORE),
    (
        NotImplementedError,
        Rule(_S.UNIMPLEMENTED, _R.INTERNAL_ERROR, "not implemented yet"),
    ),
    # -- anything else is a bug: a generic message, the traceback in the log
    (
        Exception,
        Rule(
            _S.INTERNAL, _R.INTERNAL_ERROR, "internal error", log="rpc_internal_error"
        ),
    ),
)

# Attributes of the mapped exceptions repeated in ErrorInfo metadata, by key.
_METADATA_ATTRIBUTES = (
    ("server", "server"),
    ("command", "mt5Command"),
    ("request_id", "requestId"),
    ("group", "group"),
)


def rule_for(exc: Exception) -> Rule:
    """The table's rule for an exception that is not a GatewayError."""
    if isinstance(exc, w.RetcodeError) and exc.retcode in RETCODE_RULES:
        return RETCODE_RULES[exc.retcode]
    for cls, rule in STATUS_TABLE:
        if isinstance(exc, cls):
            return rule
    raise AssertionError("Exception is the last rule")  # pragma: no cover


def map_exception(
    exc: Exception, metadata: Mapping[str, str] | None = None
) -> GatewayError:
    """The GatewayError an exception is answered with; ``metadata`` adds the
    request's values (login, symbol, ...) under the exception's own."""
    if isinstance(exc, GatewayError):
        if metadata:
            exc.metadata = {**metadata, **exc.metadata}
        return exc
    rule = rule_for(exc)
    meta = dict(metadata or {})
    if rule.code is _S.INTERNAL:
        # A bug: nothing of the exception goes to the caller, all of it to the log.
        _log.error(rule.log, exc_info=exc)
    else:
        if rule.log:
            _log.warning(rule.log, error=type(exc).__name__)
        for attribute, key in _METADATA_ATTRIBUTES:
            value = getattr(exc, attribute, None)
            if value:
                meta[key] = str(value)
    message = rule.message
    if isinstance(exc, w.RetcodeError):
        meta["retcode"] = str(exc.retcode)
        meta["retcodeName"] = w.RETCODE_NAMES.get(exc.retcode, exc.text)
        message = f"MT5 answered {exc.retcode} {exc.text}"
    return GatewayError(
        message,
        metadata=meta,
        retry_delay=_retry_delay(exc, rule),
        violations=_violations(exc, rule),
        code=rule.code,
        reason=rule.reason,
    )


def _retry_delay(exc: Exception, rule: Rule) -> float | None:
    if isinstance(exc, w.CircuitOpen):
        return max(exc.retry_after, 0.1)
    if isinstance(exc, writes.OutcomeUnknownError):
        # Set when the workflow knows when a repeat can settle the outcome.
        delay: float | None = getattr(exc, "retry_after_seconds", None)
        return delay
    return rule.retry_delay


def _violations(exc: Exception, rule: Rule) -> tuple[FieldViolation, ...]:
    if isinstance(exc, writes.AmountError):
        return (FieldViolation(exc.field, exc.description),)
    if rule.field:
        return (FieldViolation(rule.field, str(exc)),)
    return ()
