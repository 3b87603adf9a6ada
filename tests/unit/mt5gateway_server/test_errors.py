"""The one table from every exception to a status, and GatewayError <-> Status."""

from __future__ import annotations

import sqlite3

import grpc
import pytest
from google.rpc import error_details_pb2
from hypothesis import given
from hypothesis import strategies as st
from mt5gateway.v1 import error_reason_pb2
from mt5gateway_server import errors, writes
from mt5gateway_server.errors import (
    FieldViolation,
    GatewayError,
    ServerNotFoundError,
    ValidationError,
    map_exception,
    rule_for,
)
from mt5gateway_server.feeds import hub
from mt5gateway_server.webapi import errors as w
from redis.exceptions import ConnectionError as RedisConnectionError
from structlog.testing import capture_logs

S = grpc.StatusCode


def _info(status) -> error_details_pb2.ErrorInfo:
    infos = [d for d in status.details if d.Is(error_details_pb2.ErrorInfo.DESCRIPTOR)]
    assert len(infos) == 1, "exactly one ErrorInfo"
    info = error_details_pb2.ErrorInfo()
    infos[0].Unpack(info)
    return info


def _retry(status) -> error_details_pb2.RetryInfo | None:
    for detail in status.details:
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            out = error_details_pb2.RetryInfo()
            detail.Unpack(out)
            return out
    return None


# docs/architecture.md "Error model": retcode -> (code, reason).
STYLE_TABLE = {
    3: (S.INVALID_ARGUMENT, "MT5_INVALID_PARAMETERS"),
    4: (S.INVALID_ARGUMENT, "MT5_INVALID_PARAMETERS"),
    10013: (S.INVALID_ARGUMENT, "MT5_INVALID_PARAMETERS"),
    10016: (S.INVALID_ARGUMENT, "MT5_INVALID_PARAMETERS"),
    8: (S.PERMISSION_DENIED, "MT5_PERMISSION_DENIED"),
    13: (S.NOT_FOUND, "MT5_NOT_FOUND"),
    17: (S.ALREADY_EXISTS, "MT5_DUPLICATE"),
    3004: (S.ALREADY_EXISTS, "MT5_DUPLICATE"),
    4002: (S.ALREADY_EXISTS, "MT5_DUPLICATE"),
    10017: (S.FAILED_PRECONDITION, "MT5_REJECTED"),
    10018: (S.FAILED_PRECONDITION, "MT5_REJECTED"),
    10019: (S.FAILED_PRECONDITION, "MT5_NO_MONEY"),
    3008: (S.FAILED_PRECONDITION, "MT5_REJECTED"),
    4005: (S.FAILED_PRECONDITION, "MT5_REJECTED"),
    12: (S.RESOURCE_EXHAUSTED, "MT5_RATE_LIMITED"),
    1018: (S.RESOURCE_EXHAUSTED, "MT5_RATE_LIMITED"),
    10024: (S.RESOURCE_EXHAUSTED, "MT5_RATE_LIMITED"),
    7: (S.UNAVAILABLE, "MT5_UNAVAILABLE"),
    9: (S.UNAVAILABLE, "MT5_UNAVAILABLE"),
    10: (S.UNAVAILABLE, "MT5_UNAVAILABLE"),
    11: (S.UNAVAILABLE, "MT5_UNAVAILABLE"),
    15: (S.UNAVAILABLE, "MT5_UNAVAILABLE"),
    10012: (S.UNAVAILABLE, "MT5_UNAVAILABLE"),
    3006: (S.INVALID_ARGUMENT, "MT5_INVALID_PARAMETERS"),
    1001: (S.UNAVAILABLE, "MT5_AUTH_FAILED"),
    2: (S.UNKNOWN, "MT5_ERROR"),
}


@pytest.mark.parametrize(("retcode", "expected"), sorted(STYLE_TABLE.items()))
def test_style_table(retcode: int, expected: tuple[S, str]) -> None:
    err = map_exception(w.retcode_error(retcode, "text", server="main", command="x/y"))
    assert (err.code, err.reason_name) == expected
    assert err.metadata["retcode"] == str(retcode)
    assert err.metadata["mt5Command"] == "x/y"
    assert err.metadata["server"] == "main"
    retryable = expected[0] in {S.UNAVAILABLE, S.RESOURCE_EXHAUSTED}
    assert (err.retry_delay is not None) == retryable


