"""user/* and trade/balance over real sockets, with exact wire formats."""

from __future__ import annotations

import re
import time
from decimal import Decimal
from typing import Any

from mt5sim import ManagerSpec, SimConfig, Simulator

MONEY = re.compile(r"^-?\d+\.\d{2}$")
INT = re.compile(r"^-?\d+$")


async def _first_login(c: Any, group: str) -> str:
    _, body = await c.get("user/logins", group=group)
    assert body["retcode"] == "0 Done"
    return str(body["answer"][0])


async def test_user_get_formats(sim: Simulator, mt5_session: Any) -> None:
    async with mt5_session(sim) as c:
        login = await _first_login(c, "real\\standard")
        status, body = await c.get("user/get", login=login)
        assert status == 200
        assert body["retcode"] == "0 Done"
        user = body["answer"]
        assert user["Login"] == login
        assert user["Group"] == "real\\standard"
        assert user["Rights"] == "483"
        assert MONEY.match(user["Balance"])
        assert MONEY.match(user["Credit"])
        for key in ("Registration", "LastAccess", "Leverage", "Color", "ClientID"):
            assert INT.match(user[key]), key
        assert "ZipCode" in user
        assert len(user["ApiData"]) == 16
        _, missing = await c.get("user/get", login="42")
        assert missing == {"retcode": "13 Not found"}
        _, bad = await c.get("user/get", login="x")
        assert bad == {"retcode": "3 Invalid parameters"}


async def test_user_lifecycle(sim: Simulator, mt5_session: Any) -> None:
    async with mt5_session(sim) as c:
        body = {
            "Group": "demo\\forex",
            "Name": "Ann=Lee|Test",
            "Leverage": "200",
            "PassMain": "Str0ng#Pass",
            "PassInvestor": "Inv3st#Pass",
            "Email": "ann@example.com",
        }
        _, added = await c.post("user/add", body)
        assert added["retcode"] == "0 Done"
        login = added["login"]
        assert added["answer"]["Login"] == login
        assert added["answer"]["Name"] == "Ann=Lee|Test"
        assert added["answer"]["Leverage"] == "200"
        # Escaped query values (MT5 escaping + %20) round-trip.
        _, updated = await c.get("user/update", login=login, name="John|Smith Jr")
        assert updated["answer"]["Name"] == "John|Smith Jr"
        _, group = await c.get("user/group", login=login)
        assert group["answer"] == {"Group": "demo\\forex"}
        check = {"Login": login, "Type": "main", "Password": "Str0ng#Pass"}
        _, ok = await c.post("user/check_password", check)
        assert ok == {"retcode": "0 Done"}
        _, wrong = await c.post("user/check_password", {**check, "Password": "x"})
        assert wrong == {"retcode": "3006 Invalid account password"}
        change = {"Login": login, "Type": "main", "Password": "weak"}
        _, weak = await c.post("user/change_password", change)
        assert weak == {"retcode": "3006 Invalid account password"}
        change["Password"] = "N3w#Passwd"
        assert (await c.post("user/change_password", change))[1] == {
            "retcode": "0 Done"
        }
        _, ok = await c.post("user/check_password", {**check, "Password": "N3w#Passwd"})
        assert ok == {"retcode": "0 Done"}
        _, deleted = await c.get("user/delete", login=login)
        assert deleted == {"retcode": "0 Done"}
        _, gone = await c.get("user/get", login=login)
        assert gone == {"retcode": "13 Not found"}


async def test_batches_and_accounts(sim: Simulator, mt5_session: Any) -> None:
    async with mt5_session(sim) as c:
        _, logins = await c.get("user/logins", group="real*")
        wanted = logins["answer"][:3]
        _, batch = await c.post("user/get_batch", {"login": wanted})
        assert [u["Login"] for u in batch["answer"]] == wanted
        _, by_group = await c.get("user/get_batch", group="real\\*")
        assert len(by_group["answer"]) == len(logins["answer"])
        _, accounts = await c.get("user/account/get_batch", login=",".join(wanted))
        for acc in accounts["answer"]:
            equity = Decimal(acc["Balance"]) + Decimal(acc["Credit"])
            assert Decimal(acc["Equity"]) == equity + Decimal(acc["Floating"])
            assert MONEY.match(acc["MarginFree"])
        _, total = await c.get("user/total")
        assert INT.match(total["answer"]["Total"])


async def test_balance_operations_are_exact(sim: Simulator, mt5_session: Any) -> None:
    async with mt5_session(sim) as c:
        login = await _first_login(c, "demo\\*")
        _, before = await c.get("user/get", login=login)
        start = Decimal(before["answer"]["Balance"])
        tickets = []
        for amount in ("0.10", "0.20", "-0.05"):
            _, op = await c.get(
                "trade/balance", login=login, type=2, balance=amount, comment="Test op"
            )
            assert op["retcode"] == "0 Done"
            tickets.append(int(op["answer"]["Ticket"]))
        assert tickets == sorted(tickets)
        _, after = await c.get("user/get", login=login)
        assert Decimal(after["answer"]["Balance"]) == start + Decimal("0.25")
        _, deal = await c.get("deal/get", ticket=tickets[-1])
        assert deal["answer"]["Action"] == "2"
        assert deal["answer"]["Profit"] == "-0.05"
        assert deal["answer"]["Comment"] == "Test op"
        _, no_money = await c.get("trade/balance", login=login, type=2, balance="-9e8")
        assert no_money == {"retcode": "10019 No money"}
        _, too_big = await c.get("trade/balance", login=login, type=2, balance="2e9")
        assert too_big == {"retcode": "4005 Money limit reached"}
        _, bad_type = await c.get("trade/balance", login=login, type=9, balance="1")
        assert bad_type == {"retcode": "3 Invalid parameters"}


def _limited_config() -> SimConfig:
    return SimConfig(
        tls=False,
        seed=1,
        ticks_per_second=0,
        managers=(
            ManagerSpec(1000, "Password1"),
            ManagerSpec(1001, "Demo#Pass1", ("demo\\*",)),
        ),
    )


async def test_group_restricted_manager(mt5_session: Any) -> None:
    async with Simulator(_limited_config()) as sim:
        async with mt5_session(sim) as admin:
            real = await _first_login(admin, "real\\*")
            demo = await _first_login(admin, "demo\\*")
        async with mt5_session(sim, login=1001, password="Demo#Pass1") as c:
            _, denied = await c.get("user/get", login=real)
            assert denied == {"retcode": "8 Not enough permissions"}
            _, batch = await c.get("user/get_batch", login=f"{real},{demo}")
            assert [u["Login"] for u in batch["answer"]] == [demo]
            _, groups = await c.get("group/list")
            assert groups["answer"] == ["demo\\forex", "demo\\forex-usd"]
            _, op = await c.get("trade/balance", login=real, type=2, balance=1)
            assert op == {"retcode": "8 Not enough permissions"}


async def test_legacy_raw_paths(sim: Simulator, mt5_session: Any) -> None:
    async with mt5_session(sim) as c:
        login = await _first_login(c, "demo\\*")
        check = {"login": login, "type": "main", "password": f"Main#{login}"}
        assert (await c.get("/user_pass_check", **check))[1] == {"retcode": "0 Done"}
        _, rest = await c.get("user/account/get", login=login)
        _, legacy = await c.get("/user_account_get", login=login)
        assert legacy["answer"]["Login"] == rest["answer"]["Login"] == login
        now = int(time.time())
        window = {"from": now - 600, "to": now}
        _, ticks = await c.get("/tick_history_get", symbol="BTCUSD", **window)
        assert ticks["retcode"] == "0 Done"
