"""TradeService end to end: Python stub -> gateway -> mt5sim, values checked against
the simulator's broker state."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from mt5gateway.v1 import trade_pb2
from mt5gateway.v1 import trade_service_pb2 as ts
from mt5gateway_server.mapping.money import money_from_proto, money_to_proto
from mt5gateway_server.settings import AuditSettings
from mt5gateway_server.writes.balance import mt5_comment, reconciliation_tag

from .conftest import expect_error as rpc_error

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from .conftest import Gateway

pytestmark = pytest.mark.integration

RICH = 100_041  # seeded account with positions, an open order and history
DEPOSITOR = 100_000
BALANCE = trade_pb2.BALANCE_OPERATION_TYPE_BALANCE


def all_time() -> tuple[Timestamp, Timestamp]:
    return Timestamp(seconds=1), Timestamp(seconds=int(time.time()) + 86_400)


async def collect(
    call: Callable[[Any], Awaitable[Any]], request: Any, items: str
) -> list[Any]:
    """Every page of a paginated RPC."""
    out: list[Any] = []
    while True:
        reply = await call(request)
        out.extend(getattr(reply, items))
        if not reply.next_page_token:
            return out
        request.page_token = reply.next_page_token


def deposit(
    amount: str, login: int = DEPOSITOR, request_id: str | None = None, **kw: Any
) -> ts.CreateBalanceOperationRequest:
    return ts.CreateBalanceOperationRequest(
        request_id=str(uuid.uuid4()) if request_id is None else request_id,
        login=login,
        type=kw.pop("type", BALANCE),
        amount=money_to_proto(Decimal(amount), kw.pop("currency", "")),
        **kw,
    )


async def recovered(gateway: Gateway) -> None:
    """Faults off, then wait until MT5 answers reads again: the pool's circuit
    breaker may still be open for a moment after a storm of dropped connections."""
    await gateway.faults()
    for _ in range(100):
        try:
            await gateway.trade.ListPositions(ts.ListPositionsRequest(login=RICH))
        except grpc.aio.AioRpcError as exc:
            if exc.code() is not grpc.StatusCode.UNAVAILABLE:
                raise
            await asyncio.sleep(0.05)
        else:
            return
    pytest.fail("MT5 did not come back")


def seed_deposits(gateway: Gateway, login: int, count: int) -> None:
    broker = gateway.sim.broker
    user = broker.users[login]
    now = time.time()
    for i in range(count):
        broker.balance_operation(
            user, 2, Decimal(1), f"seed {i}", check_margin=False, now=now
        )


# ------------------------------------------------------------------ positions


async def test_list_positions_match_the_broker(gateway: Gateway) -> None:
    book = gateway.sim.broker.books[RICH]
    reply = await gateway.trade.ListPositions(ts.ListPositionsRequest(login=RICH))
    assert reply.total_size == len(book.positions)
    assert not reply.next_page_token
    assert [p.ticket for p in reply.positions] == sorted(book.positions)
    for pos in reply.positions:
        sim = book.positions[pos.ticket]
        assert pos.symbol == sim.symbol.name
        assert pos.login == RICH
        assert Decimal(pos.open_price.value) == sim.price_open
        assert Decimal(pos.volume.value) == Decimal(sim.volume_ext) / 10**8
        assert pos.type == (
            trade_pb2.POSITION_TYPE_BUY
            if sim.action == 0
            else trade_pb2.POSITION_TYPE_SELL
        )
        assert pos.profit.currency_code == gateway.sim.broker.users[RICH].group.currency
        assert pos.create_time.ToMilliseconds() == sim.time_create_msc


async def test_get_position(gateway: Gateway) -> None:
    sim = next(iter(gateway.sim.broker.books[RICH].positions.values()))
    reply = await gateway.trade.GetPosition(
        ts.GetPositionRequest(login=RICH, symbol=sim.symbol.name)
    )
    assert reply.position.ticket == sim.ticket
    failure = await rpc_error(
        gateway.trade.GetPosition(ts.GetPositionRequest(login=RICH, symbol="NOPE"))
    )
    assert failure.code is grpc.StatusCode.NOT_FOUND
    assert failure.reason == "MT5_NOT_FOUND"


async def test_batch_get_positions_by_group_is_paged_not_truncated(
    gateway: Gateway,
) -> None:
    broker = gateway.sim.broker
    expected = sorted(
        t
        for login, book in broker.books.items()
        if broker.users[login].group.name.startswith("real\\")
        for t in book.positions
    )
    assert len(expected) > 7
    request = ts.BatchGetPositionsRequest(groups=["real\\*"], page_size=7)
    got = await collect(gateway.trade.BatchGetPositions, request, "positions")
    assert [p.ticket for p in got] == expected
    by_ticket = await gateway.trade.BatchGetPositions(
        ts.BatchGetPositionsRequest(tickets=[expected[3], expected[0], 999_999_999])
    )
    assert [p.ticket for p in by_ticket.positions] == [expected[0], expected[3]]


async def test_batch_get_positions_symbols_filter(gateway: Gateway) -> None:
    book = gateway.sim.broker.books[RICH]
    symbol = next(iter(book.positions.values())).symbol.name
    reply = await gateway.trade.BatchGetPositions(
        ts.BatchGetPositionsRequest(logins=[RICH], symbols=[symbol])
    )
    assert reply.positions
    assert {p.symbol for p in reply.positions} == {symbol}


# ------------------------------------------------------------------ orders


async def test_open_orders(gateway: Gateway) -> None:
    broker = gateway.sim.broker
    book = broker.books[RICH]
    reply = await gateway.trade.ListOrders(ts.ListOrdersRequest(login=RICH))
    assert [o.ticket for o in reply.orders] == sorted(book.orders)
    assert reply.total_size == len(book.orders)
    sim = next(iter(book.orders.values()))
    one = await gateway.trade.GetOrder(ts.GetOrderRequest(ticket=sim.ticket))
    assert one.order == reply.orders[0]
    assert Decimal(one.order.order_price.value) == sim.price_order
    assert one.order.state == sim.state + 1
    everyone = await collect(
        gateway.trade.BatchGetOrders,
        ts.BatchGetOrdersRequest(groups=["*"], page_size=10),
        "orders",
    )
    assert [o.ticket for o in everyone] == sorted(
        t for b in broker.books.values() for t in b.orders
    )


async def test_history_orders(gateway: Gateway) -> None:
    broker = gateway.sim.broker
    book = broker.books[RICH]
    start, end = all_time()
    request = ts.ListHistoryOrdersRequest(
        login=RICH, start_time=start, end_time=end, page_size=7
    )
    got = await collect(gateway.trade.ListHistoryOrders, request, "orders")
    assert [o.ticket for o in got] == [o.ticket for o in book.history]
    first = book.history[0]
    one = await gateway.trade.GetHistoryOrder(
        ts.GetHistoryOrderRequest(ticket=first.ticket)
    )
    assert one.order.done_time.ToMilliseconds() == first.time_done_msc
    everyone = await collect(
        gateway.trade.BatchGetHistoryOrders,
        ts.BatchGetHistoryOrdersRequest(
            groups=["*"], start_time=start, end_time=end, page_size=300
        ),
        "orders",
    )
    expected = sorted(o.ticket for b in broker.books.values() for o in b.history)
    assert len(expected) > 300
    assert [o.ticket for o in everyone] == expected


# ------------------------------------------------------------------ deals


async def test_list_deals_over_many_mt5_pages(gateway: Gateway) -> None:
    seed_deposits(gateway, DEPOSITOR, 230)
    deals = gateway.sim.broker.books[DEPOSITOR].deals
    assert len(deals) > 200
    start, end = all_time()
    before = await gateway.requests("deal/get_page")
    reply = await gateway.trade.ListDeals(
        ts.ListDealsRequest(
            login=DEPOSITOR, start_time=start, end_time=end, page_size=1000
        )
    )
    # One RPC page of 1000 = several MT5 pages of at most 100.
    assert await gateway.requests("deal/get_page") - before == -(-len(deals) // 100)
    assert reply.total_size == len(deals)
    assert not reply.next_page_token
    assert [d.ticket for d in reply.deals] == [d.ticket for d in deals]
    for got, sim in zip(reply.deals, deals, strict=True):
        assert money_from_proto(got.profit) == sim.profit
        assert got.comment == sim.comment
        assert got.action == sim.action + 1
    # Default page size 100, tokens carry on.
    paged = await collect(
        gateway.trade.ListDeals,
        ts.ListDealsRequest(login=DEPOSITOR, start_time=start, end_time=end),
        "deals",
    )
    assert [d.ticket for d in paged] == [d.ticket for d in deals]


async def test_get_and_batch_get_deals(gateway: Gateway) -> None:
    broker = gateway.sim.broker
    deals = broker.books[RICH].deals
    one = await gateway.trade.GetDeal(ts.GetDealRequest(ticket=deals[-1].ticket))
    assert one.deal.login == RICH
    assert money_from_proto(one.deal.profit) == deals[-1].profit
    start, end = all_time()
    batch = await gateway.trade.BatchGetDeals(
        ts.BatchGetDealsRequest(tickets=[deals[1].ticket, 1, deals[0].ticket])
    )
    assert [d.ticket for d in batch.deals] == [deals[0].ticket, deals[1].ticket]
    everyone = await collect(
        gateway.trade.BatchGetDeals,
        ts.BatchGetDealsRequest(
            groups=["real\\*"], start_time=start, end_time=end, page_size=250
        ),
        "deals",
    )
    expected = sorted(
        d.ticket
        for login, b in broker.books.items()
        if broker.users[login].group.name.startswith("real\\")
        for d in b.deals
    )
    assert len(expected) > 250
    assert [d.ticket for d in everyone] == expected
    symbol = next(d.symbol.name for d in deals if d.symbol is not None)
    filtered = await gateway.trade.BatchGetDeals(
        ts.BatchGetDealsRequest(
            logins=[RICH], symbols=[symbol], start_time=start, end_time=end
        )
    )
    assert filtered.deals
    assert {d.symbol for d in filtered.deals} == {symbol}


# ------------------------------------------------------------------ read errors


async def test_read_errors(gateway: Gateway) -> None:
    failure = await rpc_error(gateway.trade.GetDeal(ts.GetDealRequest(ticket=1)))
    assert failure.code is grpc.StatusCode.NOT_FOUND
    assert failure.reason == "MT5_NOT_FOUND"
    assert failure.metadata["ticket"] == "1"
    failure = await rpc_error(
        gateway.trade.ListPositions(ts.ListPositionsRequest(login=0))
    )
    assert failure.code is grpc.StatusCode.INVALID_ARGUMENT
    assert failure.reason == "VALIDATION_FAILED"
    assert failure.fields == ["login"]
    failure = await rpc_error(
        gateway.trade.ListOrders(ts.ListOrdersRequest(login=RICH, page_size=-1))
    )
    assert failure.fields == ["page_size"]
    failure = await rpc_error(
        gateway.trade.ListPositions(ts.ListPositionsRequest(login=RICH, page_token="x"))
    )
    assert failure.reason == "INVALID_PAGE_TOKEN"
    failure = await rpc_error(
        gateway.trade.ListPositions(ts.ListPositionsRequest(login=999_999))
    )
    assert failure.code is grpc.StatusCode.NOT_FOUND
    failure = await rpc_error(
        gateway.trade.BatchGetDeals(ts.BatchGetDealsRequest(logins=[RICH]))
    )
    assert set(failure.fields) == {"start_time", "end_time"}
    failure = await rpc_error(
        gateway.trade.BatchGetOrders(
            ts.BatchGetOrdersRequest(logins=[RICH], groups=["*"])
        )
    )
    assert failure.fields == ["logins"]
    start, end = all_time()
    failure = await rpc_error(
        gateway.trade.ListDeals(
            ts.ListDealsRequest(login=RICH, start_time=end, end_time=start)
        )
    )
    assert failure.fields == ["end_time"]
    failure = await rpc_error(
        gateway.trade.GetOrder(ts.GetOrderRequest(ticket=1, server="nope"))
    )
    assert failure.reason == "SERVER_NOT_FOUND"


async def test_page_token_is_bound_to_the_filters(gateway: Gateway) -> None:
    start, end = all_time()
    first = await gateway.trade.BatchGetDeals(
        ts.BatchGetDealsRequest(
            groups=["*"], start_time=start, end_time=end, page_size=5
        )
    )
    assert first.next_page_token
    failure = await rpc_error(
        gateway.trade.BatchGetDeals(
            ts.BatchGetDealsRequest(
                groups=["real\\*"],
                start_time=start,
                end_time=end,
                page_size=5,
                page_token=first.next_page_token,
            )
        )
    )
    assert failure.code is grpc.StatusCode.INVALID_ARGUMENT
    assert failure.reason == "INVALID_PAGE_TOKEN"


async def test_mt5_down_is_unavailable_with_retry_info(gateway: Gateway) -> None:
    await gateway.faults(drop_rate=1.0, commands=["position/get_total"])
    failure = await rpc_error(
        gateway.trade.ListPositions(ts.ListPositionsRequest(login=RICH), timeout=5)
    )
    assert failure.code is grpc.StatusCode.UNAVAILABLE
    assert failure.reason == "MT5_UNAVAILABLE"
    assert failure.retry is not None


# ------------------------------------------------------------------ balance


async def test_deposit_applies_once_and_replays(gateway: Gateway) -> None:
    user = gateway.sim.broker.users[DEPOSITOR]
    before = user.balance
    request = deposit("250.75", comment="invoice 42")
    reply = await gateway.trade.CreateBalanceOperation(request)
    op = reply.balance_operation
    assert not reply.replayed
    assert money_from_proto(op.amount) == Decimal("250.75")
    assert op.amount.currency_code == "USD"
    assert op.comment == mt5_comment(request.request_id, "invoice 42")
    assert op.request_id == request.request_id
    assert op.margin_checked
    assert user.balance == before + Decimal("250.75")
    deal = gateway.sim.broker.deals[op.deal_ticket]
    assert deal.comment.startswith(reconciliation_tag(request.request_id))
    again = await gateway.trade.CreateBalanceOperation(request)
    assert again.replayed
    assert again.balance_operation == op
    stats = await gateway.stats()
    assert stats["balance_operations"]["count"] == 1
    assert stats["requests"]["trade/balance"] == 1
    assert user.balance == before + Decimal("250.75")


async def test_same_request_id_other_payload_is_a_conflict(gateway: Gateway) -> None:
    request = deposit("10")
    await gateway.trade.CreateBalanceOperation(request)
    other = deposit("11", request_id=request.request_id)
    failure = await rpc_error(gateway.trade.CreateBalanceOperation(other))
    assert failure.reason == "IDEMPOTENCY_CONFLICT"
    assert failure.code is grpc.StatusCode.INVALID_ARGUMENT
    assert failure.metadata["requestId"] == request.request_id
    assert (await gateway.stats())["balance_operations"]["count"] == 1


@pytest.mark.parametrize(
    ("request_", "fields"),
    [
        (deposit("1", request_id="x"), ["request_id"]),
        (deposit("1", request_id=""), ["request_id"]),
        (deposit("1", login=0), ["login"]),
        (deposit("1", type=0), ["type"]),
        (deposit("0"), ["amount"]),
        (deposit("1000000000.01"), ["amount"]),
        (deposit("1", comment="x" * 18), ["comment"]),
        (deposit("1.005"), ["amount"]),
        (deposit("1", currency="EUR"), ["amount.currency_code"]),
    ],
)
async def test_balance_validation_sends_nothing(
    gateway: Gateway, request_: ts.CreateBalanceOperationRequest, fields: list[str]
) -> None:
    failure = await rpc_error(gateway.trade.CreateBalanceOperation(request_))
    assert failure.code is grpc.StatusCode.INVALID_ARGUMENT
    assert failure.reason == "VALIDATION_FAILED"
    assert failure.fields == fields
    assert await gateway.requests("trade/balance") == 0


async def test_no_money_is_stored_and_repeated(gateway: Gateway) -> None:
    request = deposit("-100000000")
    failure = await rpc_error(gateway.trade.CreateBalanceOperation(request))
    assert failure.code is grpc.StatusCode.FAILED_PRECONDITION
    assert failure.reason == "MT5_NO_MONEY"
    assert failure.metadata["retcode"] == "10019"
    again = await rpc_error(gateway.trade.CreateBalanceOperation(request))
    assert again.reason == "MT5_NO_MONEY"
    assert await gateway.requests("trade/balance") == 1


async def test_unknown_login_is_not_found(gateway: Gateway) -> None:
    failure = await rpc_error(
        gateway.trade.CreateBalanceOperation(deposit("1", login=999_999))
    )
    assert failure.code is grpc.StatusCode.NOT_FOUND
    assert await gateway.requests("trade/balance") == 0


async def test_answer_lost_after_apply_is_reconciled(gateway: Gateway) -> None:
    user = gateway.sim.broker.users[DEPOSITOR]
    before = user.balance
    await gateway.faults(
        drop_rate=1.0, drop_after_apply=True, commands=["trade/balance"]
    )
    request = deposit("42.10")
    reply = await gateway.trade.CreateBalanceOperation(request)
    assert not reply.replayed
    deal = gateway.sim.broker.deals[reply.balance_operation.deal_ticket]
    assert deal.comment.startswith(reconciliation_tag(request.request_id))
    await recovered(gateway)
    again = await gateway.trade.CreateBalanceOperation(request)
    assert again.replayed
    assert again.balance_operation.deal_ticket == reply.balance_operation.deal_ticket
    assert user.balance == before + Decimal("42.10")
    assert (await gateway.stats())["balance_operations"]["count"] == 1


SETTLE = {"settle_seconds": 2.0}  # short, so the tests wait it out


def _delay(failure: Any) -> float:
    assert failure.retry is not None
    return float(failure.retry.retry_delay.ToTimedelta().total_seconds())


async def test_request_lost_before_apply_is_written_once_the_window_settles(
    sim: Any, make_gateway: Any, rpc_error: Any
) -> None:
    async with make_gateway(sim, idempotency=SETTLE) as gw:
        await gw.faults(drop_rate=1.0, commands=["trade/balance"])
        request = deposit("7")
        failure = await rpc_error(gw.trade.CreateBalanceOperation(request))
        # The connection dropped after the bytes left: it may have applied.
        assert failure.code is grpc.StatusCode.DEADLINE_EXCEEDED
        assert failure.reason == "MT5_OUTCOME_UNKNOWN"
        assert 0 < _delay(failure) <= 2.0
        await recovered(gw)
        # Inside the window a repeat looks the deal up and never writes.
        early = await rpc_error(gw.trade.CreateBalanceOperation(request))
        assert early.reason == "MT5_OUTCOME_UNKNOWN"
        assert _delay(early) <= _delay(failure)
        assert (await gw.stats())["balance_operations"]["count"] == 0
        await asyncio.sleep(_delay(early))
        reply = await gw.trade.CreateBalanceOperation(request)
        assert not reply.replayed
        again = await gw.trade.CreateBalanceOperation(request)
        assert again.replayed
        assert again.balance_operation == reply.balance_operation
        stats = await gw.stats()
        assert stats["balance_operations"]["count"] == 1
        assert stats["requests"]["trade/balance"] == 2  # the lost one and the one


async def test_outcome_unknown_when_mt5_cannot_be_asked(gateway: Gateway) -> None:
    await gateway.faults(
        drop_rate=1.0,
        drop_after_apply=True,
        commands=["trade/balance", "deal/get_batch"],
    )
    request = deposit("3.50")
    failure = await rpc_error(gateway.trade.CreateBalanceOperation(request, timeout=20))
    assert failure.code is grpc.StatusCode.DEADLINE_EXCEEDED
    assert failure.reason == "MT5_OUTCOME_UNKNOWN"
    assert failure.retry is not None  # when a repeat can settle it
    await recovered(gateway)
    # The repeat reconciles (finds the deal) and never writes again.
    reply = await gateway.trade.CreateBalanceOperation(request)
    assert reply.replayed
    stats = await gateway.stats()
    assert stats["balance_operations"]["count"] == 1
    assert stats["requests"]["trade/balance"] == 1


async def test_unknown_then_provably_absent_then_applied_once(
    sim: Any, make_gateway: Any, rpc_error: Any
) -> None:
    async with make_gateway(sim, idempotency=SETTLE) as gw:
        await gw.faults(drop_rate=1.0, commands=["trade/balance", "deal/get_batch"])
        request = deposit("8.25")
        failure = await rpc_error(gw.trade.CreateBalanceOperation(request, timeout=20))
        assert failure.reason == "MT5_OUTCOME_UNKNOWN"
        await recovered(gw)
        await asyncio.sleep(2.0)  # past the settle window of the lost write
        # The repeat can tell now: absent, and no write can still land: the one write.
        reply = await gw.trade.CreateBalanceOperation(request)
        assert not reply.replayed
        again = await gw.trade.CreateBalanceOperation(request)
        assert again.replayed
        assert again.balance_operation == reply.balance_operation
        assert (await gw.stats())["balance_operations"]["count"] == 1


async def test_money_operations_are_audited(
    sim: Any, make_gateway: Any, tmp_path: Any
) -> None:
    audit_file = tmp_path / "audit.jsonl"
    key = (("x-api-key", "secret-key-1"),)
    async with make_gateway(
        sim,
        grpc={"api_keys": ["secret-key-1"]},
        audit=AuditSettings(file=audit_file),
    ) as gw:
        request = deposit("-5.25", comment="fee")
        reply = await gw.trade.CreateBalanceOperation(request, metadata=key)
        await gw.trade.CreateBalanceOperation(request, metadata=key)
        failed = deposit("-100000000")
        await rpc_error(gw.trade.CreateBalanceOperation(failed, metadata=key))
    records = [json.loads(line) for line in audit_file.read_text().splitlines()]
    assert [r["outcome"] for r in records] == [
        "attempting",  # write-ahead: committed before the MT5 write left
        "succeeded",
        "replayed",
        "attempting",
        "failed",
    ]
    first = records[1]
    assert first["method"] == "/mt5gateway.v1.TradeService/CreateBalanceOperation"
    assert first["operation"] == "withdrawal"
    assert first["server"] == "main"
    assert first["request_id"] == request.request_id
    assert first["login"] == DEPOSITOR
    assert Decimal(first["amount"]) == Decimal("-5.25")
    assert first["currency"] == "USD"
    assert first["comment"] == mt5_comment(request.request_id, "fee")
    assert first["deal"] == reply.balance_operation.deal_ticket
    assert first["caller"].startswith("key-")
    assert first["peer"]
    assert records[4]["retcode"] == 10019
    assert records[4]["request_id"] == failed.request_id
