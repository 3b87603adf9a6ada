from __future__ import annotations

import socket

import pytest
from mt5gateway_server.app import redis_config
from mt5gateway_server.cache.redis import (
    RedisConfig,
    RedisUnavailableError,
    close_redis,
    open_redis,
    ping,
    redis_client,
)
from mt5gateway_server.settings import Settings

pytestmark = pytest.mark.integration


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_open_ping_close(redis_url: str):
    client = await open_redis(RedisConfig(url=redis_url))
    assert await ping(client)
    await client.set("mt5gw:v1:test", b"1")
    assert await client.get("mt5gw:v1:test") == b"1"
    await close_redis(client)
    await close_redis(client)  # idempotent


async def test_unreachable_redis_fails_at_start():
    url = f"redis://:secretpw@127.0.0.1:{_closed_port()}/0"
    settings = RedisConfig(url=url, retries=1, connect_timeout_seconds=0.5)
    assert "secretpw" not in repr(settings)
    with pytest.raises(RedisUnavailableError) as info:
        await open_redis(settings)
    assert "secretpw" not in str(info.value)


async def test_redis_client_context_without_url_yields_none():
    async with redis_client(redis_config(Settings())) as client:
        assert client is None


async def test_redis_client_context(redis_url: str):
    settings = Settings(redis={"url": redis_url, "retries": 2})
    assert redis_config(settings).retries == 2
    async with redis_client(redis_config(settings)) as client:
        assert client is not None
        assert await ping(client)


async def test_client_survives_a_redis_restart(redis_server, redis):
    settings = RedisConfig(url=redis_server.url, retries=20, backoff_cap_seconds=0.2)
    async with redis_client(settings) as client:
        assert client is not None
        await client.set("k", b"v")
        redis_server.restart()
        # The pooled connection is dead; the retry policy reconnects transparently.
        assert await client.get("k") is None  # no persistence: data is gone
        assert await ping(client)


async def test_ping_reports_a_dead_server(redis_server, redis):
    settings = RedisConfig(url=redis_server.url, retries=0, connect_timeout_seconds=0.2)
    async with redis_client(settings) as client:
        assert client is not None
        redis_server.kill()
        try:
            assert not await ping(client)
        finally:
            redis_server.start()
        assert await ping(client)
