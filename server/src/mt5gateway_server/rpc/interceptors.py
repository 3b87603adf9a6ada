"""Server interceptor layers, outermost first: RequestContext (log context, CallState,
server span), AccessLog (access line, RPC metrics, span end), ErrorMapping, CallerAuth.

``ErrorMapping`` is the only place an exception becomes a status. The per-call
``CallState`` travels in a contextvar, so services (and ``ServiceDeps``) can add the
MT5 server, retcode and error metadata that the access line and ErrorInfo show.
"""

# ruff: noqa: ANN401 - handlers take and return any request/response message
from __future__ import annotations

import asyncio
import contextvars
import inspect
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import grpc
import structlog
from grpc_status import rpc_status  # type: ignore[import-untyped]
from redis.exceptions import RedisError

from mt5gateway_server.cache.idempotency import (
    IdempotencyConflictError,
    IdempotencyPendingError,
)
from mt5gateway_server.errors import (
    CallerUnauthenticated,
    GatewayError,
    IdempotencyConflict,
    IdempotencyPending,
    InternalError,
    StateStoreUnavailable,
    from_webapi,
)
from mt5gateway_server.log import get_logger
from mt5gateway_server.tracing import Tracing
from mt5gateway_server.webapi import WebApiError, deadline_scope

if TYPE_CHECKING:
    from typing import TypeAlias

    from opentelemetry.trace import Span

    from mt5gateway_server.settings import GrpcSettings
    from mt5gateway_server.telemetry import Metrics

    Handler: TypeAlias = grpc.RpcMethodHandler[Any, Any]

__all__ = [
    "AccessLog",
    "CallState",
    "CallerAuth",
    "Chain",
    "ErrorMapping",
    "RequestContext",
    "add_error_metadata",
    "current_call",
]

_log = get_logger("rpc")
_access = get_logger("access")

Unary = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Any]]
Streaming = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], AsyncIterator[Any]]

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


