"""The server's one interceptor: per call, in this order, a fresh log context,
``CallState`` and server span; caller authentication; the call itself under the
deadline; error mapping; the access line, RPC metrics and span end.

All of it is fused into ONE wrapper per method (built once, cached): a unary call
costs one extra coroutine frame and a stream one extra async generator, however many
concerns there are. With 10,000 idle streams every object kept per stream counts.

Request bytes are parsed by a tolerant deserializer (``_tolerant``): bytes that are
not the method's request message come to the wrapper as an ``_Unparsable`` marker,
answered INVALID_ARGUMENT like any other validation failure (grpc's own deserializer
would answer UNKNOWN before the wrapper ran).

``_abort`` is the only place an exception becomes a status (through the one table,
``errors.STATUS_TABLE``). The per-call ``CallState`` travels in a contextvar, so
services (and ``ServiceDeps``) can add the MT5 server, retcode and error metadata that
the access line and ErrorInfo show.
"""

# ruff: noqa: ANN401 - handlers take and return any request/response message
from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn, cast

import grpc
import structlog
from google.protobuf.message import DecodeError
from grpc_status import rpc_status  # type: ignore[import-untyped]

from mt5gateway_server.errors import (
    CallerUnauthenticatedError,
    GatewayError,
    MalformedRequestError,
    echoed,
    map_exception,
)
from mt5gateway_server.log import get_logger
from mt5gateway_server.tracing import Tracing
from mt5gateway_server.webapi import deadline_scope

if TYPE_CHECKING:
    from typing import TypeAlias

    from opentelemetry.trace import Span

    from mt5gateway_server.settings import GrpcSettings
    from mt5gateway_server.telemetry import Metrics

    Handler: TypeAlias = grpc.RpcMethodHandler[Any, Any]

__all__ = [
    "CallInterceptor",
    "CallState",
    "add_error_metadata",
    "current_call",
    "to_gateway_error",
]

_access = get_logger("access")

Unary = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Any]]
Streaming = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], AsyncIterator[Any]]
Deserializer = Callable[[bytes], Any]

# Successful health checks are logged at debug: probes would drown the access log.
_PROBES = "/grpc.health.v1.Health/"

# Callers without a key may still ask these (load balancers, grpcurl list).
PUBLIC_SERVICES = (
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1alpha.ServerReflection/",
    "/grpc.reflection.v1.ServerReflection/",
)


@dataclass(slots=True)
class CallState:
    method: str
    peer: str = ""
    request_id: str = ""
    caller: str = ""
    server: str = ""  # MT5 server name, once resolved
    code: grpc.StatusCode = grpc.StatusCode.OK
    reason: str = ""
    retcode: int | None = None
    # ErrorInfo metadata a service adds (login, symbol, ...) before a call may fail.
    error_metadata: dict[str, str] = field(default_factory=dict)
    span: Span | None = None  # the call's server span (Tracing)


_CALL: contextvars.ContextVar[CallState | None] = contextvars.ContextVar(
    "mt5gw_call", default=None
)


def current_call() -> CallState | None:
    return _CALL.get()


def add_error_metadata(**values: object) -> None:
    """ErrorInfo metadata (lowerCamel keys) in case the current call fails."""
    state = _CALL.get()
    if state is not None:
        state.error_metadata.update({k: str(v) for k, v in values.items()})


def _metadata(context: grpc.aio.ServicerContext[Any, Any], key: str) -> str:
    for name, value in context.invocation_metadata() or ():
        if name == key:
            return value.decode() if isinstance(value, bytes) else value
    return ""


