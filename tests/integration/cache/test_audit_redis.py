from __future__ import annotations

import json

import pytest
from mt5gateway_server.audit import AuditLog, AuditOutcome, AuditRecord
from mt5gateway_server.cache import keys
from redis.asyncio import Redis

pytestmark = pytest.mark.integration


def record(i: int) -> AuditRecord:
    return AuditRecord(
        method="/mt5gateway.v1.TradeService/CreateBalanceOperation",
        operation="withdrawal",
        outcome=AuditOutcome.FAILED,
        server="main",
        request_id=f"req-{i}",
        login=1001,
        amount="-5.25",
        currency="EUR",
        retcode=10019,
        changes={"password": "leak?"},
    )


async def test_records_go_to_the_stream(redis: Redis, tmp_path):
    audit = AuditLog(file=tmp_path / "a.jsonl", redis=redis)
    assert "redis:mt5gw:v1:audit" in repr(audit)
    await audit.write(record(1))
    await audit.aclose()
    ((_entry_id, fields),) = await redis.xrange(keys.AUDIT_STREAM)
    decoded = {k.decode(): v.decode() for k, v in fields.items()}
    assert decoded["request_id"] == "req-1"
    assert decoded["amount"] == "-5.25"
    assert decoded["retcode"] == "10019"
    assert decoded["outcome"] == "failed"
    assert json.loads(decoded["changes"]) == {"password": "***"}
    assert b"leak?" not in b"".join(fields.values())


async def test_stream_is_bounded(redis: Redis):
    audit = AuditLog(redis=redis, stream_maxlen=10)
    for i in range(600):
        await audit.write(record(i))
    await audit.aclose()
    # MAXLEN ~ trims whole radix-tree nodes (100 entries by default).
    assert await redis.xlen(keys.AUDIT_STREAM) <= 10 + 100


async def test_redis_failure_does_not_fail_the_write(redis_server, redis: Redis):
    client = Redis.from_url(redis_server.url, socket_connect_timeout=0.2)
    audit = AuditLog(redis=client)
    redis_server.kill()
    try:
        await audit.write(record(1))  # logged, not raised
    finally:
        redis_server.start()
        await audit.aclose()
        await client.aclose()
