"""QuoteService: unary RPCs (MT5 ``tick/*``, ``chart/get``); StreamQuotes is served by
the stream handler the servicer is given (``rpc.services.quote_stream``, opened by the
composition root).

Every read is bounded before MT5 is asked: quote lists by the symbol checks (at most
1,000 entries, 4,096 characters joined) and ``QUOTES_MAX`` per page; tick history by
``MAX_TICK_SPAN`` (31 days) and bars by ``MAX_BAR_SPAN`` (366 days) between start and
end, and both by ``MAX_HISTORY_ROWS`` (100,000) per page. History is fetched one page
at a time, stopping once the page is full; the page token holds where the next page
starts, so no call holds more than one page and one MT5 answer.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from mt5gateway.v1 import quote_service_pb2 as pb
from mt5gateway.v1 import quote_service_pb2_grpc

from mt5gateway_server.mapping.pagination import encode_page
from mt5gateway_server.mapping.quotes import (
    bar_to_proto,
    history_tick_to_proto,
    quote_to_proto,
    stats_to_proto,
)
from mt5gateway_server.rpc.interceptors import add_error_metadata
from mt5gateway_server.rpc.services.common import page_cursor
from mt5gateway_server.rpc.validation import Violations
from mt5gateway_server.webapi import (
    MAX_BAR_SPAN,
    MAX_HISTORY_ROWS,
    MAX_TICK_SPAN,
    HistoryPosition,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from datetime import datetime

    import grpc

    from mt5gateway_server.rpc.deps import ServiceDeps
    from mt5gateway_server.rpc.services.common import PageCursor
    from mt5gateway_server.rpc.services.quote_stream import QuoteStreamHandler

    Context = grpc.aio.ServicerContext[Any, Any]

__all__ = ["QuoteServicer"]

QUOTES_DEFAULT, QUOTES_MAX = 1000, 10_000
TICKS_DEFAULT, TICKS_MAX = 10_000, MAX_HISTORY_ROWS
BARS_DEFAULT, BARS_MAX = 1440, MAX_HISTORY_ROWS
# A history page token: whole seconds after start_time where the next page starts, and
# (low bits) the rows of that second already returned. One second never holds more
# rows than one MT5 answer, far below 2**24.
_SKIP_BITS = 24
_SECOND = timedelta(seconds=1)


def _symbols_checks(request: Any, *, group: bool = False) -> None:  # noqa: ANN401
    v = Violations.of(request)  # server, page_size, page_token
    if group:
        v.group("group", request.group)  # an exact group: no mask characters
    v.symbols("symbols", request.symbols)
    v.check()


def _range_checks(
    request: Any,  # noqa: ANN401
    max_span: timedelta,
) -> tuple[datetime, datetime]:
    v = Violations.of(request)  # server, page_size, page_token
    v.name("symbol", request.symbol)
    start = v.timestamp("start_time", request)
    end = v.timestamp("end_time", request)
    v.time_range("start_time", start, "end_time", end)
    if start is not None and end is not None and end - start > max_span:
        v.add("end_time", f"at most {max_span.days} days after start_time")
    v.check()
    if start is None or end is None:  # pragma: no cover - check() raised
        raise AssertionError
    add_error_metadata(symbol=request.symbol)
    # MT5 takes whole seconds; both ends inclusive.
    return start.replace(microsecond=0), end.replace(microsecond=0)


def _resume(cursor: PageCursor, start: datetime) -> HistoryPosition | None:
    offset = cursor.page.offset
    if offset == 0:
        return None
    skip = offset & ((1 << _SKIP_BITS) - 1)
    return HistoryPosition(start + (offset >> _SKIP_BITS) * _SECOND, skip)


def _history_token(
    cursor: PageCursor, start: datetime, position: HistoryPosition | None
) -> str:
    if position is None:
        return ""
    if position.skip >> _SKIP_BITS:  # pragma: no cover - more than one MT5 answer
        raise ValueError("too many rows in one second")
    elapsed = (position.time - start) // _SECOND
    return encode_page(elapsed << _SKIP_BITS | position.skip, cursor.fingerprint)


class QuoteServicer(quote_service_pb2_grpc.QuoteServiceServicer):
    def __init__(self, deps: ServiceDeps, streams: QuoteStreamHandler) -> None:
        self._deps = deps
        self._streams = streams

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
        start, end = _range_checks(request, MAX_TICK_SPAN)
        cursor = page_cursor(request, default=TICKS_DEFAULT, maximum=TICKS_MAX)
        client = self._deps.client(request.server)
        page = await client.tick_history(
            request.symbol,
            start,
            end,
            "dbalv",
            limit=cursor.page.size,
            resume=_resume(cursor, start),
        )
        return pb.ListTickHistoryResponse(
            ticks=[history_tick_to_proto(r) for r in page.rows],
            next_page_token=_history_token(cursor, start, page.next),
        )

    async def ListBars(  # noqa: N802
        self,
        request: pb.ListBarsRequest,
        context: Context,  # noqa: ARG002
    ) -> pb.ListBarsResponse:
        start, end = _range_checks(request, MAX_BAR_SPAN)
        cursor = page_cursor(request, default=BARS_DEFAULT, maximum=BARS_MAX)
        page = await self._deps.client(request.server).chart_get(
            request.symbol,
            start,
            end,
            limit=cursor.page.size,
            resume=_resume(cursor, start),
        )
        return pb.ListBarsResponse(
            bars=[bar_to_proto(b) for b in page.rows],
            next_page_token=_history_token(cursor, start, page.next),
        )

    async def StreamQuotes(  # noqa: N802
        self,
        request: pb.StreamQuotesRequest,
        context: Context,
    ) -> AsyncIterator[pb.StreamQuotesResponse]:
        async for message in self._streams.stream(request, context):
            yield message