class CallInterceptor(grpc.aio.ServerInterceptor):
    """Context, auth, error mapping, access log, metrics and tracing as one wrapper.

    ``auth``: caller API keys are checked when given (and enabled) except for
    ``PUBLIC_SERVICES``. Handlers with streaming requests are passed through.
    """

    def __init__(
        self,
        *,
        metrics: Metrics | None = None,
        tracing: Tracing | None = None,
        auth: GrpcSettings | None = None,
    ) -> None:
        self._metrics = metrics
        self._tracing = tracing or Tracing()
        self._auth = auth if auth is not None and auth.auth_enabled else None
        # method -> (handler the continuation returned, the wrapped one)
        self._cache: dict[str, tuple[Handler, Handler]] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        cached = self._cache.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = self.wrap_handler(handler, method)
        self._cache[method] = (handler, wrapped)
        return wrapped

    def wrap_handler(self, handler: Handler, method: str) -> Handler:
        # Other shapes pass through unwrapped (no caller check, no access line): today
        # only grpc's public health Watch and reflection. The contract has no
        # client-streaming RPC (tests/contract checks); add a wrapper here before one.
        if handler.request_streaming:
            return handler
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                self.wrap_unary(cast("Unary", handler.unary_unary), method),
                request_deserializer=_tolerant(handler.request_deserializer),
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None and inspect.isasyncgenfunction(
            _unbound(handler.unary_stream)
        ):
            return grpc.unary_stream_rpc_method_handler(
                self.wrap_stream(cast("Streaming", handler.unary_stream), method),
                request_deserializer=_tolerant(handler.request_deserializer),
                response_serializer=handler.response_serializer,
            )
        return handler

    def wrap_unary(self, behavior: Unary, method: str) -> Unary:
        check_caller = self._caller_check(method)

        async def call(
            request: Any, context: grpc.aio.ServicerContext[Any, Any]
        ) -> Any:
            self._enter(request, context, method)
            started = time.perf_counter()
            failure: BaseException | None = None
            try:
                try:
                    if check_caller is not None:
                        check_caller(context)
                    if request.__class__ is _Unparsable:
                        request.refuse()
                    with deadline_scope(context.time_remaining()):
                        return await behavior(request, context)
                except (asyncio.CancelledError, grpc.aio.AbortError):
                    raise
                except Exception as exc:  # noqa: BLE001  # this is the one place
                    await self._abort(exc, context)
                    raise AssertionError("abort returned") from None  # pragma: no cover
            except BaseException as exc:
                failure = exc
                raise
            finally:
                self._finish(started, failure)

        return call

    def wrap_stream(self, behavior: Streaming, method: str) -> Streaming:
        check_caller = self._caller_check(method)
        metrics = self._metrics

        async def call(
            request: Any, context: grpc.aio.ServicerContext[Any, Any]
        ) -> AsyncIterator[Any]:
            self._enter(request, context, method)
            started = time.perf_counter()
            if metrics is not None:
                metrics.stream_opened(method)
            failure: BaseException | None = None
            try:
                try:
                    if check_caller is not None:
                        check_caller(context)
                    if request.__class__ is _Unparsable:
                        request.refuse()
                    async for item in behavior(request, context):
                        yield item
                except (asyncio.CancelledError, grpc.aio.AbortError):
                    raise
                except Exception as exc:  # noqa: BLE001  # this is the one place
                    await self._abort(exc, context)
            except BaseException as exc:
                failure = exc
                raise
            finally:
                if metrics is not None:
                    metrics.stream_closed(method)
                self._finish(started, failure)

        return call

    # ------------------------------------------------------------ the concerns

    def _enter(
        self, request: Any, context: grpc.aio.ServicerContext[Any, Any], method: str
    ) -> None:
        """Fresh log context, CallState and server span for this call's task."""
        structlog.contextvars.clear_contextvars()
        metadata = context.invocation_metadata()
        request_id = getattr(request, "request_id", "")
        if not request_id:
            for key, value in metadata or ():
                if key == "x-request-id":
                    request_id = value.decode() if isinstance(value, bytes) else value
                    break
            else:
                request_id = uuid.uuid4().hex
        # Not validated yet (maybe never): the log shows a bounded copy.
        request_id = echoed(request_id)
        state = CallState(method=method, peer=context.peer(), request_id=request_id)
        state.span = self._tracing.start_server_span(method, metadata)
        _CALL.set(state)
        structlog.contextvars.bind_contextvars(
            rpc_method=method, request_id=request_id, peer=state.peer
        )

    def _caller_check(
        self, method: str
    ) -> Callable[[grpc.aio.ServicerContext[Any, Any]], None] | None:
        if self._auth is None or method.startswith(PUBLIC_SERVICES):
            return None
        return functools.partial(_check_caller, self._auth)

    @staticmethod
    async def _abort(
        exc: Exception, context: grpc.aio.ServicerContext[Any, Any]
    ) -> None:
        """Every failure ends as ``google.rpc.Status`` + ErrorInfo."""
        err = to_gateway_error(exc)
        state = _CALL.get()
        if state is not None:
            state.code = err.code
            state.reason = err.reason_name
            state.retcode = err.retcode
        status = rpc_status.to_status(err.to_status())
        await context.abort(
            err.code, err.message, trailing_metadata=status.trailing_metadata
        )

    def _finish(self, started: float, exc: BaseException | None) -> None:
        """The access line, the RPC metrics and the span's end."""
        state = _CALL.get()
        if state is None:  # pragma: no cover - _enter always ran
            return
        # A stream's generator closed before its end (GeneratorExit) ended early too.
        if (
            isinstance(exc, (asyncio.CancelledError, GeneratorExit))
            and state.code is grpc.StatusCode.OK
        ):
            state.code = grpc.StatusCode.CANCELLED
        seconds = time.perf_counter() - started
        fields: dict[str, object] = {
            "code": state.code.name,
            "duration_ms": round(seconds * 1000, 3),
        }
        if state.server:
            fields["mt5_server"] = state.server
        if state.caller:
            fields["caller"] = state.caller
        if state.reason:
            fields["reason"] = state.reason
        if state.retcode is not None:
            fields["retcode"] = state.retcode
        if state.code is grpc.StatusCode.OK and state.method.startswith(_PROBES):
            _access.debug("rpc_finished", **fields)  # load balancers poll every second
        else:
            _access.info("rpc_finished", **fields)
        if state.span is not None:
            Tracing.end_server_span(state.span, state.code.name, state.code.value[0])
        if self._metrics is not None:
            self._metrics.record_rpc(
                state.method,
                state.code.name,
                seconds,
                reason=state.reason,
                retcode=state.retcode,
            )


