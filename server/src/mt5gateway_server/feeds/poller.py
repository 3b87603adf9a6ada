"""The upstream side of a quote feed: ``tick/last`` polled with a ``trans_id`` cursor.

One ``QuotePoller`` per (MT5 server, price view). It leases one session from the
server's pool and keeps it (PROTOCOL.md §9.2: the cursor may be tied to the session),
polls only the symbols someone subscribes to, and starts again from ``trans_id=0``
after a re-authentication, a new session, a changed symbol list or a cursor that went
backwards. It emits only ticks that changed since it last emitted that symbol, so a
full snapshot after a restart costs subscribers nothing.

``LocalSource`` runs one poller per watched feed and hands ticks straight to it (the
no-Redis mode); the Redis fan-out uses pollers too, with a sink that publishes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from mt5gateway_server.feeds.hub import Feed, FeedKey, FeedTick
from mt5gateway_server.log import get_logger
from mt5gateway_server.webapi.client import MAX_SYMBOL_CHARS
from mt5gateway_server.webapi.errors import WebApiError
from mt5gateway_server.webapi.retry import ExponentialBackoff
from mt5gateway_server.webapi.tasks import spawn

if TYPE_CHECKING:
    from mt5gateway_server.webapi import (
        Mt5Session,
        PoolManager,
        SessionPool,
        Tick,
        TickSnapshot,
        WebApiClient,
    )

__all__ = ["MAX_SYMBOL_CHARS", "LocalSource", "QuotePoller", "Sink", "chunk_names"]

_log = get_logger("feeds.poller")

Sink = Callable[[list[FeedTick]], Awaitable[None]]


def chunk_names(
    names: Iterable[str], limit: int = MAX_SYMBOL_CHARS
) -> list[tuple[str, ...]]:
    """Sorted names packed into comma lists of at most ``limit`` characters."""
    chunks: list[tuple[str, ...]] = []
    current: list[str] = []
    size = 0
    for name in sorted(names):
        extra = len(name) + (1 if current else 0)
        if current and size + extra > limit:
            chunks.append(tuple(current))
            current, size = [], 0
            extra = len(name)
        current.append(name)
        size += extra
    if current:
        chunks.append(tuple(current))
    return chunks


class QuotePoller:
    """Polls one (server, view) at a fixed rate; ``set_symbols`` changes what."""

    def __init__(
        self,
        pool: SessionPool,
        key: FeedKey,
        sink: Sink,
        *,
        interval: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.pool = pool
        self.key = key
        self.interval = interval
        self._sink = sink
        self._clock = clock
        self._sleep = sleep
        self._names: frozenset[str] = frozenset()
        self._chunks: list[tuple[str, ...]] = []
        self._cursors: dict[tuple[str, ...], int] = {}
        self._emitted: dict[str, tuple[object, ...]] = {}
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._backoff = ExponentialBackoff(0.1, 5.0)
        self.polls = 0
        self.restarts = 0

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return (
            f"<QuotePoller {self.key.server}/{self.key.view} {state}"
            f" {len(self._names)} symbols, {self.polls} polls>"
        )

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def symbols(self) -> frozenset[str]:
        return self._names

    def set_symbols(self, names: Iterable[str]) -> None:
        names = frozenset(names)
        if names == self._names:
            return
        self._names = names
        chunks = chunk_names(names)
        # An unchanged chunk keeps its cursor; a changed list starts from 0 (§9.2).
        self._cursors = {c: self._cursors.get(c, 0) for c in chunks}
        self._chunks = chunks
        for gone in set(self._emitted) - names:
            del self._emitted[gone]
        self._changed.set()

    def reset(self) -> None:
        """Forget cursors and what was emitted: the next poll is a full snapshot."""
        self._cursors = dict.fromkeys(self._chunks, 0)
        self._emitted.clear()
        self.restarts += 1

    def start(self) -> None:
        if not self.running:
            # Started by a stream's call: ``spawn`` keeps its deadline and request id
            # out of the poller.
            self._task = spawn(
                self._run(), name=f"quote-poller-{self.key.server}-{self.key.view}"
            )

    async def aclose(self) -> None:
        """Stop polling and give the session back; idempotent."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                await self._wait_for_symbols()
                async with self.pool.lease() as session:
                    # A different or new session: its cursor means nothing to us.
                    self.reset()
                    await self._poll_on(session)
            except asyncio.CancelledError:
                raise
            except WebApiError as exc:
                failures += 1
                delay = self._backoff.compute(failures)
                _log.warning(
                    "quote_poll_failed",
                    server=self.key.server,
                    view=self.key.view,
                    error=type(exc).__name__,
                    retcode=getattr(exc, "retcode", None),
                    delay=round(delay, 3),
                )
                await self._sleep(delay)
            except Exception:  # noqa: BLE001 - the poller must outlive any bug
                failures += 1
                delay = self._backoff.compute(failures)
                _log.exception(
                    "quote_poller_error", server=self.key.server, view=self.key.view
                )
                await self._sleep(delay)
            else:
                failures = 0

    async def _wait_for_symbols(self) -> None:
        while not self._names:
            self._changed.clear()
            await self._changed.wait()

    async def _poll_on(self, session: Mt5Session) -> None:
        """Poll on one leased session until it breaks or nobody wants anything."""
        client = self.pool.client(session)
        next_at = self._clock()
        while self._names:
            handshakes = session.handshakes
            ticks: list[FeedTick] = []
            for chunk in self._chunks:
                snapshot = await self._fetch(client, chunk)
                restarted = session.handshakes != handshakes
                ticks.extend(self._take(chunk, snapshot, restarted=restarted))
            self.polls += 1
            if ticks:
                try:
                    await self._sink(ticks)
                except Exception:  # noqa: BLE001 - e.g. Redis down: resend everything later
                    _log.warning(
                        "quote_sink_failed", server=self.key.server, exc_info=True
                    )
                    self.reset()
            # Fixed rate, measured start to start; never burst to catch up.
            next_at += self.interval
            now = self._clock()
            next_at = max(next_at, now)
            await self._sleep(next_at - now)

    async def _fetch(
        self, client: WebApiClient, chunk: tuple[str, ...]
    ) -> TickSnapshot:
        cursor = self._cursors.get(chunk, 0)
        if self.key.group:
            return await client.tick_last_group(chunk, self.key.group, cursor)
        return await client.tick_last(chunk, cursor)

    def _take(
        self, chunk: tuple[str, ...], snapshot: TickSnapshot, *, restarted: bool
    ) -> list[FeedTick]:
        received = time.time()
        trans_id = snapshot.trans_id
        if restarted or trans_id < self._cursors.get(chunk, 0):
            # Re-authenticated during the request, or the server's counter went
            # back (restart): the next request asks for everything again.
            self.restarts += 1
            _log.info(
                "quote_cursor_restart",
                server=self.key.server,
                view=self.key.view,
                reason="reauth" if restarted else "backwards",
            )
            trans_id = 0
        if chunk in self._cursors:
            self._cursors[chunk] = trans_id
        return self._changed_only(snapshot.ticks, received)

    def _changed_only(self, ticks: Sequence[Tick], received: float) -> list[FeedTick]:
        out: list[FeedTick] = []
        emitted, names = self._emitted, self._names
        for tick in ticks:
            if tick.symbol not in names:
                continue
            ft = FeedTick(tick, received)
            if emitted.get(tick.symbol) == ft.ident:
                continue
            emitted[tick.symbol] = ft.ident
            out.append(ft)
        return out