@pytest.mark.parametrize(
    "retcode", sorted(set(w.RETCODE_CLASSES) | set(w.RETCODE_NAMES) - {0})
)
def test_every_known_retcode_has_a_status(retcode: int) -> None:
    err = map_exception(w.retcode_error(retcode, "text"))
    assert err.code is not S.OK
    assert err.code is not S.INTERNAL
    status = err.to_status()
    info = _info(status)
    assert info.domain == "mt5gateway"
    assert info.reason == error_reason_pb2.ErrorReason.Name(err.reason)
    assert info.metadata["retcodeName"]
    assert (_retry(status) is not None) == (err.retry_delay is not None)


@given(st.integers(min_value=-(2**31), max_value=2**31))
def test_any_retcode_maps(retcode: int) -> None:
    err = map_exception(w.retcode_error(retcode, "text"))
    assert err.code is not S.OK
    assert err.metadata["retcode"] == str(retcode)


@pytest.mark.parametrize(
    ("exc", "code", "reason", "retry"),
    [
        (w.PoolTimeout("busy"), S.UNAVAILABLE, "POOL_EXHAUSTED", True),
        (w.ConnectError("down"), S.UNAVAILABLE, "MT5_UNAVAILABLE", True),
        (w.ReadTimeout("slow"), S.UNAVAILABLE, "MT5_UNAVAILABLE", True),
        (w.ProtocolError("html"), S.UNAVAILABLE, "MT5_UNAVAILABLE", True),
        (w.AuthError("403"), S.UNAVAILABLE, "MT5_AUTH_FAILED", True),
        (w.DeadlineExceeded("late"), S.DEADLINE_EXCEEDED, "MT5_UNAVAILABLE", False),
        (
            w.OutcomeUnknown("lost", command="trade/balance", params={}),
            S.DEADLINE_EXCEEDED,
            "MT5_OUTCOME_UNKNOWN",
            False,
        ),
        (w.WebApiError("odd"), S.UNKNOWN, "MT5_ERROR", False),
    ],
)
def test_transport_errors(
    exc: w.WebApiError, code: S, reason: str, retry: bool
) -> None:
    err = map_exception(exc)
    assert (err.code, err.reason_name, err.retry_delay is not None) == (
        code,
        reason,
        retry,
    )
    assert "retcode" not in err.metadata


def test_circuit_open_retry_after_is_the_hint() -> None:
    err = map_exception(w.CircuitOpen("open", retry_after=7.5, server="main"))
    assert err.code is S.UNAVAILABLE
    assert err.retry_delay == 7.5


def test_transport_messages_do_not_leak_details() -> None:
    exc = w.ConnectError("cannot connect to 10.1.2.3:443 <SessionPool ...>")
    assert "10.1.2.3" not in map_exception(exc).message


def test_no_row_shadows_a_later_one() -> None:
    classes = [cls for cls, _ in errors.STATUS_TABLE]
    for index, cls in enumerate(classes):
        for later in classes[index + 1 :]:
            assert not issubclass(later, cls), f"{later} is shadowed by {cls}"
    assert rule_for(w.AuthFailed(1001, "x")).reason == error_reason_pb2.MT5_AUTH_FAILED
    assert classes[-1] is Exception  # the catch-all comes last


# Today's behaviour of trade.py's inline mapping and of the interceptor's chain.
@pytest.mark.parametrize(
    ("exc", "code", "reason", "retry", "metadata"),
    [
        (
            writes.OutcomeUnknownError("rid", 2.5),
            S.DEADLINE_EXCEEDED,
            "MT5_OUTCOME_UNKNOWN",
            2.5,
            {"requestId": "rid"},
        ),
        (
            writes.IdempotencyConflictError("used", "/m", "rid"),
            S.INVALID_ARGUMENT,
            "IDEMPOTENCY_CONFLICT",
            None,
            {"requestId": "rid"},
        ),
        (
            writes.IdempotencyPendingError("busy", "/m", "rid"),
            S.ABORTED,
            "REQUEST_IN_PROGRESS",
            1.0,
            {"requestId": "rid"},
        ),
        (
            writes.ClaimLostError("lost", "/m", "rid"),
            S.DEADLINE_EXCEEDED,
            "MT5_OUTCOME_UNKNOWN",
            1.0,
            {"requestId": "rid"},
        ),
        (
            RedisConnectionError("down"),
            S.UNAVAILABLE,
            "STATE_STORE_UNAVAILABLE",
            1.0,
            {},
        ),
        (
            sqlite3.OperationalError("disk I/O error"),
            S.UNAVAILABLE,
            "STATE_STORE_UNAVAILABLE",
            1.0,
            {},
        ),
        (hub.HubClosedError(), S.UNAVAILABLE, "GATEWAY_DRAINING", 0.5, {}),
        (
            hub.NoSymbolMatchedError("main"),
            S.NOT_FOUND,
            "MT5_NOT_FOUND",
            None,
            {"server": "main"},
        ),
        (NotImplementedError(), S.UNIMPLEMENTED, "INTERNAL_ERROR", None, {}),
    ],
)
def test_the_gateways_rooms_map(
    exc: Exception, code: S, reason: str, retry: float | None, metadata: dict[str, str]
) -> None:
    err = map_exception(exc)
    assert (err.code, err.reason_name, err.retry_delay) == (code, reason, retry)
    assert err.metadata == metadata
    assert err.message  # one of ours, not the exception's text


