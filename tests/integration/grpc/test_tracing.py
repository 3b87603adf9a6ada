"""Traces over real sockets: the gateway exports OTLP/gRPC to a collector started here.

The collector is a real grpc.aio server implementing the OTLP TraceService; the gateway
continues a caller's W3C ``traceparent`` and records one CLIENT child span per MT5
request under its SERVER span. With no exporter, nothing is recorded, but the access
line still carries the caller's trace id.
"""

from __future__ import annotations

import asyncio
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import grpc
import pytest
import structlog
from mt5gateway.v1 import user_service_pb2 as pb
from mt5gateway_server.log import add_otel_ids
from mt5gateway_server.settings import TelemetrySettings
from opentelemetry.proto.collector.trace.v1 import (
    trace_service_pb2,
    trace_service_pb2_grpc,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mt5sim.server import Simulator

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_SPAN_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_SPAN_ID}-01"
GET_USER = "mt5gateway.v1.UserService/GetUser"


class Collector(trace_service_pb2_grpc.TraceServiceServicer):
    """Runs on its own threads, like a collector in another process would."""

    def __init__(self) -> None:
        self.spans: list[Any] = []
        self._lock = threading.Lock()

    def Export(  # noqa: N802 - the OTLP service's method name
        self,
        request: trace_service_pb2.ExportTraceServiceRequest,
        context: grpc.ServicerContext,  # noqa: ARG002
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        with self._lock:
            for resource_spans in request.resource_spans:
                for scope_spans in resource_spans.scope_spans:
                    self.spans.extend(scope_spans.spans)
        return trace_service_pb2.ExportTraceServiceResponse()


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
