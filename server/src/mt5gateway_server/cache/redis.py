"""The Redis client: one ``redis.asyncio.Redis`` (with its connection pool) per process.

Transient connection errors and timeouts are retried with exponential jittered backoff
(redis-py re-sends the command). That is safe for every command the gateway issues:
reads; ``SET NX``/``PX`` and Lua scripts that check an owner token (a re-sent claim
recognises its own token); pub/sub publishes of latest-wins ticks; and audit ``XADD``
(a rare duplicate entry carries the same request_id, so readers can drop it).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from mt5gateway_server.log import get_logger
from mt5gateway_server.settings import RedisSettings, Settings, mask_url_password

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

__all__ = [
    "RedisUnavailableError",
    "close_redis",
    "create_client",
    "open_redis",
    "ping",
    "redis_client",
]

_log = get_logger("redis")


class RedisUnavailableError(RuntimeError):
    """Redis is configured but did not answer PING at start-up."""


def _redis_settings(settings: Settings | RedisSettings) -> RedisSettings:
    return settings if isinstance(settings, RedisSettings) else settings.redis


def create_client(settings: Settings | RedisSettings) -> Redis:
    """A client for the configured URL (no I/O yet). Raises if no URL is set."""
    cfg = _redis_settings(settings)
    if cfg.url is None:
        raise ValueError("redis.url is not set")
    retry = Retry(
        ExponentialWithJitterBackoff(
            base=cfg.backoff_base_seconds, cap=cfg.backoff_cap_seconds
        ),
        cfg.retries,
        supported_errors=(RedisConnectionError, RedisTimeoutError),
    )
    client: Redis = Redis.from_url(
        str(cfg.url),
        retry=retry,
        socket_timeout=cfg.socket_timeout_seconds,
        socket_connect_timeout=cfg.connect_timeout_seconds,
        health_check_interval=cfg.health_check_interval_seconds,
        max_connections=cfg.max_connections,
        client_name="mt5gateway",
        decode_responses=False,
    )
    return client


async def ping(client: Redis) -> bool:
    """Health check: True when Redis answers PING (never raises)."""
    try:
        return bool(await client.ping())
    except (RedisError, OSError):
        return False


async def open_redis(settings: Settings | RedisSettings) -> Redis:
    """Create the client and check Redis answers; close with ``close_redis``."""
    cfg = _redis_settings(settings)
    client = create_client(cfg)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        await client.aclose()
        url = mask_url_password(str(cfg.url))
        raise RedisUnavailableError(f"redis at {url} is not answering: {exc}") from exc
    _log.info("redis_connected", url=mask_url_password(str(cfg.url)))
    return client


async def close_redis(client: Redis) -> None:
    """Close the client and its pool; safe to call twice."""
    await client.aclose()


@contextlib.asynccontextmanager
async def redis_client(
    settings: Settings | RedisSettings,
) -> AsyncIterator[Redis | None]:
    """For the composition root's exit stack; yields None without a Redis URL."""
    if _redis_settings(settings).url is None:
        yield None
        return
    client = await open_redis(settings)
    try:
        yield client
    finally:
        await close_redis(client)
