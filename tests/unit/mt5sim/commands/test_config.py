from __future__ import annotations

from typing import TYPE_CHECKING

from mt5sim.retcodes import Retcode

from .conftest import NOW, Call, retcode_of

if TYPE_CHECKING:
    from mt5sim.market.broker import Broker


def test_symbol_list_total_next(call: Call, broker: Broker) -> None:
    names = call("symbol/list").answer
    assert names == list(broker.symbols)
    assert call("symbol/total").answer == {"Total": str(len(names))}
    first = call("symbol/next", index=0).answer
    assert first["Symbol"] == names[0]
    pair = call("symbol/next", index=1, count=2).answer
    assert [s["Symbol"] for s in pair] == names[1:3]
    tail = call("symbol/next", index=len(names) - 1, count=5).answer
    assert [s["Symbol"] for s in tail] == names[-1:]
    assert retcode_of(call, "symbol/next", index=len(names)) == Retcode.ERR_NOTFOUND
    assert retcode_of(call, "symbol/next", index=-1) == Retcode.ERR_PARAMS
    assert retcode_of(call, "symbol/next", index=0, count=0) == Retcode.ERR_PARAMS


def test_symbol_get(call: Call) -> None:
    single = call("symbol/get", symbol="EURUSD").answer
    assert single["Symbol"] == "EURUSD"
    assert call("symbol/get", symbol="Forex\\Major\\EURUSD").answer == single
    masked = call("symbol/get", mask="Forex\\*,!Forex\\Major\\EURUSD").answer
    assert isinstance(masked, list)
    assert "EURUSD" not in {s["Symbol"] for s in masked}
    assert all(s["Path"].startswith("Forex\\") for s in masked)
    one = call("symbol/get", mask="Metals\\XAUUSD").answer
    assert [s["Symbol"] for s in one] == ["XAUUSD"]
    assert call("symbol/get", mask="Nothing\\*").answer == []
    # symbol wins over mask
    assert call("symbol/get", symbol="EURUSD", mask="Metals\\*").answer == single
    assert retcode_of(call, "symbol/get", symbol="NOPE") == Retcode.ERR_NOTFOUND
    assert retcode_of(call, "symbol/get") == Retcode.ERR_PARAMS


def test_symbol_get_group(call: Call, broker: Broker) -> None:
    answer = call("symbol/get_group", symbol="EURUSD", group="real\\standard").answer
    assert answer["SpreadDiff"] == str(broker.groups["real\\standard"].spread_diff)
    assert retcode_of(call, "symbol/get_group", symbol="EURUSD", group="x") == 13
    assert retcode_of(call, "symbol/get_group", symbol="EURUSD") == 3


def test_groups(call: Call, demo_call: Call) -> None:
    names = call("group/list").answer
    assert "managers\\administrators" in names
    assert call("group/total").answer == {"Total": str(len(names))}
    assert call("group/next", index=0).answer["Group"] == names[0]
    assert len(call("group/next", index=0, count=10).answer) == len(names)
    vip = call("group/get", group="real\\vip").answer
    assert vip["Currency"] == "EUR"
    assert vip["CurrencyDigits"] == "2"
    assert vip["AuthPasswordMin"] == "10"
    masked = call("group/get", mask="demo\\*,!demo\\forex-usd").answer
    assert [g["Group"] for g in masked] == ["demo\\forex"]
    assert retcode_of(call, "group/get", group="nope") == Retcode.ERR_NOTFOUND
    # A manager limited to demo groups sees only those.
    assert demo_call("group/list").answer == ["demo\\forex", "demo\\forex-usd"]
    assert retcode_of(demo_call, "group/get", group="real\\vip") == 8


def test_common_and_time(call: Call, broker: Broker) -> None:
    common = call("common/get").answer
    assert common["Product"] == "MetaTrader 5"
    assert common["TotalUsers"] == str(len(broker.users))
    assert common["TotalPositions"] == str(len(broker.positions))
    time_cfg = call("time/get").answer
    assert time_cfg["TimeZone"] == "0"
    assert len(time_cfg["Days"]) == 7
    assert all(len(day) == 24 for day in time_cfg["Days"])
    assert call("time/server").answer == {"Time": f"{int(NOW)} 2025.11.24 16:00:00"}
