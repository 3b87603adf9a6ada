"""ConfigService: symbols and groups, read only (MT5 `symbol/*`, `group/*`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mt5gateway.v1 import config_service_pb2 as pb
from mt5gateway.v1 import config_service_pb2_grpc

from mt5gateway_server.mapping.config import group_to_proto, symbol_to_proto
from mt5gateway_server.rpc.interceptors import add_error_metadata
from mt5gateway_server.rpc.services.common import page_cursor, time_convention
from mt5gateway_server.rpc.validation import Violations

if TYPE_CHECKING:
    from collections.abc import Sequence

    import grpc
    from google.protobuf.message import Message

    from mt5gateway_server.rpc.deps import ServiceDeps

    Context = grpc.aio.ServicerContext[Any, Any]

__all__ = ["ConfigServicer"]

NAMES_DEFAULT, NAMES_MAX = 1000, 10_000
RECORDS_DEFAULT, RECORDS_MAX = 100, 1000
BATCH_SYMBOLS_MAX = 100
_ALL = ("*",)


def _list_checks(request: Message, masks: Sequence[str] = ()) -> None:
    v = Violations.of(request)
    v.masks("masks", masks)
    v.check()


class ConfigServicer(config_service_pb2_grpc.ConfigServiceServicer):
    def __init__(self, deps: ServiceDeps) -> None:
        self._deps = deps

    async def ListSymbolNames(  # noqa: N802
        self,
        request: pb.ListSymbolNamesRequest,
        context: Context,  # noqa: ARG002
    ) -> pb.ListSymbolNamesResponse:
        _list_checks(request)
        cursor = page_cursor(request, default=NAMES_DEFAULT, maximum=NAMES_MAX)
        names = await self._deps.client(request.server).symbol_list()
        page, token = cursor.slice(names)
        return pb.ListSymbolNamesResponse(
            symbols=page, next_page_token=token, total_size=len(names)
        )

    async def ListSymbols(  # noqa: N802
        self,
        request: pb.ListSymbolsRequest,
        context: Context,  # noqa: ARG002
    ) -> pb.ListSymbolsResponse:
        _list_checks(request, request.masks)
        cursor = page_cursor(request, default=RECORDS_DEFAULT, maximum=RECORDS_MAX)
        client = self._deps.client(request.server)
        symbols = await client.symbol_get_mask(request.masks or _ALL)
        page, token = cursor.slice(symbols)
        tc = time_convention(client)
        return pb.ListSymbolsResponse(
            symbols=[symbol_to_proto(s, tc) for s in page],
            next_page_token=token,
            total_size=len(symbols),
        )

    async def GetSymbol(  # noqa: N802
        self,
        request: pb.GetSymbolRequest,
        context: Context,  # noqa: ARG002
    ) -> pb.GetSymbolResponse:
        v = Violations.of(request)
        v.name("symbol", request.symbol)
        v.check()
        add_error_metadata(symbol=request.symbol)
        client = self._deps.client(request.server)
        symbol = await client.symbol_get(request.symbol)
        return pb.GetSymbolResponse(
            symbol=symbol_to_proto(symbol, time_convention(client))
        )

    async def BatchGetSymbols(  # noqa: N802
        self,
        request: pb.BatchGetSymbolsRequest,
        context: Context,  # noqa: ARG002
    ) -> pb.BatchGetSymbolsResponse:
        v = Violations.of(request)
        v.names("symbols", request.symbols, max_count=BATCH_SYMBOLS_MAX)
        v.check()
        client = self._deps.client(request.server)
        # Exact names work as masks: one MT5 call, then request order, unknowns out.
        found = {s.symbol: s for s in await client.symbol_get_mask(request.symbols)}
        tc = time_convention(client)
        ordered = dict.fromkeys(request.symbols)
        return pb.BatchGetSymbolsResponse(
            symbols=[symbol_to_proto(found[n], tc) for n in ordered if n in found]
        )

    async def GetGroupSymbol(  # noqa: N802
        self,
        request: pb.GetGroupSymbolRequest,
        context: Context,  # noqa: ARG002
    ) -> pb.GetGroupSymbolResponse:
        v = Violations.of(request)
        v.name("symbol", request.symbol)
        v.group("group", request.group)
        v.check()
        add_error_metadata(symbol=request.symbol, group=request.group)
        client = self._deps.client(request.server)
        symbol = await client.symbol_get_group(request.symbol, request.group)
        return pb.GetGroupSymbolResponse(
            symbol=symbol_to_proto(symbol, time_convention(client))
        )

    async def ListGroupNames(  # noqa: N802
        self,
        request: pb.ListGroupNamesRequest,
        context: Context,  # noqa: ARG002
    ) -> pb.ListGroupNamesResponse:
        _list_checks(request)
        cursor = page_cursor(request, default=NAMES_DEFAULT, maximum=NAMES_MAX)
        names = await self._deps.client(request.server).group_list()
        page, token = cursor.slice(names)
        return pb.ListGroupNamesResponse(
            groups=page, next_page_token=token, total_size=len(names)
        )

    async def ListGroups(  # noqa: N802
        self,
        request: pb.ListGroupsRequest,
        context: Context,  # noqa: ARG002
    ) -> pb.ListGroupsResponse:
        _list_checks(request, request.masks)
        cursor = page_cursor(request, default=RECORDS_DEFAULT, maximum=RECORDS_MAX)
        groups = await self._deps.client(request.server).group_get_mask(
            request.masks or _ALL
        )
        page, token = cursor.slice(groups)
        return pb.ListGroupsResponse(
            groups=[group_to_proto(g) for g in page],
            next_page_token=token,
            total_size=len(groups),
        )

    async def GetGroup(  # noqa: N802
        self,
        request: pb.GetGroupRequest,
        context: Context,  # noqa: ARG002
    ) -> pb.GetGroupResponse:
        v = Violations.of(request)
        v.group("group", request.group)
        v.check()
        add_error_metadata(group=request.group)
        group = await self._deps.client(request.server).group_get(request.group)
        return pb.GetGroupResponse(group=group_to_proto(group))
