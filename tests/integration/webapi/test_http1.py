"""The session's own HTTP/1.1 connection over real sockets.

Edge cases run against tiny raw ``asyncio.start_server`` servers speaking the MT5
handshake (hash written here, independently of the client and of mt5sim); the rest
against a real mt5sim (plain and TLS).
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Self
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
from mt5gateway_server.webapi import (
    ConnectError,
    Mt5Session,
    OutcomeUnknown,
    ProtocolError,
    ReadError,
    ReadTimeout,
    ServerConfig,
    deadline_scope,
    http1,
)
from mt5sim import SimConfig, Simulator

from .conftest import server_config

PASSWORD = "Password1"


def _pw_hash(password: str) -> bytes:
    inner = hashlib.md5(password.encode("utf-16-le")).digest()  # noqa: S324
    return hashlib.md5(inner + b"WebAPI").digest()  # noqa: S324


def _answer(rand_hex: str) -> str:
    return hashlib.md5(_pw_hash(PASSWORD) + bytes.fromhex(rand_hex)).hexdigest()  # noqa: S324


# ----------------------------------------------------------------- raw fake server


@dataclass
class Req:
    conn: int  # 1-based connection number at the server
    method: str
    command: str  # path after /api/
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


def answer(
    payload: object,
    *,
    status: int = 200,
    extra: str = "",
) -> bytes:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    head = (
        f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    )
    return head.encode() + body


# Handler: (server, request, writer) -> True to keep the connection open.
Handler = Callable[["FakeMt5", Req, asyncio.StreamWriter], Awaitable[bool]]


async def default_handler(
    _fake: FakeMt5, req: Req, writer: asyncio.StreamWriter
) -> bool:
    writer.write(answer({"retcode": "0 Done", "answer": {"command": req.command}}))
    await writer.drain()
    return True


@dataclass
class FakeMt5:
    """An MT5-ish server over raw sockets that records every request it receives."""

    handler: Handler = default_handler
    half_close_after: str | None = None  # send FIN after answering this command
    requests: list[Req] = field(default_factory=list)
    connections: int = 0
    # Bytes a client wrote on a connection after the server half-closed it.
    after_fin: dict[int, bytes] = field(default_factory=dict)
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def commands(self, command: str) -> list[Req]:
        return [r for r in self.requests if r.command == command]

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        conn = self.connections
        try:
            while True:
                req = await self._read_request(conn, reader)
                if req is None:
                    return
                self.requests.append(req)
                if not await self._dispatch(req, writer):
                    return
                if self.half_close_after == req.command:
                    writer.write_eof()  # the idle drop: FIN, but still listening
                    self.after_fin[conn] = await reader.read()
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _read_request(
        self, conn: int, reader: asyncio.StreamReader
    ) -> Req | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return None
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ")
        headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        parts = urlsplit(target)
        return Req(
            conn=conn,
            method=method,
            command=unquote(parts.path).removeprefix("/api/"),
            query=dict(parse_qsl(parts.query)),
            headers=headers,
            body=body,
        )

    async def _dispatch(self, req: Req, writer: asyncio.StreamWriter) -> bool:
        if req.command == "auth/start":
            writer.write(
                answer(
                    {"retcode": "0 Done", "version_access": "1", "srv_rand": "11" * 16}
                )
            )
            return True
        if req.command == "auth/answer":
            assert req.query["srv_rand_answer"] == _answer("11" * 16)
            payload = {
                "retcode": "0 Done",
                "version_access": "1",
                "version_trade": "1",
                "cli_rand_answer": _answer(req.query["cli_rand"]),
            }
            writer.write(answer(payload))
            return True
        return await self.handler(self, req, writer)


def fake_config(fake: FakeMt5, **overrides: object) -> ServerConfig:
    return ServerConfig(url=fake.url, login=1000, password=PASSWORD, **overrides)  # type: ignore[arg-type]


async def open_session(fake: FakeMt5, **overrides: object) -> Mt5Session:
    return await Mt5Session.open(fake_config(fake, **overrides), ping=False)


# ------------------------------------------------------------------- framing


async def test_chunked_answer_in_small_pieces_keeps_the_connection():
    payload = json.dumps({"retcode": "0 Done", "answer": {"Total": "61"}}).encode()

    async def chunked(_fake: FakeMt5, _req: Req, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        pieces = [payload[:5], payload[5:17], payload[17:]]
        for piece in pieces:
            # A chunk extension, and the size line split across writes.
            frame = f"{len(piece):x};ext=1\r\n".encode() + piece + b"\r\n"
            for i in range(0, len(frame), 7):
                writer.write(frame[i : i + 7])
                await writer.drain()
                await asyncio.sleep(0.001)
        writer.write(b"0\r\nX-Trailer: 1\r\n\r\n")
        return True

    async with FakeMt5(handler=chunked) as fake:
        session = await open_session(fake)
        try:
            for _ in range(2):
                env = await session.request("user/total")
                assert env.retcode == 0
                assert env.answer == {"Total": "61"}
        finally:
            await session.aclose()
        assert fake.connections == 1  # the keep-alive connection was reused
        assert session.handshakes == 1
        assert len(fake.commands("user/total")) == 2


async def test_connection_close_answer_is_read_to_eof_then_reauthenticates():
    async def close_answer(
        _fake: FakeMt5, req: Req, writer: asyncio.StreamWriter
    ) -> bool:
        body = json.dumps({"retcode": "0 Done", "answer": {"n": req.conn}}).encode()
        # No Content-Length, no chunking: the body ends with the connection.
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.write(body[:4])
        await writer.drain()
        await asyncio.sleep(0.01)
        writer.write(body[4:])
        return False

    async with FakeMt5(handler=close_answer) as fake:
        session = await open_session(fake)
        try:
            first = await session.request("user/total")
            second = await session.request("user/total")
        finally:
            await session.aclose()
        assert first.answer == {"n": 1}
        # The closed connection was not reused: a new one, authenticated first.
        assert second.answer == {"n": 2}
        assert session.handshakes == 2
        assert [r.conn for r in fake.commands("auth/answer")] == [1, 2]
        assert fake.commands("quit") == []  # aclose never opens a connection


async def test_connection_close_with_content_length_is_not_reused():
    async def close_answer(
        _fake: FakeMt5, req: Req, writer: asyncio.StreamWriter
    ) -> bool:
        writer.write(
            answer(
                {"retcode": "0 Done", "answer": req.conn}, extra="Connection: close\r\n"
            )
        )
        await writer.drain()
        await asyncio.sleep(0.05)  # the client must not wait for the close
        return False

    async with FakeMt5(handler=close_answer) as fake:
        session = await open_session(fake)
        try:
            assert (await session.request("user/total")).answer == 1
            assert (await session.request("user/total")).answer == 2
        finally:
            await session.aclose()
        assert fake.connections == 2


async def test_an_encoded_answer_it_did_not_ask_for_is_unreadable():
    async def gzipped(_fake: FakeMt5, _req: Req, writer: asyncio.StreamWriter) -> bool:
        body = gzip.compress(
            json.dumps({"retcode": "0 Done", "answer": [1, 2]}).encode()
        )
        writer.write(answer(body, extra="Content-Encoding: gzip\r\n"))
        return True

    async with FakeMt5(handler=gzipped) as fake:
        session = await open_session(fake)
        try:
            with pytest.raises(ProtocolError, match="not JSON"):
                await session.request("user/total")
        finally:
            await session.aclose()
        assert fake.requests[0].headers["accept-encoding"] == "identity"


async def test_request_head_and_body():
    async with FakeMt5() as fake:
        session = await open_session(fake)
        try:
            await session.request(
                "user/add", {"login": 5, "name": "a b"}, body={"Name": "Jörg"}
            )
            await session.request("user/delete", {"login": 5}, write=True)
        finally:
            await session.aclose()
        add, delete = fake.commands("user/add")[0], fake.commands("user/delete")[0]
        assert add.method == "POST"
        assert add.query == {"login": "5", "name": "a b"}
        assert add.headers["content-type"] == "application/json"
        assert json.loads(add.body) == {"Name": "Jörg"}
        assert add.headers["host"] == fake.url.removeprefix("http://")
        assert add.headers["connection"] == "keep-alive"
        assert add.headers["accept"] == "application/json"
        # A bodyless write still says how long its (empty) body is.
        assert delete.method == "POST"
        assert delete.headers["content-length"] == "0"
        assert fake.commands("auth/start")[0].method == "GET"
        assert "content-length" not in fake.commands("auth/start")[0].headers


# ------------------------------------------------------- idle drop and lost answers


@pytest.mark.parametrize("write", [False, True])
async def test_idle_drop_is_noticed_before_sending(write):
    async with FakeMt5(half_close_after="user/total") as fake:
        session = await open_session(fake)
        try:
            await session.request("user/total")
            await asyncio.sleep(0.05)  # idle; the server's FIN arrives meanwhile
            env = await session.request("user/update", {"login": 1}, write=write)
            assert env.retcode == 0
        finally:
            await session.aclose()
        # Nothing went out on the dropped connection, not even the quit at close.
        assert fake.after_fin == {1: b""}
        (update,) = fake.commands("user/update")
        assert update.conn == 2
        assert [r.conn for r in fake.commands("auth/start")] == [1, 2]
        assert session.handshakes == 2


async def test_server_closing_mid_answer_on_a_write_is_outcome_unknown():
    async def cut(_fake: FakeMt5, req: Req, writer: asyncio.StreamWriter) -> bool:
        if req.command == "trade/balance":
            writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 200\r\n\r\n{"retcode"')
            await writer.drain()
            return False  # close mid-body
        return await default_handler(_fake, req, writer)

    async with FakeMt5(handler=cut) as fake:
        session = await open_session(fake)
        try:
            with pytest.raises(OutcomeUnknown) as info:
                await session.request(
                    "trade/balance", {"login": 7, "comment": "dep 42"}, write=True
                )
            assert info.value.params["comment"] == "dep 42"
            await asyncio.sleep(0.1)
            # The session works again, on a new authenticated connection.
            assert (await session.request("user/total")).retcode == 0
        finally:
            await session.aclose()
        # Sent exactly once: never re-sent by the transport or the session.
        assert len(fake.commands("trade/balance")) == 1
        assert fake.commands("user/total")[0].conn == 2


async def test_server_closing_mid_answer_on_a_read_is_a_read_error_not_resent():
    async def cut(_fake: FakeMt5, req: Req, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Le")
        await writer.drain()
        return False

    async with FakeMt5(handler=cut) as fake:
        session = await open_session(fake)
        try:
            with pytest.raises(ReadError):
                await session.request("user/total")
        finally:
            await session.aclose()
        assert len(fake.commands("user/total")) == 1


async def test_unsolicited_bytes_while_idle_retire_the_connection():
    async def chatty(_fake: FakeMt5, req: Req, writer: asyncio.StreamWriter) -> bool:
        writer.write(answer({"retcode": "0 Done", "answer": req.conn}))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")  # one too many
        return True

    async with FakeMt5(handler=chatty) as fake:
        session = await open_session(fake)
        try:
            assert (await session.request("user/total")).answer == 1
            await asyncio.sleep(0.05)
            assert (await session.request("user/total")).answer == 2
        finally:
            await session.aclose()
        assert session.handshakes == 2


async def test_handshake_split_over_two_connections_is_refused():
    async with FakeMt5() as fake:
        original = fake._dispatch

        async def close_after_start(req: Req, writer: asyncio.StreamWriter) -> bool:
            if req.command == "auth/start":
                payload = {"retcode": "0 Done", "srv_rand": "11" * 16}
                writer.write(answer(payload, extra="Connection: close\r\n"))
                return False
            return await original(req, writer)

        fake._dispatch = close_after_start  # type: ignore[method-assign]
        with pytest.raises(ConnectError, match="connection changed during handshake"):
            await open_session(fake)
        # The answer never goes out on another connection than the challenge.
        assert fake.commands("auth/answer") == []
        assert fake.connections == 1


# -------------------------------------------------------------------- limits


async def test_header_block_over_64_kib_is_a_protocol_error():
    async def huge(_fake: FakeMt5, req: Req, writer: asyncio.StreamWriter) -> bool:
        if req.command == "user/total":
            writer.write(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * (70 * 1024) + b"\r\n")
            await writer.drain()
            await asyncio.sleep(5)  # the client must not wait for the end
            return False
        return await default_handler(_fake, req, writer)

    async with FakeMt5(handler=huge) as fake:
        session = await open_session(fake)
        try:
            started = time.monotonic()
            with pytest.raises(ProtocolError, match="header block too large"):
                await session.request("user/total")
            assert time.monotonic() - started < 2
            # A write whose answer cannot be read has an unknown outcome.
            with pytest.raises(OutcomeUnknown):
                await session.request("user/total", write=True)
            # The broken connection is gone; the next command re-authenticates.
            assert (await session.request("user/get")).retcode == 0
        finally:
            await session.aclose()
        assert session.handshakes == 3
        assert len(fake.commands("user/total")) == 2


async def test_declared_body_over_limit_is_a_protocol_error():
    async def huge(_fake: FakeMt5, _req: Req, writer: asyncio.StreamWriter) -> bool:
        writer.write(
            f"HTTP/1.1 200 OK\r\nContent-Length: {300 * 2**20}\r\n\r\n".encode()
        )
        await writer.drain()
        await asyncio.sleep(5)
        return False

    async with FakeMt5(handler=huge) as fake:
        session = await open_session(fake)
        try:
            with pytest.raises(ProtocolError, match="too large"):
                await session.request("user/total")
        finally:
            await session.aclose()


async def test_chunked_body_over_limit_is_a_protocol_error(monkeypatch):
    monkeypatch.setattr(http1, "MAX_BODY_BYTES", 1000)

    async def endless(_fake: FakeMt5, req: Req, writer: asyncio.StreamWriter) -> bool:
        if req.command != "user/total":
            return await default_handler(_fake, req, writer)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(5):
            writer.write(b"190\r\n" + b"x" * 400 + b"\r\n")  # 5 x 400 bytes
        await writer.drain()
        await asyncio.sleep(5)
        return False

    async with FakeMt5(handler=endless) as fake:
        session = await open_session(fake)
        try:
            with pytest.raises(ProtocolError, match="too large"):
                await session.request("user/total")
            # Within the limit the same framing is fine.
            assert (await session.request("user/get")).retcode == 0
        finally:
            await session.aclose()


async def test_malformed_status_line_is_a_protocol_error():
    async def bad(_fake: FakeMt5, _req: Req, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"ICY 200 OK\r\nContent-Length: 0\r\n\r\n")
        return True

    async with FakeMt5(handler=bad) as fake:
        session = await open_session(fake)
        try:
            with pytest.raises(ProtocolError, match="bad status line"):
                await session.request("user/total")
        finally:
            await session.aclose()


# ------------------------------------------------------------------ timeouts


async def silent(_fake: FakeMt5, req: Req, writer: asyncio.StreamWriter) -> bool:
    if req.command == "user/total":
        await asyncio.sleep(10)
        return False
    return await default_handler(_fake, req, writer)


async def test_no_answer_is_a_read_timeout_and_the_connection_is_retired():
    async with FakeMt5(handler=silent) as fake:
        session = await open_session(fake, read_timeout=0.2)
        try:
            started = time.monotonic()
            with pytest.raises(ReadTimeout):
                await session.request("user/total")
            assert 0.15 < time.monotonic() - started < 1.5
            # A late answer could desync the old connection: a new one is used.
            assert (await session.request("user/get")).retcode == 0
            assert fake.commands("user/get")[0].conn == 2
        finally:
            await session.aclose()


async def test_deadline_caps_the_read_and_a_write_becomes_outcome_unknown():
    async with FakeMt5(handler=silent) as fake:
        session = await open_session(fake)  # read_timeout 30 s
        try:
            started = time.monotonic()
            with deadline_scope(0.2), pytest.raises(OutcomeUnknown):
                await session.request("user/total", write=True)
            assert time.monotonic() - started < 1.5
        finally:
            await session.aclose()
        assert len(fake.commands("user/total")) == 1


async def test_connect_refused_is_a_connect_error(unused_tcp_port):
    config = ServerConfig(
        url=f"http://127.0.0.1:{unused_tcp_port}", login=1000, password=PASSWORD
    )
    with pytest.raises(ConnectError, match="cannot connect"):
        await Mt5Session.open(config, ping=False)


# ---------------------------------------------------------------- mt5sim + TLS


class TestAgainstMt5sim:
    @pytest.fixture
    def sim_config(self):
        return SimConfig(tls=True, seed=1, ticks_per_second=0, idle_timeout=0.4)

    async def test_tls_requests_reuse_one_connection(self, sim, control):
        session = await Mt5Session.open(server_config(sim), ping=False)
        try:
            for _ in range(5):
                assert (await session.request("user/total")).retcode == 0
        finally:
            await session.aclose()
        stats = await control.stats()
        assert stats["handshakes"]["completed"] == 1
        assert stats["requests"]["user/total"] == 5
        assert stats["requests"]["quit"] == 1

    async def test_tls_idle_drop_reauthenticates(self, sim, control):
        session = await Mt5Session.open(server_config(sim), ping=False)
        try:
            await asyncio.sleep(1.0)  # past mt5sim's 0.4 s idle drop
            env = await session.request(
                "trade/balance", {"login": 1}, write=True, accept=frozenset({13})
            )
            assert env.retcode == 13  # answered (no such account): it was sent
        finally:
            await session.aclose()
        assert session.handshakes == 2
        stats = await control.stats()
        assert stats["requests"]["trade/balance"] == 1  # once, after re-auth

    async def test_wrong_ca_is_a_connect_error(self, sim):
        other_config = SimConfig(tls=True, seed=2, ticks_per_second=0)
        async with Simulator(other_config) as other:
            assert other.ca_file != sim.ca_file
            with pytest.raises(ConnectError, match="cannot connect"):
                await Mt5Session.open(
                    server_config(sim, ca_file=other.ca_file), ping=False
                )
            # Verification off (opt-in) accepts the unknown certificate.
            session = await Mt5Session.open(
                server_config(sim, ca_file=other.ca_file, tls_verify=False), ping=False
            )
            await session.aclose()

    async def test_plain_http_against_tls_port_fails_cleanly(self, sim):
        url = sim.url.replace("https://", "http://")
        with pytest.raises((ConnectError, ReadError, ProtocolError)):
            await Mt5Session.open(server_config(sim, url=url), ping=False)
