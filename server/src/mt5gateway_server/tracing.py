"""Server spans per RPC and child spans per MT5 request, without the OTel interceptor.

The interceptor starts each RPC's SERVER span here and attaches it to OpenTelemetry's
context for the call's task, so ``opentelemetry.trace.get_current_span()`` is that span
everywhere the call runs: in handlers, in other instrumentation (redis, logging) and in
a user's code. grpc.aio serves every RPC in a task of its own, and a task's context
dies with it, so the span is attached and never detached: nothing to undo when a stream
is cancelled (the token-based detach of the OTel grpc aio interceptor logged "Failed to
detach context" there), and a call costs one contextvar set.

Three modes (``Telemetry``, from the settings and the standard ``OTEL_*`` variables):

* no exporter (default): no span object is made. A caller's W3C ``traceparent`` is
  still read and attached as a non-recording span, so log lines and other
  instrumentation carry the caller's ``trace_id``; without one, nothing is attached.
* console / otlp: a SERVER span per RPC (continuing the caller's trace, root spans
  sampled by the sampler), and a CLIENT child span per MT5 request and handshake,
  built from the durations the web API hooks report.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import (
    TraceContextTextMapPropagator,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["Tracing", "current_span"]

_PROPAGATOR = TraceContextTextMapPropagator()
# Where a call without a caller's trace starts: never what the server's task inherited.
_EMPTY = otel_context.Context()


def current_span() -> trace.Span:
    """The span of the RPC this task serves (OpenTelemetry's current span)."""
    return trace.get_current_span()


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
        """The RPC's span, made OpenTelemetry's current span for the calling task
        (end it with ``end_server_span``)."""
        carrier = _traceparent(metadata or ())
        parent = _PROPAGATOR.extract(carrier, _EMPTY) if carrier else _EMPTY
        if self._tracer is None:
            # No span object: the caller's span (non-recording), if it sent one.
            if carrier or otel_context.get_current():
                otel_context.attach(parent)
            return trace.get_current_span(parent)
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
        # No detach: the call's task (and its context) ends with the call.
        otel_context.attach(trace.set_span_in_context(span, parent))
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
        """A CLIENT span under the current span for something that just took
        ``seconds`` (the web API hooks report durations after the fact)."""
        if self._tracer is None or not trace.get_current_span().is_recording():
            return
        end = time.time_ns()
        span = self._tracer.start_span(
            name,
            kind=SpanKind.CLIENT,
            attributes=attributes,
            start_time=end - int(seconds * 1e9),
        )
        if error is not None:
            span.set_attribute("error.type", error)
            span.set_status(Status(StatusCode.ERROR, error))
        span.end(end_time=end)
