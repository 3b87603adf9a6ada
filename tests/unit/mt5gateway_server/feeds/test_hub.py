"""Hub, feeds and subscriptions with fakes: conflation, ordering, throttle, bounds."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from mt5gateway_server.feeds.hub import (
    Feed,
    FeedKey,
    FeedTick,
    HubClosedError,
    HubConfig,
    NoSymbolMatchedError,
    QuoteHub,
    Subscription,
    TooManySymbolsError,
    is_mask,
    tick_stamp,
)
from mt5gateway_server.webapi.models import Tick, TickSnapshot


def tick(symbol: str, ms: int, bid: str = "1.1", ask: str = "1.2") -> Tick:
    when = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return Tick(
        symbol=symbol,
        digits=5,
        time=when.replace(microsecond=0),
        time_msc=when,
        bid=Decimal(bid),
        ask=Decimal(ask),
        last=Decimal(0),
        volume=0,
        volume_real=Decimal(0),
    )


@dataclass
class FakeClient:
    ticks: dict[str, Tick]
    calls: list[tuple[str, ...]] = field(default_factory=list)

    def _answer(self, items: Any) -> TickSnapshot:
        items = tuple(items)
        self.calls.append(items)
        names = set()
        for item in items:
            if item == "Nothing\\*":
                continue
            if item.endswith("*"):
                names |= set(self.ticks)
            elif item.startswith("!"):
                names.discard(item[1:])
            else:
                names.add(item.rsplit("\\", 1)[-1])
        return TickSnapshot([self.ticks[n] for n in sorted(names)], 7)

    async def tick_last(self, items: Any, trans_id: int = 0) -> TickSnapshot:
        assert trans_id == 0
        return self._answer(items)

    async def tick_last_group(
        self, items: Any, group: str, trans_id: int = 0
    ) -> TickSnapshot:
        assert group
        assert trans_id == 0
        return self._answer(items)


@dataclass
class FakeConfig:
    pool_size: int = 5


@dataclass
class FakePool:
    config: FakeConfig = field(default_factory=FakeConfig)


@dataclass
class FakePools:
    client_: FakeClient
    pool_: FakePool = field(default_factory=FakePool)
    names: tuple[str, ...] = ("main",)

    def client(self, name: str | None = None) -> FakeClient:
        assert name == "main"
        return self.client_

    def pool(self, name: str | None = None) -> FakePool:
        assert name == "main"
        return self.pool_


@dataclass
class FakeSource:
    events: list[tuple[str, frozenset[str]]] = field(default_factory=list)

    def watch(self, feed: Feed) -> None:
        self.events.append(("watch", feed.names()))

    def update(self, feed: Feed) -> None:
        self.events.append(("update", feed.names()))

    async def unwatch(self, feed: Feed) -> None:
        self.events.append(("unwatch", feed.names()))

    async def aclose(self) -> None:
        self.events.append(("close", frozenset()))


@dataclass
class Upstream:
    """Whether the fake MT5 server can serve (the hub's ``serving`` callback)."""

    up: bool = True

    def __call__(self, server: str) -> bool:
        assert server == "main"
        return self.up


def make_hub(
    queue: int = 1024, upstream: Upstream | None = None, check: float = 0.25
) -> tuple[QuoteHub, FakeClient, FakeSource]:
    client = FakeClient({s: tick(s, 1000) for s in ("EURUSD", "GBPUSD", "USDJPY")})
    source = FakeSource()
    hub = QuoteHub(
        FakePools(client),  # type: ignore[arg-type]
        HubConfig(subscriber_queue_size=queue, upstream_check_seconds=check),
        source,
        clock=lambda: 0.0,
        serving=upstream or Upstream(),
    )
    return hub, client, source


def test_masks_and_stamps() -> None:
    assert is_mask("Forex\\*")
    assert is_mask("!EURUSD")
    assert not is_mask("Forex\\Major\\EURUSD")
    assert tick_stamp(tick("EURUSD", 1_700_000_000_123)) == 1_700_000_000_123


def test_newer_than() -> None:
    a = FeedTick(tick("EURUSD", 1000))
    later = FeedTick(tick("EURUSD", 1001))
    same_time_other_price = FeedTick(tick("EURUSD", 1000, bid="1.3"))
    same = FeedTick(tick("EURUSD", 1000))
    assert later.newer_than(a)
    assert not a.newer_than(later)
    assert same_time_other_price.newer_than(a)
    assert not same.newer_than(a)


async def test_subscription_conflates_latest_wins() -> None:
    hub, _, _ = make_hub()
    sub = await hub.subscribe("main", ["EURUSD", "GBPUSD"])
    feed = sub.feed
    feed.publish([FeedTick(tick("EURUSD", 2000))])
    feed.publish([FeedTick(tick("EURUSD", 3000)), FeedTick(tick("GBPUSD", 3000))])
    feed.publish([FeedTick(tick("EURUSD", 4000))])
    assert hub.conflated_total == 2
    assert hub.queue_depth() == 2
    ticks, due = sub.take(0.0)
    assert [(t.symbol, t.stamp) for t in ticks] == [("EURUSD", 4000), ("GBPUSD", 3000)]
    assert due is None
    assert hub.queue_depth() == 0


async def test_feed_drops_older_and_repeated_ticks() -> None:
    hub, _, _ = make_hub()
    sub = await hub.subscribe("main", ["EURUSD"])
    feed = sub.feed
    feed.publish([FeedTick(tick("EURUSD", 5000))])
    feed.publish([FeedTick(tick("EURUSD", 4000))])  # older
    feed.publish([FeedTick(tick("EURUSD", 5000))])  # the same again
    feed.publish([FeedTick(tick("USDJPY", 6000))])  # nobody wants it
    ticks, _ = sub.take(0.0)
    assert [t.stamp for t in ticks] == [5000]
    assert "USDJPY" not in feed.latest


async def test_throttle_holds_back_until_due() -> None:
    hub, _, _ = make_hub()
    sub = await hub.subscribe("main", ["EURUSD"], min_interval=1.0)
    feed = sub.feed
    feed.publish([FeedTick(tick("EURUSD", 2000))])
    ticks, due = sub.take(10.0)
    assert [t.stamp for t in ticks] == [2000]
    feed.publish([FeedTick(tick("EURUSD", 3000))])
    feed.publish([FeedTick(tick("EURUSD", 4000))])
    ticks, due = sub.take(10.5)
    assert ticks == []
    assert due == 11.0
    ticks, due = sub.take(11.0)
    assert [t.stamp for t in ticks] == [4000]


async def test_snapshot_from_fetch_then_from_cache() -> None:
    hub, client, source = make_hub()
    first = await hub.subscribe("main", ["Forex\\Major\\EURUSD", "GBPUSD"])
    assert [t.symbol for t in first.snapshot] == ["EURUSD", "GBPUSD"]
    assert client.calls == [("Forex\\Major\\EURUSD", "GBPUSD")]
    assert source.events == [("watch", frozenset({"EURUSD", "GBPUSD"}))]
    second = await hub.subscribe("main", ["eurusd"])  # known: no MT5 call
    assert [t.symbol for t in second.snapshot] == ["EURUSD"]
    assert len(client.calls) == 1
    third = await hub.subscribe("main", ["USDJPY"])
    assert len(client.calls) == 2
    assert source.events[-1] == ("update", frozenset({"EURUSD", "GBPUSD", "USDJPY"}))
    await hub.unsubscribe(third)
    assert source.events[-1] == ("update", frozenset({"EURUSD", "GBPUSD"}))
    assert "USDJPY" not in first.feed.latest  # not polled any more: not current
    await hub.unsubscribe(second)
    await hub.unsubscribe(first)
    assert source.events[-1][0] == "unwatch"
    assert not hub.feeds


async def test_masks_are_resolved_once_and_cached() -> None:
    hub, client, _ = make_hub()
    sub = await hub.subscribe("main", ["Forex\\*", "!USDJPY"], group="real\\vip")
    assert sub.names == {"EURUSD", "GBPUSD"}
    assert sub.feed.key == FeedKey("main", "real\\vip")
    assert sub.feed.key.view == "group:real\\vip"
    again = await hub.subscribe("main", ["!USDJPY", "Forex\\*"], group="real\\vip")
    assert again.names == sub.names
    assert len(client.calls) == 1
    await hub.unsubscribe(sub)
    await hub.unsubscribe(again)
    # Nobody polls them now: a new stream needs current ticks for its snapshot.
    third = await hub.subscribe("main", ["Forex\\*", "!USDJPY"], group="real\\vip")
    assert len(third.snapshot) == 2
    assert len(client.calls) == 2


async def test_too_many_symbols_is_rejected() -> None:
    hub, _, _ = make_hub(queue=2)
    with pytest.raises(TooManySymbolsError, match="matches 3 symbols"):
        await hub.subscribe("main", ["Forex\\*"])
    assert not hub.feeds
    await hub.aclose()


async def test_masks_matching_nothing_are_refused() -> None:
    hub, client, source = make_hub()
    with pytest.raises(NoSymbolMatchedError):
        await hub.subscribe("main", ["Nothing\\*"])
    assert len(client.calls) == 1
    assert not hub.feeds
    assert source.events == []  # no poller was started for it
    await hub.aclose()


async def test_close_wakes_reader_with_the_error() -> None:
    hub, _, source = make_hub()
    sub = await hub.subscribe("main", ["EURUSD"])
    waiter = asyncio.ensure_future(sub.wait(60.0))
    await asyncio.sleep(0)
    assert not waiter.done()
    await hub.aclose()
    await waiter
    assert isinstance(sub.error, HubClosedError)
    assert source.events[-1][0] == "close"
    with pytest.raises(HubClosedError):
        await hub.subscribe("main", ["EURUSD"])


async def test_wait_returns_on_offer_and_is_cancellable() -> None:
    hub, _, _ = make_hub()
    sub = await hub.subscribe("main", ["EURUSD"])
    waiter = asyncio.ensure_future(sub.wait(60.0))
    await asyncio.sleep(0)
    sub.feed.publish([FeedTick(tick("EURUSD", 9000))])
    await waiter
    blocked = asyncio.ensure_future(sub.wait(60.0))
    await asyncio.sleep(0)
    blocked.cancel()
    with pytest.raises(asyncio.CancelledError):
        await blocked


def test_subscription_repr() -> None:
    hub, _, _ = make_hub()
    feed = Feed(hub, FeedKey("main"))
    sub = Subscription(feed, frozenset({"EURUSD"}), 0.0)
    assert repr(sub) == "<Subscription main/raw 1 symbols, 0 pending>"


async def test_streams_opening_at_once_share_one_fetch() -> None:
    hub, client, _ = make_hub()
    subs = await asyncio.gather(
        *(hub.subscribe("main", ["EURUSD", "GBPUSD"]) for _ in range(100))
    )
    assert len(client.calls) == 1
    assert all(len(s.snapshot) == 2 for s in subs)
    assert not subs[0].feed.fresh


async def test_upstream_changes_wake_the_streams_of_that_server() -> None:
    upstream = Upstream()
    hub, _, _ = make_hub(upstream=upstream, check=3600)  # checked by hand here
    sub = await hub.subscribe("main", ["EURUSD"])
    hub.check_upstream()
    assert hub.upstream_down_since("main") is None
    assert not sub.upstream_changed  # serving, as the stream assumes
    waiter = asyncio.ensure_future(sub.wait(60.0))
    await asyncio.sleep(0)
    upstream.up = False
    before = time.time()
    hub.check_upstream()
    await waiter  # woken at once
    assert sub.upstream_changed
    since = hub.upstream_down_since("main")
    assert since is not None
    assert before <= since <= time.time()
    sub.upstream_changed = False  # the stream told its reader
    hub.check_upstream()
    assert not sub.upstream_changed  # no change: nobody woken again
    assert hub.upstream_down_since("main") == since
    upstream.up = True
    hub.check_upstream()
    assert sub.upstream_changed
    assert hub.upstream_down_since("main") is None
    await hub.aclose()


async def test_upstream_is_watched_in_the_background_until_close() -> None:
    upstream = Upstream()
    hub, _, _ = make_hub(upstream=upstream, check=0.01)
    sub = await hub.subscribe("main", ["EURUSD"])
    upstream.up = False
    async with asyncio.timeout(2.0):
        await sub.wait(60.0)
    assert hub.upstream_down_since("main") is not None
    await hub.aclose()
    upstream.up = True
    await asyncio.sleep(0.05)
    assert hub.upstream_down_since("main") is not None  # no longer watched
