from __future__ import annotations

import itertools
from decimal import Decimal
from typing import TYPE_CHECKING

from mt5sim.market.prices import PriceFeed
from mt5sim.retcodes import Retcode

from .conftest import NOW, Call, retcode_of

if TYPE_CHECKING:
    from mt5sim.market.broker import Broker

HOUR_AGO = int(NOW) - 3600


def test_tick_last_snapshot_then_deltas(call: Call, broker: Broker) -> None:
    first = call("tick/last", symbol="EURUSD,GBPUSD", trans_id=0)
    assert [t["Symbol"] for t in first.answer] == ["EURUSD", "GBPUSD"]
    trans_id = int(first.extra["trans_id"])
    assert trans_id == broker.trans_id
    unchanged = call("tick/last", symbol="EURUSD,GBPUSD", trans_id=trans_id)
    assert unchanged.answer == []
    assert int(unchanged.extra["trans_id"]) >= trans_id
    tick = broker.ticks["EURUSD"]
    broker.apply_tick("EURUSD", tick.bid + 3, tick.ask + 3, int(NOW * 1000) + 250)
    delta = call("tick/last", symbol="EURUSD,GBPUSD", trans_id=trans_id)
    assert [t["Symbol"] for t in delta.answer] == ["EURUSD"]
    assert delta.answer[0]["DatetimeMsc"] == str(int(NOW * 1000) + 250)
    assert int(delta.extra["trans_id"]) == trans_id + 1
    # Without trans_id: the full snapshot.
    assert len(call("tick/last", symbol="EURUSD,GBPUSD").answer) == 2


def test_tick_last_unknown_or_future_id_gives_snapshot(
    call: Call, broker: Broker
) -> None:
    reply = call("tick/last", symbol="EURUSD", trans_id=broker.trans_id + 1000)
    assert len(reply.answer) == 1
    assert reply.extra["trans_id"] == str(broker.trans_id)


def test_tick_last_masks(call: Call, broker: Broker) -> None:
    answer = call("tick/last", symbol="Forex\\Major*,!AUDUSD").answer
    names = [t["Symbol"] for t in answer]
    assert "AUDUSD" not in names
    assert names == [
        s.name for s in broker.symbols.values()
        if s.path.startswith("Forex\\Major") and s.name != "AUDUSD"
    ]  # fmt: skip


def test_tick_last_errors(call: Call) -> None:
    assert retcode_of(call, "tick/last") == Retcode.ERR_PARAMS
    assert retcode_of(call, "tick/last", symbol="NOPE") == Retcode.ERR_NOTFOUND
    assert retcode_of(call, "tick/last", symbol="EURUSD", trans_id="x") == 3


def test_price_feed_drives_deltas(call: Call, broker: Broker) -> None:
    feed = PriceFeed(broker, 10, seed=3)
    trans_id = broker.trans_id
    feed.step(NOW + 1, count=200)
    reply = call("tick/last", symbol="Forex\\*", trans_id=trans_id)
    assert reply.answer
    assert reply.extra["trans_id"] == str(trans_id + 200)


def test_tick_last_group_applies_spread_diff(call: Call, broker: Broker) -> None:
    plain = call("tick/last", symbol="EURUSD").answer[0]
    group = call("tick/last_group", symbol="EURUSD", group="real\\standard")
    wide = group.answer[0]
    diff = broker.groups["real\\standard"].spread_diff
    spread = Decimal(wide["Ask"]) - Decimal(wide["Bid"])
    plain_spread = Decimal(plain["Ask"]) - Decimal(plain["Bid"])
    assert spread - plain_spread == Decimal(diff).scaleb(-5)
    assert group.extra["trans_id"] == str(broker.trans_id)
    assert retcode_of(call, "tick/last_group", symbol="EURUSD", group="x\\y") == 13
    assert retcode_of(call, "tick/last_group", symbol="EURUSD") == 3


def test_tick_stat(call: Call, broker: Broker) -> None:
    tick = broker.ticks["XAUUSD"]
    broker.apply_tick("XAUUSD", tick.bid + 50, tick.ask + 50, int(NOW * 1000) + 1)
    reply = call("tick/stat", symbol="XAUUSD")
    stat = reply.answer[0]
    assert stat["Symbol"] == "XAUUSD"
    assert stat["BidDir"] == "1"
    assert Decimal(stat["BidHigh"]) == Decimal(stat["Bid"])
    assert Decimal(stat["BidLow"]) < Decimal(stat["Bid"])
    assert "trans_id" in reply.extra


def test_tick_history(call: Call) -> None:
    reply = call(
        "tick/history",
        symbol="EURUSD",
        data="dba",
        **{"from": HOUR_AGO, "to": int(NOW)},
    )
    rows = reply.answer
    assert 600 < len(rows) < 2000
    times = [r[0] for r in rows]
    assert times == sorted(times)
    assert all(HOUR_AGO * 1000 <= t <= NOW * 1000 + 999 for t in times)
    assert all(isinstance(r[1], float) and r[2] > r[1] for r in rows)
    again = call(
        "tick/history",
        symbol="EURUSD",
        data="dba",
        **{"from": HOUR_AGO, "to": int(NOW)},
    )
    assert again.answer == rows  # deterministic
    only_bid = call(
        "tick/history", symbol="EURUSD", data="b", **{"from": HOUR_AGO, "to": int(NOW)}
    )
    assert [r[0] for r in only_bid.answer] == [r[1] for r in rows]


def test_tick_history_errors_and_weekend(call: Call) -> None:
    window = {"from": HOUR_AGO, "to": int(NOW)}
    assert retcode_of(call, "tick/history", symbol="EURUSD", data="dx", **window) == 3
    assert retcode_of(call, "tick/history", symbol="NOPE", **window) == 13
    assert retcode_of(call, "tick/history", symbol="EURUSD") == 3
    saturday = int(NOW) - 2 * 86_400  # NOW is a Monday
    weekend = {"from": saturday, "to": saturday + 3600}
    assert call("tick/history", symbol="EURUSD", **weekend).answer == []
    assert call("tick/history", symbol="BTCUSD", **weekend).answer


def test_tick_history_partial(call: Call) -> None:
    reply = call("tick/history", symbol="BTCUSD", **{"from": 0, "to": int(NOW)})
    assert reply.retcode == Retcode.ERR_PARTIAL
    assert len(reply.answer) == 100_000


def test_chart_get(call: Call) -> None:
    reply = call(
        "chart/get",
        symbol="EURUSD",
        data="dohlctvs",
        **{"from": HOUR_AGO, "to": int(NOW)},
    )
    rows = reply.answer
    assert len(rows) == 61
    assert rows[0][0] == HOUR_AGO // 60 * 60
    assert all(b[0] - a[0] == 60 for a, b in itertools.pairwise(rows))
    for _, o, h, lo, c, ticks, volume, spread in rows:
        assert lo <= min(o, c) <= max(o, c) <= h
        assert ticks > 0
        assert volume == 0
        assert spread == 12
    default = call("chart/get", symbol="EURUSD", **{"from": HOUR_AGO, "to": int(NOW)})
    assert default.answer == [r[:5] for r in rows]
    future = {"from": int(NOW) + 3600, "to": int(NOW) + 7200}
    assert call("chart/get", symbol="EURUSD", **future).answer == []


def test_tick_last_symbol_list_limit(call: Call) -> None:
    many = ",".join(["EURUSD"] * 600)  # 4199 characters
    assert retcode_of(call, "tick/last", symbol=many) == Retcode.ERR_PARAMS
    assert len(call("tick/last", symbol=",".join(["EURUSD"] * 500)).answer) == 1
