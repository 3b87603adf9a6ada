"""TradeService: balance operations (exactly once) and trade records.

Lists over MT5's ``get_total`` + ``get_page`` (at most 100 per MT5 call) share
``_list_page``; batch answers (``get_batch``, one MT5 call, size decided by MT5) share
``_batch_page``, which sorts by ticket and pages by the last ticket returned, so a
record added or removed between pages shifts nothing. Tokens are bound to the
request's filters (``mapping.pagination``). Money fields need the account currency:
``_Currencies`` finds it per login (``user/get[_batch]`` + cached ``group/get``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import grpc
from mt5gateway.v1 import trade_service_pb2
from mt5gateway.v1 import trade_service_pb2_grpc as pb_grpc

from mt5gateway_server.mapping import trade as m
from mt5gateway_server.mapping.money import money_from_proto
from mt5gateway_server.mapping.pagination import encode_page
from mt5gateway_server.rpc.interceptors import add_error_metadata, current_call
from mt5gateway_server.rpc.services.common import (
    CurrencyCache,
    PageCursor,
    caller,
    page_cursor,
    time_convention,
)
from mt5gateway_server.rpc.validation import Violations
from mt5gateway_server.webapi import MAX_PAGE as MT5_PAGE
from mt5gateway_server.webapi import BalanceOperation
from mt5gateway_server.writes.balance import (
    MAX_AMOUNT,
    BalanceRequest,
    BalanceWrite,
    canonical_request_id,
    max_user_comment,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable, Sequence
    from datetime import datetime

    from google.protobuf.message import Message

    from mt5gateway_server.rpc.deps import ServiceDeps
    from mt5gateway_server.webapi import TimeConvention, WebApiClient

__all__ = ["TradeServicer"]

Ctx = grpc.aio.ServicerContext[Any, Any]

DEFAULT_PAGE = 100
MAX_PAGE = 1000
MAX_SYMBOLS = 100


class _Ticketed(Protocol):
    @property
    def ticket(self) -> int: ...
    @property
    def login(self) -> int: ...


R = TypeVar("R", bound=_Ticketed)
P = TypeVar("P")


# ---------------------------------------------------------------- validation


def _login_checks(
    request: trade_service_pb2.ListPositionsRequest
    | trade_service_pb2.ListOrdersRequest,
) -> None:
    v = Violations.of(request)
    v.login("login", request.login)
    v.check()


def _ticket_checks(
    request: trade_service_pb2.GetOrderRequest
    | trade_service_pb2.GetHistoryOrderRequest
    | trade_service_pb2.GetDealRequest,
) -> None:
    v = Violations.of(request)
    v.ticket("ticket", request.ticket)
    v.check()


def _time_range(
    v: Violations, request: Message, *, required: bool
) -> tuple[datetime, datetime] | None:
    start = v.timestamp("start_time", request, required=required)
    end = v.timestamp("end_time", request, required=required)
    v.time_range("start_time", start, "end_time", end)
    if start is None or end is None:
        return None
    return start, end


@dataclass(frozen=True, slots=True)
class _Selection:
    logins: list[int] | None
    groups: list[str] | None
    tickets: list[int] | None
    symbols: list[str] | None
    window: tuple[datetime, datetime] | None
    cursor: PageCursor


def _check_lists(
    v: Violations,
    logins: list[int],
    groups: list[str],
    tickets: list[int],
    symbols: list[str],
) -> None:
    if sum(1 for values in (logins, groups, tickets) if values) != 1:
        v.add("logins", "set exactly one of logins, groups and tickets")
    v.logins("logins", logins)
    v.masks("groups", groups)
    v.tickets("tickets", tickets)
    v.masks("symbols", symbols, max_count=MAX_SYMBOLS)
    if symbols and tickets:
        v.add("symbols", "only with logins or groups")


_BatchRequest = (
    trade_service_pb2.BatchGetPositionsRequest
    | trade_service_pb2.BatchGetOrdersRequest
    | trade_service_pb2.BatchGetHistoryOrdersRequest
    | trade_service_pb2.BatchGetDealsRequest
)


def _selection(request: _BatchRequest, *, ranged: bool) -> _Selection:
    """The checked filters and page of a Batch* request, before its get_batch."""
    v = Violations.of(request)
    logins, groups = list(request.logins), list(request.groups)
    tickets, symbols = list(request.tickets), list(request.symbols)
    _check_lists(v, logins, groups, tickets, symbols)
    window = _time_range(v, request, required=not tickets) if ranged else None
    v.check()
    return _Selection(
        logins=logins or None,
        groups=groups or None,
        tickets=tickets or None,
        symbols=symbols or None,
        window=window,
        cursor=page_cursor(request, default=DEFAULT_PAGE, maximum=MAX_PAGE),
    )


def _balance_request(
    request: trade_service_pb2.CreateBalanceOperationRequest,
    server: str,
    tag_chars: int,
) -> BalanceRequest:
    checks = Violations.of(request)
    checks.request_id("request_id", request.request_id)
    request_id = canonical_request_id(request.request_id)
    checks.login("login", request.login)
    checks.enum("type", request.type, m.BALANCE_TYPE)
    amount = None
    try:
        amount = money_from_proto(request.amount)  # unset reads as zero
    except ValueError as exc:
        checks.add("amount.nanos", str(exc))
    else:
        if amount == 0:
            checks.add("amount", "is required and must not be zero")
        elif abs(amount) > MAX_AMOUNT:
            checks.add("amount", "absolute value at most 1,000,000,000")
    checks.currency_code("amount.currency_code", request.amount.currency_code)
    checks.text(
        "comment",
        request.comment,
        required=False,
        max_length=max_user_comment(tag_chars),
        why="the gateway's reconciliation tag shares MT5's 31",
    )
    checks.check()
    assert request_id is not None  # noqa: S101 - checked above
    assert amount is not None  # noqa: S101
    return BalanceRequest(
        server=server,
        request_id=request_id,
        login=request.login,
        action=BalanceOperation(m.BALANCE_TYPE.to_mt5(request.type)),
        amount=amount.normalize(),
        currency_code=request.amount.currency_code,
        comment=request.comment,
        check_margin=not request.skip_margin_check,
    )


# ---------------------------------------------------------------- pagination


async def _list_page(
    request: Message,
    count: Callable[[], Awaitable[int]],
    fetch: Callable[[int, int], Awaitable[Sequence[R]]],
) -> tuple[list[R], str, int]:
    """One AIP-158 page over get_total + get_page (several MT5 pages if needed)."""
    cursor = page_cursor(request, default=DEFAULT_PAGE, maximum=MAX_PAGE)
    page = cursor.page
    total = await count()
    records: list[R] = []
    offset = page.offset
    while len(records) < page.size and offset < total:
        chunk = await fetch(offset, min(MT5_PAGE, page.size - len(records)))
        if not chunk:  # records removed since get_total
            break
        records.extend(chunk)
        offset += len(chunk)
    token = (
        encode_page(offset, cursor.fingerprint) if records and offset < total else ""
    )
    return records, token, total


def _batch_page(cursor: PageCursor, found: Iterable[R]) -> tuple[list[R], str]:
    """A page of a whole get_batch answer: ascending tickets, keyset token."""
    page = cursor.page
    # The token's offset is the last ticket of the previous page (keyset), 0 first.
    after = page.offset
    unique = {r.ticket: r for r in found if r.ticket > after}
    ordered = [unique[t] for t in sorted(unique)]
    records = ordered[: page.size]
    more = len(ordered) > page.size
    return records, encode_page(records[-1].ticket, cursor.fingerprint) if more else ""


# ---------------------------------------------------------------- currencies


class _Currencies:
    """Account currency per login: user/get(_batch), then the shared group cache."""

    def __init__(self, groups: CurrencyCache) -> None:
        self._groups = groups

    async def of_login(self, client: WebApiClient, login: int) -> str:
        user = await client.user_get(login)
        return await self._groups.get(client, user.group)

    async def of_logins(self, client: WebApiClient, logins: set[int]) -> dict[int, str]:
        if not logins:
            return {}
        users = await client.user_get_batch(logins=sorted(logins))
        return {u.login: await self._groups.get(client, u.group) for u in users}


# ---------------------------------------------------------------- the service


class TradeServicer(pb_grpc.TradeServiceServicer):
    """gRPC glue: validation, MT5 calls through the pool, mapping to protos."""

    def __init__(self, deps: ServiceDeps) -> None:
        self._deps = deps
        self._currencies = _Currencies(deps.currencies)
        self._tag_chars = deps.settings.idempotency.tag_chars

    def _client(self, server: str) -> tuple[str, WebApiClient]:
        # CreateBalanceOperation picks its client before _balance_request runs: a
        # malformed name must not reach ServerNotFoundError, which echoes it.
        v = Violations()
        v.server("server", server)
        v.check()
        name = self._deps.server_name(server)
        state = current_call()
        if state is not None:
            state.server = name
        return name, self._deps.pools.client(name)

    async def _map_records(
        self,
        client: WebApiClient,
        records: Sequence[R],
        to_proto: Callable[[R, str, TimeConvention], P],
        login: int | None = None,
    ) -> list[P]:
        """Protos of ``records``; one currency look-up per distinct login."""
        if not records:
            return []
        if login is not None:
            currencies = {login: await self._currencies.of_login(client, login)}
        else:
            logins = {r.login for r in records}
            currencies = await self._currencies.of_logins(client, logins)
        tc = time_convention(client)
        return [to_proto(r, currencies.get(r.login, ""), tc) for r in records]

    # ------------------------------------------------------------ balance

    async def CreateBalanceOperation(  # noqa: N802 - gRPC method name
        self,
        request: trade_service_pb2.CreateBalanceOperationRequest,
        context: Ctx,
    ) -> trade_service_pb2.CreateBalanceOperationResponse:
        del context
        server, client = self._client(request.server)
        operation = _balance_request(request, server, self._tag_chars)
        add_error_metadata(login=operation.login, requestId=operation.request_id)
        write = BalanceWrite(
            operation,
            client,
            self._deps.currencies,
            tag_chars=self._tag_chars,
            clock=self._deps.clock,
        )
        # Its errors (AmountError, OutcomeUnknownError, ...) map at the edge.
        outcome = await self._deps.writes.run(write, caller())
        return trade_service_pb2.CreateBalanceOperationResponse(
            balance_operation=m.balance_operation_to_proto(outcome.result),
            replayed=outcome.replayed,
        )

    # ------------------------------------------------------------ positions

    async def ListPositions(  # noqa: N802 - gRPC method name
        self, request: trade_service_pb2.ListPositionsRequest, context: Ctx
    ) -> trade_service_pb2.ListPositionsResponse:
        del context
        _login_checks(request)
        _, client = self._client(request.server)
        add_error_metadata(login=request.login)
        login = request.login
        records, token, total = await _list_page(
            request,
            lambda: client.position_get_total(login),
            lambda offset, n: client.position_get_page(login, offset, n),
        )
        return trade_service_pb2.ListPositionsResponse(
            positions=await self._map_records(
                client, records, m.position_to_proto, login
            ),
            next_page_token=token,
            total_size=total,
        )

    async def GetPosition(  # noqa: N802 - gRPC method name
        self, request: trade_service_pb2.GetPositionRequest, context: Ctx
    ) -> trade_service_pb2.GetPositionResponse:
        del context
        v = Violations.of(request)
        v.login("login", request.login)
        v.name("symbol", request.symbol)
        v.check()
        _, client = self._client(request.server)
        add_error_metadata(login=request.login, symbol=request.symbol)
        position = await client.position_get(request.login, request.symbol)
        (out,) = await self._map_records(
            client, [position], m.position_to_proto, request.login
        )
        return trade_service_pb2.GetPositionResponse(position=out)

    async def BatchGetPositions(  # noqa: N802 - gRPC method name
        self, request: trade_service_pb2.BatchGetPositionsRequest, context: Ctx
    ) -> trade_service_pb2.BatchGetPositionsResponse:
        del context
        sel = _selection(request, ranged=False)
        _, client = self._client(request.server)
        found = await client.position_get_batch(
            logins=sel.logins, groups=sel.groups, tickets=sel.tickets,
            symbols=sel.symbols,
        )  # fmt: skip
        records, token = _batch_page(sel.cursor, found)
        return trade_service_pb2.BatchGetPositionsResponse(
            positions=await self._map_records(client, records, m.position_to_proto),
            next_page_token=token,
        )

    # ------------------------------------------------------------ open orders

    async def ListOrders(  # noqa: N802 - gRPC method name
        self, request: trade_service_pb2.ListOrdersRequest, context: Ctx
    ) -> trade_service_pb2.ListOrdersResponse:
        del context
        _login_checks(request)
        _, client = self._client(request.server)
        add_error_metadata(login=request.login)
        login = request.login
        records, token, total = await _list_page(
            request,
            lambda: client.order_get_total(login),
            lambda offset, n: client.order_get_page(login, offset, n),
        )
        return trade_service_pb2.ListOrdersResponse(
            orders=await self._map_records(client, records, m.order_to_proto, login),
            next_page_token=token,
            total_size=total,
        )

    async def GetOrder(  # noqa: N802 - gRPC method name
        self, request: trade_service_pb2.GetOrderRequest, context: Ctx
    ) -> trade_service_pb2.GetOrderResponse:
        del context
        _ticket_checks(request)
        _, client = self._client(request.server)
        add_error_metadata(ticket=request.ticket)
        order = await client.order_get(request.ticket)
        (out,) = await self._map_records(client, [order], m.order_to_proto)
        return trade_service_pb2.GetOrderResponse(order=out)

    async def BatchGetOrders(  # noqa: N802 - gRPC method name
        self, request: trade_service_pb2.BatchGetOrdersRequest, context: Ctx
    ) -> trade_service_pb2.BatchGetOrdersResponse:
        del context
        sel = _selection(request, ranged=False)
        _, client = self._client(request.server)
        found = await client.order_get_batch(
            logins=sel.logins, groups=sel.groups, tickets=sel.tickets,
            symbols=sel.symbols,
        )  # fmt: skip
        records, token = _batch_page(sel.cursor, found)
        return trade_service_pb2.BatchGetOrdersResponse(
            orders=await self._map_records(client, records, m.order_to_proto),
            next_page_token=token,
        )

    # ------------------------------------------------------------ history orders

    async def ListHistoryOrders(  # noqa: N802 - gRPC method name
        self, request: trade_service_pb2.ListHistoryOrdersRequest, context: Ctx
    ) -> trade_service_pb2.ListHistoryOrdersResponse:
        del context
        login, start, end = self._ranged_login(request)
        _, client = self._client(request.server)
        records, token, total = await _list_page(
            request,
            lambda: client.history_get_total(login, start, end),
            lambda offset, n: client.history_get_page(login, start, end, offset, n),
        )
        return trade_service_pb2.ListHistoryOrdersResponse(
            orders=await self._map_records(client, records, m.order_to_proto, login),
            next_page_token=token,
            total_size=total,
        )

    async def GetHistoryOrder(  # noqa: N802 - gRPC method name
        self, request: trade_service_pb2.GetHistoryOrderRequest, context: Ctx
    ) -> trade_service_pb2.GetHistoryOrderResponse:
        del context
        _ticket_checks(request)
        _, client = self._client(request.server)
        add_error_metadata(ticket=request.ticket)
        order = await client.history_get(request.ticket)
        (out,) = await self._map_records(client, [order], m.order_to_proto)
        return trade_service_pb2.GetHistoryOrderResponse(order=out)

    async def BatchGetHistoryOrders(  # noqa: N802 - gRPC method name
        self, request: trade_service_pb2.BatchGetHistoryOrdersRequest, context: Ctx
    ) -> trade_service_pb2.BatchGetHistoryOrdersResponse:
        del context
        sel = _selection(request, ranged=True)
        _, client = self._client(request.server)
        start, end = sel.window or (None, None)
        found = await client.history_get_batch(
            logins=sel.logins, groups=sel.groups, tickets=sel.tickets,
            symbols=sel.symbols, from_=start, to=end,
        )  # fmt: skip
        records, token = _batch_page(sel.cursor, found)
        return trade_service_pb2.BatchGetHistoryOrdersResponse(
            orders=await self._map_records(client, records, m.order_to_proto),
            next_page_token=token,
        )

    # ------------------------------------------------------------ deals

    async def ListDeals(  # noqa: N802 - gRPC method name
        self, request: trade_service_pb2.ListDealsRequest, context: Ctx
    ) -> trade_service_pb2.ListDealsResponse:
        del context
        login, start, end = self._ranged_login(request)
        _, client = self._client(request.server)
        records, token, total = await _list_page(
            request,
            lambda: client.deal_get_total(login, start, end),
            lambda offset, n: client.deal_get_page(login, start, end, offset, n),
        )
        return trade_service_pb2.ListDealsResponse(
            deals=await self._map_records(client, records, m.deal_to_proto, login),
            next_page_token=token,
            total_size=total,
        )

    async def GetDeal(  # noqa: N802 - gRPC method name
        self, request: trade_service_pb2.GetDealRequest, context: Ctx
    ) -> trade_service_pb2.GetDealResponse:
        del context
        _ticket_checks(request)
        _, client = self._client(request.server)
        add_error_metadata(ticket=request.ticket)
        deal = await client.deal_get(request.ticket)
        (out,) = await self._map_records(client, [deal], m.deal_to_proto)
        return trade_service_pb2.GetDealResponse(deal=out)

    async def BatchGetDeals(  # noqa: N802 - gRPC method name
        self, request: trade_service_pb2.BatchGetDealsRequest, context: Ctx
    ) -> trade_service_pb2.BatchGetDealsResponse:
        del context
        sel = _selection(request, ranged=True)
        _, client = self._client(request.server)
        start, end = sel.window or (None, None)
        found = await client.deal_get_batch(
            logins=sel.logins, groups=sel.groups, tickets=sel.tickets,
            symbols=sel.symbols, from_=start, to=end,
        )  # fmt: skip
        records, token = _batch_page(sel.cursor, found)
        return trade_service_pb2.BatchGetDealsResponse(
            deals=await self._map_records(client, records, m.deal_to_proto),
            next_page_token=token,
        )

    @staticmethod
    def _ranged_login(
        request: trade_service_pb2.ListHistoryOrdersRequest
        | trade_service_pb2.ListDealsRequest,
    ) -> tuple[int, datetime, datetime]:
        v = Violations.of(request)
        v.login("login", request.login)
        window = _time_range(v, request, required=True)
        v.check()
        assert window is not None  # noqa: S101 - required above
        add_error_metadata(login=request.login)
        return request.login, window[0], window[1]
