"""Every record type's value formats over real
sockets (docs/mt5-webapi.md#value-formats).

Record fields are JSON strings; prices carry the record's Digits, money its currency
digits, rates 8 decimals, ContractSize 2 decimals in trade records and 8 in the
symbol config, volumes are lots·10⁴ with Ext twins in lots·10⁸, times are s with
…Msc twins in ms. Only tick/history and chart/get rows are JSON numbers.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mt5sim import Simulator

INT = re.compile(r"^-?\d+$")


def decimals(value: str) -> int:
    assert re.fullmatch(r"-?\d+(\.\d+)?", value), value
    return len(value.split(".")[1]) if "." in value else 0


def all_strings(value: object, where: str = "") -> None:
    """Every leaf is a string (objects and arrays may nest: ApiData, Sessions)."""
    if isinstance(value, dict):
        for key, item in value.items():
            all_strings(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            all_strings(item, f"{where}[{index}]")
    else:
        assert isinstance(value, str), f"{where} is {value!r}"


def check_digits(record: dict[str, Any], keys: tuple[str, ...], digits: int) -> None:
    for key in keys:
        assert decimals(record[key]) == digits, (key, record[key], digits)


def check_volumes(record: dict[str, Any], *names: str) -> None:
    for name in names:
        plain, ext = record[name], record[name + "Ext"]
        assert INT.match(plain), name
        assert INT.match(ext), name
        assert int(ext) == int(plain) * 10_000, name


def check_times(record: dict[str, Any], *pairs: tuple[str, str]) -> None:
    for seconds, millis in pairs:
        s, ms = int(record[seconds]), int(record[millis])
        assert s * 1000 <= ms < (s + 1) * 1000 or (s == 0 and ms == 0), seconds


RATES = ("RateProfit", "RateMargin")
TICK_FIELDS = {
    "Symbol", "Digits", "Datetime", "DatetimeMsc", "Bid", "Ask", "Last", "Volume",
    "VolumeReal",
}  # fmt: skip
TICK_STAT_FIELDS = {  # every documented TickStat field
    "Symbol", "Digits", "Datetime", "DatetimeMsc", "Bid", "BidLow", "BidHigh",
    "BidDir", "Ask", "AskLow", "AskHigh", "AskDir", "Last", "LastLow", "LastHigh",
    "LastDir", "Volume", "VolumeLow", "VolumeHigh", "VolumeDir", "TradeDeals",
    "TradeVolume", "TradeTurnover", "TradeInterest", "TradeBuyOrders",
    "TradeBuyVolume", "TradeSellOrders", "TradeSellVolume", "PriceOpen", "PriceClose",
    "PriceAw", "PriceChange", "PriceVolatility", "PriceTheoretical",
    "PriceGreeksDelta", "PriceGreeksTheta", "PriceGreeksGamma", "PriceGreeksVega",
    "PriceGreeksRho", "PriceGreeksOmega", "PriceSensitivity",
}  # fmt: skip


async def _trade_records(c: Any) -> dict[str, dict[str, Any]]:
    now = int(time.time()) + 60
    _, positions = await c.get("position/get_batch", group="*")
    _, orders = await c.get("order/get_batch", group="*")
    login = positions["answer"][0]["Login"]
    _, history = await c.get("history/get_batch", login=login, to=now, **{"from": 0})
    _, deals = await c.get("deal/get_batch", login=login, to=now, **{"from": 0})
    trade = next(d for d in deals["answer"] if d["Symbol"])
    balance = next(d for d in deals["answer"] if d["Action"] == "2")
    return {
        "position": positions["answer"][0],
        "order": orders["answer"][0],
        "history": history["answer"][0],
        "deal": trade,
        "balance_deal": balance,
    }


async def test_trade_record_formats(sim: Simulator, mt5_session: Any) -> None:
    async with mt5_session(sim) as c:
        records = await _trade_records(c)
    for name, record in records.items():
        all_strings(record, name)
        assert decimals(record["ContractSize"]) == 2, name
    pos = records["position"]
    digits, money = int(pos["Digits"]), int(pos["DigitsCurrency"])
    check_digits(pos, ("PriceOpen", "PriceCurrent", "PriceSL", "PriceTP"), digits)
    check_digits(pos, ("Profit", "Storage"), money)
    check_digits(pos, RATES, 8)
    check_volumes(pos, "Volume")
    check_times(pos, ("TimeCreate", "TimeCreateMsc"), ("TimeUpdate", "TimeUpdateMsc"))
    for name in ("order", "history"):
        order = records[name]
        prices = ("PriceOrder", "PriceTrigger", "PriceCurrent", "PriceSL", "PriceTP")
        check_digits(order, prices, int(order["Digits"]))
        check_digits(order, ("RateMargin",), 8)
        check_volumes(order, "VolumeInitial", "VolumeCurrent")
        check_times(order, ("TimeSetup", "TimeSetupMsc"), ("TimeDone", "TimeDoneMsc"))
    for name in ("deal", "balance_deal"):
        deal = records[name]
        check_digits(deal, ("Price", "PricePosition"), int(deal["Digits"]))
        money_keys = ("Profit", "Storage", "Commission", "Fee", "Value")
        check_digits(deal, money_keys, int(deal["DigitsCurrency"]))
        check_digits(deal, RATES, 8)
        check_volumes(deal, "Volume", "VolumeClosed")
        check_times(deal, ("Time", "TimeMsc"))


async def test_account_and_user_formats(sim: Simulator, mt5_session: Any) -> None:
    async with mt5_session(sim) as c:
        _, logins = await c.get("user/logins", group="real\\vip")
        login = logins["answer"][0]
        _, user = await c.get("user/get", login=login)
        _, account = await c.get("user/account/get", login=login)
    user, account = user["answer"], account["answer"]
    all_strings(user, "user")
    all_strings(account, "account")
    digits = int(user["CurrencyDigits"])
    check_digits(user, ("Balance", "Credit", "BalancePrevDay", "EquityPrevDay"), digits)
    money = (
        "Balance", "Credit", "Margin", "MarginFree", "Profit", "Storage", "Floating",
        "Equity", "MarginInitial", "MarginMaintenance", "SOEquity", "SOMargin",
        "BlockedCommission", "BlockedProfit", "Assets", "Liabilities",
    )  # fmt: skip
    check_digits(account, money, int(account["CurrencyDigits"]))
    assert INT.match(account["MarginLeverage"])
    assert INT.match(account["SOActivation"])


async def test_price_and_config_formats(sim: Simulator, mt5_session: Any) -> None:
    async with mt5_session(sim) as c:
        _, ticks = await c.get("tick/last", symbol="EURUSD,USDJPY,US30")
        _, stats = await c.get("tick/stat", symbol="EURUSD,USDJPY")
        _, symbol = await c.get("symbol/get", symbol="USDJPY")
        _, group = await c.get("group/get", group="real\\vip")
        _, common = await c.get("common/get")
        _, time_cfg = await c.get("time/get")
    assert isinstance(ticks["trans_id"], str)
    for tick in ticks["answer"]:
        assert set(tick) == TICK_FIELDS
        all_strings(tick, "tick")
        check_digits(tick, ("Bid", "Ask", "Last"), int(tick["Digits"]))
        check_times(tick, ("Datetime", "DatetimeMsc"))
    assert [t["Digits"] for t in ticks["answer"]] == ["5", "3", "1"]
    assert isinstance(stats["trans_id"], str)
    for stat in stats["answer"]:
        assert set(stat) == TICK_STAT_FIELDS
        all_strings(stat, "stat")
        prices = ("Bid", "BidLow", "BidHigh", "Ask", "AskLow", "AskHigh", "PriceOpen")
        check_digits(stat, prices, int(stat["Digits"]))
        for key in ("BidDir", "AskDir", "LastDir", "VolumeDir"):
            assert stat[key] in {"0", "1", "2"}
    sym = symbol["answer"]
    all_strings(sym, "symbol")
    check_digits(sym, ("ContractSize", "Point", "TickSize", "SwapLong"), 8)
    check_digits(sym, ("PriceSettle",), int(sym["Digits"]))
    check_volumes(sym, "VolumeMin", "VolumeMax", "VolumeStep", "VolumeLimit")
    # Per-order-type margin rates under the names MetaQuotes' libraries read.
    for kind in ("Initial", "Maintenance"):
        for side in ("Buy", "Sell", "BuyLimit", "SellStopLimit"):
            check_digits(sym, (f"Margin{kind}{side}",), 8)
    assert not any(k.startswith("MarginRate") for k in sym)
    assert len(sym["SessionsQuotes"]) == 7
    for name, record in (("group", group), ("common", common), ("time", time_cfg)):
        all_strings(record["answer"], name)
    assert len(time_cfg["answer"]["Days"]) == 7
