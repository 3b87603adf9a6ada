"""A lean HTTP/1.1 client connection: one socket, one request at a time.

An MT5 Web API session *is* one keep-alive connection (authentication is bound to it,
docs/mt5-webapi.md#sessions), so this module models exactly that and nothing more: no
pool, no redirects, no proxies, no pipelining, no re-sending. ``Http1Connection`` is an
``asyncio.Protocol``; the answer is parsed incrementally in ``data_received`` and handed
to the waiting request through one future, so a typical exchange costs one
``transport.write`` and one wake-up.

Errors are this module's own (``HttpProtocolError``, ``ConnectionClosed``,
``AnswerTimeout``); ``session.py`` translates them into the Web API taxonomy and knows,
through ``Http1Connection.sent``, whether the request left.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    import ssl

MAX_HEADER_BYTES = 64 * 1024  # status line + headers (and chunked trailers)
MAX_BODY_BYTES = 256 * 1024 * 1024  # answer body
_MAX_CHUNK_LINE = 1024

_HEAD, _LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_CRLF, _TRAILERS, _TO_EOF = range(7)


class Http1Error(Exception):
    """Base of this module's errors."""


class HttpProtocolError(Http1Error):
    """The answer broke HTTP/1.1 framing or a size limit; the connection is closed."""


class ConnectionClosed(Http1Error):  # noqa: N818 - a state, like asyncio's names
    """The peer closed (or reset) the connection before the answer was complete."""


class AnswerTimeout(Http1Error):  # noqa: N818
    """No complete answer in time; the connection is closed (it is out of sync)."""


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    reason: str
    # Lower-case names; repeated fields joined with ", ".
    headers: dict[str, str]
    body: bytes


