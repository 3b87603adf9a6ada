"""position/order/history/deal families over real sockets."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mt5sim import Simulator

PRICE = re.compile(r"^\d+\.\d+$")


def _window() -> dict[str, int]:
    return {"from": 0, "to": int(time.time()) + 60}


async def _login_with_positions(c: Any) -> str:
    _, batch = await c.get("position/get_batch", group="*")
    positions = batch["answer"]
    assert positions
    return str(positions[0]["Login"])


async def test_positions(sim: Simulator, mt5_session: Any) -> None:
    async with mt5_session(sim) as c:
        login = await _login_with_positions(c)
        _, total = await c.get("position/get_total", login=login)
        count = int(total["answer"]["Total"])
        _, page = await c.get("position/get_page", login=login, offset=0, total=100)
        positions = page["answer"]
        assert len(positions) == count
        pos = positions[0]
        digits = int(pos["Digits"])
        for key in ("PriceOpen", "PriceCurrent", "PriceSL", "PriceTP"):
            assert len(pos[key].split(".")[1]) == digits, key
        assert int(pos["VolumeExt"]) == int(pos["Volume"]) * 10_000
        assert re.match(r"^-?\d+\.\d{2}$", pos["Profit"])
        assert pos["ContractSize"].endswith(".00")
        _, one = await c.get("position/get", login=login, symbol=pos["Symbol"])
        assert one["answer"]["Position"] == pos["Position"]
        _, by_ticket = await c.get("position/get_batch", ticket=pos["Position"])
        assert [p["Position"] for p in by_ticket["answer"]] == [pos["Position"]]
        _, filtered = await c.get(
            "position/get_batch", login=login, symbol=pos["Symbol"]
        )
        assert {p["Symbol"] for p in filtered["answer"]} == {pos["Symbol"]}


async def test_orders_and_history(sim: Simulator, mt5_session: Any) -> None:
    async with mt5_session(sim) as c:
        _, orders = await c.get("order/get_batch", group="*")
        order = orders["answer"][0]
        assert order["State"] == "1"
        _, one = await c.get("order/get", ticket=order["Order"])
        assert one["answer"]["Order"] == order["Order"]
        login = order["Login"]
        _, total = await c.get("order/get_total", login=login)
        _, page = await c.get("order/get_page", login=login, offset=0, total=10)
        assert len(page["answer"]) == int(total["answer"]["Total"])
        _, hist_total = await c.get("history/get_total", login=login, **_window())
        _, hist = await c.get(
            "history/get_page", login=login, offset=0, total=100, **_window()
        )
        assert len(hist["answer"]) == min(100, int(hist_total["answer"]["Total"]))
        filled = next(h for h in hist["answer"] if h["State"] == "4")
        assert int(filled["TimeDone"]) >= int(filled["TimeSetup"])
        assert filled["TimeSetupMsc"].startswith(filled["TimeSetup"])
        _, by_ticket = await c.get("history/get", ticket=filled["Order"])
        assert by_ticket["answer"] == filled
        _, missing = await c.get("history/get_batch", login=login)
        assert missing == {"retcode": "3 Invalid parameters"}


async def test_deals_and_pagination(sim: Simulator, mt5_session: Any) -> None:
    async with mt5_session(sim) as c:
        _, logins = await c.get("user/logins", group="demo\\forex")
        login = logins["answer"][0]
        for _ in range(105):
            await c.get("trade/balance", login=login, type=2, balance="1")
        _, total = await c.get("deal/get_total", login=login, **_window())
        count = int(total["answer"]["Total"])
        assert count > 105
        _, page = await c.get(
            "deal/get_page", login=login, offset=0, total=1000, **_window()
        )
        assert len(page["answer"]) == 100  # total is capped at 100
        _, rest = await c.get(
            "deal/get_page", login=login, offset=100, total=100, **_window()
        )
        assert len(rest["answer"]) == count - 100
        tickets = [int(d["Deal"]) for d in page["answer"] + rest["answer"]]
        assert tickets == sorted(tickets)
        trade = next(d for d in page["answer"] if d["Symbol"])
        assert int(trade["VolumeExt"]) == int(trade["Volume"]) * 10_000
        assert "Fee" in trade
        assert "VolumeClosedExt" in trade
        _, batch = await c.post(
            "deal/get_batch",
            {"login": [login], "symbol": [trade["Symbol"]]},
            **_window(),
        )
        assert {d["Symbol"] for d in batch["answer"]} == {trade["Symbol"]}
        _, missing = await c.get("deal/get", ticket="1")
        assert missing == {"retcode": "13 Not found"}
