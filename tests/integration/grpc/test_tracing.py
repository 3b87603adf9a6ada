"""Traces over real sockets: the gateway exports OTLP/gRPC to a collector started here.

The collector is a real grpc.aio server implementing the OTLP TraceService; the gateway
continues a caller's W3C ``traceparent`` and records one CLIENT child span per MT5
request under its SERVER span. With no exporter, nothing is recorded, but the access
line still carries the caller's trace id.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import grpc
import pytest
import structlog
from mt5gateway.v1 import user_service_pb2 as pb
from mt5gateway_server.log import add_otel_ids
from mt5gateway_server.rpc.interceptors import build_interceptors
from mt5gateway_server.settings import GrpcSettings, TelemetrySettings
from mt5gateway_server.tracing import Tracing
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1 import (
    trace_service_pb2,
    trace_service_pb2_grpc,
)
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from mt5sim.server import Simulator

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_SPAN_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_SPAN_ID}-01"
GET_USER = "mt5gateway.v1.UserService/GetUser"


class Collector(trace_service_pb2_grpc.TraceServiceServicer):
    """Runs on its own threads, like a collector in another process would."""

    def __init__(self) -> None:
        self.spans: list[Any] = []
        self.services: set[str] = set()  # resource service.name values
        self.headers: dict[str, str] = {}
        self._lock = threading.Lock()

    def Export(  # noqa: N802 - the OTLP service's method name
        self,
        request: trace_service_pb2.ExportTraceServiceRequest,
        context: grpc.ServicerContext,
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        with self._lock:
            self.headers.update(dict(context.invocation_metadata()))
            for resource_spans in request.resource_spans:
                for kv in resource_spans.resource.attributes:
                    if kv.key == "service.name":
                        self.services.add(kv.value.string_value)
                for scope_spans in resource_spans.scope_spans:
                    self.spans.extend(scope_spans.spans)
        return trace_service_pb2.ExportTraceServiceResponse()

    async def wait_for(self, name: str, count: int = 1) -> list[Any]:
        for _ in range(200):
            found = [s for s in self.spans if s.name == name]
            if len(found) >= count:
                return found
            await asyncio.sleep(0.02)
        return [s for s in self.spans if s.name == name]


@pytest.fixture
def collector() -> Iterator[tuple[Collector, int]]:
    server = grpc.server(ThreadPoolExecutor(max_workers=2))
    sink = Collector()
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(sink, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield sink, port
    server.stop(None).wait()


def _attrs(span: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in span.attributes:
        value = kv.value
        out[kv.key] = value.string_value or value.int_value
    return out


async def test_rpc_spans_continue_the_callers_trace_and_wrap_mt5_requests(
    sim: Simulator, make_gateway: Any, collector: tuple[Collector, int]
) -> None:
    sink, port = collector
    telemetry = TelemetrySettings(
        metrics_listen=None,
        log_format="json",
        traces_exporter="otlp",
        otlp_endpoint=f"http://127.0.0.1:{port}",
    )
    login = min(sim.broker.users)
    async with make_gateway(sim, telemetry=telemetry) as gw:
        reply = await gw.users.GetUser(
            pb.GetUserRequest(login=login), metadata=(("traceparent", TRACEPARENT),)
        )
        assert reply.user.login == login
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await gw.users.GetUser(pb.GetUserRequest(login=9_999_999))
        assert info.value.code() is grpc.StatusCode.NOT_FOUND
    # Leaving the gateway shut the tracer provider down, which flushed the batch.
    for _ in range(100):
        if sum(s.name == GET_USER for s in sink.spans) >= 2:
            break
        await asyncio.sleep(0.02)

    servers = [s for s in sink.spans if s.name == GET_USER]
    assert len(servers) == 2
    ok = next(s for s in servers if s.trace_id.hex() == TRACE_ID)
    assert ok.parent_span_id.hex() == PARENT_SPAN_ID
    assert ok.kind == ok.SPAN_KIND_SERVER
    assert _attrs(ok)["rpc.grpc.status_code"] == 0
    assert _attrs(ok)["rpc.service"] == "mt5gateway.v1.UserService"
    children = [s for s in sink.spans if s.parent_span_id == ok.span_id]
    # The first GetUser also reads the group (its currency, then cached).
    assert sorted(c.name for c in children) == ["MT5 group/get", "MT5 user/get"]
    for child in children:
        assert child.trace_id == ok.trace_id
        assert child.kind == child.SPAN_KIND_CLIENT
        assert _attrs(child)["mt5.server"] == "main"
        assert ok.start_time_unix_nano <= child.start_time_unix_nano
        assert child.end_time_unix_nano <= ok.end_time_unix_nano

    failed = next(s for s in servers if s is not ok)
    assert failed.trace_id.hex() != TRACE_ID  # a new root
    assert not failed.parent_span_id
    assert _attrs(failed)["rpc.grpc.status_code"] == grpc.StatusCode.NOT_FOUND.value[0]
    assert failed.status.code == failed.status.STATUS_CODE_ERROR


async def test_without_an_exporter_the_access_line_carries_the_callers_trace_id(
    sim: Simulator, make_gateway: Any
) -> None:
    login = min(sim.broker.users)
    with structlog.testing.capture_logs(
        processors=[structlog.contextvars.merge_contextvars, add_otel_ids]
    ) as logs:
        async with make_gateway(sim) as gw:
            assert not gw.app.telemetry.tracing.recording
            await gw.users.GetUser(
                pb.GetUserRequest(login=login),
                metadata=(("traceparent", TRACEPARENT),),
            )
            await gw.users.GetUser(pb.GetUserRequest(login=login))
    finished = [e for e in logs if e["event"] == "rpc_finished"]
    assert len(finished) == 2, json.dumps(logs, default=str)[:2000]
    assert finished[0]["trace_id"] == TRACE_ID
    assert "trace_id" not in finished[1]


async def test_standard_otel_variables_configure_the_export(
    sim: Simulator,
    make_gateway: Any,
    collector: tuple[Collector, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sink, port = collector
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=acme")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "gw-billing")
    async with make_gateway(sim) as gw:  # no MT5GW_TELEMETRY__ trace setting
        assert gw.app.telemetry.tracing.recording
        await gw.users.GetUser(pb.GetUserRequest(login=min(sim.broker.users)))
    assert await sink.wait_for(GET_USER)
    assert sink.headers["x-tenant"] == "acme"
    assert sink.services == {"gw-billing"}


async def test_a_chosen_endpoint_wins_over_the_otel_one(
    sim: Simulator,
    make_gateway: Any,
    collector: tuple[Collector, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sink, port = collector
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")  # nothing
    telemetry = TelemetrySettings(
        metrics_listen=None,
        log_format="json",
        traces_exporter="otlp",
        otlp_endpoint=f"http://127.0.0.1:{port}",
    )
    async with make_gateway(sim, telemetry=telemetry) as gw:
        await gw.users.GetUser(pb.GetUserRequest(login=min(sim.broker.users)))
    assert await sink.wait_for(GET_USER)


# -- the server span is OpenTelemetry's current span inside handlers ---------------

ECHO = "test.Echo"


@contextlib.asynccontextmanager
async def echo_server(tracing: Tracing, tracer: Any) -> AsyncIterator[Any]:
    """A grpc.aio server on loopback with the gateway's interceptors; its handlers
    note OpenTelemetry's current span and open a child span the way other
    instrumentation (redis, an HTTP client) would. Yields (channel, seen)."""
    seen: dict[str, Any] = {}

    async def unary(request: bytes, context: Any) -> bytes:
        seen["unary"] = trace.get_current_span()
        with tracer.start_as_current_span("redis GET"):
            pass
        return request

    async def stream(request: bytes, context: Any) -> AsyncIterator[bytes]:
        for index in range(3):
            seen[f"stream{index}"] = trace.get_current_span()
            yield request

    handlers = {
        "Unary": grpc.unary_unary_rpc_method_handler(unary),
        "Stream": grpc.unary_stream_rpc_method_handler(stream),
    }
    server = grpc.aio.server(
        interceptors=build_interceptors(GrpcSettings(), tracing=tracing)
    )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(ECHO, handlers),)
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield channel, seen
    finally:
        await channel.close()
        await server.stop(None)


async def _call_both(channel: grpc.aio.Channel) -> None:
    metadata = (("traceparent", TRACEPARENT),)
    assert await channel.unary_unary(f"/{ECHO}/Unary")(b"x", metadata=metadata) == b"x"
    replies = [m async for m in channel.unary_stream(f"/{ECHO}/Stream")(b"y")]
    assert replies == [b"y"] * 3


async def test_handlers_see_the_server_span_as_the_current_span() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    async with echo_server(Tracing(tracer), tracer) as (channel, seen):
        await _call_both(channel)
    spans = {s.name: s for s in exporter.get_finished_spans()}
    unary, stream = spans[f"{ECHO}/Unary"], spans[f"{ECHO}/Stream"]
    assert seen["unary"].get_span_context() == unary.context
    assert unary.kind is trace.SpanKind.SERVER
    assert format(unary.context.trace_id, "032x") == TRACE_ID
    # Other instrumentation's span is a child of the server span.
    assert spans["redis GET"].parent == unary.context
    for index in range(3):  # every step of a stream, not only the first
        assert seen[f"stream{index}"].get_span_context() == stream.context
    assert stream.parent is None  # no traceparent: a new root
    assert stream.context.trace_id != unary.context.trace_id


async def test_without_an_exporter_handlers_see_only_the_callers_trace() -> None:
    # No span objects of our own: the caller's context (non-recording) is current.
    tracer = trace.NoOpTracer()
    async with echo_server(Tracing(), tracer) as (channel, seen):
        await _call_both(channel)
    caller = seen["unary"].get_span_context()
    assert not seen["unary"].is_recording()
    assert format(caller.trace_id, "032x") == TRACE_ID
    assert format(caller.span_id, "016x") == PARENT_SPAN_ID
    assert not seen["stream0"].get_span_context().is_valid  # nothing leaks across
