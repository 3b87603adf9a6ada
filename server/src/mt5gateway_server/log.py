"""structlog set-up: JSON lines to stdout, contextvars, OTel ids, secrets redacted.

Events are snake_case facts with fields (``log.info("mt5_session_reauthenticated",
server="main")``), never f-strings. Redaction is the safety net, not the policy: code
must not log secrets in the first place. ``serve --workers N`` processes share one
stdout (``share_stdout``) and say which process they are (``tag_logs``).
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import os
import re
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import IO, TYPE_CHECKING, TextIO, cast

import structlog
from opentelemetry import trace
from pydantic import SecretBytes, SecretStr
from structlog.tracebacks import ExceptionDictTransformer

from mt5gateway_server.settings import Settings, TelemetrySettings

if TYPE_CHECKING:
    from structlog.typing import (
        EventDict,
        FilteringBoundLogger,
        Processor,
        WrappedLogger,
    )

__all__ = [
    "REDACTED",
    "SENSITIVE_KEYS",
    "add_otel_ids",
    "configure",
    "get_logger",
    "redact",
    "redact_secrets",
    "share_stdout",
    "shared_processors",
    "tag_logs",
]

REDACTED = "***"

# Compared after lower-casing and dropping "-" and "_", so "api-key", "apiKey" and
# "API_KEY" all match. MT5 handshake values (srv_rand_answer, cli_rand) are included.
SENSITIVE_KEYS: frozenset[str] = frozenset(
    {
        "password",
        "passwd",
        "pass",
        "passmain",
        "passinvestor",
        "newpassword",
        "oldpassword",
        "apikey",
        "apikeys",
        "xapikey",
        "authorization",
        "proxyauthorization",
        "cookie",
        "setcookie",
        "srvrand",
        "srvrandanswer",
        "clirand",
        "clirandanswer",
        "secret",
        "clientsecret",
        "token",
        "accesstoken",
        "refreshtoken",
        "passwordfilecontents",
    }
)

# user:password@ in URLs (redis://, https://) inside any string value.
_URL_CREDENTIALS = re.compile(
    r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*):[^@/\s]+@"
)

_MAX_DEPTH = 8


def _is_sensitive(key: object) -> bool:
    if not isinstance(key, str):
        return False
    return _is_sensitive_name(key)


@functools.lru_cache(maxsize=4096)
def _is_sensitive_name(key: str) -> bool:
    # Log keys are a small fixed vocabulary: normalise each one once, not per line.
    norm = key.lower().replace("_", "").replace("-", "")
    return norm in SENSITIVE_KEYS or norm.endswith(("password", "secret", "apikey"))


# Values that can hold no secret; most log values are these (fast path).
_PLAIN = (int, float, bool, type(None))


def redact(value: object, _depth: int = 0) -> object:  # noqa: PLR0911 - one per kind
    """A copy of ``value`` with secrets masked: sensitive keys, SecretStr, URL creds."""
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, (SecretStr, SecretBytes)):
        return REDACTED
    if isinstance(value, str):
        # The pattern needs a scheme: most strings skip the regex engine.
        if "://" in value:
            value = _URL_CREDENTIALS.sub(r"\g<scheme>\g<user>:" + REDACTED + "@", value)
        return value
    if _depth >= _MAX_DEPTH:
        return value
    if isinstance(value, Mapping):
        return {
            k: REDACTED if _is_sensitive(k) else redact(v, _depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [redact(v, _depth + 1) for v in value]
        return items if isinstance(value, list) else tuple(items)
    return value


def redact_secrets(
    _logger: WrappedLogger, _method: str, event_dict: EventDict
) -> EventDict:
    """structlog processor: mask values of sensitive keys anywhere in the event."""
    # Runs for every log line (one per RPC): numbers and strings without "://" (the
    # usual values) are left alone without a call. Only existing keys are assigned,
    # so iterating the dict while doing it is safe.
    for key, value in event_dict.items():
        if _is_sensitive(key):
            event_dict[key] = REDACTED
        elif not isinstance(value, _PLAIN) and (
            not isinstance(value, str) or "://" in value
        ):
            event_dict[key] = redact(value)
    return event_dict


def add_otel_ids(
    _logger: WrappedLogger, _method: str, event_dict: EventDict
) -> EventDict:
    """Add trace_id/span_id of OpenTelemetry's current span, read at log time (see
    docs/architecture.md#logs-and-traces): in a call, its server span (``tracing``
    attaches it to OpenTelemetry's context)."""
    ctx = trace.get_current_span().get_span_context()
    if ctx.is_valid:
        event_dict.setdefault("trace_id", format(ctx.trace_id, "032x"))
        event_dict.setdefault("span_id", format(ctx.span_id, "016x"))
    return event_dict


# Tracebacks as JSON, without frame locals: a local may hold a token, a password or a
# client whose repr carries one, and redaction runs on the event dict, not on them.
_DICT_TRACEBACKS = structlog.processors.ExceptionRenderer(
    ExceptionDictTransformer(show_locals=False)
)


