"""One authenticated MT5 Web API session = one dedicated keep-alive connection.

MT5 binds authentication to the TCP/TLS connection (PROTOCOL.md §3.1), so a session owns
an ``aiohttp.ClientSession`` over ``TCPConnector(limit=1)`` and watches, through a
``TraceConfig``, for aiohttp opening a new connection: that connection would be
unauthenticated, so the request is stopped *before* it is sent and the session
re-authenticates first.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import re
import ssl
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import aiohttp
import structlog
import yarl

from mt5gateway_server.webapi import auth
from mt5gateway_server.webapi.errors import (
    AuthError,
    ConnectError,
    DeadlineExceeded,
    OutcomeUnknown,
    ProtocolError,
    ReadError,
    ReadTimeout,
    ServerNotAuthenticated,
    TransportError,
    WebApiError,
    retcode_error,
)
from mt5gateway_server.webapi.metrics import NullMetrics, WebApiMetrics
from mt5gateway_server.webapi.retry import Clock, remaining
from mt5gateway_server.webapi.wire import (
    Envelope,
    JsonBody,
    QueryValue,
    build_url,
    parse_envelope,
)

if TYPE_CHECKING:
    from types import SimpleNamespace

    from mt5gateway_server.webapi.config import ServerConfig

log = structlog.get_logger("mt5gateway.webapi")

_HEX32 = re.compile(r"^[0-9a-fA-F]{32}$")
# Body fields never echoed into OutcomeUnknown or logs.
_SECRET_KEYS = frozenset(
    {
        "password",
        "passmain",
        "passinvestor",
        "pass_main",
        "pass_investor",
        "phonepassword",
    }
)


class SessionState(enum.Enum):
    CONNECTING = "connecting"
    READY = "ready"
    BUSY = "busy"
    REAUTHENTICATING = "reauthenticating"
    BROKEN = "broken"
    CLOSED = "closed"


_IN_PROGRESS = frozenset(
    {SessionState.BUSY, SessionState.CONNECTING, SessionState.REAUTHENTICATING}
)


class _NewConnection(Exception):  # noqa: N818 - internal signal, not an error
    """aiohttp was about to open a fresh (unauthenticated) connection."""


class _Forbidden(Exception):  # noqa: N818 - internal signal
    """HTTP 403: the server does not consider this connection authenticated."""


def scrub(params: Mapping[str, Any]) -> dict[str, str]:
    """Params as sent, without passwords (for OutcomeUnknown and logs)."""
    return {
        k: "<redacted>" if k.lower() in _SECRET_KEYS else str(v)
        for k, v in params.items()
        if v is not None
    }


def make_ssl(config: ServerConfig) -> ssl.SSLContext | bool:
    if not config.url.startswith("https"):
        return True  # ignored for plain http
    if config.tls_insecure:
        return False
    ctx = ssl.create_default_context(cafile=config.ca_file)
    if not config.tls_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Mt5Session:
    """Build with ``await Mt5Session.open(config)``; ``__init__`` does no I/O."""

    def __init__(
        self,
        config: ServerConfig,
        *,
        index: int = 0,
        metrics: WebApiMetrics | None = None,
        on_broken: Callable[[Mt5Session], None] | None = None,
        clock: Clock = time.monotonic,
        ping: bool = True,
    ) -> None:
        self.config = config
        self.index = index
        self.state = SessionState.CONNECTING
        self.handshakes = 0
        self.requests = 0
        self.version_access = ""
        self.version_trade = ""
        self._metrics = metrics or NullMetrics()
        self._on_broken = on_broken
        self._clock = clock
        self._ping_enabled = ping
        self._base = yarl.URL(config.url)
        self._pw_hash = auth.password_hash(config.password.get_secret_value())
        self._lock = asyncio.Lock()
        self._http: aiohttp.ClientSession | None = None
        self._authenticated = False
        self._allow_new_connection = False
        self._connections = 0
        self._sent = False
        self._last_activity = clock()
        self._ping_task: asyncio.Task[None] | None = None
        self._default_timeout: tuple[ServerConfig, aiohttp.ClientTimeout] | None = None
        self._close_task: asyncio.Future[None] | None = None

    def __repr__(self) -> str:
        return (
            f"<Mt5Session {self.config.name}#{self.index} {self.state.value}"
            f" handshakes={self.handshakes} requests={self.requests}>"
        )

    @property
    def last_activity(self) -> float:
        return self._last_activity

    @property
    def closed(self) -> bool:
        return self._close_task is not None

    @classmethod
    async def open(
        cls,
        config: ServerConfig,
        *,
        index: int = 0,
        metrics: WebApiMetrics | None = None,
        on_broken: Callable[[Mt5Session], None] | None = None,
        ping: bool = True,
    ) -> Mt5Session:
        session = cls(
            config, index=index, metrics=metrics, on_broken=on_broken, ping=ping
        )
        try:
            await session.connect()
        except BaseException:
            await asyncio.shield(session.aclose(send_quit=False))
            raise
        return session

    async def connect(self) -> None:
        if self._http is None:
            self._http = self._make_http()
        async with self._lock:
            await self._handshake()
            self.state = SessionState.READY
            self._last_activity = self._clock()
        if self._ping_enabled and self._ping_task is None:
            self._ping_task = asyncio.create_task(
                self._ping_loop(), name=f"mt5-ping-{self.config.name}-{self.index}"
            )

    # ------------------------------------------------------------ aiohttp plumbing

    def _make_http(self) -> aiohttp.ClientSession:
        trace = aiohttp.TraceConfig()
        trace.on_connection_create_start.append(self._on_connection_create_start)
        trace.on_request_headers_sent.append(self._on_request_headers_sent)
        connector = aiohttp.TCPConnector(
            limit=1,
            keepalive_timeout=self.config.keepalive_timeout,
            ssl=make_ssl(self.config),
        )
        return aiohttp.ClientSession(
            connector=connector,
            trace_configs=[trace],
            # Harmless if the server uses no cookie (§3.1); unsafe=True allows IP hosts.
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            headers={"Connection": "keep-alive", "Accept": "application/json"},
        )

    async def _on_connection_create_start(
        self,
        _session: aiohttp.ClientSession,
        _ctx: SimpleNamespace,
        _params: aiohttp.TraceConnectionCreateStartParams,
    ) -> None:
        # Raising here aborts the request before a socket exists (nothing leaks, nothing
        # is sent); the caller re-authenticates on the new connection first.
        if not self._allow_new_connection:
            self._authenticated = False
            raise _NewConnection
        self._connections += 1

    async def _on_request_headers_sent(
        self,
        _session: aiohttp.ClientSession,
        _ctx: SimpleNamespace,
        _params: aiohttp.TraceRequestHeadersSentParams,
    ) -> None:
        self._sent = True

    def _timeout(self) -> aiohttp.ClientTimeout:
        total = self.config.total_timeout
        left = remaining(self._clock)
        if left is None or 0 < total <= left:
            # No (or a looser) deadline: the same timeouts every time, built once.
            cached = self._default_timeout
            if cached is None or cached[0] is not self.config:
                cached = self._default_timeout = (
                    self.config,
                    self._build_timeout(total),
                )
            return cached[1]
        if left is not None:
            if left <= 0:
                raise DeadlineExceeded(
                    "deadline exceeded before sending", server=self.config.name
                )
            total = min(total, left)
        return self._build_timeout(total)

    def _build_timeout(self, total: float) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(
            total=total,
            sock_connect=min(self.config.connect_timeout, total),
            sock_read=min(self.config.read_timeout, total),
        )

    async def _exchange(  # noqa: C901 - one except per aiohttp failure
        self,
        method: str,
        command: str,
        params: Mapping[str, QueryValue],
        body: JsonBody = None,
    ) -> Envelope:
        """One HTTP exchange; translates aiohttp/asyncio errors (the only place)."""
        if self._http is None or self._http.closed:
            raise ConnectError(
                "session is closed", server=self.config.name, command=command
            )
        url = build_url(self._base, command, params)
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json"} if data is not None else None
        name = self.config.name
        self._sent = False
        try:
            async with self._http.request(
                method, url, data=data, headers=headers, timeout=self._timeout()
            ) as resp:
                status = resp.status
                payload = await resp.read()
        except _NewConnection:
            raise
        except aiohttp.ConnectionTimeoutError as exc:
            raise ConnectError(
                "connect timed out", server=name, command=command
            ) from exc
        except aiohttp.ClientConnectorError as exc:
            # Includes certificate and TLS errors: the handshake never completed.
            raise ConnectError(
                f"cannot connect: {type(exc).__name__}", server=name, command=command
            ) from exc
        except TimeoutError as exc:  # sock_read or total (aiohttp's are subclasses)
            if self._sent:
                raise ReadTimeout(
                    "no answer in time", server=name, command=command
                ) from exc
            raise ConnectError(
                "timed out before sending", server=name, command=command
            ) from exc
        except (aiohttp.ClientError, OSError) as exc:
            cls = ReadError if self._sent else ConnectError
            raise cls(
                f"connection failed: {type(exc).__name__}", server=name, command=command
            ) from exc
        if status == 403:
            raise _Forbidden
        if status >= 500:
            raise ReadError(f"HTTP {status}", server=name, command=command)
        if status != 200:
            raise ProtocolError(f"HTTP {status}", server=name, command=command)
        return parse_envelope(payload)

    # ------------------------------------------------------------------ handshake

    async def _handshake(self) -> None:
        first = self.handshakes == 0 and not self._authenticated
        self.state = SessionState.CONNECTING if first else SessionState.REAUTHENTICATING
        self._authenticated = False
        started = self._clock()
        ok = False
        try:
            await self._handshake_exchange()
            ok = True
        except _NewConnection as exc:  # pragma: no cover - guarded by the flag
            raise ConnectError("connection changed during handshake") from exc
        except _Forbidden as exc:
            self.state = SessionState.BROKEN
            raise AuthError(
                "handshake rejected (HTTP 403)", server=self.config.name
            ) from exc
        except WebApiError:
            self.state = SessionState.BROKEN
            raise
        finally:
            self._metrics.handshake(self.config.name, self._clock() - started, ok=ok)
        self.handshakes += 1
        if not first:
            self._metrics.reconnect(self.config.name, "reauthenticated")
            log.info(
                "mt5_session_reauthenticated", server=self.config.name, index=self.index
            )

    async def _handshake_exchange(self) -> None:
        cfg = self.config
        self._allow_new_connection = True
        try:
            start = await self._exchange(
                "GET",
                "auth/start",
                {
                    "version": cfg.version,
                    "agent": cfg.agent,
                    "login": cfg.login,
                    "type": "manager",
                },
            )
            self._check_auth_retcode(start, "auth/start")
            srv_rand = str(start.fields.get("srv_rand", ""))
            if not _HEX32.match(srv_rand):
                raise ProtocolError("auth/start: bad srv_rand", server=cfg.name)
            cli_rand = auth.new_cli_rand()
            connections = self._connections
            answer = await self._exchange(
                "GET",
                "auth/answer",
                {
                    "srv_rand_answer": auth.rand_answer(self._pw_hash, srv_rand),
                    "cli_rand": cli_rand,
                },
            )
            if self._connections != connections:
                # The answer went over another connection than the challenge.
                raise ConnectError(
                    "connection changed during handshake", server=cfg.name
                )
            self._check_auth_retcode(answer, "auth/answer")
            expected = auth.rand_answer(self._pw_hash, cli_rand)
            if not auth.answers_match(
                expected, str(answer.fields.get("cli_rand_answer", ""))
            ):
                log.warning(
                    "mt5_server_not_authenticated", server=cfg.name, index=self.index
                )
                raise ServerNotAuthenticated(
                    "server not authenticated: cli_rand_answer mismatch",
                    server=cfg.name,
                )
        finally:
            self._allow_new_connection = False
        self.version_access = str(answer.fields.get("version_access", ""))
        self.version_trade = str(answer.fields.get("version_trade", ""))
        self._authenticated = True

    def _check_auth_retcode(self, env: Envelope, step: str) -> None:
        if env.retcode == 0:
            return
        # Auth retcodes raise AuthFailed; others (1018 server busy, ...) keep their
        # class so the pool treats them as transient rather than bad credentials.
        raise retcode_error(
            env.retcode, env.text, server=self.config.name, command=step
        )

    # ------------------------------------------------------------------ requests

    async def request(
        self,
        command: str,
        params: Mapping[str, QueryValue] | None = None,
        *,
        body: JsonBody = None,
        write: bool = False,
    ) -> Envelope:
        """Send one command; retcodes are returned in the envelope, not raised.

        Writes go as POST (aiohttp re-sends idempotent methods on its own after a
        disconnect; it never re-sends POST). A write whose request may have reached
        the server without an answer raises ``OutcomeUnknown``.
        """
        params = params or {}
        async with self._lock:
            if self.closed:
                raise ConnectError(
                    "session is closed", server=self.config.name, command=command
                )
            self.state = SessionState.BUSY
            started = self._clock()
            error: str | None = None
            try:
                return await self._request_locked(command, params, body, write=write)
            except BaseException as exc:
                error = type(exc).__name__
                raise
            finally:
                self.requests += 1
                self._last_activity = self._clock()
                self._metrics.request(
                    self.config.name, command, self._last_activity - started, error
                )
                # A handshake interrupted by cancellation leaves CONNECTING or
                # REAUTHENTICATING behind; the next request re-authenticates anyway.
                if self.state in _IN_PROGRESS:
                    self.state = SessionState.READY

    async def _request_locked(  # noqa: C901 - one branch per failure class
        self,
        command: str,
        params: Mapping[str, QueryValue],
        body: JsonBody,
        *,
        write: bool,
    ) -> Envelope:
        method = "POST" if write or body is not None else "GET"
        for attempt in (1, 2, 3):
            if not self._authenticated:
                await self._handshake()
                self.state = SessionState.BUSY
            try:
                return await self._exchange(method, command, params, body)
            except _NewConnection:
                # Stopped before a new socket existed; unless aiohttp itself already
                # sent it once (it re-sends GETs after a disconnect), nothing left.
                if write and self._sent:
                    raise self._unknown(
                        command, params, body, "connection lost"
                    ) from None
                self._metrics.reconnect(self.config.name, "connection_replaced")
                continue
            except _Forbidden:
                # The server refused the request as unauthenticated: it was not applied.
                self._authenticated = False
                if attempt < 3:
                    continue
                self.state = SessionState.BROKEN
                raise AuthError(
                    "HTTP 403 after re-authentication",
                    server=self.config.name,
                    command=command,
                ) from None
            except DeadlineExceeded:
                raise  # the caller ran out of time; the session is fine
            except (ReadError, ReadTimeout) as exc:
                self.state = SessionState.BROKEN
                if write:
                    raise self._unknown(command, params, body, exc.message) from exc
                raise
            except TransportError:
                self.state = SessionState.BROKEN
                raise
            except ProtocolError as exc:
                # An answer we cannot read says nothing about whether a write applied.
                if write:
                    raise self._unknown(command, params, body, exc.message) from exc
                raise
        raise ConnectError(  # pragma: no cover - three fresh connections in a row
            "connection keeps changing", server=self.config.name, command=command
        )

    def _unknown(
        self, command: str, params: Mapping[str, QueryValue], body: JsonBody, why: str
    ) -> OutcomeUnknown:
        sent: dict[str, Any] = dict(params)
        if isinstance(body, Mapping):
            sent.update(body)
        log.warning(
            "mt5_write_outcome_unknown", server=self.config.name, command=command
        )
        return OutcomeUnknown(
            f"write sent, outcome unknown: {why}",
            command=command,
            params=scrub(sent),
            server=self.config.name,
        )

    async def ping(self) -> None:
        env = await self.request("test/access")
        if env.retcode != 0:
            raise retcode_error(
                env.retcode, env.text, server=self.config.name, command="test/access"
            )

    async def _ping_loop(self) -> None:
        interval = self.config.ping_interval
        while not self.closed:
            wait = self._last_activity + interval - self._clock()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            if self._lock.locked() or self.state is not SessionState.READY:
                await asyncio.sleep(interval / 4)
                continue
            try:
                await self.ping()
            except WebApiError as exc:
                log.warning(
                    "mt5_session_ping_failed",
                    server=self.config.name,
                    index=self.index,
                    error=type(exc).__name__,
                )
                self.state = SessionState.BROKEN
                if self._on_broken is not None:
                    self._on_broken(self)
                return

    # ------------------------------------------------------------------ shutdown

    async def aclose(self, *, send_quit: bool = True) -> None:
        """Idempotent and cancellation-safe: the close finishes even if the caller is
        cancelled."""
        if self._close_task is None:
            self._close_task = asyncio.ensure_future(self._close(send_quit=send_quit))
        await asyncio.shield(self._close_task)

    async def _close(self, *, send_quit: bool) -> None:
        task = self._ping_task
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        http = self._http
        if http is None:
            self.state = SessionState.CLOSED
            return
        if send_quit and self._authenticated and not http.closed:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2.0), self._lock:
                    # No new connection for a logout: only quit the one we have.
                    await self._exchange("GET", "quit", {})
        self._authenticated = False
        await http.close()
        self.state = SessionState.CLOSED
