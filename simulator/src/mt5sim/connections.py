"""Sessions bound to the TCP connection (docs/mt5-webapi.md#sessions).

Every accepted connection gets a ``Connection`` keyed by aiohttp's per-connection
protocol object; it is forgotten when the connection closes, so a new connection always
starts unauthenticated. Idle connections are closed by aiohttp's keep-alive timer, set
to ``idle_timeout`` (it also runs from the moment a connection opens).
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from aiohttp import web

from mt5sim.auth import Handshake

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Iterator

    from aiohttp.web_protocol import RequestHandler

    from mt5sim.commands.base import Manager

_ids = itertools.count(1)


class Connection:
    __slots__ = ("handshake", "id", "manager", "protocol", "requests", "trans_ids")

    def __init__(self, protocol: RequestHandler) -> None:
        self.id = next(_ids)
        self.protocol = protocol
        self.handshake = Handshake()
        self.manager: Manager | None = None
        self.requests = 0
        # trans_ids answered to this session (used when trans_id_scope="connection").
        self.trans_ids: set[int] = set()

    @property
    def authenticated(self) -> bool:
        return self.manager is not None

    def close(self) -> None:
        """Close the socket now; an in-flight request gets no answer."""
        self.protocol.force_close()

    def __repr__(self) -> str:
        login = self.manager.login if self.manager else None
        return (
            f"Connection(id={self.id}, state={self.handshake.state.value}, "
            f"login={login}, requests={self.requests})"
        )


class ConnectionRegistry:
    __slots__ = ("_by_protocol", "opened_total")

    def __init__(self) -> None:
        self._by_protocol: dict[RequestHandler, Connection] = {}
        self.opened_total = 0

    def opened(self, protocol: RequestHandler) -> Connection:
        conn = Connection(protocol)
        self._by_protocol[protocol] = conn
        self.opened_total += 1
        return conn

    def closed(self, protocol: RequestHandler) -> None:
        conn = self._by_protocol.pop(protocol, None)
        if conn is not None:
            conn.manager = None
            conn.handshake.reset()

    def get(self, protocol: RequestHandler) -> Connection:
        conn = self._by_protocol.get(protocol)
        if conn is None:
            # A request still being handled after its connection closed: a
            # throw-away, unauthenticated state that is never registered.
            return Connection(protocol)
        return conn

    def __iter__(self) -> Iterator[Connection]:
        return iter(list(self._by_protocol.values()))

    def __len__(self) -> int:
        return len(self._by_protocol)

    def authenticated(self) -> list[Connection]:
        return [c for c in self._by_protocol.values() if c.authenticated]

    def sessions_of(self, login: int) -> int:
        return sum(
            1
            for c in self._by_protocol.values()
            if c.manager is not None and c.manager.login == login
        )


class TrackingServer(web.Server):
    """aiohttp's low-level server, telling the registry about connections."""

    def __init__(
        self,
        handler: Any,  # noqa: ANN401 - aiohttp's private handler type
        registry: ConnectionRegistry,
        **kwargs: Any,  # noqa: ANN401
    ) -> None:
        super().__init__(handler, **kwargs)
        self.registry = registry

    def connection_made(
        self, handler: RequestHandler, transport: asyncio.Transport
    ) -> None:
        super().connection_made(handler, transport)
        self.registry.opened(handler)

    def connection_lost(
        self, handler: RequestHandler, exc: BaseException | None = None
    ) -> None:
        self.registry.closed(handler)
        super().connection_lost(handler, exc)
