"""OpenTelemetry metrics (exported for Prometheus) and tracing; every instrument here.

``Telemetry.start(settings)`` builds a MeterProvider whose PrometheusMetricReader writes
into its own ``CollectorRegistry`` (so tests and several instances never collide in
prometheus_client's global registry), serves it on ``metrics_listen``, and builds a
TracerProvider only when spans go somewhere (``traces_exporter`` console or otlp; see
``tracing.py``). ``Metrics`` holds the gateway's instruments with one ``record_*``
method per fact, so the web API pool's metrics hooks adapt with one-line methods. Pool
gauges are pulled at scrape time, never pushed per call.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from opentelemetry import metrics as otel_metrics
from opentelemetry import trace as otel_trace
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.metrics import CallbackOptions, Meter, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
)
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from prometheus_client import CollectorRegistry, start_http_server

from mt5gateway_server.log import get_logger
from mt5gateway_server.settings import (
    Settings,
    TelemetrySettings,
    parse_host_port,
)
from mt5gateway_server.tracing import Tracing

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

__all__ = [
    "LATENCY_BUCKETS_SECONDS",
    "METER_NAME",
    "Metrics",
    "PoolSnapshotLike",
    "PoolStatesCallback",
    "Telemetry",
    "WebApiMetricsAdapter",
]

METER_NAME = "mt5gateway"
# Sub-millisecond resolution matters: the gateway's own overhead target is 0.5 ms.
LATENCY_BUCKETS_SECONDS: tuple[float, ...] = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)

# Returns a pool's current snapshot (sessions per state, callers waiting).
PoolStatesCallback = Callable[[], "PoolSnapshotLike"]

_log = get_logger("telemetry")


class Metrics:
    """The gateway's instruments, defined once. Methods are cheap and never raise.

    Prometheus names (after the exporter adds units/suffixes), e.g.
    ``mt5gw_rpc_duration_seconds_bucket{method,code}``, ``mt5gw_rpc_errors_total``.
    """

    def __init__(self, meter: Meter) -> None:
        self._meter = meter
        self._pool_sources: dict[str, PoolStatesCallback] = {}
        self._pool_lock = threading.Lock()

        self.rpc_duration = meter.create_histogram(
            "mt5gw.rpc.duration", unit="s", description="gRPC call duration"
        )
        self.rpc_errors = meter.create_counter(
            "mt5gw.rpc.errors", description="Failed gRPC calls"
        )
        self.mt5_request_duration = meter.create_histogram(
            "mt5gw.mt5.request.duration",
            unit="s",
            description="MT5 Web API request duration",
        )
        self.mt5_errors = meter.create_counter(
            "mt5gw.mt5.errors", description="Failed MT5 Web API requests"
        )
        self.pool_sessions = meter.create_observable_gauge(
            "mt5gw.pool.sessions",
            callbacks=[self._observe_pools],
            description="MT5 sessions per pool and state",
        )
        self.pool_queue_depth = meter.create_observable_gauge(
            "mt5gw.pool.queue.depth",
            callbacks=[self._observe_queues],
            description="Callers waiting for a session",
        )
        self.mt5_handshake_duration = meter.create_histogram(
            "mt5gw.mt5.handshake.duration",
            unit="s",
            description="MT5 authentication handshake duration",
        )
        self.pool_wait_duration = meter.create_histogram(
            "mt5gw.pool.wait.duration",
            unit="s",
            description="Time spent waiting for a pooled session",
        )
        self.mt5_handshakes = meter.create_counter(
            "mt5gw.mt5.handshakes", description="MT5 authentications by outcome"
        )
        self.mt5_reconnects = meter.create_counter(
            "mt5gw.mt5.reconnects", description="MT5 session reconnects/re-auths"
        )
        self.active_streams = meter.create_up_down_counter(
            "mt5gw.streams.active", description="Open server-streaming RPCs"
        )
        self.conflated_quotes = meter.create_counter(
            "mt5gw.quotes.conflated",
            description="Quotes replaced by a newer one in a slow subscriber queue",
        )
        self.idempotency_replays = meter.create_counter(
            "mt5gw.idempotency.replays",
            description="Mutations answered from the idempotency store",
        )

    # gRPC -----------------------------------------------------------------

    def record_rpc(
        self,
        method: str,
        code: str,
        seconds: float,
        *,
        reason: str = "",
        retcode: int | None = None,
    ) -> None:
        """One finished RPC; ``code`` is the grpc.StatusCode name ("OK", ...)."""
        self.rpc_duration.record(seconds, {"method": method, "code": code})
        if code != "OK":
            self.rpc_errors.add(
                1,
                {
                    "method": method,
                    "code": code,
                    "reason": reason,
                    "retcode": "" if retcode is None else str(retcode),
                },
            )

    def stream_opened(self, method: str) -> None:
        self.active_streams.add(1, {"method": method})

    def stream_closed(self, method: str) -> None:
        self.active_streams.add(-1, {"method": method})

    def record_conflated_quotes(self, server: str, count: int = 1) -> None:
        self.conflated_quotes.add(count, {"server": server})

    def record_idempotency_replay(self, method: str) -> None:
        self.idempotency_replays.add(1, {"method": method})

    # MT5 Web API and pool -------------------------------------------------

    def record_mt5_request(
        self, server: str, command: str, seconds: float, retcode: int | str | None
    ) -> None:
        """One MT5 request; ``retcode`` None/0 = success, else a retcode or the
        name of a transport error ("ReadTimeout")."""
        self.mt5_request_duration.record(
            seconds, {"server": server, "command": command}
        )
        if retcode:
            self.record_mt5_error(server, command, retcode)

    def record_mt5_error(self, server: str, command: str, retcode: int | str) -> None:
        """A failed request; ``retcode`` may be a name for transport errors."""
        self.mt5_errors.add(
            1, {"server": server, "command": command, "retcode": str(retcode)}
        )

    def record_handshake(
        self, server: str, *, ok: bool, seconds: float | None = None
    ) -> None:
        outcome = {"server": server, "outcome": "ok" if ok else "failed"}
        self.mt5_handshakes.add(1, outcome)
        if seconds is not None:
            self.mt5_handshake_duration.record(seconds, outcome)

    def record_reconnect(self, server: str, reason: str = "") -> None:
        self.mt5_reconnects.add(1, {"server": server, "reason": reason})

    def record_pool_wait(self, server: str, seconds: float, *, ok: bool = True) -> None:
        """Time to acquire a session; ``ok=False``: the wait timed out."""
        self.pool_wait_duration.record(
            seconds, {"server": server, "outcome": "ok" if ok else "timeout"}
        )

    def register_pool(self, server: str, snapshot: PoolStatesCallback) -> None:
        """Sample a pool's sessions per state and waiting callers at every scrape."""
        with self._pool_lock:
            self._pool_sources[server] = snapshot

    def unregister_pool(self, server: str) -> None:
        with self._pool_lock:
            self._pool_sources.pop(server, None)

    def webapi_hooks(self, tracing: Tracing | None = None) -> WebApiMetricsAdapter:
        """The hooks object the web API session pools report to; with ``tracing``
        every MT5 request and handshake also becomes a child span of the RPC."""
        return WebApiMetricsAdapter(self, tracing or Tracing())

    def _snapshots(self) -> list[PoolSnapshotLike]:
        with self._pool_lock:
            sources = list(self._pool_sources.items())
        snapshots = []
        for server, snapshot in sources:
            try:
                snapshots.append(snapshot())
            except Exception:  # noqa: BLE001  # one bad pool must not fail a scrape
                _log.warning(
                    "pool_metrics_callback_failed", server=server, exc_info=True
                )
        return snapshots

    def _observe_pools(self, _options: CallbackOptions) -> Iterable[Observation]:
        return [
            Observation(n, {"server": s.server, "state": state})
            for s in self._snapshots()
            for state, n in (
                ("connecting", s.connecting),
                ("ready", s.ready),
                ("busy", s.busy),
                ("reauthenticating", s.reauthenticating),
                ("broken", s.broken),
            )
        ]

    def _observe_queues(self, _options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(s.waiting, {"server": s.server}) for s in self._snapshots()]


