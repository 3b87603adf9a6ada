"""The CallInterceptor with a fake servicer context (no sockets)."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from mt5gateway.v1 import user_service_pb2
from mt5gateway_server.errors import ValidationError
from mt5gateway_server.rpc.interceptors import (
    CallInterceptor,
    add_error_metadata,
    current_call,
    to_gateway_error,
)
from mt5gateway_server.settings import GrpcSettings
from mt5gateway_server.webapi import NotFound
from mt5gateway_server.writes import IdempotencyConflictError, IdempotencyPendingError
from pydantic import SecretStr
from structlog.testing import capture_logs

METHOD = "/mt5gateway.v1.UserService/GetUser"


class AbortedError(Exception):
    pass


class FakeContext:
    def __init__(self, metadata: tuple[tuple[str, str], ...] = ()) -> None:
        self.metadata = metadata
        self.aborted: tuple[grpc.StatusCode, str, Any] | None = None

    def peer(self) -> str:
        return "ipv4:127.0.0.1:5555"

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self.metadata

    def time_remaining(self) -> float | None:
        return 5.0

    async def abort(
        self, code: grpc.StatusCode, details: str, trailing_metadata: Any = ()
    ) -> None:
        self.aborted = (code, details, trailing_metadata)
        raise AbortedError

    def status(self) -> status_pb2.Status:
        assert self.aborted is not None
        ((key, value),) = self.aborted[2]
        assert key == "grpc-status-details-bin"
        return status_pb2.Status.FromString(value)


class Request:
    request_id = ""


def _chain(behavior: Any, *, auth: GrpcSettings | None = None) -> Any:
    return CallInterceptor(auth=auth).wrap_unary(behavior, METHOD)


async def _run(behavior: Any, context: FakeContext, **kw: Any) -> Any:
    # A fresh task per call, as grpc.aio runs each RPC in its own task.
    return await asyncio.create_task(_chain(behavior, **kw)(Request(), context))


async def test_success_logs_one_access_line() -> None:
    async def ok(request: Any, context: Any) -> str:
        call = current_call()
        assert call is not None
        call.server = "main"
        return "reply"

    with capture_logs() as logs:
        assert await _run(ok, FakeContext()) == "reply"
    (line,) = [e for e in logs if e["event"] == "rpc_finished"]
    assert line["code"] == "OK"
    assert line["mt5_server"] == "main"
    assert line["duration_ms"] >= 0


async def test_health_checks_log_at_debug_unless_they_fail() -> None:
    method = "/grpc.health.v1.Health/Check"

    async def ok(request: Any, context: Any) -> str:
        return "SERVING"

    async def broken(request: Any, context: Any) -> str:
        raise RuntimeError

    def wrapped(behavior: Any) -> Any:
        return CallInterceptor().wrap_unary(behavior, method)

    with capture_logs() as logs:
        await asyncio.create_task(wrapped(ok)(Request(), FakeContext()))
        with pytest.raises(AbortedError):
            await asyncio.create_task(wrapped(broken)(Request(), FakeContext()))
    levels = [(e["log_level"], e["code"]) for e in logs if e["event"] == "rpc_finished"]
    assert levels == [("debug", "OK"), ("info", "INTERNAL")]


async def test_webapi_error_becomes_rich_status() -> None:
    async def missing(request: Any, context: Any) -> str:
        add_error_metadata(login=42)
        raise NotFound(13, "Not found", server="main", command="user/get")

    context = FakeContext()
    with capture_logs() as logs, pytest.raises(AbortedError):
        await _run(missing, context)
    code, message, _ = context.aborted or (None, None, None)
    assert code is grpc.StatusCode.NOT_FOUND
    assert message == "MT5 answered 13 Not found"
    status = context.status()
    info = error_details_pb2.ErrorInfo()
    status.details[0].Unpack(info)
    assert info.reason == "MT5_NOT_FOUND"
    assert dict(info.metadata)["login"] == "42"
    (line,) = [e for e in logs if e["event"] == "rpc_finished"]
    assert (line["code"], line["reason"], line["retcode"]) == (
        "NOT_FOUND",
        "MT5_NOT_FOUND",
        13,
    )


async def test_unexpected_exception_is_internal_and_generic() -> None:
    async def broken(request: Any, context: Any) -> str:
        raise RuntimeError("secret detail: password=hunter2")

    context = FakeContext()
    with capture_logs() as logs, pytest.raises(AbortedError):
        await _run(broken, context)
    assert context.aborted is not None
    assert context.aborted[0] is grpc.StatusCode.INTERNAL
    assert "hunter2" not in context.aborted[1]
    assert any(e["event"] == "rpc_internal_error" for e in logs)


async def test_validation_error_has_bad_request() -> None:
    async def bad(request: Any, context: Any) -> str:
        raise ValidationError.single("login", "must be 1 or more")

    context = FakeContext()
    with pytest.raises(AbortedError):
        await _run(bad, context)
    status = context.status()
    bad_request = error_details_pb2.BadRequest()
    assert status.details[1].Unpack(bad_request)
    assert bad_request.field_violations[0].field == "login"


def test_store_errors_map() -> None:
    conflict = to_gateway_error(IdempotencyConflictError("x", "/m", "rid"))
    assert conflict.code is grpc.StatusCode.INVALID_ARGUMENT
    assert conflict.metadata == {"requestId": "rid"}
    pending = to_gateway_error(IdempotencyPendingError("x", "/m", "rid"))
    assert pending.code is grpc.StatusCode.ABORTED
    assert pending.retry_delay is not None


async def test_caller_auth() -> None:
    settings = GrpcSettings(api_keys=(SecretStr("good-key"),))

    async def ok(request: Any, context: Any) -> str:
        call = current_call()
        assert call is not None
        return call.caller

    refused = FakeContext()
    with pytest.raises(AbortedError):
        await _run(ok, refused, auth=settings)
    assert refused.aborted is not None
    assert refused.aborted[0] is grpc.StatusCode.UNAUTHENTICATED
    caller = await _run(ok, FakeContext((("x-api-key", "good-key"),)), auth=settings)
    assert caller.startswith("key-")
    assert "good-key" not in caller


async def test_a_stream_closed_early_is_logged_as_cancelled() -> None:
    method = "/mt5gateway.v1.QuoteService/StreamQuotes"

    async def forever(request: Any, context: Any) -> Any:
        while True:
            yield "quote"

    async def consume_one() -> None:
        stream = CallInterceptor().wrap_stream(forever, method)(
            Request(), FakeContext()
        )
        assert await anext(stream) == "quote"
        await stream.aclose()  # grpc stops iterating: GeneratorExit inside

    with capture_logs() as logs:
        await asyncio.create_task(consume_one())
    (line,) = [e for e in logs if e["event"] == "rpc_finished"]
    assert line["code"] == "CANCELLED"


def _get_user_handler(behavior: Any) -> Any:
    """GetUser's handler as the generated code registers it, wrapped."""
    handler = grpc.unary_unary_rpc_method_handler(
        behavior,
        request_deserializer=user_service_pb2.GetUserRequest.FromString,
        response_serializer=user_service_pb2.GetUserResponse.SerializeToString,
    )
    return CallInterceptor().wrap_handler(handler, METHOD)


