"""One authenticated MT5 Web API session = one dedicated keep-alive connection.

MT5 binds authentication to the TCP/TLS connection (docs/mt5-webapi.md#sessions), so a
session owns exactly one ``http1.Http1Connection``. When that connection is gone (never
opened, closed by the server's idle drop, reset, ``Connection: close``, idle past
``keepalive_timeout``), a request is stopped *before* anything connects or is sent and
the session re-authenticates on a new connection first. Nothing is ever re-sent.
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
from mt5gateway_server.webapi.http1 import (
    AnswerTimeout,
    ConnectionClosed,
    Http1Connection,
    HttpProtocolError,
)
from mt5gateway_server.webapi.metrics import NullMetrics, WebApiMetrics
from mt5gateway_server.webapi.retry import (
    Clock,
    NoBackoff,
    RetcodeAction,
    RetryPolicy,
    remaining,
    retcode_action,
)
from mt5gateway_server.webapi.tasks import spawn
from mt5gateway_server.webapi.wire import (
    Envelope,
    JsonBody,
    QueryValue,
    api_root,
    build_target,
    parse_envelope,
)

if TYPE_CHECKING:
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
    """The request would need a fresh (unauthenticated) connection; nothing was sent."""


class _Forbidden(Exception):  # noqa: N818 - internal signal
    """HTTP 403: the server does not consider this connection authenticated."""


class _ReauthRetcode(Exception):  # noqa: N818 - internal signal
    """A configured ``reauth_retcodes`` answer on an established session."""

    def __init__(self, env: Envelope) -> None:
        super().__init__(env.retcode)
        self.env = env


def _needs_login(exc: Exception) -> bool:
    return isinstance(exc, _NewConnection | _Forbidden | _ReauthRetcode)


# A request refused as unauthenticated (nothing applied) is repeated after a new login,
# at once; the third refusal in a row is final.
_REAUTHENTICATE = RetryPolicy(attempts=3, backoff=NoBackoff())


def scrub(params: Mapping[str, Any]) -> dict[str, str]:
    """Params as sent, without passwords (for OutcomeUnknown and logs)."""
    return {
        k: "<redacted>" if k.lower() in _SECRET_KEYS else str(v)
        for k, v in params.items()
        if v is not None
    }


def make_ssl(config: ServerConfig) -> ssl.SSLContext | None:
    """The client TLS context for ``config.url`` (None for plain ``http``)."""
    if not config.url.startswith("https"):
        return None
    if not config.tls_verify:
        # No certificate or host name checks: no CA (ca_file or the system's) is read.
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    return ssl.create_default_context(cafile=config.ca_file)


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
        base = yarl.URL(config.url)
        self._host = base.host or ""
        self._port = base.port or (443 if base.scheme == "https" else 80)
        self._root = api_root(base)
        self._tls = base.scheme == "https"
        self._ssl: ssl.SSLContext | None = None
        self._pw_hash = auth.password_hash(config.password.get_secret_value())
        self._lock = asyncio.Lock()
        self._conn: Http1Connection | None = None
        self._shut = False  # after close: no more exchanges
        self._authenticated = False
        self._allow_new_connection = False
        self._connections = 0
        self._sent = False
        self._last_activity = clock()
        self._ping_task: asyncio.Task[None] | None = None
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
        async with self._lock:
            await self._handshake()
            self.state = SessionState.READY
            self._last_activity = self._clock()
        if self._ping_enabled and self._ping_task is None:
            self._ping_task = spawn(
                self._ping_loop(), name=f"mt5-ping-{self.config.name}-{self.index}"
            )

    # ------------------------------------------------------------------ transport

    async def _open_connection(
        self, connect_timeout: float, command: str
    ) -> Http1Connection:
        if self._tls and self._ssl is None:
            self._ssl = make_ssl(self.config)  # config errors (bad ca_file) surface raw
        try:
            conn = await Http1Connection.open(
                self._host,
                self._port,
                ssl_context=self._ssl,
                connect_timeout=connect_timeout,
            )
        except TimeoutError as exc:
            raise ConnectError(
                "connect timed out", server=self.config.name, command=command
            ) from exc
        except OSError as exc:
            # Includes certificate and TLS errors: the handshake never completed.
            raise ConnectError(
                f"cannot connect: {type(exc).__name__}",
                server=self.config.name,
                command=command,
            ) from exc
        self._conn = conn
        self._connections += 1
        return conn

    async def _new_connection(
        self, command: str, total: float
    ) -> tuple[Http1Connection, float]:
        """Replace a dead (or missing) connection, if a handshake is under way."""
        old, self._conn = self._conn, None
        if old is not None:
            # Dropped by the server (EOF seen while idle), reset, Connection: close,
            # or idle too long: whatever it was authenticated for is gone.
            old.close()
        if not self._allow_new_connection:
            self._authenticated = False
            raise _NewConnection
        started = time.monotonic()
        conn = await self._open_connection(
            min(self.config.connect_timeout, total), command
        )
        total -= time.monotonic() - started
        if total <= 0:
            raise ConnectError(
                "timed out before sending", server=self.config.name, command=command
            )
        return conn, total

    async def _exchange(  # noqa: C901 - one except per transport failure
        self,
        method: str,
        command: str,
        params: Mapping[str, QueryValue],
        body: JsonBody = None,
    ) -> Envelope:
        """One HTTP exchange; translates transport errors (the only place)."""
        name = self.config.name
        self._sent = False
        if self._shut:
            raise ConnectError("session is closed", server=name, command=command)
        total = self.config.total_timeout
        left = remaining(self._clock)
        if left is not None:
            if left <= 0:
                raise DeadlineExceeded(
                    "deadline exceeded before sending", server=name, command=command
                )
            total = min(total, left)
        conn = self._conn
        if conn is None or not conn.reusable(self.config.keepalive_timeout):
            conn, total = await self._new_connection(command, total)
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        try:
            resp = await conn.request(
                method,
                build_target(self._root, command, params),
                body=data,
                answer_timeout=min(self.config.read_timeout, total),
            )
        except AnswerTimeout as exc:
            self._sent = conn.sent
            raise ReadTimeout(
                "no answer in time", server=name, command=command
            ) from exc
        except ConnectionClosed as exc:
            self._sent = conn.sent
            cls = ReadError if conn.sent else ConnectError
            raise cls(
                f"connection failed: {exc}", server=name, command=command
            ) from exc
        except HttpProtocolError as exc:
            self._sent = conn.sent
            raise ProtocolError(
                f"unreadable answer: {exc}", server=name, command=command
            ) from exc
        except OSError as exc:  # pragma: no cover - transports report via callbacks
            self._sent = conn.sent
            cls = ReadError if conn.sent else ConnectError
            raise cls(
                f"connection failed: {type(exc).__name__}", server=name, command=command
            ) from exc
        self._sent = True
        status = resp.status
        if status == 403:
            raise _Forbidden
        if status >= 500:
            raise ReadError(f"HTTP {status}", server=name, command=command)
        if status != 200:
            raise ProtocolError(f"HTTP {status}", server=name, command=command)
        return parse_envelope(resp.body)

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
        except _NewConnection as exc:
            # The challenge's connection closed before the answer: never answer on
            # another one (auth is bound to the connection).
            self.state = SessionState.BROKEN
            raise ConnectError(
                "connection changed during handshake", server=self.config.name
            ) from exc
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
        self._reload_password()
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
            # The answer goes over the challenge's connection or not at all.
            self._allow_new_connection = False
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

    def _reload_password(self) -> None:
        source = self.config.password_source
        if source is None:
            return
        try:
            pw_hash = auth.password_hash(source().get_secret_value())
        except Exception as exc:  # noqa: BLE001 - keep the last good password
            log.warning(
                "mt5_password_reload_failed",
                server=self.config.name,
                error=type(exc).__name__,
            )
            return
        if pw_hash != self._pw_hash:
            self._pw_hash = pw_hash
            log.info("mt5_password_reloaded", server=self.config.name, index=self.index)

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
        accept: frozenset[int] = frozenset(),
    ) -> Envelope:
        """Send one command on this session: retcode 0 and those in ``accept`` are
        returned, others raise ``RetcodeError`` (the same interface as
        ``SessionPool.request``, which adds retries over any session).

        Writes go as POST. Nothing is ever re-sent by the transport; a write whose
        request may have reached the server without an answer raises
        ``OutcomeUnknown``.
        """
        env = await self._request(command, params or {}, body, write=write)
        if env.retcode == 0 or env.retcode in accept:
            return env
        raise retcode_error(
            env.retcode, env.text, server=self.config.name, command=command
        )

    async def _request(
        self,
        command: str,
        params: Mapping[str, QueryValue],
        body: JsonBody,
        *,
        write: bool,
    ) -> Envelope:
        async with self._lock:
            if self.closed:
                raise ConnectError(
                    "session is closed", server=self.config.name, command=command
                )
            self.state = SessionState.BUSY
            started = self._clock()
            error: str | None = None
            try:
                env = await self._request_locked(command, params, body, write=write)
            except BaseException as exc:
                error = type(exc).__name__
                raise
            else:
                if env.retcode:
                    error = str(env.retcode)  # counted by retcode in the metrics
                return env
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

    async def _request_locked(
        self,
        command: str,
        params: Mapping[str, QueryValue],
        body: JsonBody,
        *,
        write: bool,
    ) -> Envelope:
        method = "POST" if write or body is not None else "GET"

        async def attempt() -> Envelope:
            established = self._authenticated
            if not established:
                await self._handshake()
                self.state = SessionState.BUSY
            env = await self._send(method, command, params, body, write=write)
            action = retcode_action(
                env.retcode,
                write=write,
                reauth=self.config.reauth_retcodes,
                established=established,
            )
            if action is RetcodeAction.REAUTH:
                raise _ReauthRetcode(env)
            return env

        def on_fail(exc: Exception, retry_in: float | None) -> None:
            # Each of these was refused before anything applied: log in again first.
            self._authenticated = False
            if isinstance(exc, _NewConnection):
                self._metrics.reconnect(self.config.name, "connection_replaced")
            elif isinstance(exc, _ReauthRetcode) and retry_in is not None:
                self._metrics.reconnect(self.config.name, "unauthenticated_retcode")
                log.info(
                    "mt5_session_reauth_on_retcode",
                    server=self.config.name,
                    command=command,
                    retcode=exc.env.retcode,
                )

        try:
            return await _REAUTHENTICATE.call(
                attempt, is_retryable=_needs_login, on_fail=on_fail
            )
        except _ReauthRetcode as exc:  # pragma: no cover - the repeat is fresh
            return exc.env
        except _Forbidden:
            self.state = SessionState.BROKEN
            raise AuthError(
                "HTTP 403 after re-authentication",
                server=self.config.name,
                command=command,
            ) from None
        except _NewConnection:  # pragma: no cover - three fresh connections in a row
            raise ConnectError(
                "connection keeps changing", server=self.config.name, command=command
            ) from None

    async def _send(
        self,
        method: str,
        command: str,
        params: Mapping[str, QueryValue],
        body: JsonBody,
        *,
        write: bool,
    ) -> Envelope:
        """One exchange; a write that may have reached MT5 becomes OutcomeUnknown."""
        try:
            return await self._exchange(method, command, params, body)
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
        await self.request("test/access")

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
            self._close_task = spawn(
                self._close(send_quit=send_quit),
                name=f"mt5-session-close-{self.config.name}-{self.index}",
            )
        await asyncio.shield(self._close_task)

    async def _close(self, *, send_quit: bool) -> None:
        task = self._ping_task
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        conn = self._conn
        if send_quit and self._authenticated and conn is not None and conn.reusable():
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2.0), self._lock:
                    # No new connection for a logout: only quit the one we have.
                    await self._exchange("GET", "quit", {})
        self._authenticated = False
        self._shut = True
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.wait_closed()
        self.state = SessionState.CLOSED
