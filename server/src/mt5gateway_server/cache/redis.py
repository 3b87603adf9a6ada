"""The Redis client: one ``redis.asyncio.Redis`` (with its connection pool) per process.

Transient connection errors and timeouts are retried with exponential jittered backoff
(redis-py re-sends the command). That is safe for every command the gateway issues:
reads; ``SET NX``/``PX`` and Lua scripts that check an owner token (a re-sent claim
recognises its own token); pub/sub publishes of latest-wins ticks; and audit ``XADD``
(a rare duplicate entry carries the same request_id, so readers can drop it).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from mt5gateway_server.log import get_logger, redact

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

__all__ = [
    "RedisConfig",
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


@dataclass(frozen=True, slots=True, kw_only=True)
class RedisConfig:
    """This room's own config (``app.py`` converts the settings). ``url`` None: no
    Redis, everything stays in the process."""

    url: str | None = None
    socket_timeout_seconds: float = 5.0
    connect_timeout_seconds: float = 5.0
    health_check_interval_seconds: int = 30
    max_connections: int = 64
    retries: int = 3
    backoff_base_seconds: float = 0.05
    backoff_cap_seconds: float = 1.0

    def __repr__(self) -> str:
        # A redis:// URL may carry a password; never show it.
        return f"RedisConfig(url={redact(self.url)!r}, retries={self.retries})"


def create_client(cfg: RedisConfig) -> Redis:
    """A client for the configured URL (no I/O yet). Raises if no URL is set."""
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
        cfg.url,
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


async def open_redis(cfg: RedisConfig) -> Redis:
    """Create the client and check Redis answers; close with ``close_redis``."""
    client = create_client(cfg)
    url = redact(cfg.url)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        await client.aclose()
        raise RedisUnavailableError(f"redis at {url} is not answering: {exc}") from exc
    _log.info("redis_connected", url=url)
    return client


async def close_redis(client: Redis) -> None:
    """Close the client and its pool; safe to call twice."""
    await client.aclose()


@contextlib.asynccontextmanager
async def redis_client(cfg: RedisConfig) -> AsyncIterator[Redis | None]:
    """For the composition root's exit stack; yields None without a Redis URL."""
    if cfg.url is None:
        yield None
        return
    client = await open_redis(cfg)
    try:
        yield client
    finally:
        await close_redis(client)