class PoolSnapshotLike(Protocol):
    """Structural twin of ``webapi.metrics.PoolSnapshot`` (no import: no cycle)."""

    @property
    def server(self) -> str: ...
    @property
    def connecting(self) -> int: ...
    @property
    def ready(self) -> int: ...
    @property
    def busy(self) -> int: ...
    @property
    def reauthenticating(self) -> int: ...
    @property
    def broken(self) -> int: ...
    @property
    def waiting(self) -> int: ...


class WebApiMetricsAdapter:
    """Implements the ``webapi.metrics.WebApiMetrics`` hooks on top of ``Metrics``
    (and child spans through ``Tracing``)."""

    __slots__ = ("_m", "_tracing")

    def __init__(self, metrics: Metrics, tracing: Tracing) -> None:
        self._m = metrics
        self._tracing = tracing

    def watch_pool(self, server: str, snapshot: PoolStatesCallback) -> None:
        self._m.register_pool(server, snapshot)

    def unwatch_pool(self, server: str) -> None:
        self._m.unregister_pool(server)

    def acquire(self, server: str, wait_seconds: float, *, ok: bool) -> None:
        self._m.record_pool_wait(server, wait_seconds, ok=ok)

    def handshake(self, server: str, seconds: float, *, ok: bool) -> None:
        self._m.record_handshake(server, ok=ok, seconds=seconds)
        self._tracing.record_child(
            "MT5 auth",
            seconds,
            {"mt5.server": server},
            None if ok else "AuthFailed",
        )

    def request(
        self, server: str, command: str, seconds: float, error: str | None
    ) -> None:
        self._m.record_mt5_request(server, command, seconds, error)
        self._tracing.record_child(
            f"MT5 {command}",
            seconds,
            {"mt5.server": server, "mt5.command": command},
            error,
        )

    def reconnect(self, server: str, reason: str) -> None:
        self._m.record_reconnect(server, reason)