class LocalSource:
    """No Redis: one poller per feed in this process, ticks straight to the feed."""

    def __init__(
        self,
        pools: PoolManager,
        *,
        interval: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.pools = pools
        self.interval = interval
        self._clock = clock
        self._sleep = sleep
        self.pollers: dict[FeedKey, QuotePoller] = {}

    def __repr__(self) -> str:
        return f"<LocalSource {list(self.pollers.values())!r}>"

    def watch(self, feed: Feed) -> None:
        async def deliver(ticks: list[FeedTick]) -> None:
            feed.publish(ticks)

        poller = QuotePoller(
            self.pools.pool(feed.key.server),
            feed.key,
            deliver,
            interval=self.interval,
            clock=self._clock,
            sleep=self._sleep,
        )
        old = self.pollers.pop(feed.key, None)
        if old is not None:  # a feed re-created before the old poller stopped
            spawn(old.aclose(), name=f"quote-poller-close-{feed.key.server}")
        self.pollers[feed.key] = poller
        poller.set_symbols(feed.names())
        poller.start()

    def update(self, feed: Feed) -> None:
        poller = self.pollers.get(feed.key)
        if poller is not None:
            poller.set_symbols(feed.names())

    async def unwatch(self, feed: Feed) -> None:
        poller = self.pollers.get(feed.key)
        if poller is None:
            return
        # The feed may already have been replaced by a new one for the same key.
        if feed.hub.feeds.get(feed.key) is None:
            del self.pollers[feed.key]
            await poller.aclose()

    async def aclose(self) -> None:
        pollers = list(self.pollers.values())
        self.pollers.clear()
        await asyncio.gather(*(p.aclose() for p in pollers))