def _unbound(fn: object) -> object:
    return getattr(fn, "__func__", fn)


@dataclass(frozen=True, slots=True)
class _Unparsable:
    """What ``_tolerant`` hands the wrapper for bytes that are not a request."""

    message_type: str

    def refuse(self) -> NoReturn:
        raise MalformedRequestError(self.message_type)


def _tolerant(deserializer: Deserializer | None) -> Deserializer | None:
    """``deserializer`` (a generated ``Message.FromString``), answering bytes that do
    not parse with an ``_Unparsable`` marker instead of raising: grpc would answer
    an exception here UNKNOWN, before the wrapper sees the call."""
    if deserializer is None:
        return None
    descriptor = getattr(getattr(deserializer, "__self__", None), "DESCRIPTOR", None)
    unparsable = _Unparsable(getattr(descriptor, "full_name", "request message"))

    def deserialize(data: bytes) -> Any:
        try:
            return deserializer(data)
        except DecodeError:
            return unparsable

    return deserialize


def _check_caller(
    settings: GrpcSettings, context: grpc.aio.ServicerContext[Any, Any]
) -> None:
    """Optional API keys (``x-api-key`` or ``authorization: Bearer``)."""
    presented = _metadata(context, "x-api-key")
    if not presented:
        auth = _metadata(context, "authorization")
        scheme, _, token = auth.partition(" ")
        presented = token.strip() if scheme.lower() == "bearer" else ""
    caller = settings.authenticate(presented) if presented else None
    if caller is None:
        raise CallerUnauthenticatedError
    state = _CALL.get()
    if state is not None:
        state.caller = caller
        structlog.contextvars.bind_contextvars(caller=caller)


def to_gateway_error(exc: Exception) -> GatewayError:
    """The status an exception is answered with (``errors.STATUS_TABLE``), with the
    ErrorInfo metadata the current call added (``add_error_metadata``)."""
    state = _CALL.get()
    return map_exception(exc, state.error_metadata if state is not None else None)


def build_interceptors(
    grpc_settings: GrpcSettings,
    *,
    metrics: Metrics | None = None,
    tracing: Tracing | None = None,
) -> list[grpc.aio.ServerInterceptor]:
    """The server's interceptors: one ``CallInterceptor`` (spans come from it, not
    from the OTel grpc interceptor; see ``tracing.py`` for why)."""
    return [CallInterceptor(metrics=metrics, tracing=tracing, auth=grpc_settings)]
