"""Two gateway replicas sharing Redis: one request_id is applied once, whichever
replica gets it and however often."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import grpc
import pytest
from mt5gateway.v1 import trade_pb2
from mt5gateway.v1 import trade_service_pb2 as ts
from mt5gateway_server.mapping.money import money_to_proto
from mt5gateway_server.settings import RedisSettings

if TYPE_CHECKING:
    from mt5sim import Simulator
    from redis.asyncio import Redis

pytestmark = pytest.mark.integration

LOGIN = 100_001


def deposit(request_id: str, amount: str) -> ts.CreateBalanceOperationRequest:
    return ts.CreateBalanceOperationRequest(
        request_id=request_id,
        login=LOGIN,
        type=trade_pb2.BALANCE_OPERATION_TYPE_BALANCE,
        amount=money_to_proto(Decimal(amount), ""),
    )


async def test_replicas_share_the_outcome(
    sim: Simulator, make_gateway: Any, redis: Redis, redis_url: str
) -> None:
    del redis  # a flushed database
    shared = {"redis": RedisSettings(url=redis_url)}
    async with make_gateway(sim, **shared) as one, make_gateway(sim, **shared) as two:
        ids = [str(uuid.uuid4()) for _ in range(20)]
        calls = [
            gw.trade.CreateBalanceOperation(deposit(rid, "1.50"))
            for rid in ids
            for gw in (one, two, one)
        ]
        replies = await asyncio.gather(*calls)
        by_id: dict[str, set[int]] = {}
        fresh = 0
        for reply in replies:
            op = reply.balance_operation
            by_id.setdefault(op.request_id, set()).add(op.deal_ticket)
            fresh += not reply.replayed
        assert all(len(tickets) == 1 for tickets in by_id.values())
        assert set(by_id) == set(ids)
        assert fresh == len(ids)
        stats = await one.stats()
        assert stats["balance_operations"]["count"] == len(ids)
        assert Decimal(stats["balance_operations"]["per_login"][str(LOGIN)]) == (
            Decimal("1.50") * len(ids)
        )


async def test_redis_down_refuses_money_with_state_store_unavailable(
    sim: Simulator,
    make_gateway: Any,
    redis: Redis,
    redis_server: Any,
    rpc_error: Any,
) -> None:
    del redis  # a flushed database
    settings = RedisSettings(url=redis_server.url, retries=1, backoff_base_seconds=0.01)
    async with make_gateway(sim, redis=settings) as gw:
        rid = str(uuid.uuid4())
        before = (await gw.stats())["balance_operations"]["count"]
        redis_server.kill()
        try:
            failure = await rpc_error(
                gw.trade.CreateBalanceOperation(deposit(rid, "2"))
            )
        finally:
            redis_server.start()
        assert failure.code is grpc.StatusCode.UNAVAILABLE
        assert failure.reason == "STATE_STORE_UNAVAILABLE"
        assert failure.retry is not None
        assert "redis" not in failure.message.lower()  # no infrastructure details
        assert (await gw.stats())["balance_operations"]["count"] == before
        # Back up: the same request_id is applied, once.
        reply = await gw.trade.CreateBalanceOperation(deposit(rid, "2"))
        again = await gw.trade.CreateBalanceOperation(deposit(rid, "2"))
        assert not reply.replayed
        assert again.replayed
        assert (
            again.balance_operation.deal_ticket == reply.balance_operation.deal_ticket
        )
        assert (await gw.stats())["balance_operations"]["count"] == before + 1