class _Wrapping(grpc.aio.ServerInterceptor, ABC):
    """Wraps the behaviour of unary-unary and unary-stream handlers."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        return self.wrap_handler(handler, handler_call_details.method)

    def wrap_handler(self, handler: Handler, method: str) -> Handler:
        if handler.request_streaming:
            return handler
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                self.wrap_unary(cast("Unary", handler.unary_unary), method),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None and inspect.isasyncgenfunction(
            _unbound(handler.unary_stream)
        ):
            return grpc.unary_stream_rpc_method_handler(
                self.wrap_stream(cast("Streaming", handler.unary_stream), method),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler

    @abstractmethod
    def wrap_unary(self, behavior: Unary, method: str) -> Unary: ...

    @abstractmethod
    def wrap_stream(self, behavior: Streaming, method: str) -> Streaming: ...


class Chain(grpc.aio.ServerInterceptor):
    """Several ``_Wrapping`` layers as one interceptor, outermost first.

    Behaves exactly like passing the layers to the server one by one, but the wrapped
    handler is built once per method and reused (the servicer's handler for a method
    is the same object on every call), instead of once per layer per call.
    """

    def __init__(self, layers: Sequence[_Wrapping]) -> None:
        self.layers = tuple(layers)
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
        wrapped = handler
        for layer in reversed(self.layers):
            wrapped = layer.wrap_handler(wrapped, method)
        self._cache[method] = (handler, wrapped)
        return wrapped


def _unbound(fn: object) -> object:
    return getattr(fn, "__func__", fn)


class RequestContext(_Wrapping):
    """Fresh log context, CallState and server span per call; MT5 calls capped by
    the deadline."""

    def __init__(self, tracing: Tracing | None = None) -> None:
        self._tracing = tracing or Tracing()

    def _enter(
        self, request: Any, context: grpc.aio.ServicerContext[Any, Any], method: str
    ) -> None:
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
        state = CallState(method=method, peer=context.peer(), request_id=request_id)
        state.span = self._tracing.start_server_span(method, metadata)
        _CALL.set(state)
        structlog.contextvars.bind_contextvars(
            rpc_method=method, request_id=request_id, peer=state.peer
        )

    def wrap_unary(self, behavior: Unary, method: str) -> Unary:
        async def call(
            request: Any, context: grpc.aio.ServicerContext[Any, Any]
        ) -> Any:
            self._enter(request, context, method)
            with deadline_scope(context.time_remaining()):
                return await behavior(request, context)

        return call

    def wrap_stream(self, behavior: Streaming, method: str) -> Streaming:
        async def call(
            request: Any, context: grpc.aio.ServicerContext[Any, Any]
        ) -> AsyncIterator[Any]:
            self._enter(request, context, method)
            async for item in behavior(request, context):
                yield item

        return call


class AccessLog(_Wrapping):
    """One line per RPC, plus the RPC metrics."""

    def __init__(self, metrics: Metrics | None = None) -> None:
        self._metrics = metrics

    def _finish(self, started: float, exc: BaseException | None) -> None:
        state = _CALL.get()
        if state is None:  # pragma: no cover - RequestContext always runs first
            return
        if isinstance(exc, asyncio.CancelledError) and state.code is grpc.StatusCode.OK:
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

    def wrap_unary(self, behavior: Unary, method: str) -> Unary:  # noqa: ARG002
        async def call(
            request: Any, context: grpc.aio.ServicerContext[Any, Any]
        ) -> Any:
            started = time.perf_counter()
            try:
                result = await behavior(request, context)
            except BaseException as exc:
                self._finish(started, exc)
                raise
            self._finish(started, None)
            return result

        return call

    def wrap_stream(self, behavior: Streaming, method: str) -> Streaming:
        metrics = self._metrics

        async def call(
            request: Any, context: grpc.aio.ServicerContext[Any, Any]
        ) -> AsyncIterator[Any]:
            started = time.perf_counter()
            if metrics is not None:
                metrics.stream_opened(method)
            failure: BaseException | None = None
            try:
                async for item in behavior(request, context):
                    yield item
            except BaseException as exc:
                failure = exc
                raise
            finally:
                if metrics is not None:
                    metrics.stream_closed(method)
                self._finish(started, failure)

        return call


def to_gateway_error(exc: Exception) -> GatewayError:  # noqa: PLR0911 - one per family
    """The status an exception is answered with; unknown ones are logged in full."""
    state = _CALL.get()
    extra = state.error_metadata if state is not None else None
    if isinstance(exc, GatewayError):
        if extra:
            exc.metadata = {**extra, **exc.metadata}
        return exc
    if isinstance(exc, WebApiError):
        return from_webapi(exc, extra)
    if isinstance(exc, IdempotencyConflictError):
        return IdempotencyConflict(exc.request_id)
    if isinstance(exc, IdempotencyPendingError):
        return IdempotencyPending(exc.request_id)
    if isinstance(exc, RedisError):
        _log.warning("state_store_unavailable", error=type(exc).__name__)
        return StateStoreUnavailable()
    if isinstance(exc, NotImplementedError):
        return GatewayError("not implemented yet", code=grpc.StatusCode.UNIMPLEMENTED)
    _log.error("rpc_internal_error", exc_info=exc)
    return InternalError()


class ErrorMapping(_Wrapping):
    """Every failure ends as ``google.rpc.Status`` + ErrorInfo (STYLE.md)."""

    @staticmethod
    async def _abort(
        exc: Exception, context: grpc.aio.ServicerContext[Any, Any]
    ) -> None:
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

    def wrap_unary(self, behavior: Unary, method: str) -> Unary:  # noqa: ARG002
        async def call(
            request: Any, context: grpc.aio.ServicerContext[Any, Any]
        ) -> Any:
            try:
                return await behavior(request, context)
            except (asyncio.CancelledError, grpc.aio.AbortError):
                raise
            except Exception as exc:  # noqa: BLE001  # this is the one place
                await self._abort(exc, context)
                raise AssertionError("abort returned") from None  # pragma: no cover

        return call

    def wrap_stream(self, behavior: Streaming, method: str) -> Streaming:  # noqa: ARG002
        async def call(
            request: Any, context: grpc.aio.ServicerContext[Any, Any]
        ) -> AsyncIterator[Any]:
            try:
                async for item in behavior(request, context):
                    yield item
            except (asyncio.CancelledError, grpc.aio.AbortError):
                raise
            except Exception as exc:  # noqa: BLE001  # this is the one place
                await self._abort(exc, context)

        return call


class CallerAuth(_Wrapping):
    """Optional API keys (``x-api-key`` or ``authorization: Bearer``)."""

    def __init__(self, settings: GrpcSettings) -> None:
        self._settings = settings

    def _check(self, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        presented = _metadata(context, "x-api-key")
        if not presented:
            auth = _metadata(context, "authorization")
            scheme, _, token = auth.partition(" ")
            presented = token.strip() if scheme.lower() == "bearer" else ""
        caller = self._settings.authenticate(presented) if presented else None
        if caller is None:
            raise CallerUnauthenticated
        state = _CALL.get()
        if state is not None:
            state.caller = caller
            structlog.contextvars.bind_contextvars(caller=caller)

    def wrap_unary(self, behavior: Unary, method: str) -> Unary:
        if method.startswith(PUBLIC_SERVICES):
            return behavior

        async def call(
            request: Any, context: grpc.aio.ServicerContext[Any, Any]
        ) -> Any:
            self._check(context)
            return await behavior(request, context)

        return call

    def wrap_stream(self, behavior: Streaming, method: str) -> Streaming:
        if method.startswith(PUBLIC_SERVICES):
            return behavior

        async def call(
            request: Any, context: grpc.aio.ServicerContext[Any, Any]
        ) -> AsyncIterator[Any]:
            self._check(context)
            async for item in behavior(request, context):
                yield item

        return call


def build_interceptors(
    grpc_settings: GrpcSettings,
    *,
    metrics: Metrics | None = None,
    tracing: Tracing | None = None,
) -> list[grpc.aio.ServerInterceptor]:
    """Tracing and log context first, auth innermost so its error is mapped.

    One interceptor for all layers: one await per call instead of one per layer, and
    the wrapped handlers are built once per method. Spans come from our own layer,
    not the OTel grpc interceptor (see ``tracing.py`` for why).
    """
    layers: list[_Wrapping] = [
        RequestContext(tracing),
        AccessLog(metrics),
        ErrorMapping(),
    ]
    if grpc_settings.auth_enabled:
        layers.append(CallerAuth(grpc_settings))
    return [Chain(layers)]
