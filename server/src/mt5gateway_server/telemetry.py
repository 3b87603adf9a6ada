"""Prometheus metrics and OpenTelemetry tracing; every instrument is defined here.

Metrics are ``prometheus_client`` instruments in a ``CollectorRegistry`` of their own
(tests and several instances never collide in the global registry), served on
``metrics_listen``. They were OpenTelemetry instruments behind the Prometheus exporter
until a histogram ``record`` (~4.8 µs) turned out to cost four times a
``prometheus_client`` ``observe`` on a path that records three per RPC. Pools and the
quote hub are read at scrape time (a collector), never pushed per call.

Traces stay OpenTelemetry: a TracerProvider is built only when spans go somewhere
(``traces_exporter`` console or otlp; see ``tracing.py``). The standard ``OTEL_*``
variables apply where the gateway has no setting of its own (headers, timeout, TLS
files, compression, batch sizes), and where its setting is left at the default
(exporter, endpoint, service name, sampler); a ``MT5GW_TELEMETRY__*`` value that is
set wins. ``OTEL_SDK_DISABLED=true`` turns traces off. docs/deployment.md lists them.
"""

from __future__ import annotations

import importlib.metadata
import os
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from opentelemetry import trace as otel_trace
from opentelemetry.environment_variables import OTEL_TRACES_EXPORTER
from opentelemetry.sdk.environment_variables import (
    OTEL_EXPORTER_OTLP_ENDPOINT,
    OTEL_EXPORTER_OTLP_PROTOCOL,
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
    OTEL_SDK_DISABLED,
    OTEL_TRACES_SAMPLER,
)
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.sdk.trace.sampling import ParentBased, Sampler, TraceIdRatioBased
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    disable_created_metrics,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from mt5gateway_server.log import get_logger
from mt5gateway_server.settings import (
    Settings,
    TelemetrySettings,
    parse_host_port,
)
from mt5gateway_server.tracing import Tracing

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from prometheus_client import Metric

__all__ = [
    "LATENCY_BUCKETS_SECONDS",
    "SERVICE_VERSION",
    "Metrics",
    "PoolSnapshotLike",
    "PoolStatesCallback",
    "Telemetry",
    "WebApiMetricsAdapter",
]

# The installed distribution's version: one source of truth (pyproject.toml).
SERVICE_VERSION = importlib.metadata.version("mt5gateway-server")
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
# Returns a number per MT5 server (quote hub: unsent quotes, subscriptions).
PerServerCallback = Callable[[], Mapping[str, int]]

_POOL_STATES = ("connecting", "ready", "busy", "reauthenticating", "broken")

_log = get_logger("telemetry")

# No ``*_created`` series next to every counter and histogram (process-wide switch).
disable_created_metrics()  # type: ignore[no-untyped-call]


