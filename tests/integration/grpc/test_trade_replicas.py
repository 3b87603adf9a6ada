"""Two gateway replicas sharing Redis: one request_id is applied once, whichever
replica gets it and however often."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any

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