def shared_processors() -> list[Processor]:
    """Everything up to (not including) rendering, in order."""
    return [
        structlog.contextvars.merge_contextvars,
        _name_logger,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_otel_ids,
        # After contextvars so bound values are redacted too.
        redact_secrets,
        structlog.processors.StackInfoRenderer(),
        _DICT_TRACEBACKS,
    ]


def _use_console(fmt: str, stream: IO[str]) -> bool:
    if fmt == "console":
        return True
    if fmt == "json":
        return False
    isatty: Callable[[], bool] | None = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def configure(
    settings: Settings | TelemetrySettings,
    *,
    stream: TextIO | None = None,
    cache_logger_on_first_use: bool = True,
) -> None:
    """Configure structlog (and route stdlib logging through the same output).

    Tests pass ``cache_logger_on_first_use=False`` so they can reconfigure.
    """
    telemetry = (
        settings if isinstance(settings, TelemetrySettings) else settings.telemetry
    )
    out: TextIO = stream if stream is not None else sys.stdout
    level = logging.getLevelNamesMapping()[telemetry.log_level.upper()]
    console = _use_console(telemetry.log_format, out)
    renderer: Processor = (
        structlog.dev.ConsoleRenderer(colors=False)
        if console
        else structlog.processors.JSONRenderer(sort_keys=False)
    )
    processors = shared_processors()
    if console:
        # The console renderer formats exceptions itself.
        processors.remove(_DICT_TRACEBACKS)
    structlog.configure(
        processors=[*processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=cache_logger_on_first_use,
    )
    _configure_stdlib(level, out, renderer, processors)


def _configure_stdlib(
    level: int,
    out: TextIO,
    renderer: Processor,
    processors: Iterable[Processor],
) -> None:
    # Third-party libraries (grpc, aiohttp, redis) log through stdlib logging; give
    # them the same format so stdout stays one JSON object per line.
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                structlog.stdlib.add_logger_name,
                *processors,
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_mt5gw", False):
            root.removeHandler(old)
    handler._mt5gw = True  # type: ignore[attr-defined]  # noqa: SLF001
    root.addHandler(handler)
    root.setLevel(level)


def get_logger(name: str | None = None, **initial: object) -> FilteringBoundLogger:
    """A lazy structlog logger (safe at import time); ``name`` is logged as ``logger``.

    structlog reserves the ``logger`` keyword, so the name travels as
    ``_logger_name`` and ``_name_logger`` renames it.
    """
    if name is not None:
        initial = {_LOGGER_NAME_KEY: name, **initial}
    return cast("FilteringBoundLogger", structlog.get_logger(**initial))


_LOGGER_NAME_KEY = "_logger_name"


def _name_logger(
    _logger: WrappedLogger, _method: str, event_dict: EventDict
) -> EventDict:
    name = event_dict.pop(_LOGGER_NAME_KEY, None)
    if name is not None:
        event_dict.setdefault("logger", name)
    return event_dict


# -- processes sharing one stdout (serve --workers N) ---------------------------------


def tag_logs(**fields: object) -> None:
    """Add ``fields`` to every log line of this process (structlog and stdlib).

    Per-RPC code clears structlog's contextvars, so the fields live in a processor
    prepended to the configured chains instead.
    """

    def add_fields(
        _logger: WrappedLogger, _method: str, event_dict: EventDict
    ) -> EventDict:
        for key, value in fields.items():
            event_dict.setdefault(key, value)
        return event_dict

    processors: list[Processor] = [add_fields, *structlog.get_config()["processors"]]
    structlog.configure(processors=processors)
    for handler in logging.getLogger().handlers:
        formatter = handler.formatter
        if isinstance(formatter, structlog.stdlib.ProcessorFormatter):
            formatter.processors = [add_fields, *formatter.processors]


class _LineWriter(io.TextIOBase):
    """stdout for processes sharing one: each log line leaves in one ``write(2)``.

    ``print`` writes the text and its newline separately, and an unbuffered stdout
    (``PYTHONUNBUFFERED``) turns each into a system call, so two workers' lines
    interleave mid-line. Lines up to PIPE_BUF (4 KiB) are atomic on a pipe.
    """

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd
        self._parts: list[str] = []
        self._lock = threading.Lock()

    encoding = "utf-8"

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def isatty(self) -> bool:
        return os.isatty(self._fd)

    def write(self, text: str) -> int:
        with self._lock:
            self._parts.append(text)
            if text.endswith("\n"):
                self._flush_locked()
        return len(text)

    def flush(self) -> None:
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        data = "".join(self._parts).encode("utf-8", errors="replace")
        self._parts.clear()
        with contextlib.suppress(BrokenPipeError):
            while data:
                data = data[os.write(self._fd, data) :]


def share_stdout() -> None:
    """Make this process's stdout safe to share with sibling processes."""
    with contextlib.suppress(AttributeError, io.UnsupportedOperation, ValueError):
        sys.stdout.flush()
        sys.stdout = cast("TextIO", _LineWriter(sys.stdout.fileno()))