class Http1Connection(asyncio.Protocol):
    """One HTTP/1.1 keep-alive connection; build with ``await Http1Connection.open``.

    Requests are strictly sequential: ``request`` must not be called while another is
    in progress (the session's lock guarantees that).
    """

    def __init__(self, host: str, port: int, *, tls: bool) -> None:
        default = 443 if tls else 80
        bracketed = f"[{host}]" if ":" in host else host
        self.host_header = bracketed if port == default else f"{bracketed}:{port}"
        self.sent = False  # request bytes of the current exchange reached the transport
        self.requests = 0
        self.last_used = time.monotonic()
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._closed = False  # EOF, reset, close() or a framing error: never reuse
        self._lost: asyncio.Future[None] = self._loop.create_future()
        self._waiter: asyncio.Future[Response] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._buf = bytearray()
        self._scan = 0
        self._state = _HEAD
        self._method = "GET"
        self._status = 0
        self._reason = ""
        self._headers: dict[str, str] = {}
        self._keep_alive = True
        self._left = 0  # bytes of the current Content-Length body / chunk
        self._body = bytearray()

    # ------------------------------------------------------------------ opening

    @classmethod
    async def open(
        cls,
        host: str,
        port: int,
        *,
        ssl_context: ssl.SSLContext | None = None,
        connect_timeout: float,
    ) -> Http1Connection:
        """Connect (and complete TLS) within ``connect_timeout`` seconds.

        Raises ``TimeoutError`` or ``OSError`` (``ssl.SSLError`` included).
        """
        loop = asyncio.get_running_loop()
        conn = cls(host, port, tls=ssl_context is not None)
        async with asyncio.timeout(connect_timeout):
            await loop.create_connection(
                lambda: conn,
                host,
                port,
                ssl=ssl_context,
                server_hostname=host if ssl_context is not None else None,
            )
        return conn

    # ------------------------------------------------------------ asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport (uvloop's do not subclass asyncio.Transport).
        self._transport = cast("asyncio.Transport", transport)

    def data_received(self, data: bytes) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            # Bytes nobody asked for: the stream is out of sync, never reuse it.
            self._abort()
            return
        self._buf += data
        try:
            self._advance()
        except HttpProtocolError as exc:
            self._fail(exc)

    def eof_received(self) -> bool | None:
        self._on_eof()
        return None  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:  # noqa: ARG002
        self._on_eof()
        self._transport = None
        if not self._lost.done():
            self._lost.set_result(None)

    def _on_eof(self) -> None:
        self._closed = True
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if self._state == _TO_EOF:
            self._finish(bytes(self._body))
        else:
            self._fail(ConnectionClosed("connection closed before the answer ended"))

    # ------------------------------------------------------------------ state

    @property
    def closed(self) -> bool:
        return self._closed

    def reusable(self, idle_limit: float | None = None) -> bool:
        """True if a request may go out on this connection now.

        False after EOF/reset (e.g. the server's idle drop), ``Connection: close``, a
        framing error, a timeout, or when idle longer than ``idle_limit`` seconds.
        """
        transport = self._transport
        if self._closed or transport is None or transport.is_closing():
            return False
        return idle_limit is None or time.monotonic() - self.last_used <= idle_limit

    def close(self) -> None:
        self._closed = True
        transport = self._transport
        if transport is not None and not transport.is_closing():
            transport.close()

    def _abort(self) -> None:
        self._closed = True
        transport = self._transport
        if transport is not None:
            transport.abort()

    async def wait_closed(self, grace: float = 1.0) -> None:
        """Close and wait for the socket to be released (abort after ``grace`` s)."""
        self.close()
        if self._transport is None:
            return
        try:
            async with asyncio.timeout(grace):
                await asyncio.shield(self._lost)
        except TimeoutError:
            self._abort()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(grace):
                    await asyncio.shield(self._lost)

    # ------------------------------------------------------------------ request

    async def request(
        self,
        method: str,
        target: str,
        *,
        body: bytes | None = None,
        content_type: str = "application/json",
        answer_timeout: float,
    ) -> Response:
        """Send one request and read its whole answer within ``answer_timeout`` s.

        ``self.sent`` tells afterwards whether the bytes were handed to the transport.
        Any failure closes the connection. Nothing is ever re-sent.
        """
        self.sent = False
        transport = self._transport
        if self._closed or transport is None or transport.is_closing():
            raise ConnectionClosed("connection is closed")
        if self._waiter is not None:
            raise RuntimeError("concurrent request on one HTTP/1.1 connection")
        lines = [
            f"{method} {target} HTTP/1.1",
            f"Host: {self.host_header}",
            "Connection: keep-alive",
            "Accept: application/json",
            "Accept-Encoding: identity",
        ]
        if body is not None:
            lines.append(f"Content-Type: {content_type}")
            lines.append(f"Content-Length: {len(body)}")
        elif method in ("POST", "PUT", "PATCH"):
            lines.append("Content-Length: 0")
        lines.append("\r\n")
        head = "\r\n".join(lines).encode("latin-1")
        self._method = method
        self._state = _HEAD
        self._scan = 0
        self._body = bytearray()
        waiter: asyncio.Future[Response] = self._loop.create_future()
        self._waiter = waiter
        self._timer = self._loop.call_later(answer_timeout, self._on_timeout)
        try:
            transport.write(head if body is None else head + body)
            self.sent = True
            self.requests += 1
            return await waiter
        except BaseException:
            # Cancelled or failed mid-exchange: a late answer would desync the stream.
            self._abort()
            raise
        finally:
            self._timer.cancel()
            self._timer = None
            self._waiter = None
            self.last_used = time.monotonic()

    def _on_timeout(self) -> None:
        self._fail(AnswerTimeout("no complete answer in time"))

    def _fail(self, exc: Http1Error) -> None:
        self._abort()
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    def _finish(self, body: bytes) -> None:
        waiter = self._waiter
        self._state = _HEAD
        if self._buf:  # bytes beyond the answer: out of sync
            self._keep_alive = False
            self._buf.clear()
        if not self._keep_alive:
            self.close()
        if waiter is not None and not waiter.done():
            waiter.set_result(Response(self._status, self._reason, self._headers, body))

    # ------------------------------------------------------------------ parsing

    def _advance(self) -> None:  # noqa: C901, PLR0911, PLR0912, PLR0915 - one branch per state
        buf = self._buf
        while True:
            state = self._state
            if state == _HEAD:
                if not self._parse_head():
                    return
            elif state == _LENGTH:
                if len(buf) < self._left:
                    return
                left = self._left
                if left == len(buf):
                    body = bytes(buf)
                    buf.clear()
                else:
                    body = bytes(buf[:left])
                    del buf[:left]
                self._finish(body)
                return
            elif state == _CHUNK_SIZE:
                end = buf.find(b"\r\n")
                if end < 0:
                    if len(buf) > _MAX_CHUNK_LINE:
                        raise HttpProtocolError("chunk size line too long")
                    return
                line = bytes(buf[:end]).split(b";", 1)[0].strip()
                del buf[: end + 2]
                try:
                    size = int(line, 16)
                except ValueError:
                    raise HttpProtocolError("bad chunk size") from None
                if size < 0:
                    raise HttpProtocolError("bad chunk size")
                if size == 0:
                    self._state = _TRAILERS
                    self._scan = 0
                else:
                    if len(self._body) + size > MAX_BODY_BYTES:
                        raise HttpProtocolError("answer body too large")
                    self._left = size
                    self._state = _CHUNK_DATA
            elif state == _CHUNK_DATA:
                if not buf:
                    return
                take = min(self._left, len(buf))
                self._body += buf[:take]
                del buf[:take]
                self._left -= take
                if self._left:
                    return
                self._state = _CHUNK_CRLF
            elif state == _CHUNK_CRLF:
                if len(buf) < 2:
                    return
                if buf[:2] != b"\r\n":
                    raise HttpProtocolError("chunk not followed by CRLF")
                del buf[:2]
                self._state = _CHUNK_SIZE
            elif state == _TRAILERS:
                if buf[:2] == b"\r\n":
                    del buf[:2]
                    self._finish(bytes(self._body))
                    return
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(buf) > MAX_HEADER_BYTES:
                        raise HttpProtocolError("trailers too large")
                    return
                del buf[: end + 4]  # trailers carry nothing we use
                self._finish(bytes(self._body))
                return
            else:  # _TO_EOF: the body ends when the server closes
                self._body += buf
                buf.clear()
                if len(self._body) > MAX_BODY_BYTES:
                    raise HttpProtocolError("answer body too large")
                return

    def _parse_head(self) -> bool:  # noqa: C901, PLR0912, PLR0915 - RFC 9112 §6.3 in one place
        buf = self._buf
        end = buf.find(b"\r\n\r\n", max(0, self._scan - 3))
        if end < 0:
            if len(buf) > MAX_HEADER_BYTES:
                raise HttpProtocolError("answer header block too large")
            self._scan = len(buf)
            return False
        if end > MAX_HEADER_BYTES:
            raise HttpProtocolError("answer header block too large")
        lines = bytes(buf[:end]).decode("latin-1").split("\r\n")
        del buf[: end + 4]
        self._scan = 0
        version, _, rest = lines[0].partition(" ")
        code, _, reason = rest.partition(" ")
        if version not in ("HTTP/1.1", "HTTP/1.0") or len(code) != 3:
            raise HttpProtocolError(f"bad status line {lines[0][:40]!r}")
        try:
            status = int(code)
        except ValueError:
            raise HttpProtocolError(f"bad status line {lines[0][:40]!r}") from None
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if not colon or not name or name[-1] in " \t" or name[0] in " \t":
                raise HttpProtocolError("malformed header line")
            name = name.lower()
            value = value.strip()
            if name in headers:
                headers[name] = f"{headers[name]}, {value}"
            else:
                headers[name] = value
        if 100 <= status < 200:
            return True  # interim answer (100 Continue, 103): the real one follows
        self._status = status
        self._reason = reason
        self._headers = headers
        tokens = {t.strip().lower() for t in headers.get("connection", "").split(",")}
        if version == "HTTP/1.1":
            self._keep_alive = "close" not in tokens
        else:
            self._keep_alive = "keep-alive" in tokens
        if self._method == "HEAD" or status in (204, 304):
            self._finish(b"")
            return False
        te = headers.get("transfer-encoding")
        if te is not None:
            if "content-length" in headers:
                self._keep_alive = False  # RFC 9112 §6.3: smuggling smell, not reused
            if te.rsplit(",", 1)[-1].strip().lower() == "chunked":
                self._state = _CHUNK_SIZE
            else:
                self._keep_alive = False
                self._state = _TO_EOF
            return True
        length = headers.get("content-length")
        if length is not None:
            values = {v.strip() for v in length.split(",")}
            if len(values) != 1 or not next(iter(values)).isdigit():
                raise HttpProtocolError("bad Content-Length")
            size = int(values.pop())
            if size > MAX_BODY_BYTES:
                raise HttpProtocolError("answer body too large")
            self._left = size
            self._state = _LENGTH
            return True
        # Neither: the body runs to the server's close (RFC 9112 §6.3 rule 7).
        self._keep_alive = False
        self._state = _TO_EOF
        return True