class Metrics:
    """The gateway's instruments, defined once. Methods are cheap and never raise.

    Prometheus names, e.g. ``mt5gw_rpc_duration_seconds_bucket{method,code}``,
    ``mt5gw_rpc_errors_total``; the table is in docs/deployment.md.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self._pool_sources: dict[str, PoolStatesCallback] = {}
        self._quote_sources: tuple[PerServerCallback, PerServerCallback] | None = None
        self._lock = threading.Lock()
        latency = LATENCY_BUCKETS_SECONDS

        def histogram(name: str, doc: str, labels: list[str]) -> Histogram:
            return Histogram(name, doc, labels, registry=registry, buckets=latency)

        def counter(name: str, doc: str, labels: list[str]) -> Counter:
            return Counter(name, doc, labels, registry=registry)

        self.rpc_duration = histogram(
            "mt5gw_rpc_duration_seconds", "gRPC call duration", ["method", "code"]
        )
        self.rpc_errors = counter(
            "mt5gw_rpc_errors",
            "Failed gRPC calls",
            ["method", "code", "reason", "retcode"],
        )
        self.mt5_request_duration = histogram(
            "mt5gw_mt5_request_duration_seconds",
            "MT5 Web API request duration",
            ["server", "command"],
        )
        self.mt5_errors = counter(
            "mt5gw_mt5_errors",
            "Failed MT5 Web API requests",
            ["server", "command", "retcode"],
        )
        self.mt5_handshake_duration = histogram(
            "mt5gw_mt5_handshake_duration_seconds",
            "MT5 authentication handshake duration",
            ["server", "outcome"],
        )
        self.pool_wait_duration = histogram(
            "mt5gw_pool_wait_duration_seconds",
            "Time spent waiting for a pooled session",
            ["server", "outcome"],
        )
        self.mt5_handshakes = counter(
            "mt5gw_mt5_handshakes",
            "MT5 authentications by outcome",
            ["server", "outcome"],
        )
        self.mt5_reconnects = counter(
            "mt5gw_mt5_reconnects",
            "MT5 session reconnects/re-auths",
            ["server", "reason"],
        )
        self.active_streams = Gauge(
            "mt5gw_streams_active",
            "Open server-streaming RPCs",
            ["method"],
            registry=registry,
        )
        self.conflated_quotes = counter(
            "mt5gw_quotes_conflated",
            "Quotes replaced by a newer one in a slow subscriber queue",
            ["server"],
        )
        self.idempotency_replays = counter(
            "mt5gw_idempotency_replays",
            "Mutations answered from the idempotency store",
            ["method"],
        )
        self.write_outcomes = counter(
            "mt5gw_write_outcomes",
            "MT5 writes by outcome: succeeded, failed, not_sent, unknown, reconciled",
            ["method", "outcome"],
        )
        self.duplicate_writes = counter(
            "mt5gw_duplicate_writes",
            "Writes found applied more than once in MT5 (alert: needs an operator)",
            ["method"],
        )
        registry.register(_LiveState(self))

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
        self.rpc_duration.labels(method, code).observe(seconds)
        if code != "OK":
            self.rpc_errors.labels(
                method, code, reason, "" if retcode is None else str(retcode)
            ).inc()

    def stream_opened(self, method: str) -> None:
        self.active_streams.labels(method).inc()

    def stream_closed(self, method: str) -> None:
        self.active_streams.labels(method).dec()

    def record_conflated_quotes(self, server: str, count: int = 1) -> None:
        self.conflated_quotes.labels(server).inc(count)

    def record_idempotency_replay(self, method: str) -> None:
        self.idempotency_replays.labels(method).inc()

    def record_write_outcome(self, method: str, outcome: str) -> None:
        self.write_outcomes.labels(method, outcome).inc()

    def record_duplicate_write(self, method: str) -> None:
        self.duplicate_writes.labels(method).inc()

    # MT5 Web API and pool -------------------------------------------------

    def record_mt5_request(
        self, server: str, command: str, seconds: float, retcode: int | str | None
    ) -> None:
        """One MT5 request; ``retcode`` None/0 = success, else a retcode or the
        name of a transport error ("ReadTimeout")."""
        self.mt5_request_duration.labels(server, command).observe(seconds)
        if retcode:
            self.record_mt5_error(server, command, retcode)

    def record_mt5_error(self, server: str, command: str, retcode: int | str) -> None:
        """A failed request; ``retcode`` may be a name for transport errors."""
        self.mt5_errors.labels(server, command, str(retcode)).inc()

    def record_handshake(
        self, server: str, *, ok: bool, seconds: float | None = None
    ) -> None:
        outcome = "ok" if ok else "failed"
        self.mt5_handshakes.labels(server, outcome).inc()
        if seconds is not None:
            self.mt5_handshake_duration.labels(server, outcome).observe(seconds)

    def record_reconnect(self, server: str, reason: str = "") -> None:
        self.mt5_reconnects.labels(server, reason).inc()

    def record_pool_wait(self, server: str, seconds: float, *, ok: bool = True) -> None:
        """Time to acquire a session; ``ok=False``: the wait timed out."""
        self.pool_wait_duration.labels(server, "ok" if ok else "timeout").observe(
            seconds
        )

    def register_pool(self, server: str, snapshot: PoolStatesCallback) -> None:
        """Sample a pool's sessions per state and waiting callers at every scrape."""
        with self._lock:
            self._pool_sources[server] = snapshot

    def unregister_pool(self, server: str) -> None:
        with self._lock:
            self._pool_sources.pop(server, None)

    def register_quote_hub(
        self, queue_depth: PerServerCallback, subscribers: PerServerCallback
    ) -> None:
        """Sample the quote hub (unsent quotes, subscriptions per server) at scrapes."""
        with self._lock:
            self._quote_sources = (queue_depth, subscribers)

    def unregister_quote_hub(self) -> None:
        with self._lock:
            self._quote_sources = None

    def webapi_hooks(self, tracing: Tracing | None = None) -> WebApiMetricsAdapter:
        """The hooks object the web API session pools report to; with ``tracing``
        every MT5 request and handshake also becomes a child span of the RPC."""
        return WebApiMetricsAdapter(self, tracing or Tracing())

    def snapshots(self) -> list[PoolSnapshotLike]:
        with self._lock:
            sources = list(self._pool_sources.items())
        found = []
        for server, snapshot in sources:
            try:
                found.append(snapshot())
            except Exception:  # noqa: BLE001  # one bad pool must not fail a scrape
                _log.warning(
                    "pool_metrics_callback_failed", server=server, exc_info=True
                )
        return found

    def quote_state(self) -> tuple[Mapping[str, int], Mapping[str, int]]:
        with self._lock:
            sources = self._quote_sources
        if sources is None:
            return {}, {}
        try:
            return sources[0](), sources[1]()
        except Exception:  # noqa: BLE001  # must not fail a scrape
            _log.warning("quote_metrics_callback_failed", exc_info=True)
            return {}, {}


