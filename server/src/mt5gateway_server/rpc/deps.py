"""What every servicer gets: built once in ``app.py``, passed to ``__init__``."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mt5gateway_server.errors import ServerNotFoundError
from mt5gateway_server.rpc.interceptors import current_call
from mt5gateway_server.rpc.services.common import CurrencyCache

if TYPE_CHECKING:
    from collections.abc import Callable

    from mt5gateway_server.settings import Settings
    from mt5gateway_server.telemetry import Metrics
    from mt5gateway_server.webapi import PoolManager, SessionPool, WebApiClient
    from mt5gateway_server.writes import WriteEngine

__all__ = ["ServiceDeps"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceDeps:
    pools: PoolManager
    settings: Settings
    # Every MT5 write goes through it: exactly once, audited.
    writes: WriteEngine
    metrics: Metrics | None = None
    # Wall clock (seconds since the epoch); injected so tests control it.
    clock: Callable[[], float] = field(default=time.time)
    # The server a request with an empty `server` field goes to.
    default_server: str = ""
    # Group -> deposit currency (Money fields), shared by all services.
    currencies: CurrencyCache = field(default_factory=CurrencyCache)
    # One WebApiClient per server: clients are stateless views of their pool.
    _clients: dict[str, WebApiClient] = field(default_factory=dict, repr=False)

    def server_name(self, requested: str) -> str:
        """The configured name for a request's ``server`` field.

        Raises ServerNotFoundError for a name that is not configured.
        """
        name = requested or self.default_server or self.pools.default
        if name not in self.pools.names:
            raise ServerNotFoundError(requested)
        return name

    def pool(self, requested: str) -> SessionPool:
        return self.pools.pool(self.server_name(requested))

    def client(self, requested: str) -> WebApiClient:
        """The Web API client for a request's server; noted for the access log."""
        name = self.server_name(requested)
        call = current_call()
        if call is not None:
            call.server = name
        client = self._clients.get(name)
        if client is None:
            client = self._clients[name] = self.pools.client(name)
        return client