@dataclass(eq=False)
class Telemetry:
    """Providers, /metrics endpoint, instruments. ``shutdown()`` is idempotent."""

    meter_provider: MeterProvider
    tracer_provider: TracerProvider | None  # None: spans are not recorded
    tracing: Tracing
    metrics: Metrics
    registry: CollectorRegistry
    metrics_port: int | None = None
    _httpd: WSGIServer | None = None
    _thread: threading.Thread | None = None
    _closed: bool = field(default=False)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def start(
        cls,
        settings: Settings | TelemetrySettings,
        *,
        install_global: bool = False,
    ) -> Telemetry:
        """Build providers and serve /metrics; ``install_global`` for the real process.

        OTel lets the global providers be set once per process, so tests leave them
        alone and use ``telemetry.tracer_provider`` explicitly.
        """
        tel = (
            settings if isinstance(settings, TelemetrySettings) else settings.telemetry
        )
        resource = Resource.create({SERVICE_NAME: tel.service_name})
        registry = CollectorRegistry(auto_describe=True)
        reader = PrometheusMetricReader(registry=registry)
        latency_view = View(
            instrument_name="mt5gw.*duration",
            aggregation=ExplicitBucketHistogramAggregation(LATENCY_BUCKETS_SECONDS),
        )
        meter_provider = MeterProvider(
            resource=resource, metric_readers=[reader], views=[latency_view]
        )
        tracer_provider = _tracer_provider(tel, resource)
        tracing = Tracing(
            None if tracer_provider is None else tracer_provider.get_tracer(METER_NAME)
        )
        metrics = Metrics(meter_provider.get_meter(METER_NAME))
        self = cls(
            meter_provider=meter_provider,
            tracer_provider=tracer_provider,
            tracing=tracing,
            metrics=metrics,
            registry=registry,
        )
        if tel.metrics_listen is not None:
            host, port = parse_host_port(tel.metrics_listen)
            try:
                httpd, thread = start_http_server(port, addr=host, registry=registry)
            except BaseException:
                self.shutdown()
                raise
            self._httpd, self._thread = httpd, thread
            self.metrics_port = int(httpd.server_port)
        if install_global:
            otel_metrics.set_meter_provider(meter_provider)
            if tracer_provider is not None:
                otel_trace.set_tracer_provider(tracer_provider)
        return self

    def shutdown(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.meter_provider.shutdown()
        if self.tracer_provider is not None:
            self.tracer_provider.shutdown()  # flushes batched spans


def _tracer_provider(
    tel: TelemetrySettings, resource: Resource
) -> TracerProvider | None:
    """A provider with its exporter, or None when spans would go nowhere."""
    if tel.traces_exporter == "none":
        return None
    provider = TracerProvider(
        resource=resource,
        # A caller's sampling decision is followed; our own roots use the ratio.
        sampler=ParentBased(TraceIdRatioBased(tel.trace_sample_ratio)),
    )
    if tel.traces_exporter == "console":
        provider.add_span_processor(
            SimpleSpanProcessor(ConsoleSpanExporter(out=sys.stdout))
        )
    else:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # noqa: PLC0415 - only when used
            OTLPSpanExporter,
        )

        endpoint = tel.otlp_endpoint
        provider.add_span_processor(
            BatchSpanProcessor(
                OTLPSpanExporter(
                    endpoint=endpoint.split("://", 1)[-1],
                    insecure=not endpoint.startswith("https://"),
                    timeout=10,
                )
            )
        )
    return provider
