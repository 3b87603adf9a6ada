"""Quote fan-out across replicas through Redis: one replica polls, every replica reads.

Per (MT5 server, view) feed, with ``keys`` from ``cache/keys.py``:

- **Interest** ``mt5gw:v1:quotes:interest:{server}:{view}`` (sorted set): member
  ``<replica>|<symbol>``, score = expiry (ms since the epoch). Every replica with
  local subscribers re-adds its symbols every ``refresh_seconds``; entries of a dead
  replica expire. The union of live entries is what gets polled.
- **Lease** ``quote_lease``: ``SET NX PX`` with the replica's token, renewed every
  refresh by a script that checks the token, deleted (token checked) on drain. Only
  replicas with subscribers try to take it, so a dead holder is replaced within
  ``lease_seconds`` + ``refresh_seconds``.
- **Ticks**: the holder runs a ``QuotePoller`` over the union and, for every changed
  tick, ``PUBLISH``es one JSON message to ``quote_channel`` and ``HSET``s it into
  ``quote_snapshot`` (symbol -> the same JSON). Every replica, the holder included,
  serves its own subscribers from the channel. The format is in docs/streaming.md.

Redis going away (restart, failover) ends nothing: streams stay open with
heartbeats; the reader reconnects and re-subscribes, interest and lease are written
again on the next refresh, and the holder's poller resends every symbol once
(it restarts from ``trans_id=0`` after a failed publish).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError

from mt5gateway_server.cache import keys
from mt5gateway_server.feeds.hub import Feed, FeedKey, FeedTick, wait_event
from mt5gateway_server.feeds.poller import QuotePoller
from mt5gateway_server.log import get_logger
from mt5gateway_server.mapping.money import decimal_text
from mt5gateway_server.webapi.models import Tick
from mt5gateway_server.webapi.tasks import spawn

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from redis.asyncio import Redis
    from redis.asyncio.client import PubSub

    from mt5gateway_server.webapi import PoolManager

__all__ = [
    "FORMAT_VERSION",
    "RedisFanout",
    "decode_tick",
    "encode_tick",
    "interest_key",
]

_log = get_logger("feeds.redis")

FORMAT_VERSION = 1
_SEP = "|"

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


def interest_key(server: str, view: str) -> str:
    """Sorted set of ``<replica>|<symbol>`` wanted, scored by expiry (ms)."""
    return keys.quote_interest(server, view)


def _ms(value: datetime | None) -> int:
    return 0 if value is None else int(value.timestamp() * 1000 + 0.5)


def encode_tick(key: FeedKey, tick: Tick, published_ms: int) -> bytes:
    """The documented JSON message (docs/streaming.md); prices as decimal strings."""
    return json.dumps(
        {
            "v": FORMAT_VERSION,
            "server": key.server,
            "view": key.view,
            "symbol": tick.symbol,
            "digits": tick.digits,
            "time_msc": _ms(tick.time_msc or tick.time),
            "bid": decimal_text(tick.bid),
            "ask": decimal_text(tick.ask),
            "last": decimal_text(tick.last),
            "volume": tick.volume,
            "volume_real": decimal_text(tick.volume_real),
            "published_msc": published_ms,
        },
        separators=(",", ":"),
    ).encode()


def decode_tick(data: bytes | str) -> Tick:
    """A Tick DTO from the JSON message; ValueError/KeyError if malformed."""
    obj: dict[str, Any] = json.loads(data)
    stamp = int(obj["time_msc"])
    when = datetime.fromtimestamp(stamp / 1000, tz=UTC) if stamp else None
    return Tick(
        symbol=str(obj["symbol"]),
        digits=int(obj["digits"]),
        time=when.replace(microsecond=0) if when is not None else None,
        time_msc=when,
        bid=Decimal(obj["bid"]),
        ask=Decimal(obj["ask"]),
        last=Decimal(obj["last"]),
        volume=int(obj["volume"]),
        volume_real=Decimal(obj["volume_real"]),
    )


class _Held:
    """A lease this replica holds, and the poller it runs under it."""

    __slots__ = ("poller", "valid_until")

    def __init__(self, poller: QuotePoller, valid_until: float) -> None:
        self.poller = poller
        self.valid_until = valid_until


class RedisFanout:
    """The ``FeedSource`` for several replicas sharing one Redis."""

    def __init__(
        self,
        redis: Redis,
        pools: PoolManager,
        *,
        interval: float,
        lease_seconds: float = 5.0,
        refresh_seconds: float = 0.5,
        replica: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if refresh_seconds * 2 > lease_seconds:
            raise ValueError("refresh_seconds must be at most half of lease_seconds")
        self.redis = redis
        self.pools = pools
        self.interval = interval
        self.lease_seconds = lease_seconds
        self.refresh_seconds = refresh_seconds
        self.replica = replica or (
            f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        )
        self._clock = clock
        self.feeds: dict[FeedKey, Feed] = {}
        self.held: dict[FeedKey, _Held] = {}
        self._advertised: dict[FeedKey, frozenset[str]] = {}
        self._channels: dict[bytes, FeedKey] = {}
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)
        self._wake = asyncio.Event()  # lease loop: refresh now
        self._wake_reader = asyncio.Event()  # reader: subscriptions changed
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False
        self.messages = 0
        self.publish_errors = 0

    def __repr__(self) -> str:
        return (
            f"<RedisFanout {self.replica} {len(self.feeds)} feeds,"
            f" holding {[f'{k.server}/{k.view}' for k in self.held]}>"
        )

    def holds(self, key: FeedKey) -> bool:
        return key in self.held

    # -- FeedSource -------------------------------------------------------------

    def start(self) -> None:
        if not self._tasks:
            # Started by some stream's handler, but not part of its request.
            self._tasks = [
                spawn(self._lease_loop(), name="quote-fanout-leases"),
                spawn(self._read_loop(), name="quote-fanout-reader"),
            ]

    def watch(self, feed: Feed) -> None:
        self.start()
        self.feeds[feed.key] = feed
        self._wake.set()
        self._wake_reader.set()

    def update(self, feed: Feed) -> None:
        self.feeds[feed.key] = feed
        self._wake.set()

    async def unwatch(self, feed: Feed) -> None:
        if self.feeds.get(feed.key) is feed and feed.hub.feeds.get(feed.key) is None:
            del self.feeds[feed.key]
            self._wake.set()

    async def aclose(self) -> None:
        """Drain: release leases, withdraw interest, stop; idempotent."""
        if self._closed:
            return
        self._closed = True
        await self._cancel_tasks()
        for key in list(self.held):
            await self._drop(key, release=True)
        for key in list(self._advertised):
            with contextlib.suppress(RedisError, OSError):
                await self._withdraw(key)
        self.feeds.clear()

    async def abort(self) -> None:
        """Stop as if the process died: nothing released (tests, benchmarks)."""
        self._closed = True
        await self._cancel_tasks()
        for key in list(self.held):
            held = self.held.pop(key)
            await held.poller.aclose()

    async def _cancel_tasks(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- interest and leases -------------------------------------------------------

    def _members(self, names: Iterable[str]) -> list[str]:
        return [f"{self.replica}{_SEP}{name}" for name in names]

    async def _advertise(self, key: FeedKey, names: frozenset[str]) -> frozenset[str]:
        """Renew this replica's interest; returns the union of every live replica."""
        zkey = interest_key(key.server, key.view)
        now_ms = int(self._clock() * 1000)
        expiry = now_ms + int(self.lease_seconds * 2000)
        gone = self._advertised.get(key, frozenset()) - names
        pipe = self.redis.pipeline(transaction=False)
        if names:
            pipe.zadd(zkey, dict.fromkeys(self._members(names), expiry))
        if gone:
            pipe.zrem(zkey, *self._members(gone))
        pipe.zremrangebyscore(zkey, "-inf", now_ms)
        pipe.zrangebyscore(zkey, now_ms, "+inf")
        pipe.pexpire(zkey, int(self.lease_seconds * 4000))
        results = await pipe.execute()
        self._advertised[key] = names
        union: set[str] = set()
        for member in results[-2]:
            text = member.decode() if isinstance(member, bytes) else str(member)
            union.add(text.split(_SEP, 1)[1] if _SEP in text else text)
        return frozenset(union)

    async def _withdraw(self, key: FeedKey) -> None:
        names = self._advertised.pop(key, frozenset())
        if names:
            await self.redis.zrem(
                interest_key(key.server, key.view), *self._members(names)
            )

    async def _lease_loop(self) -> None:
        failures = 0
        while not self._closed:
            try:
                for key in set(self.feeds) | set(self.held) | set(self._advertised):
                    await self._refresh(key)
                failures = 0
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                failures += 1
                if failures == 1:
                    _log.warning("quote_fanout_redis_error", error=type(exc).__name__)
                self._expire_unrenewed()
            except Exception:  # noqa: BLE001 - leases must keep being renewed
                _log.exception("quote_fanout_error")
            self._wake.clear()
            await wait_event(self._wake, self.refresh_seconds)

    def _expire_unrenewed(self) -> None:
        # Without Redis we cannot renew: stop polling once the lease has run out,
        # because by then another replica may hold it.
        now = self._clock()
        for key, held in list(self.held.items()):
            if now >= held.valid_until:
                del self.held[key]
                _log.warning("quote_lease_lost", server=key.server, view=key.view)
                spawn(held.poller.aclose(), name=f"quote-poller-close-{key.server}")

    async def _refresh(self, key: FeedKey) -> None:
        feed = self.feeds.get(key)
        names = feed.names() if feed is not None else frozenset()
        if not names and key not in self.held:
            await self._withdraw(key)
            return
        union = await self._advertise(key, names)
        lease = keys.quote_lease(key.server, key.view)
        ttl_ms = int(self.lease_seconds * 1000)
        held = self.held.get(key)
        if held is not None:
            if not union:
                await self._drop(key, release=True)
                return
            renewed = await self._renew(keys=[lease], args=[self.replica, ttl_ms])
            if not renewed:
                _log.warning("quote_lease_lost", server=key.server, view=key.view)
                await self._drop(key, release=False)
                return
            held.valid_until = self._clock() + self.lease_seconds
            held.poller.set_symbols(union)
            return
        if not names or not union:
            return
        if await self.redis.set(lease, self.replica, nx=True, px=ttl_ms):
            valid_until = self._clock() + self.lease_seconds
            poller = QuotePoller(
                self.pools.pool(key.server),
                key,
                self._publisher(key),
                interval=self.interval,
            )
            self.held[key] = _Held(poller, valid_until)
            poller.set_symbols(union)
            poller.start()
            _log.info(
                "quote_lease_acquired",
                server=key.server,
                view=key.view,
                replica=self.replica,
            )

    async def _drop(self, key: FeedKey, *, release: bool) -> None:
        held = self.held.pop(key, None)
        if held is None:
            return
        await held.poller.aclose()
        if release:
            with contextlib.suppress(RedisError, OSError):
                await self._release(
                    keys=[keys.quote_lease(key.server, key.view)], args=[self.replica]
                )
            _log.info("quote_lease_released", server=key.server, view=key.view)

    def _publisher(self, key: FeedKey) -> Callable[[list[FeedTick]], Any]:
        channel = keys.quote_channel(key.server, key.view)
        snapshot = keys.quote_snapshot(key.server, key.view)
        keep_ms = int(self.lease_seconds * 12_000)

        async def publish(ticks: list[FeedTick]) -> None:
            now_ms = int(self._clock() * 1000)
            pipe = self.redis.pipeline(transaction=False)
            latest: dict[str, bytes] = {}
            for tick in ticks:
                data = encode_tick(key, tick.tick, now_ms)
                pipe.publish(channel, data)
                latest[tick.symbol] = data
            pipe.hset(snapshot, mapping=latest)  # type: ignore[arg-type]
            pipe.pexpire(snapshot, keep_ms)
            try:
                await pipe.execute()
            except (RedisError, OSError):
                self.publish_errors += 1
                raise

        return publish

    # -- reading the channels ------------------------------------------------------

    async def _read_loop(self) -> None:
        failures = 0
        while not self._closed:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await self._read(pubsub)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                failures += 1
                if failures == 1:
                    _log.warning("quote_fanout_reader_error", error=type(exc).__name__)
                await asyncio.sleep(min(0.05 * 2**failures, 1.0))
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _read(self, pubsub: PubSub) -> None:
        subscribed: dict[bytes, FeedKey] = {}
        # Checked each round, not only cancelled: on 3.11 a cancel racing the read's
        # timeout becomes a timeout that redis-py answers with "no message", and the
        # reader would go on for ever while aclose()/abort() wait for it.
        while not self._closed:
            wanted = {
                keys.quote_channel(k.server, k.view).encode(): k for k in self.feeds
            }
            new = [c for c in wanted if c not in subscribed]
            old = [c for c in subscribed if c not in wanted]
            if new:
                await pubsub.subscribe(*new)
                # Ticks published before we listened (start-up, reconnect after a
                # Redis restart) are in the snapshot hash; newest-wins drops the rest.
                for channel in new:
                    await self._catch_up(wanted[channel])
            if old:
                await pubsub.unsubscribe(*old)
            subscribed = wanted
            if not subscribed:
                self._wake_reader.clear()
                await wait_event(self._wake_reader, self.refresh_seconds)
                continue
            message = await pubsub.get_message(
                ignore_subscribe_messages=True, timeout=0.05
            )
            while message is not None:
                self._dispatch(subscribed, message)
                # Drain what is buffered before checking subscriptions again.
                message = await pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=0
                )

    async def _catch_up(self, key: FeedKey) -> None:
        feed = self.feeds.get(key)
        if feed is None:
            return
        stored = await self.redis.hgetall(keys.quote_snapshot(key.server, key.view))
        ticks: list[FeedTick] = []
        for data in stored.values():
            try:
                ticks.append(FeedTick(decode_tick(data)))
            except (ValueError, KeyError, TypeError):
                continue
        feed.publish(ticks)

    def _dispatch(self, subscribed: dict[bytes, FeedKey], message: Any) -> None:  # noqa: ANN401
        if message.get("type") != "message":
            return
        key = subscribed.get(message["channel"])
        feed = self.feeds.get(key) if key is not None else None
        if feed is None:
            return
        try:
            tick = decode_tick(message["data"])
        except (ValueError, KeyError, TypeError):
            _log.warning("quote_message_malformed", server=feed.key.server)
            return
        self.messages += 1
        feed.publish((FeedTick(tick),))
