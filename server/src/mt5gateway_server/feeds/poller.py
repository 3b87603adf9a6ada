"""The upstream side of a quote feed: ``tick/last`` polled with ``trans_id`` cursors.

One ``QuotePoller`` per (MT5 server, price view). Each poll round borrows a session
from the server's pool and gives it back (a view never keeps a session others need),
polls only the symbols someone subscribes to, and emits only ticks that changed since
it last emitted that symbol.

The ``trans_id`` cursor may be tied to the session that answered it (docs/mt5-webapi.md,
tick cursors), so there is one cursor set per session and login: a session not polled
since its (re-)authentication, a changed symbol list or a cursor that went backwards
starts from ``trans_id=0``. Whichever session a round gets, its answer holds the latest
tick of every symbol that changed since that session last polled, so no change is
missed; change-only emission drops what another session already brought, so none is
emitted twice, and a full snapshot costs subscribers nothing.

``LocalSource`` runs one poller per watched feed and hands ticks straight to it (the
no-Redis mode); the Redis fan-out uses pollers too, with a sink that publishes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
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
Chunk = tuple[str, ...]  # symbol names sent as one list, one cursor each


def chunk_names(names: Iterable[str], limit: int = MAX_SYMBOL_CHARS) -> list[Chunk]:
    """Sorted names packed into comma lists of at most ``limit`` characters."""
    chunks: list[Chunk] = []
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


class _Cursors:
    """One session's ``trans_id`` per symbol list, valid for one login of it."""

    __slots__ = ("handshakes", "ids")

    def __init__(self, handshakes: int) -> None:
        self.handshakes = handshakes
        self.ids: dict[Chunk, int] = {}


class QuotePoller:
    """Polls one (server, view) at a fixed rate; ``set_symbols`` changes what.

    ``polls`` counts rounds; ``restarts`` counts cursor sets started from 0 (a session
    polled for the first time since its login, a re-authentication during a poll, an id
    that went backwards, ``reset``).
    """

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
        self._chunks: list[Chunk] = []
        # Weak: a session the pool replaced takes its cursors with it.
        self._cursors: weakref.WeakKeyDictionary[Mt5Session, _Cursors] = (
            weakref.WeakKeyDictionary()
        )
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
        # An unchanged list keeps its cursors; a changed one starts from 0.
        for cursors in self._cursors.values():
            cursors.ids = {c: cursors.ids[c] for c in chunks if c in cursors.ids}
        self._chunks = chunks
        for gone in set(self._emitted) - names:
            del self._emitted[gone]
        self._changed.set()

    def reset(self) -> None:
        """Forget cursors and what was emitted: the next poll is a full snapshot."""
        self._cursors.clear()
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
        """Stop polling; idempotent. No session is held between rounds."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        failures = 0
        next_at = self._clock()
        while True:
            await self._wait_for_symbols()
            try:
                await self._poll_round()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the poller must outlive any bug
                failures += 1
                await self._sleep(self._failed(exc, failures))
                continue
            failures = 0
            # Fixed rate, measured start to start; never burst to catch up.
            next_at += self.interval
            now = self._clock()
            next_at = max(next_at, now)
            await self._sleep(next_at - now)

    def _failed(self, exc: Exception, failures: int) -> float:
        """Log a failed round; the delay before the next one."""
        delay = self._backoff.compute(failures)
        if isinstance(exc, WebApiError):
            _log.warning(
                "quote_poll_failed",
                server=self.key.server,
                view=self.key.view,
                error=type(exc).__name__,
                retcode=getattr(exc, "retcode", None),
                delay=round(delay, 3),
            )
        else:
            _log.error(
                "quote_poller_error",
                server=self.key.server,
                view=self.key.view,
                exc_info=exc,
            )
        return delay

    async def _wait_for_symbols(self) -> None:
        while not self._names:
            self._changed.clear()
            await self._changed.wait()

    async def _poll_round(self) -> None:
        """One round: every symbol list on one borrowed session, then the sink."""
        async with self.pool.lease() as session:
            ticks = await self._poll_on(session)
        self.polls += 1
        if ticks:
            try:
                await self._sink(ticks)
            except Exception:  # noqa: BLE001 - e.g. Redis down: resend everything later
                _log.warning("quote_sink_failed", server=self.key.server, exc_info=True)
                self.reset()

    async def _poll_on(self, session: Mt5Session) -> list[FeedTick]:
        client = self.pool.client(session)
        cursors = self._cursors.get(session)
        if cursors is None or cursors.handshakes != session.handshakes:
            # The first round on this login of the session: any id it had is void.
            cursors = self._cursors[session] = _Cursors(session.handshakes)
            self.restarts += 1
        ticks: list[FeedTick] = []
        for chunk in self._chunks:
            sent = cursors.ids.get(chunk, 0)
            snapshot = await self._fetch(client, chunk, sent)
            trans_id = snapshot.trans_id
            if session.handshakes != cursors.handshakes:
                # Re-authenticated during the request: the ids of the old login are
                # void, and this answer may be to one of them.
                cursors = self._cursors[session] = _Cursors(session.handshakes)
                self._restarted("reauth")
            elif trans_id < sent:
                # The server's counter went back (restart): this list starts again.
                cursors.ids.pop(chunk, None)
                self._restarted("backwards")
            elif chunk in self._chunks:  # still wanted after the await
                cursors.ids[chunk] = trans_id
            ticks.extend(self._changed_only(snapshot.ticks, time.time()))
        return ticks

    def _restarted(self, reason: str) -> None:
        self.restarts += 1
        _log.info(
            "quote_cursor_restart",
            server=self.key.server,
            view=self.key.view,
            reason=reason,
        )

    async def _fetch(
        self, client: WebApiClient, chunk: Chunk, trans_id: int
    ) -> TickSnapshot:
        if self.key.group:
            return await client.tick_last_group(chunk, self.key.group, trans_id)
        return await client.tick_last(chunk, trans_id)

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
