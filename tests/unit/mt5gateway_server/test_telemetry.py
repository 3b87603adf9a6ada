from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
import threading
import types
import urllib.request

import pytest
from mt5gateway_server.feeds.hub import Feed, FeedKey, QuoteHub
from mt5gateway_server.settings import TelemetrySettings
from mt5gateway_server.telemetry import Telemetry
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased
from structlog.testing import capture_logs


@pytest.fixture(autouse=True)
def no_otel_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts without OTEL_* variables (CI may have some)."""
    for name in list(os.environ):
        if name.startswith("OTEL_"):
            monkeypatch.delenv(name)


@pytest.fixture
def telemetry():
    tel = Telemetry.start(TelemetrySettings(metrics_listen="127.0.0.1:0"))
    yield tel
    tel.shutdown()


def scrape(port: int) -> str:
    url = f"http://127.0.0.1:{port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as resp:
        assert resp.status == 200
        return resp.read().decode()


def series(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("mt5gw_")]


def find(text: str, name: str, *labels: str) -> float:
    for line in series(text):
        head, _, value = line.rpartition(" ")
        if head.split("{", 1)[0] == name and all(label in head for label in labels):
            return float(value)
    raise AssertionError(f"{name} {labels} not in:\n" + "\n".join(series(text)))


async def test_metrics_are_scraped_over_http(telemetry):
    assert telemetry.metrics_port
    m = telemetry.metrics
    m.record_rpc("/mt5gateway.v1.UserService/GetUser", "OK", 0.0012)
    m.record_rpc(
        "/mt5gateway.v1.UserService/GetUser",
        "NOT_FOUND",
        0.002,
        reason="MT5_NOT_FOUND",
        retcode=13,
    )
    m.record_mt5_request("main", "user/get", 0.001, None)
    m.record_mt5_request("main", "user/get", 0.001, 13)
    m.record_mt5_error("main", "user/update", "ReadTimeout")
    m.record_handshake("main", ok=True)
    m.record_handshake("main", ok=False)
    m.record_reconnect("main", "http_403")
    m.record_pool_wait("main", 0.0004)
    m.register_pool("main", lambda: Snapshot(ready=4, busy=1, waiting=3))
    m.register_pool("broken", lambda: 1 / 0)  # type: ignore[arg-type,return-value]
    m.stream_opened("/mt5gateway.v1.QuoteService/StreamQuotes")
    m.stream_opened("/mt5gateway.v1.QuoteService/StreamQuotes")
    m.stream_closed("/mt5gateway.v1.QuoteService/StreamQuotes")
    m.record_conflated_quotes("main", 7)
    m.record_idempotency_replay("/mt5gateway.v1.TradeService/CreateBalanceOperation")

    text = await asyncio.to_thread(scrape, telemetry.metrics_port)
    get_user = 'method="/mt5gateway.v1.UserService/GetUser"'
    assert find(text, "mt5gw_rpc_duration_seconds_count", get_user, 'code="OK"') == 1
    assert (
        find(
            text,
            "mt5gw_rpc_errors_total",
            'code="NOT_FOUND"',
            'reason="MT5_NOT_FOUND"',
            'retcode="13"',
        )
        == 1
    )
    assert find(text, "mt5gw_rpc_duration_seconds_bucket", 'le="0.0025"') >= 1
    assert find(text, "mt5gw_mt5_request_duration_seconds_count", 'server="main"') == 2
    assert find(text, "mt5gw_mt5_errors_total", 'retcode="13"') == 1
    assert find(text, "mt5gw_mt5_errors_total", 'retcode="ReadTimeout"') == 1
    assert find(text, "mt5gw_mt5_handshakes_total", 'outcome="ok"') == 1
    assert find(text, "mt5gw_mt5_handshakes_total", 'outcome="failed"') == 1
    assert find(text, "mt5gw_mt5_reconnects_total", 'reason="http_403"') == 1
    assert find(text, "mt5gw_pool_wait_duration_seconds_count") == 1
    assert find(text, "mt5gw_pool_queue_depth", 'server="main"') == 3
    assert find(text, "mt5gw_pool_sessions", 'state="ready"') == 4
    assert find(text, "mt5gw_pool_sessions", 'state="busy"') == 1
    assert 'server="broken"' not in text
    assert find(text, "mt5gw_streams_active") == 1
    assert find(text, "mt5gw_quotes_conflated_total") == 7
    assert find(text, "mt5gw_idempotency_replays_total") == 1

    m.unregister_pool("main")
    text = await asyncio.to_thread(scrape, telemetry.metrics_port)
    assert "mt5gw_pool_sessions{" not in text


def test_shutdown_is_idempotent_and_closes_the_port():
    tel = Telemetry.start(TelemetrySettings(metrics_listen="127.0.0.1:0"))
    port = tel.metrics_port
    assert port
    tel.shutdown()
    tel.shutdown()
    with pytest.raises(OSError):  # noqa: PT011
        scrape(port)


def test_two_instances_do_not_collide():
    a = Telemetry.start(TelemetrySettings(metrics_listen="127.0.0.1:0"))
    b = Telemetry.start(TelemetrySettings(metrics_listen=None))
    try:
        a.metrics.record_handshake("x", ok=True)
        b.metrics.record_handshake("x", ok=True)
        assert b.metrics_port is None
        assert find(scrape(a.metrics_port or 0), "mt5gw_mt5_handshakes_total") == 1
    finally:
        a.shutdown()
        b.shutdown()


def test_no_tracer_provider_unless_spans_go_somewhere():
    tel = Telemetry.start(TelemetrySettings(metrics_listen=None))
    assert tel.tracer_provider is None
    assert not tel.tracing.recording
    tel.shutdown()


def test_console_exporter_records_spans(capsys):
    tel = Telemetry.start(
        TelemetrySettings(
            metrics_listen=None, service_name="gw-t", traces_exporter="console"
        )
    )
    assert tel.tracer_provider is not None
    tel.tracer_provider.get_tracer("t").start_span("mt5.request").end()
    tel.shutdown()
    out = capsys.readouterr().out
    assert '"name": "mt5.request"' in out
    assert '"service.name": "gw-t"' in out


def _processors(tel: Telemetry) -> list[object]:
    assert tel.tracer_provider is not None
    return list(tel.tracer_provider._active_span_processor._span_processors)


def test_otel_sdk_disabled_turns_traces_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    tel = Telemetry.start(
        TelemetrySettings(metrics_listen=None, traces_exporter="otlp")
    )
    assert tel.tracer_provider is None
    assert not tel.tracing.recording


def test_otel_traces_exporter_applies_unless_the_setting_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console,otlp")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
    tel = Telemetry.start(TelemetrySettings(metrics_listen=None))
    kinds = [type(p) for p in _processors(tel)]
    assert kinds == [SimpleSpanProcessor, BatchSpanProcessor]
    tel.shutdown()
    chosen = TelemetrySettings(metrics_listen=None, traces_exporter="none")
    assert Telemetry.start(chosen).tracer_provider is None


def test_unsupported_otel_exporters_are_named_in_a_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "zipkin")
    with capture_logs() as logs:
        tel = Telemetry.start(TelemetrySettings(metrics_listen=None))
    assert tel.tracer_provider is None
    (warning,) = [e for e in logs if e["event"] == "traces_exporter_unsupported"]
    assert warning["exporters"] == ["zipkin"]


def test_otel_service_name_and_sampler_apply_unless_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_SERVICE_NAME", "billing-gw")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_off")
    tel = Telemetry.start(
        TelemetrySettings(metrics_listen=None, traces_exporter="console")
    )
    assert tel.tracer_provider is not None
    attributes = tel.tracer_provider.resource.attributes
    assert attributes["service.name"] == "billing-gw"
    assert attributes["deployment.environment"] == "prod"
    assert tel.tracer_provider.sampler is ALWAYS_OFF
    tel.shutdown()
    chosen = TelemetrySettings(
        metrics_listen=None,
        traces_exporter="console",
        service_name="gw-main",
        trace_sample_ratio=0.5,
    )
    tel = Telemetry.start(chosen)
    assert tel.tracer_provider is not None
    assert tel.tracer_provider.resource.attributes["service.name"] == "gw-main"
    assert isinstance(tel.tracer_provider.sampler, ParentBased)
    tel.shutdown()


def test_the_default_service_name_is_the_settings_one() -> None:
    tel = Telemetry.start(
        TelemetrySettings(metrics_listen=None, traces_exporter="console")
    )
    assert tel.tracer_provider is not None
    assert tel.tracer_provider.resource.attributes["service.name"] == "mt5gateway"
    tel.shutdown()


@dataclasses.dataclass
class Snapshot:
    server: str = "main"
    size: int = 5
    connecting: int = 1
    ready: int = 2
    busy: int = 1
    reauthenticating: int = 0
    broken: int = 1
    waiting: int = 6


async def test_webapi_hooks_adapter(telemetry):
    hooks = telemetry.metrics.webapi_hooks()
    hooks.watch_pool("main", Snapshot)
    hooks.acquire("main", 0.01, ok=True)
    hooks.acquire("main", 5.0, ok=False)
    hooks.handshake("main", 0.02, ok=True)
    hooks.request("main", "user/get", 0.003, None)
    hooks.request("main", "user/get", 0.003, "ReadTimeout")
    hooks.reconnect("main", "ping_failed")
    text = await asyncio.to_thread(scrape, telemetry.metrics_port)
    assert find(text, "mt5gw_pool_sessions", 'state="ready"') == 2
    assert find(text, "mt5gw_pool_sessions", 'state="broken"') == 1
    assert find(text, "mt5gw_pool_queue_depth") == 6
    assert (
        find(text, "mt5gw_pool_wait_duration_seconds_count", 'outcome="timeout"') == 1
    )
    assert find(text, "mt5gw_mt5_handshake_duration_seconds_count") == 1
    assert find(text, "mt5gw_mt5_errors_total", 'retcode="ReadTimeout"') == 1
    assert find(text, "mt5gw_mt5_reconnects_total", 'reason="ping_failed"') == 1


def test_scrape_thread_reads_the_quote_hub_while_streams_come_and_go():
    """The /metrics thread reads hub state the event loop mutates (streams open and
    close all the time): a scrape must not fail (and drop the gauges) because a
    subscriber dict changed size under it."""

    class Sub:  # hashable by identity, like Subscription
        pending = ()

    tel = Telemetry.start(TelemetrySettings(metrics_listen=None))
    hub = types.SimpleNamespace(feeds={})
    feed = Feed.__new__(Feed)
    feed.key = FeedKey("main")
    feed.subscribers = {}
    hub.feeds[feed.key] = feed
    subs = [Sub() for _ in range(2000)]
    for sub in subs:
        feed.subscribers[sub] = None  # type: ignore[index]
    tel.metrics.register_quote_hub(
        lambda: QuoteHub.queue_depth_by_server(hub),  # type: ignore[arg-type]
        lambda: QuoteHub.subscribers_by_server(hub),  # type: ignore[arg-type]
    )
    failures: list[BaseException] = []
    stop = threading.Event()

    def churn() -> None:
        extra = [Sub() for _ in range(50)]
        while not stop.is_set():
            for sub in extra:
                feed.subscribers[sub] = None  # type: ignore[index]
            for sub in extra:
                del feed.subscribers[sub]  # type: ignore[arg-type]

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    thread = threading.Thread(target=churn)
    thread.start()
    try:
        for _ in range(300):
            try:
                _, counts = tel.metrics.quote_state()
            except BaseException as exc:  # noqa: BLE001
                failures.append(exc)
                break
            if "main" not in counts:
                failures.append(AssertionError("gauges dropped from a scrape"))
                break
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(interval)
        tel.shutdown()
    assert not failures
