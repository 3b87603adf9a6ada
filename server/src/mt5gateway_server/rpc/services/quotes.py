"""QuoteService: unary RPCs (MT5 ``tick/*``, ``chart/get``); StreamQuotes delegates to
the stream handler the composition root opened (``rpc.services.quote_stream``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mt5gateway.v1 import quote_service_pb2 as pb
from mt5gateway.v1 import quote_service_pb2_grpc

from mt5gateway_server.mapping.quotes import (
    bar_to_proto,
    history_tick_to_proto,
    quote_to_proto,
    stats_to_proto,
)
from mt5gateway_server.rpc.interceptors import add_error_metadata
from mt5gateway_server.rpc.services.common import page_cursor
from mt5gateway_server.rpc.services.quote_stream import handler_for
from mt5gateway_server.rpc.validation import Violations

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from datetime import datetime

    import grpc

    from mt5gateway_server.rpc.deps import ServiceDeps

    Context = grpc.aio.ServicerContext[Any, Any]

__all__ = ["QuoteServicer"]

QUOTES_DEFAULT, QUOTES_MAX = 1000, 10_000
TICKS_DEFAULT, TICKS_MAX = 10_000, 100_000
BARS_DEFAULT, BARS_MAX = 1440, 100_000


def _symbols_checks(request: Any, *, group: bool = False) -> None:  # noqa: ANN401
    v = Violations()
    if group:
        v.text("group", request.group, max_length=63)
    v.symbols("symbols", request.symbols)
    v.page_size("page_size", request.page_size)
    v.check()


def _range_checks(request: Any) -> tuple[datetime, datetime]:  # noqa: ANN401
    v = Violations()
    v.name("symbol", request.symbol)
    start = v.timestamp("start_time", request)
    end = v.timestamp("end_time", request)
    v.time_range("start_time", start, "end_time", end)
    v.page_size("page_size", request.page_size)
    v.check()
    if start is None or end is None:  # pragma: no cover - check() raised
        raise AssertionError
    add_error_metadata(symbol=request.symbol)
    # MT5 takes whole seconds; both ends inclusive.
    return start.replace(microsecond=0), end.replace(microsecond=0)


class QuoteServicer(quote_service_pb2_grpc.QuoteServiceServicer):
    def __init__(self, deps: ServiceDeps) -> None:
        self._deps = deps

    async def ListQuotes(  # noqa: N802
        self,
        request: pb.ListQuotesRequest,
        context: Context,  # noqa: ARG002
    ) -> pb.ListQuotesResponse:
        _symbols_checks(request)
        cursor = page_cursor(request, default=QUOTES_DEFAULT, maximum=QUOTES_MAX)
        snapshot = await self._deps.client(request.server).tick_last(request.symbols)
        ticks = sorted(snapshot.ticks, key=lambda t: t.symbol)
        page, token = cursor.slice(ticks)
        return pb.ListQuotesResponse(
            quotes=[quote_to_proto(t) for t in page], next_page_token=token
        )

    async def ListGroupQuotes(  # noqa: N802
        self,
        request: pb.ListGroupQuotesRequest,
        context: Context,  # noqa: ARG002
    ) -> pb.ListGroupQuotesResponse:
        _symbols_checks(request, group=True)
        add_error_metadata(group=request.group)
        cursor = page_cursor(request, default=QUOTES_DEFAULT, maximum=QUOTES_MAX)
        client = self._deps.client(request.server)
        snapshot = await client.tick_last_group(request.symbols, request.group)
        ticks = sorted(snapshot.ticks, key=lambda t: t.symbol)
        page, token = cursor.slice(ticks)
        return pb.ListGroupQuotesResponse(
            quotes=[quote_to_proto(t) for t in page], next_page_token=token
        )

    async def ListQuoteStats(  # noqa: N802
        self,
        request: pb.ListQuoteStatsRequest,
        context: Context,  # noqa: ARG002
    ) -> pb.ListQuoteStatsResponse:
        _symbols_checks(request)
        cursor = page_cursor(request, default=QUOTES_DEFAULT, maximum=QUOTES_MAX)
        snapshot = await self._deps.client(request.server).tick_stat(request.symbols)
        stats = sorted(snapshot.stats, key=lambda s: s.symbol)
        page, token = cursor.slice(stats)
        return pb.ListQuoteStatsResponse(
            quote_stats=[stats_to_proto(s) for s in page], next_page_token=token
        )

    async def ListTickHistory(  # noqa: N802
        self,
        request: pb.ListTickHistoryRequest,
        context: Context,  # noqa: ARG002
    ) -> pb.ListTickHistoryResponse:
        start, end = _range_checks(request)
        cursor = page_cursor(request, default=TICKS_DEFAULT, maximum=TICKS_MAX)
        client = self._deps.client(request.server)
        rows = await client.tick_history(request.symbol, start, end, "dbalv")
        page, token = cursor.slice(rows)
        return pb.ListTickHistoryResponse(
            ticks=[history_tick_to_proto(r) for r in page], next_page_token=token
        )

    async def ListBars(  # noqa: N802
        self,
        request: pb.ListBarsRequest,
        context: Context,  # noqa: ARG002
    ) -> pb.ListBarsResponse:
        start, end = _range_checks(request)
        cursor = page_cursor(request, default=BARS_DEFAULT, maximum=BARS_MAX)
        bars = await self._deps.client(request.server).chart_get(
            request.symbol, start, end
        )
        page, token = cursor.slice(bars)
        return pb.ListBarsResponse(
            bars=[bar_to_proto(b) for b in page], next_page_token=token
        )

    async def StreamQuotes(  # noqa: N802
        self,
        request: pb.StreamQuotesRequest,
        context: Context,
    ) -> AsyncIterator[pb.StreamQuotesResponse]:
        handler = handler_for(self._deps)
        if handler is None:  # streaming not opened (a servicer built alone)
            raise NotImplementedError
        async for message in handler.stream(request, context):
            yield message
