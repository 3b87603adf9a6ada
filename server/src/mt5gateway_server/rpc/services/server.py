"""ServerService: MT5 time and common configuration, and the gateway's pool status."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mt5gateway.v1 import server_pb2, server_service_pb2_grpc
from mt5gateway.v1 import server_service_pb2 as pb

from mt5gateway_server.mapping.config import (
    common_config_to_proto,
    time_config_to_proto,
)
from mt5gateway_server.mapping.enums import BREAKER_STATE
from mt5gateway_server.mapping.time import optional_timestamp, timestamp_from_datetime
from mt5gateway_server.rpc.services.common import page_cursor, time_convention
from mt5gateway_server.rpc.validation import Violations

if TYPE_CHECKING:
    import grpc

    from mt5gateway_server.rpc.deps import ServiceDeps
    from mt5gateway_server.webapi import SessionPool

    Context = grpc.aio.ServicerContext[Any, Any]

__all__ = ["ServerServicer", "server_status"]

SERVERS_DEFAULT, SERVERS_MAX = 100, 1000


def _last_error(pool: SessionPool) -> str:
    err = pool.last_error
    if err is None:
        return ""
    # Class and message only; Web API messages carry no secrets (webapi/errors.py).
    return f"{type(err).__name__}: {err}"


def server_status(
    pool: SessionPool, *, default: bool, error_time: datetime | None = None
) -> server_pb2.ServerStatus:
    snap = pool.snapshot()
    return server_pb2.ServerStatus(
        name=pool.name,
        default_server=default,
        serving=pool.serving,
        pool_size=snap.size,
        ready_session_count=snap.ready,
        busy_session_count=snap.busy,
        connecting_session_count=snap.connecting + snap.reauthenticating,
        broken_session_count=snap.broken,
        waiting_request_count=snap.waiting,
        breaker_state=BREAKER_STATE.to_proto(pool.breaker.state),  # type: ignore[arg-type]
        last_error=_last_error(pool),
        last_error_time=optional_timestamp(error_time),
    )


class ServerServicer(server_service_pb2_grpc.ServerServiceServicer):
    def __init__(self, deps: ServiceDeps) -> None:
        self._deps = deps
        # When each server's last_error was first seen (the pool keeps no time).
        self._errors_seen: dict[str, tuple[int, datetime]] = {}

    def _status(self, name: str) -> server_pb2.ServerStatus:
        pool = self._deps.pools.pool(name)
        err = pool.last_error
        seen = self._errors_seen.get(name)
        if err is None:
            when = None
        elif seen is not None and seen[0] == id(err):
            when = seen[1]
        else:
            when = datetime.fromtimestamp(self._deps.clock(), UTC)
            self._errors_seen[name] = (id(err), when)
        return server_status(
            pool, default=name == self._deps.server_name(""), error_time=when
        )

    async def GetServerTime(  # noqa: N802
        self,
        request: pb.GetServerTimeRequest,
        context: Context,  # noqa: ARG002
    ) -> pb.GetServerTimeResponse:
        Violations.of(request).check()
        client = self._deps.client(request.server)
        now, config = await asyncio.gather(client.time_server(), client.time_get())
        return pb.GetServerTimeResponse(
            server_time=timestamp_from_datetime(now.time),
            time_config=time_config_to_proto(config),
        )

    async def GetCommonConfig(  # noqa: N802
        self,
        request: pb.GetCommonConfigRequest,
        context: Context,  # noqa: ARG002
    ) -> pb.GetCommonConfigResponse:
        Violations.of(request).check()
        client = self._deps.client(request.server)
        common = await client.common_get()
        return pb.GetCommonConfigResponse(
            common_config=common_config_to_proto(common, time_convention(client))
        )

    async def GetServerStatus(  # noqa: N802
        self,
        request: pb.GetServerStatusRequest,
        context: Context,  # noqa: ARG002
    ) -> pb.GetServerStatusResponse:
        Violations.of(request).check()
        name = self._deps.server_name(request.server)
        return pb.GetServerStatusResponse(server_status=self._status(name))

    async def ListServers(  # noqa: N802
        self,
        request: pb.ListServersRequest,
        context: Context,  # noqa: ARG002
    ) -> pb.ListServersResponse:
        Violations.of(request).check()
        cursor = page_cursor(request, default=SERVERS_DEFAULT, maximum=SERVERS_MAX)
        page, token = cursor.slice(self._deps.pools.names)
        return pb.ListServersResponse(
            servers=[self._status(name) for name in page], next_page_token=token
        )