@pytest.mark.parametrize(
    "raw",
    [
        b"\x0a\x02\xff\xfe",
        user_service_pb2.GetUserRequest(login=7).SerializeToString()[:-1],
    ],
    ids=["invalid-utf8", "truncated"],
)
async def test_unparsable_request_bytes_are_a_validation_failure(raw: bytes) -> None:
    called = False

    async def behavior(request: Any, context: Any) -> str:
        nonlocal called
        called = True
        return "reply"

    wrapped = _get_user_handler(behavior)
    request = wrapped.request_deserializer(raw)  # must not raise: grpc says UNKNOWN
    context = FakeContext()
    with capture_logs() as logs, pytest.raises(AbortedError):
        await asyncio.create_task(wrapped.unary_unary(request, context))
    assert not called
    assert context.aborted is not None
    code, message, _ = context.aborted
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert message == "the request is not a valid mt5gateway.v1.GetUserRequest"
    status = context.status()
    info = error_details_pb2.ErrorInfo()
    bad_request = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(info)
    assert status.details[1].Unpack(bad_request)
    assert info.reason == "VALIDATION_FAILED"
    (violation,) = bad_request.field_violations
    assert "mt5gateway.v1.GetUserRequest" in violation.description
    (line,) = [e for e in logs if e["event"] == "rpc_finished"]
    assert (line["code"], line["reason"]) == ("INVALID_ARGUMENT", "VALIDATION_FAILED")


async def test_valid_request_bytes_parse_as_before() -> None:
    async def behavior(request: Any, context: Any) -> int:
        return int(request.login)

    wrapped = _get_user_handler(behavior)
    raw = user_service_pb2.GetUserRequest(login=7, server="main").SerializeToString()
    request = wrapped.request_deserializer(raw)
    assert request == user_service_pb2.GetUserRequest(login=7, server="main")
    assert await asyncio.create_task(wrapped.unary_unary(request, FakeContext())) == 7
