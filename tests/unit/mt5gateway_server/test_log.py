from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys

import pytest
import structlog
from hypothesis import given
from hypothesis import strategies as st
from mt5gateway_server import log
from mt5gateway_server.settings import Settings, TelemetrySettings
from opentelemetry.sdk.trace import TracerProvider
from pydantic import SecretStr
from structlog.testing import capture_logs

PASSWORD = "S3cr3t-Pa55"


@pytest.fixture
def out():
    stream = io.StringIO()
    yield stream
    structlog.reset_defaults()
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_mt5gw", False):
            root.removeHandler(handler)


def configure_json(out: io.StringIO, level: str = "info") -> None:
    log.configure(
        TelemetrySettings(log_format="json", log_level=level),  # type: ignore[arg-type]
        stream=out,
        cache_logger_on_first_use=False,
    )


def lines(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines() if line]


def test_redact_nested_structures():
    event = {
        "password": PASSWORD,
        "user": {
            "login": 1001,
            "pass_main": PASSWORD,
            "PassInvestor": PASSWORD,
            "groups": [{"api-key": PASSWORD, "name": "real"}],
        },
        "srv_rand_answer": "abc",
        "cli_rand": "def",
        "Authorization": "Bearer x",
        "secret": SecretStr(PASSWORD),
        "wrapped": SecretStr(PASSWORD),
        "url": f"redis://user:{PASSWORD}@host:6379/0",
    }
    red = log.redact(event)
    assert PASSWORD not in repr(red)
    assert isinstance(red, dict)
    assert red["user"]["login"] == 1001
    assert red["user"]["groups"][0]["name"] == "real"
    assert red["wrapped"] == log.REDACTED
    assert red["url"] == "redis://user:***@host:6379/0"


def test_capture_logs_sees_redacted_values():
    # capture_logs replaces the processors, so apply the redaction processor directly
    # and check the full chain separately below.
    with capture_logs(processors=[log.redact_secrets]) as captured:
        structlog.get_logger().info(
            "mt5_session_authenticated", server="main", password=PASSWORD, token="t"
        )
    assert captured == [
        {
            "event": "mt5_session_authenticated",
            "server": "main",
            "password": log.REDACTED,
            "token": log.REDACTED,
            "log_level": "info",
        }
    ]


def _fail() -> None:
    raise ValueError("boom")


def test_json_render_never_contains_the_password(out):
    configure_json(out)
    structlog.contextvars.bind_contextvars(request_id="r-1", api_key=PASSWORD)
    try:
        logger = log.get_logger("test")
        logger.info(
            "user_created",
            login=1001,
            body={"PassMain": PASSWORD, "nested": [{"pass_investor": PASSWORD}]},
            secret=SecretStr(PASSWORD),
        )
        try:
            _fail()
        except ValueError:
            logger.exception("handler_failed", password=PASSWORD)
    finally:
        structlog.contextvars.clear_contextvars()
    text = out.getvalue()
    assert PASSWORD not in text
    first, second = lines(out)
    assert first["event"] == "user_created"
    assert first["level"] == "info"
    assert first["logger"] == "test"
    assert first["request_id"] == "r-1"
    assert first["api_key"] == log.REDACTED
    assert str(first["timestamp"]).endswith("Z")
    assert second["level"] == "error"
    assert isinstance(second["exception"], list)  # dict_tracebacks


def _fail_holding(token: str) -> None:
    lease_token = token  # a frame local, like a claim token or a client's repr
    raise RuntimeError(f"failed after {len(lease_token)} characters")


def test_tracebacks_never_show_frame_locals(out):
    configure_json(out)
    logger = log.get_logger("test")
    try:
        _fail_holding(PASSWORD)
    except RuntimeError:
        logger.exception("write_claim_close_failed")
    text = out.getvalue()
    assert PASSWORD not in text
    ((entry,),) = [lines(out)]
    frames = entry["exception"][0]["frames"]  # type: ignore[index]
    assert frames
    assert all("locals" not in frame or not frame["locals"] for frame in frames)


def test_level_filtering(out):
    configure_json(out, level="warning")
    logger = log.get_logger()
    logger.info("hidden")
    logger.warning("shown")
    assert [e["event"] for e in lines(out)] == ["shown"]


def test_trace_and_span_ids_are_added(out):
    configure_json(out)
    tracer = TracerProvider().get_tracer("t")
    with tracer.start_as_current_span("rpc") as span:
        log.get_logger().info("inside")
        ctx = span.get_span_context()
    log.get_logger().info("outside")
    inside, outside = lines(out)
    assert inside["trace_id"] == format(ctx.trace_id, "032x")
    assert inside["span_id"] == format(ctx.span_id, "016x")
    assert "trace_id" not in outside


