"""Server spans per RPC and child spans per MT5 request, without the OTel interceptor.

The current span lives in our own contextvar, set by the interceptor chain for the
call's task, instead of being attached to the OpenTelemetry context: nothing has to be
detached when a stream is cancelled (the OTel grpc aio interceptor logged "Failed to
detach context" there), and a call costs one contextvar set.

Three modes (``TelemetrySettings.traces_exporter``):

* ``none`` (default): no span is recorded. A caller's W3C ``traceparent`` is still
  read, so log lines carry the caller's ``trace_id``; the cost is a metadata lookup.
* ``console`` / ``otlp``: a SERVER span per RPC (continuing the caller's trace, root
  spans sampled at ``trace_sample_ratio``), and a CLIENT child span per MT5 request
  and handshake, built from the durations the web API hooks report.
"""

from __future__ import annotations

import contextvars
import time
from typing import TYPE_CHECKING

from opentelemetry import trace
from opentelemetry.trace import (
    INVALID_SPAN,
    NonRecordingSpan,
    SpanKind,
    Status,
    StatusCode,
)
from opentelemetry.trace.propagation.tracecontext import (
    TraceContextTextMapPropagator,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["Tracing", "current_span"]

_SPAN: contextvars.ContextVar[trace.Span] = contextvars.ContextVar(
    "mt5gw_span", default=INVALID_SPAN
)
_PROPAGATOR = TraceContextTextMapPropagator()


def current_span() -> trace.Span:
    """The span of the RPC this task serves (INVALID_SPAN outside one)."""
    return _SPAN.get()


def _traceparent(metadata: Iterable[tuple[str, str | bytes]]) -> dict[str, str]:
    carrier: dict[str, str] = {}
    for key, value in metadata:
        if key in ("traceparent", "tracestate"):
            carrier[key] = value.decode() if isinstance(value, bytes) else value
    return carrier


class Tracing:
    """``tracer=None``: spans are not recorded, a caller's trace id still is."""

    def __init__(self, tracer: trace.Tracer | None = None) -> None:
        self._tracer = tracer

    @property
    def recording(self) -> bool:
        return self._tracer is not None

    def start_server_span(
        self, method: str, metadata: Iterable[tuple[str, str | bytes]] | None
    ) -> trace.Span:
        """The RPC's span, made current for the calling task (end it with
        ``end_server_span``)."""
        carrier = _traceparent(metadata or ())
        parent = _PROPAGATOR.extract(carrier) if carrier else None
        if self._tracer is None:
            span: trace.Span = (
                NonRecordingSpan(trace.get_current_span(parent).get_span_context())
                if parent is not None
                else INVALID_SPAN
            )
        else:
            service, _, name = method.lstrip("/").partition("/")
            span = self._tracer.start_span(
                method.lstrip("/"),
                context=parent,
                kind=SpanKind.SERVER,
                attributes={
                    "rpc.system": "grpc",
                    "rpc.service": service,
                    "rpc.method": name,
                },
            )
        _SPAN.set(span)
        return span

    @staticmethod
    def end_server_span(span: trace.Span, code_name: str, code_value: int) -> None:
        if not span.is_recording():
            return
        span.set_attribute("rpc.grpc.status_code", code_value)
        if code_name != "OK":
            span.set_status(Status(StatusCode.ERROR, code_name))
        span.end()

    def record_child(
        self,
        name: str,
        seconds: float,
        attributes: dict[str, str],
        error: str | None = None,
    ) -> None:
        """A CLIENT span under the current RPC's span for something that just took
        ``seconds`` (the web API hooks report durations after the fact)."""
        parent = _SPAN.get()
        if self._tracer is None or not parent.is_recording():
            return
        end = time.time_ns()
        span = self._tracer.start_span(
            name,
            context=trace.set_span_in_context(parent),
            kind=SpanKind.CLIENT,
            attributes=attributes,
            start_time=end - int(seconds * 1e9),
        )
        if error is not None:
            span.set_attribute("error.type", error)
            span.set_status(Status(StatusCode.ERROR, error))
        span.end(end_time=end)
