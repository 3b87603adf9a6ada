"""Prices, symbols, groups and server info over real sockets."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mt5sim import Simulator


async def test_tick_last_trans_id(sim: Simulator, mt5_session: Any) -> None:
    async with mt5_session(sim) as c:
        _, first = await c.get("tick/last", symbol="EURUSD,GBPUSD", trans_id=0)
        assert first["retcode"] == "0 Done"
        assert [t["Symbol"] for t in first["answer"]] == ["EURUSD", "GBPUSD"]
        tick = first["answer"][0]
        assert tick["Digits"] == "5"
        assert len(tick["Bid"].split(".")[1]) == 5
        assert tick["DatetimeMsc"].startswith(tick["Datetime"])
        assert tick["Last"] == "0.00000"
        assert tick["VolumeReal"] == "0.00"
        trans_id = first["trans_id"]
        _, again = await c.get("tick/last", symbol="EURUSD,GBPUSD", trans_id=trans_id)
        assert again == {"retcode": "0 Done", "trans_id": trans_id, "answer": []}
        sim.broker.apply_tick("GBPUSD", 127_100, 127_115, int(time.time() * 1000))
        _, delta = await c.get("tick/last", symbol="EURUSD,GBPUSD", trans_id=trans_id)
        assert [t["Symbol"] for t in delta["answer"]] == ["GBPUSD"]
        assert delta["answer"][0]["Bid"] == "1.27100"
        assert int(delta["trans_id"]) == int(trans_id) + 1
        _, masked = await c.get("tick/last", symbol="Forex\\Major\\*,!AUDUSD")
        names = [t["Symbol"] for t in masked["answer"]]
        assert "EURUSD" in names
        assert "AUDUSD" not in names
        _, missing = await c.get("tick/last", symbol="NOPE")
        assert missing == {"retcode": "13 Not found"}


async def test_group_prices_and_stats(sim: Simulator, mt5_session: Any) -> None:
    async with mt5_session(sim) as c:
        _, group = await c.get(
            "tick/last_group", symbol="EURUSD", group="real\\standard"
        )
        _, plain = await c.get("tick/last", symbol="EURUSD")
        g, p = group["answer"][0], plain["answer"][0]
        assert float(g["Ask"]) - float(g["Bid"]) > float(p["Ask"]) - float(p["Bid"])
        _, stat = await c.get("tick/stat", symbol="EURUSD")
        assert "trans_id" in stat
        assert stat["answer"][0]["Symbol"] == "EURUSD"
        assert {"BidLow", "BidHigh", "PriceOpen", "PriceChange"} <= set(
            stat["answer"][0]
        )


async def test_history_rows_are_numbers(sim: Simulator, mt5_session: Any) -> None:
    now = int(time.time())
    window = {"from": now - 3 * 86_400, "to": now}
    async with mt5_session(sim) as c:
        _, ticks = await c.get("tick/history", symbol="BTCUSD", data="dba", **window)
        assert ticks["retcode"] == "0 Done"
        rows = ticks["answer"]
        assert rows
        assert all(
            isinstance(r[0], int) and r[0] > now * 1000 - 4 * 86_400_000 for r in rows
        )
        assert all(isinstance(r[1], float) for r in rows)
        _, bars = await c.get("chart/get", symbol="BTCUSD", data="dohlc", **window)
        assert bars["retcode"] == "0 Done"
        first = bars["answer"][0]
        assert isinstance(first[0], int)
        assert first[0] % 60 == 0
        assert first[3] <= first[1] <= first[2]
        _, bad = await c.get("chart/get", symbol="BTCUSD", data="q", **window)
        assert bad == {"retcode": "3 Invalid parameters"}


async def test_symbols(sim: Simulator, mt5_session: Any) -> None:
    async with mt5_session(sim) as c:
        _, names = await c.get("symbol/list")
        assert len(names["answer"]) >= 20
        _, total = await c.get("symbol/total")
        assert total["answer"] == {"Total": str(len(names["answer"]))}
        _, first = await c.get("symbol/next", index=0)
        assert first["answer"]["Symbol"] == names["answer"][0]
        _, two = await c.get("symbol/next", index=0, count=2)
        assert len(two["answer"]) == 2
        _, eurusd = await c.get("symbol/get", symbol="EURUSD")
        sym = eurusd["answer"]
        assert sym["Path"] == "Forex\\Major\\EURUSD"
        assert sym["Point"] == "0.00001000"
        assert sym["ContractSize"] == "100000.00000000"
        assert (sym["VolumeMin"], sym["VolumeMinExt"]) == ("100", "1000000")
        _, masked = await c.get("symbol/get", mask="Metals\\*")
        assert {s["Symbol"] for s in masked["answer"]} == {"XAUUSD", "XAGUSD"}
        _, grouped = await c.get(
            "symbol/get_group", symbol="EURUSD", group="real\\standard"
        )
        assert grouped["answer"]["SpreadDiff"] != "0"
        _, beyond = await c.get("symbol/next", index=10_000)
        assert beyond == {"retcode": "13 Not found"}


async def test_groups_and_server(sim: Simulator, mt5_session: Any) -> None:
    async with mt5_session(sim) as c:
        _, groups = await c.get("group/list")
        assert "real\\vip" in groups["answer"]
        _, vip = await c.get("group/get", group="real\\vip")
        assert vip["answer"]["Currency"] == "EUR"
        _, masked = await c.get("group/get", mask="demo\\*")
        assert [g["Group"] for g in masked["answer"]] == [
            "demo\\forex",
            "demo\\forex-usd",
        ]
        _, nxt = await c.get("group/next", index=0)
        assert nxt["answer"]["Group"] == groups["answer"][0]
        _, total = await c.get("group/total")
        assert total["answer"] == {"Total": str(len(groups["answer"]))}
        _, common = await c.get("common/get")
        assert common["answer"]["Product"] == "MetaTrader 5"
        _, tz = await c.get("time/get")
        assert tz["answer"]["TimeZone"] == "0"
        _, server = await c.get("time/server")
        seconds, text = server["answer"]["Time"].split(" ", 1)
        assert abs(int(seconds) - time.time()) < 60
        assert time.strftime("%Y.%m.%d %H:%M:%S", time.gmtime(int(seconds))) == text