def test_stdlib_logging_goes_through_the_same_pipeline(out):
    configure_json(out)
    logging.getLogger("some.library").warning("lib says %s", "hi")
    (entry,) = lines(out)
    assert entry["event"] == "lib says hi"
    assert entry["logger"] == "some.library"
    assert entry["level"] == "warning"


def test_console_format(out):
    log.configure(
        Settings(telemetry={"log_format": "console"}),
        stream=out,
        cache_logger_on_first_use=False,
    )
    log.get_logger().info("hello_console", password=PASSWORD)
    text = out.getvalue()
    assert "hello_console" in text
    assert PASSWORD not in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text.splitlines()[0])


def test_auto_format_is_json_when_not_a_tty(out):
    log.configure(TelemetrySettings(), stream=out, cache_logger_on_first_use=False)
    log.get_logger().info("auto")
    assert lines(out)[0]["event"] == "auto"


_secret_values = st.text(alphabet="xyz0123", min_size=8, max_size=20).map(
    lambda s: "SECRET" + s
)
_keys = st.sampled_from(
    ["password", "Pass_Main", "pass-investor", "apiKey", "token", "srv_rand_answer"]
)
_plain_keys = st.sampled_from(["login", "group", "name", "comment"])


@st.composite
def _events(draw: st.DrawFn) -> tuple[object, str]:
    secret = draw(_secret_values)
    leaf = st.one_of(st.integers(), st.text(alphabet="abc", max_size=5))
    tree = st.recursive(
        st.dictionaries(_plain_keys, leaf, max_size=3),
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.dictionaries(_plain_keys, inner, max_size=3),
        ),
        max_leaves=10,
    )
    base = draw(tree)
    # Hide the secret under a sensitive key somewhere in the structure.
    return {"outer": [base, {draw(_keys): secret}], draw(_keys): secret}, secret


@given(_events())
def test_redaction_never_leaks_property(case: tuple[object, str]):
    event, secret = case
    assert secret not in repr(log.redact(event))


# -- processes sharing one stdout ---------------------------------------------------


def test_tag_logs_marks_structlog_and_stdlib_lines(out):
    configure_json(out)
    log.tag_logs(role="worker", worker=3)
    structlog.contextvars.clear_contextvars()  # what every RPC does: tags survive it
    log.get_logger("test").info("structlog_line")
    log.get_logger("test").info("own_value_wins", worker=9)
    logging.getLogger("some.library").warning("stdlib line")
    first, second, third = lines(out)
    assert (first["role"], first["worker"]) == ("worker", 3)
    assert second["worker"] == 9
    assert (third["event"], third["role"], third["worker"]) == (
        "stdlib line",
        "worker",
        3,
    )


def test_shared_stdout_writes_a_line_only_once_it_is_whole():
    read_fd, write_fd = os.pipe()
    os.set_blocking(read_fd, False)
    try:
        writer = log._LineWriter(write_fd)
        print("half", "a line", end="", file=writer)  # several write() calls
        with pytest.raises(BlockingIOError):
            os.read(read_fd, 100)
        print(" ends here", file=writer)
        assert os.read(read_fd, 100) == b"half a line ends here\n"
    finally:
        os.close(read_fd)
        os.close(write_fd)


_CHATTY_WORKER = """
import sys
from mt5gateway_server import log
if sys.argv[1] == "shared":
    log.share_stdout()
for i in range(3000):
    print("<" + sys.argv[2] * 300, i, sys.argv[2] * 300 + ">")
"""


def _interleave(mode: str) -> list[str]:
    """Two processes printing long lines to one unbuffered pipe at the same time."""
    read_fd, write_fd = os.pipe()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    procs = [
        subprocess.Popen(  # noqa: S603 - our own interpreter and script
            [sys.executable, "-c", _CHATTY_WORKER, mode, letter],
            stdout=write_fd,
            env=env,
        )
        for letter in "ab"
    ]
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        text = pipe.read().decode()
    for proc in procs:
        assert proc.wait(timeout=60) == 0
    return text.splitlines()


def test_shared_stdout_keeps_lines_of_concurrent_processes_whole():
    whole = re.compile(r"<(a{300}) \d+ \1>|<(b{300}) \d+ \2>")
    got = _interleave("shared")
    assert len(got) == 6000
    assert all(whole.fullmatch(line) for line in got)