class _LiveState(Collector):
    """Gauges read at scrape time: pools (sessions per state, waiting callers) and
    the quote hub (unsent quotes, subscriptions)."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def describe(self) -> Iterator[Metric]:
        return iter(())  # collected lazily: nothing to check at registration

    def collect(self) -> Iterator[Metric]:
        sessions = GaugeMetricFamily(
            "mt5gw_pool_sessions",
            "MT5 sessions per pool and state",
            labels=["server", "state"],
        )
        waiting = GaugeMetricFamily(
            "mt5gw_pool_queue_depth",
            "Callers waiting for a session",
            labels=["server"],
        )
        for snap in self._metrics.snapshots():
            for state in _POOL_STATES:
                sessions.add_metric([snap.server, state], getattr(snap, state))
            waiting.add_metric([snap.server], snap.waiting)
        depth, subscribers = self._metrics.quote_state()
        queued = GaugeMetricFamily(
            "mt5gw_quotes_queue_depth",
            "Unsent (conflated) quotes waiting in stream queues",
            labels=["server"],
        )
        for server, n in depth.items():
            queued.add_metric([server], n)
        subs = GaugeMetricFamily(
            "mt5gw_quotes_subscribers",
            "Quote stream subscriptions per MT5 server",
            labels=["server"],
        )
        for server, n in subscribers.items():
            subs.add_metric([server], n)
        yield from (sessions, waiting, queued, subs)


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
    """Metrics registry and /metrics endpoint, tracing. ``shutdown()`` is idempotent."""

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
        """Build the registry and providers and serve /metrics; ``install_global`` for
        the real process (OTel lets the global tracer provider be set once)."""
        tel = (
            settings if isinstance(settings, TelemetrySettings) else settings.telemetry
        )
        registry = CollectorRegistry(auto_describe=True)
        Info(
            "mt5gw_build", "The gateway build serving these metrics", registry=registry
        ).info({"service_name": tel.service_name, "version": SERVICE_VERSION})
        tracer_provider = _tracer_provider(tel)
        tracing = Tracing(
            None if tracer_provider is None else tracer_provider.get_tracer(__name__)
        )
        self = cls(
            tracer_provider=tracer_provider,
            tracing=tracing,
            metrics=Metrics(registry),
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
        if install_global and tracer_provider is not None:
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
        if self.tracer_provider is not None:
            self.tracer_provider.shutdown()  # flushes batched spans


# The span exporters this build ships (OTLP over gRPC only).
_EXPORTERS = frozenset({"otlp", "console"})


def _tracer_provider(tel: TelemetrySettings) -> TracerProvider | None:
    """A provider with its exporters, or None when spans would go nowhere."""
    exporters = _trace_exporters(tel)
    if not exporters:
        return None
    provider = TracerProvider(resource=_resource(tel), sampler=_sampler(tel))
    for name in exporters:
        if name == "console":
            provider.add_span_processor(
                SimpleSpanProcessor(ConsoleSpanExporter(out=sys.stdout))
            )
        else:  # OTEL_BSP_* size the batches
            provider.add_span_processor(BatchSpanProcessor(_otlp_exporter(tel)))
    return provider


def _chosen(tel: TelemetrySettings, field: str) -> bool:
    """Set by the operator (environment or config file): it wins over OTEL_*."""
    return field in tel.model_fields_set


def _trace_exporters(tel: TelemetrySettings) -> list[str]:
    if os.environ.get(OTEL_SDK_DISABLED, "").strip().lower() == "true":
        return []
    names: list[str] = [tel.traces_exporter]
    from_env = os.environ.get(OTEL_TRACES_EXPORTER)
    if from_env and not _chosen(tel, "traces_exporter"):
        names = [name.strip().lower() for name in from_env.split(",")]
    unknown = sorted(set(names) - _EXPORTERS - {"none", ""})
    if unknown:
        _log.warning("traces_exporter_unsupported", exporters=unknown)
    return [name for name in dict.fromkeys(names) if name in _EXPORTERS]


def _resource(tel: TelemetrySettings) -> Resource:
    # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES are read by Resource.create.
    detected = Resource.create()
    named = not str(detected.attributes.get(SERVICE_NAME, "")).startswith(
        "unknown_service"
    )
    if named and not _chosen(tel, "service_name"):
        return detected
    return detected.merge(Resource({SERVICE_NAME: tel.service_name}))


def _sampler(tel: TelemetrySettings) -> Sampler | None:
    """None: the SDK's sampler from OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG."""
    if os.environ.get(OTEL_TRACES_SAMPLER) and not _chosen(tel, "trace_sample_ratio"):
        return None
    # A caller's sampling decision is followed; our own roots use the ratio.
    return ParentBased(TraceIdRatioBased(tel.trace_sample_ratio))


def _otlp_exporter(tel: TelemetrySettings) -> SpanExporter:
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # noqa: PLC0415 - only when used
        OTLPSpanExporter,
    )

    protocol = os.environ.get(OTEL_EXPORTER_OTLP_TRACES_PROTOCOL) or os.environ.get(
        OTEL_EXPORTER_OTLP_PROTOCOL, "grpc"
    )
    if protocol != "grpc":
        _log.warning("otlp_protocol_unsupported", protocol=protocol, using="grpc")
    # Headers, timeout, compression and TLS files always come from OTEL_EXPORTER_OTLP_*.
    env_endpoint = os.environ.get(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) or os.environ.get(
        OTEL_EXPORTER_OTLP_ENDPOINT
    )
    if env_endpoint and not _chosen(tel, "otlp_endpoint"):
        return OTLPSpanExporter()  # the endpoint (and its scheme's TLS) from OTEL_*
    endpoint = tel.otlp_endpoint
    return OTLPSpanExporter(
        endpoint=endpoint, insecure=not endpoint.startswith("https://")
    )
