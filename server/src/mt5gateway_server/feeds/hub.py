"""In-process quote fan-out: one Feed per (MT5 server, price view), many subscribers.

A ``Feed`` keeps the latest tick of every symbol someone in this process subscribes
to and hands each new tick to the subscribers of that symbol. Each ``Subscription``
holds at most one unsent tick per symbol (conflation: a newer tick replaces the
unsent older one), so memory is bounded by the subscription's symbol count and a
slow reader never delays anybody else: ``Feed.publish`` never awaits.

Where ticks come from is a ``FeedSource``: a local poller per feed (no Redis) or the
Redis fan-out (one replica polls, all replicas read the Pub/Sub channel).

The hub also watches whether each MT5 server can serve (a working pooled session, what
health reports): when that changes, every subscription of that server is woken so its
stream can tell its reader at once that prices are stale (``upstream_down_since``).

The hub raises its own exceptions (``HubClosedError``, ``TooManySymbolsError``,
``NoSymbolMatchedError``); ``errors.STATUS_TABLE`` gives their
statuses.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from mt5gateway_server.cache import keys
from mt5gateway_server.log import get_logger
from mt5gateway_server.webapi.tasks import spawn

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from mt5gateway_server.telemetry import Metrics
    from mt5gateway_server.webapi import PoolManager
    from mt5gateway_server.webapi.models import Tick

__all__ = [
    "Feed",
    "FeedKey",
    "FeedSource",
    "FeedTick",
    "HubClosedError",
    "HubConfig",
    "NoSymbolMatchedError",
    "QuoteHub",
    "Subscription",
    "TooManySymbolsError",
    "is_mask",
    "tick_stamp",
    "wait_event",
]

_log = get_logger("feeds.hub")

# Masks resolved through MT5 are remembered this long (new symbols appear rarely).
MASK_CACHE_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class HubConfig:
    """The hub's settings (``quotes.subscriber_queue_size`` in the gateway's)."""

    # Symbols per stream, and so the most unsent ticks a stream can hold.
    subscriber_queue_size: int = 1024
    # How often each MT5 server's ability to serve is looked at.
    upstream_check_seconds: float = 0.25


class HubClosedError(Exception):
    """The hub was closed (the gateway drains): no new subscriptions."""

    def __init__(self) -> None:
        super().__init__("the quote hub is closed")


class TooManySymbolsError(Exception):
    """The requested names and masks match more symbols than a stream may have."""

    def __init__(self, matched: int, limit: int) -> None:
        super().__init__(
            f"matches {matched} symbols; a stream may have at most {limit}"
        )
        self.matched = matched
        self.limit = limit


class NoSymbolMatchedError(Exception):
    """The requested masks match no symbol of the server: the stream would only
    ever send heartbeats."""

    def __init__(self, server: str) -> None:
        super().__init__("no symbol matches the requested names and masks")
        self.server = server


def is_mask(item: str) -> bool:
    """``*`` anywhere or a leading ``!`` (docs/mt5-webapi.md, "Masks")."""
    return "*" in item or item.startswith("!")


def tick_stamp(tick: Tick) -> int:
    """Tick time in ms since the epoch (DatetimeMsc, else Datetime)."""
    when = tick.time_msc or tick.time
    if when is None:
        return 0
    return int(when.timestamp() * 1000 + 0.5)


@dataclass(frozen=True, slots=True)
class FeedKey:
    """One upstream price stream: a server and a view (raw, or a group's prices)."""

    server: str
    group: str = ""

    @property
    def view(self) -> str:
        return keys.quote_view(self.group or None)


class FeedTick:
    """A tick as it travels through the hub; ``payload`` caches the wire message so
    it is built once per tick, not once per subscriber."""

    __slots__ = ("ident", "payload", "received", "stamp", "symbol", "tick")

    def __init__(self, tick: Tick, received: float | None = None) -> None:
        self.tick = tick
        self.symbol = tick.symbol
        self.stamp = tick_stamp(tick)
        # Same stamp and same prices = the same tick (a full snapshot repeats it).
        self.ident = (self.stamp, tick.bid, tick.ask, tick.last, tick.volume)
        self.received = time.time() if received is None else received
        self.payload: object | None = None

    def newer_than(self, other: FeedTick) -> bool:
        """Later, or as late with other prices (MT5 times have ms resolution)."""
        return self.stamp > other.stamp or (
            self.stamp == other.stamp and self.ident != other.ident
        )

    def __repr__(self) -> str:
        return f"<FeedTick {self.symbol} {self.stamp} {self.tick.bid}/{self.tick.ask}>"


class Subscription:
    """One stream's view of a feed: the symbols it wants and its unsent ticks."""

    __slots__ = (
        "_due",
        "_waiter",
        "error",
        "feed",
        "min_interval",
        "names",
        "pending",
        "snapshot",
        "upstream_changed",
    )

    def __init__(self, feed: Feed, names: frozenset[str], min_interval: float) -> None:
        self.feed = feed
        self.names = names
        self.min_interval = min_interval
        self.pending: dict[str, FeedTick] = {}
        self.snapshot: list[FeedTick] = []
        self.error: BaseException | None = None
        # Set when the server's ability to serve changed and the reader is not told yet.
        self.upstream_changed = False
        self._waiter: asyncio.Future[None] | None = None
        # symbol -> earliest time (monotonic) the next tick may go out (throttle)
        self._due: dict[str, float] | None = {} if min_interval > 0 else None

    def __repr__(self) -> str:
        return (
            f"<Subscription {self.feed.key.server}/{self.feed.key.view}"
            f" {len(self.names)} symbols, {len(self.pending)} pending>"
        )

    def offer(self, tick: FeedTick) -> None:
        if tick.symbol in self.pending:
            self.feed.conflated += 1
        self.pending[tick.symbol] = tick
        self._wake()

    def close(self, error: BaseException) -> None:
        """End the stream: the reader raises ``error`` (drain: GatewayDrainingError)."""
        if self.error is None:
            self.error = error
        self._wake()

    def upstream_change(self) -> None:
        """The server went down or came back: the reader should say so now."""
        self.upstream_changed = True
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self, seconds: float) -> None:
        """Until a new tick is offered, the subscription is closed or its upstream
        changed, or ``seconds`` passed.

        Called right after ``take`` (no await in between), so anything still
        pending is held back by the throttle and must not end the wait.
        """
        if self.error is not None or self.upstream_changed or seconds <= 0:
            return
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()
        self._waiter = waiter
        # call_later, not asyncio.timeout: on 3.11 a cancel racing the timeout can
        # be turned into TimeoutError and lost, leaving the stream running.
        timer = loop.call_later(seconds, _release, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None

    def take(self, now: float) -> tuple[list[FeedTick], float | None]:
        """Ticks that may go out now, and when the next held-back one is due."""
        if self._due is None:
            out = list(self.pending.values())
            self.pending.clear()
            return out, None
        due = self._due
        ready: list[FeedTick] = []
        later: float | None = None
        for symbol, tick in list(self.pending.items()):
            at = due.get(symbol, 0.0)
            if at <= now:
                ready.append(tick)
                del self.pending[symbol]
                due[symbol] = now + self.min_interval
            elif later is None or at < later:
                later = at
        return ready, later


def _release(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


async def wait_event(event: asyncio.Event, seconds: float) -> None:
    """``event.wait()`` for at most ``seconds``; cancellation always propagates."""
    timer = asyncio.get_running_loop().call_later(seconds, event.set)
    try:
        await event.wait()
    finally:
        timer.cancel()


class FeedSource(Protocol):
    """Feeds a Feed with ticks: started with the first subscriber, told when the
    symbol set changes, stopped when the last subscriber leaves."""

    def watch(self, feed: Feed) -> None: ...

    def update(self, feed: Feed) -> None: ...

    async def unwatch(self, feed: Feed) -> None: ...

    async def aclose(self) -> None: ...


class Feed:
    """Latest ticks and subscribers of one (server, view) in this process."""

    def __init__(self, hub: QuoteHub, key: FeedKey) -> None:
        self.hub = hub
        self.key = key
        self.latest: dict[str, FeedTick] = {}
        self.subscribers: dict[Subscription, None] = {}
        # symbol -> subscriptions that want it
        self.index: dict[str, dict[Subscription, None]] = {}
        self._lower: dict[str, str] = {}
        self._masks: dict[tuple[str, ...], tuple[float, frozenset[str]]] = {}
        self.fetch_lock = asyncio.Lock()
        # Fetched for a stream that is about to attach: a snapshot source until the
        # poller has them (bounded by the symbols of the server).
        self.fresh: dict[str, FeedTick] = {}
        self.published = 0
        self.conflated = 0  # since the last publish, reported in one go

    def __repr__(self) -> str:
        return (
            f"<Feed {self.key.server}/{self.key.view} {len(self.subscribers)} subs,"
            f" {len(self.index)} symbols>"
        )

    def names(self) -> frozenset[str]:
        """Every symbol some subscriber of this process wants."""
        return frozenset(self.index)

    def publish(self, ticks: Iterable[FeedTick]) -> None:
        """Newer ticks replace the latest and go to their subscribers; never waits."""
        latest, index = self.latest, self.index
        for tick in ticks:
            subs = index.get(tick.symbol)
            if subs is None:
                continue  # nobody here wants it (any more)
            old = latest.get(tick.symbol)
            if old is not None and not tick.newer_than(old):
                continue
            latest[tick.symbol] = tick
            self.published += 1
            for sub in subs:
                sub.offer(tick)
        if self.conflated:  # one metrics call per batch, not per tick
            self.hub.count_conflated(self.key.server, self.conflated)
            self.conflated = 0

    def canonical(self, item: str) -> str | None:
        """A plain item (name or full path) as a known symbol name, if known."""
        return self._lower.get(item.rsplit("\\", 1)[-1].lower())

    def remember(self, names: Iterable[str]) -> None:
        for name in names:
            self._lower[name.lower()] = name

    def cached_mask(self, items: tuple[str, ...], now: float) -> frozenset[str] | None:
        hit = self._masks.get(items)
        if hit is None or now - hit[0] > MASK_CACHE_SECONDS:
            return None
        return hit[1]

    def cache_mask(
        self, items: tuple[str, ...], names: frozenset[str], now: float
    ) -> None:
        if len(self._masks) > 1024:  # bounded: forget everything, re-resolve
            self._masks.clear()
        self._masks[items] = (now, names)

    def add(self, sub: Subscription) -> bool:
        """Register; True if the feed's symbol set grew."""
        grew = False
        self.subscribers[sub] = None
        for name in sub.names:
            subs = self.index.get(name)
            if subs is None:
                subs = self.index[name] = {}
                grew = True
            subs[sub] = None
        return grew

    def remove(self, sub: Subscription) -> bool:
        """Unregister; True if the feed's symbol set shrank."""
        if self.subscribers.pop(sub, False) is False:
            return False
        shrank = False
        for name in sub.names:
            subs = self.index.get(name)
            if subs is None:
                continue
            subs.pop(sub, None)
            if not subs:
                del self.index[name]
                # Nobody polls it now: a later subscriber must not get this as current.
                self.latest.pop(name, None)
                shrank = True
        return shrank


class QuoteHub:
    """All feeds of this process; ``subscribe`` / ``unsubscribe`` per stream."""

    def __init__(
        self,
        pools: PoolManager,
        config: HubConfig,
        source: FeedSource,
        *,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.monotonic,
        serving: Callable[[str], bool] | None = None,
    ) -> None:
        self.pools = pools
        self.config = config
        self.source = source
        self.feeds: dict[FeedKey, Feed] = {}
        self._metrics = metrics
        self._clock = clock
        # Can this MT5 server serve? (injected in tests; default: what health says)
        self._serving = serving or (lambda name: pools.pool(name).serving)
        # server -> when (epoch seconds) it was first seen unable to serve
        self._down_since: dict[str, float] = {}
        self._watch_task: asyncio.Task[None] | None = None
        self._closed = False
        self.conflated_total = 0
        if metrics is not None:
            metrics.register_quote_hub(
                self.queue_depth_by_server, self.subscribers_by_server
            )

    def __repr__(self) -> str:
        return f"<QuoteHub {list(self.feeds.values())!r}>"

    # -- metrics ----------------------------------------------------------------

    def count_conflated(self, server: str, count: int) -> None:
        self.conflated_total += count
        if self._metrics is not None:
            self._metrics.record_conflated_quotes(server, count)

    def queue_depth(self) -> int:
        return sum(
            len(sub.pending) for feed in self.feeds.values() for sub in feed.subscribers
        )

    def subscriber_count(self) -> int:
        return sum(len(feed.subscribers) for feed in self.feeds.values())

    def queue_depth_by_server(self) -> dict[str, int]:
        """Unsent quotes in stream queues per MT5 server (a metrics gauge)."""
        # Called from the /metrics thread while the loop mutates these dicts: copy
        # each in one C-level step (atomic under the GIL) before iterating.
        depth: dict[str, int] = {}
        for key, feed in list(self.feeds.items()):
            depth[key.server] = depth.get(key.server, 0) + sum(
                len(sub.pending) for sub in tuple(feed.subscribers)
            )
        return depth

    def subscribers_by_server(self) -> dict[str, int]:
        """Subscriptions per MT5 server (a metrics gauge)."""
        counts: dict[str, int] = {}
        for key, feed in list(self.feeds.items()):
            counts[key.server] = counts.get(key.server, 0) + len(feed.subscribers)
        return counts

    # -- upstream state -----------------------------------------------------------

    def upstream_down_since(self, server: str) -> float | None:
        """Since when (epoch seconds) ``server`` cannot serve, None while it can."""
        return self._down_since.get(server)

    def check_upstream(self) -> None:
        """Note each server's ability to serve; on a change, wake its streams."""
        for server in self.pools.names:
            serving = self._serving(server)
            if serving == (server not in self._down_since):
                continue  # as the streams were told
            if serving:
                del self._down_since[server]
            else:
                self._down_since[server] = time.time()
            for feed in list(self.feeds.values()):
                if feed.key.server == server:
                    for sub in list(feed.subscribers):
                        sub.upstream_change()

    async def _watch_upstream(self) -> None:
        while True:
            try:
                self.check_upstream()
            except Exception:  # noqa: BLE001 - must keep watching
                _log.warning("quote_upstream_check_failed", exc_info=True)
            await asyncio.sleep(self.config.upstream_check_seconds)

    def _start_watch(self) -> None:
        if self._watch_task is None:
            # Started by some stream, but not part of its request.
            self._watch_task = spawn(self._watch_upstream(), name="quote-hub-upstream")

    # -- subscriptions ------------------------------------------------------------

    async def _fetch(self, key: FeedKey, items: Sequence[str]) -> list[FeedTick]:
        """A full answer (trans_id=0): resolves masks and gives their snapshot."""
        client = self.pools.client(key.server)
        if key.group:
            answer = await client.tick_last_group(items, key.group, 0)
        else:
            answer = await client.tick_last(items, 0)
        received = time.time()
        return [FeedTick(t, received) for t in answer.ticks]

    async def _resolve(
        self, feed: Feed, items: Sequence[str]
    ) -> tuple[set[str], list[FeedTick]]:
        """Symbol names for ``items`` and the ticks fetched to find them."""
        resolved = self._known(feed, items)
        if resolved is not None:
            return resolved, []
        # One fetch per feed at a time: when thousands of streams open at once, the
        # first fetch makes the names known and the rest need no MT5 call at all.
        async with feed.fetch_lock:
            resolved = self._known(feed, items)
            if resolved is not None:
                return resolved, []
            masks = tuple(sorted(i for i in items if is_mask(i)))
            plain = [i for i in items if not is_mask(i)]
            if masks:
                # Masks and plain names in one call: MT5 applies "!x" to the list.
                fetched = await self._fetch(feed.key, list(items))
                names = frozenset(t.symbol for t in fetched)
                if not plain:
                    feed.cache_mask(masks, names, self._clock())
            else:
                unknown = [i for i in plain if self._current(feed, i) is None]
                fetched = await self._fetch(feed.key, unknown)
                names = frozenset(t.symbol for t in fetched)
                names |= {n for i in plain if (n := self._current(feed, i))}
            feed.remember(t.symbol for t in fetched)
            # Known from now on, for streams waiting on the lock (merged newest-wins
            # again in _attach).
            for tick in fetched:
                feed.fresh[tick.symbol] = tick
            return set(names), fetched

    @staticmethod
    def _current(feed: Feed, item: str) -> str | None:
        """The symbol name of a plain item whose current tick the feed has."""
        name = feed.canonical(item)
        if name is None or (name not in feed.latest and name not in feed.fresh):
            return None
        return name

    def _known(self, feed: Feed, items: Sequence[str]) -> set[str] | None:
        """Names for ``items`` without asking MT5, or None if a fetch is needed."""
        masks = tuple(sorted(i for i in items if is_mask(i)))
        if masks:
            if any(not is_mask(i) for i in items):
                return None
            cached = feed.cached_mask(masks, self._clock())
            # Only if every symbol's current tick is here (for the snapshot).
            if cached is None or any(
                n not in feed.latest and n not in feed.fresh for n in cached
            ):
                return None
            return set(cached)
        names: set[str] = set()
        for item in items:
            name = self._current(feed, item)
            if name is None:
                return None
            names.add(name)
        return names

    async def subscribe(
        self,
        server: str,
        items: Sequence[str],
        *,
        group: str = "",
        min_interval: float = 0.0,
    ) -> Subscription:
        """Register a stream; ``sub.snapshot`` holds the current tick of each symbol.

        Plain names already known to the feed need no MT5 call; masks and unknown
        names are resolved with one ``tick/last`` (which also gives their snapshot).
        """
        if self._closed:
            raise HubClosedError
        self._start_watch()
        key = FeedKey(server, group)
        feed = self.feeds.get(key)
        if feed is None:
            feed = self.feeds[key] = Feed(self, key)
        try:
            names, fetched = await self._resolve(feed, items)
        except BaseException:
            self._drop_if_idle(feed)
            raise
        limit = self.config.subscriber_queue_size
        if not names or len(names) > limit:
            for name in names:
                feed.fresh.pop(name, None)
            self._drop_if_idle(feed)
            if not names:
                raise NoSymbolMatchedError(server)
            raise TooManySymbolsError(len(names), limit)
        if self._closed:
            raise HubClosedError
        current = self.feeds.get(key)
        if current is None:  # emptied and dropped while we were resolving
            self.feeds[key] = feed
        elif current is not feed:
            current.remember(names)
            feed = current
        return self._attach(feed, names, fetched, min_interval)

    def _attach(
        self,
        feed: Feed,
        names: set[str],
        fetched: list[FeedTick],
        min_interval: float,
    ) -> Subscription:
        sub = Subscription(feed, frozenset(names), min_interval)
        first = not feed.subscribers
        grew = feed.add(sub)
        # Fetched ticks are as fresh as anything polled: merge, newest wins.
        for tick in (*fetched, *(feed.fresh.pop(n) for n in names if n in feed.fresh)):
            old = feed.latest.get(tick.symbol)
            if old is None or tick.newer_than(old):
                feed.latest[tick.symbol] = tick
        sub.snapshot = [feed.latest[n] for n in sorted(names) if n in feed.latest]
        if first:
            self.source.watch(feed)
        elif grew:
            self.source.update(feed)
        return sub

    def _drop_if_idle(self, feed: Feed) -> None:
        if not feed.subscribers and self.feeds.get(feed.key) is feed:
            del self.feeds[feed.key]

    async def unsubscribe(self, sub: Subscription) -> None:
        feed = sub.feed
        shrank = feed.remove(sub)
        if not feed.subscribers:
            if self.feeds.get(feed.key) is feed:
                del self.feeds[feed.key]
            await self.source.unwatch(feed)
        elif shrank:
            self.source.update(feed)

    def close_all(self, error: BaseException) -> int:
        """End every subscription (drain); returns how many."""
        count = 0
        for feed in list(self.feeds.values()):
            for sub in list(feed.subscribers):
                sub.close(error)
                count += 1
        return count

    async def aclose(self) -> None:
        """Close every subscription, the upstream watch and the source; idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._metrics is not None:
            self._metrics.unregister_quote_hub()
        self.close_all(HubClosedError())
        task, self._watch_task = self._watch_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.source.aclose()
