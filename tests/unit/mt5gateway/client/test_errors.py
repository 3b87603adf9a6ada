from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import grpc
import pytest
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2
from mt5gateway.client import errors as e
from mt5gateway.v1 import error_reason_pb2

if TYPE_CHECKING:
    from google.protobuf.message import Message


@dataclass
class FakeRpcError:
    status_code: grpc.StatusCode
    message: str
    trailers: tuple[tuple[str, str | bytes], ...] = ()

    def code(self) -> grpc.StatusCode:
        return self.status_code

    def details(self) -> str:
        return self.message

    def trailing_metadata(self) -> tuple[tuple[str, str | bytes], ...]:
        return self.trailers


def _any(message: Message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def _error(
    code: grpc.StatusCode,
    reason: str,
    *,
    metadata: dict[str, str] | None = None,
    extra: tuple[Message, ...] = (),
    domain: str = "mt5gateway",
) -> FakeRpcError:
    info = error_details_pb2.ErrorInfo(
        domain=domain, reason=reason, metadata=metadata or {}
    )
    status = status_pb2.Status(
        code=code.value[0],
        message="boom",
        details=[_any(info), *(_any(m) for m in extra)],
    )
    return FakeRpcError(
        code,
        "boom",
        (("other", "x"), (e.STATUS_DETAILS_KEY, status.SerializeToString())),
    )


def test_validation_failed_carries_field_violations() -> None:
    bad = error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(
                field="amount.units", description="must not be zero"
            )
        ]
    )
    err = e.decode(
        _error(grpc.StatusCode.INVALID_ARGUMENT, "VALIDATION_FAILED", extra=(bad,))
    )
    assert type(err) is e.ValidationFailed
    assert isinstance(err, e.InvalidArgument)
    assert err.field_violations == (
        e.FieldViolation("amount.units", "must not be zero"),
    )
    assert err.code is grpc.StatusCode.INVALID_ARGUMENT
    assert "amount.units" in str(err)
    assert not err.retryable


def test_no_money_with_retcode() -> None:
    err = e.decode(
        _error(
            grpc.StatusCode.FAILED_PRECONDITION,
            "MT5_NO_MONEY",
            metadata={"retcode": "10019", "retcodeName": "MT_RET_REQUEST_NO_MONEY"},
        )
    )
    assert isinstance(err, e.NoMoney)
    assert isinstance(err, e.Rejected)
    assert err.retcode == 10019
    assert err.retcode_name == "MT_RET_REQUEST_NO_MONEY"
    assert "retcode=10019" in str(err)


def test_retry_info_gives_delay() -> None:
    retry = error_details_pb2.RetryInfo(
        retry_delay=duration_pb2.Duration(seconds=1, nanos=500_000_000)
    )
    err = e.decode(
        _error(grpc.StatusCode.UNAVAILABLE, "POOL_EXHAUSTED", extra=(retry,))
    )
    assert isinstance(err, e.PoolExhausted)
    assert isinstance(err, e.Unavailable)
    assert err.retryable
    assert err.retry_delay == timedelta(seconds=1.5)


@pytest.mark.parametrize(
    ("code", "reason", "cls"),
    [
        (grpc.StatusCode.NOT_FOUND, "MT5_NOT_FOUND", e.NotFound),
        (grpc.StatusCode.NOT_FOUND, "SERVER_NOT_FOUND", e.ServerNotFound),
        (
            grpc.StatusCode.PERMISSION_DENIED,
            "MT5_PERMISSION_DENIED",
            e.PermissionDenied,
        ),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "MT5_RATE_LIMITED", e.RateLimited),
        (grpc.StatusCode.DEADLINE_EXCEEDED, "MT5_OUTCOME_UNKNOWN", e.OutcomeUnknown),
        (
            grpc.StatusCode.INVALID_ARGUMENT,
            "IDEMPOTENCY_CONFLICT",
            e.IdempotencyConflict,
        ),
        (grpc.StatusCode.ABORTED, "REQUEST_IN_PROGRESS", e.RequestInProgress),
        (grpc.StatusCode.UNAVAILABLE, "GATEWAY_DRAINING", e.GatewayDraining),
        (
            grpc.StatusCode.UNAVAILABLE,
            "STATE_STORE_UNAVAILABLE",
            e.StateStoreUnavailable,
        ),
        (grpc.StatusCode.INTERNAL, "INTERNAL_ERROR", e.InternalError),
        # Unknown reasons fall back to the class of the code (error_reason.proto).
        (grpc.StatusCode.NOT_FOUND, "SOMETHING_NEW", e.NotFound),
        (grpc.StatusCode.INTERNAL, "SOMETHING_NEW", e.InternalError),
        (grpc.StatusCode.DATA_LOSS, "SOMETHING_NEW", e.GatewayError),
        # A reason contradicting the code does not change the kind of error.
        (grpc.StatusCode.UNIMPLEMENTED, "INTERNAL_ERROR", e.Unimplemented),
        (grpc.StatusCode.NOT_FOUND, "MT5_NO_MONEY", e.NotFound),
    ],
)
def test_reason_to_class(code: grpc.StatusCode, reason: str, cls: type) -> None:
    err = e.decode(_error(code, reason))
    assert type(err) is cls
    assert err.reason == reason
    assert err.domain == "mt5gateway"


def test_every_error_reason_has_a_class() -> None:
    names = set(error_reason_pb2.ErrorReason.keys()) - {"ERROR_REASON_UNSPECIFIED"}
    assert names <= set(e._BY_REASON)


def test_foreign_domain_is_decoded_by_code() -> None:
    err = e.decode(_error(grpc.StatusCode.NOT_FOUND, "MT5_NO_MONEY", domain="other"))
    assert type(err) is e.NotFound


def test_plain_status_without_details() -> None:
    err = e.decode(FakeRpcError(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded"))
    assert type(err) is e.DeadlineExceeded
    assert err.reason == ""
    assert err.retcode is None
    assert err.message == "Deadline Exceeded"


def test_corrupt_details_fall_back_to_code() -> None:
    err = e.decode(
        FakeRpcError(
            grpc.StatusCode.UNAVAILABLE, "x", ((e.STATUS_DETAILS_KEY, b"\xff\xff"),)
        )
    )
    assert type(err) is e.Unavailable


def test_bad_retcode_metadata() -> None:
    err = e.decode(
        _error(grpc.StatusCode.UNKNOWN, "MT5_ERROR", metadata={"retcode": "x"})
    )
    assert isinstance(err, e.Mt5Error)
    assert err.retcode is None
    assert "MT5_ERROR" in repr(err)