def test_violations_come_from_the_exception() -> None:
    amount = map_exception(writes.AmountError("amount.units", "too many digits"))
    assert (amount.code, amount.reason_name) == (
        S.INVALID_ARGUMENT,
        "VALIDATION_FAILED",
    )
    assert amount.violations == (FieldViolation("amount.units", "too many digits"),)
    conflict = map_exception(writes.IdempotencyConflictError("used", "/m", "rid"))
    assert [v.field for v in conflict.violations] == ["request_id"]
    many = map_exception(hub.TooManySymbolsError(2000, 1024))
    assert many.violations == (
        FieldViolation(
            "symbols", "matches 2000 symbols; a stream may have at most 1024"
        ),
    )


def test_call_metadata_is_added_under_the_exceptions_own() -> None:
    err = map_exception(
        w.NotFound(13, "Not found", server="main", command="user/get"),
        {"login": "42", "server": "other"},
    )
    assert err.metadata["login"] == "42"
    assert err.metadata["server"] == "main"
    own = map_exception(ServerNotFoundError("x"), {"login": "42"})
    assert own.metadata == {"login": "42", "server": "x"}


def test_unexpected_exceptions_are_internal_and_logged_not_echoed() -> None:
    class LeakyError(Exception):
        server = "10.1.2.3"
        request_id = "password=hunter2"

    with capture_logs() as logs:
        err = map_exception(LeakyError("password=hunter2"))
    assert (err.code, err.message, err.metadata) == (S.INTERNAL, "internal error", {})
    (line,) = [e for e in logs if e["event"] == "rpc_internal_error"]
    assert line["log_level"] == "error"
    with capture_logs() as logs:
        map_exception(RedisConnectionError("redis://:secret@host"))
    assert [(e["event"], e["error"]) for e in logs] == [
        ("state_store_unavailable", "ConnectionError")
    ]


def test_echoed_caller_values_are_bounded() -> None:
    huge = "x" * 100_000
    err = ServerNotFoundError(huge)
    assert len(err.message) < 120
    info = _info(err.to_status())
    assert info.metadata["server"] == "x" * errors.ECHO_LIMIT + "..."
    assert errors.echoed("short") == "short"
    assert (
        len(
            _info(map_exception(RuntimeError(), {"symbol": huge}).to_status()).metadata[
                "symbol"
            ]
        )
        == 67
    )


def test_validation_error_status_round_trip() -> None:
    err = ValidationError(
        [FieldViolation("login", "must be 1 or more"), FieldViolation("page_size", "x")]
    )
    status = err.to_status()
    assert status.code == S.INVALID_ARGUMENT.value[0]
    again = GatewayError.from_status(status)
    assert again.code is S.INVALID_ARGUMENT
    assert again.reason_name == "VALIDATION_FAILED"
    assert again.violations == err.violations
    with pytest.raises(ValueError, match="at least one"):
        ValidationError([])


@given(
    st.sampled_from(list(S)),
    st.sampled_from(error_reason_pb2.ErrorReason.values()),
    st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=8), max_size=4),
    st.one_of(st.none(), st.floats(min_value=0.001, max_value=100)),
)
def test_status_round_trip(
    code: S, reason: int, metadata: dict[str, str], delay: float | None
) -> None:
    err = GatewayError(
        "m", metadata=metadata, retry_delay=delay, code=code, reason=reason
    )
    again = GatewayError.from_status(err.to_status())
    assert (again.code, again.reason, again.metadata) == (code, reason, metadata)
    if delay is None:
        assert again.retry_delay is None
    else:
        assert again.retry_delay == pytest.approx(delay, abs=1e-9)
