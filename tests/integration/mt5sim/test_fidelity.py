"""Points of docs/mt5-webapi.md a protocol review found the simulator getting wrong (or
untested), each checked over real sockets."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
from mt5sim import SimConfig
from mt5sim.commands import config as config_commands
from mt5sim.market.broker import BrokerOptions

if TYPE_CHECKING:
    from mt5sim import Simulator

NEW_USER = {
    "Group": "demo\\forex",
    "Name": "Fidelity Test",
    "Leverage": "100",
    "PassMain": "Str0ng#Pass",
    "PassInvestor": "Inv3st#Pass",
}


async def _demo_login(c: Any) -> str:
    _, body = await c.get("user/logins", group="demo\\forex")
    return str(body["answer"][0])


# -- handshake -------------------------------------------------------------------


async def test_terminal_type_other_than_manager(sim: Simulator, mt5_session) -> None:
    async with mt5_session(sim, authenticate=False) as c:
        params = {"version": 3470, "agent": "WebManager", "login": 1000}
        for kind in ("client", "terminal", "admin"):
            assert await c.get("auth/start", type=kind, **params) == (
                200,
                {"retcode": "1000 Invalid terminal type"},
            )
        # Case does not matter: the raw protocol spells it MANAGER.
        _, ok = await c.get("auth/start", type="MANAGER", **params)
        assert ok["retcode"] == "0 Done"


# -- JSON body names (docs/mt5-webapi.md#requests) -------------------------------------


async def test_body_field_names_are_case_sensitive(sim: Simulator, mt5_session) -> None:
    async with mt5_session(sim) as c:
        body = {**NEW_USER, "LEADCAMPAIGN": "ignored", "LeadSource": "kept"}
        _, added = await c.post("user/add", body)
        assert added["retcode"] == "0 Done"
        assert added["answer"]["LeadCampaign"] == ""
        assert added["answer"]["LeadSource"] == "kept"
        # A required field under a wrong case is missing.
        upper = {**NEW_USER, "NAME": NEW_USER["Name"]}
        del upper["Name"]
        assert (await c.post("user/add", upper))[1] == {
            "retcode": "3 Invalid parameters"
        }
        login = added["login"]
        wrong_case = {"LOGIN": login, "TYPE": "main", "PASSWORD": "Str0ng#Pass"}
        assert (await c.post("user/check_password", wrong_case))[1] == {
            "retcode": "3 Invalid parameters"
        }
        # Documented spellings: record names, or the query names themselves.
        for check in (
            {"Login": login, "Type": "main", "Password": "Str0ng#Pass"},
            {"login": login, "type": "main", "password": "Str0ng#Pass"},
        ):
            assert (await c.post("user/check_password", check))[1] == {
                "retcode": "0 Done"
            }


async def test_docs_zipcode_spelling_accepted(sim: Simulator, mt5_session) -> None:
    async with mt5_session(sim) as c:
        _, added = await c.post("user/add", {**NEW_USER, "ZIPCode": "10115"})
        assert added["answer"]["ZipCode"] == "10115"


# -- user/add, user/update (docs/mt5-webapi.md#users) ----------------------------------


@pytest.mark.parametrize(
    "missing", ["Group", "Name", "Leverage", "PassMain", "PassInvestor"]
)
async def test_user_add_required_fields(
    sim: Simulator, mt5_session, missing: str
) -> None:
    body = {k: v for k, v in NEW_USER.items() if k != missing}
    async with mt5_session(sim) as c:
        _, answer = await c.post("user/add", body)
    # A missing group is a missing parameter (an unknown one would be 8).
    assert answer == {"retcode": "3 Invalid parameters"}


async def test_user_add_body_overrides_query(sim: Simulator, mt5_session) -> None:
    async with mt5_session(sim) as c:
        _, added = await c.post(
            "user/add", NEW_USER, group="real\\standard", name="Query", leverage=50
        )
    assert added["retcode"] == "0 Done"
    assert set(added) == {"retcode", "login", "answer"}
    assert added["login"] == added["answer"]["Login"]
    user = added["answer"]
    assert (user["Group"], user["Name"], user["Leverage"]) == (
        "demo\\forex",
        "Fidelity Test",
        "100",
    )


async def test_user_update_never_changes_passwords(sim: Simulator, mt5_session) -> None:
    async with mt5_session(sim) as c:
        login = await _demo_login(c)
        _, before = await c.get("user/get", login=login)
        body = {
            "Login": login,
            "PassMain": "Oth3r#Pass",
            "PassInvestor": "Oth3r#Inv1",
            "Leverage": "not a number",  # invalid values are ignored on update
            "Comment": "updated",
        }
        _, updated = await c.post("user/update", body, login=login)
        assert updated["retcode"] == "0 Done"
        assert updated["answer"]["Comment"] == "updated"
        assert updated["answer"]["Leverage"] == before["answer"]["Leverage"]
        for kind, password in (
            ("main", f"Main#{login}"),
            ("investor", f"Invest#{login}"),
        ):
            check = {"Login": login, "Type": kind, "Password": password}
            assert (await c.post("user/check_password", check))[1] == {
                "retcode": "0 Done"
            }


async def test_password_types(sim: Simulator, mt5_session) -> None:
    async with mt5_session(sim) as c:
        login = await _demo_login(c)
        api = {"Login": login, "Type": "api", "Password": "Ap1#Secret"}
        # No API password is set on seeded accounts.
        assert (await c.post("user/check_password", api))[1] == {
            "retcode": "3006 Invalid account password"
        }
        assert (await c.post("user/change_password", api))[1] == {"retcode": "0 Done"}
        assert (await c.post("user/check_password", api))[1] == {"retcode": "0 Done"}
        # The other passwords are untouched.
        main = {"Login": login, "Type": "main", "Password": f"Main#{login}"}
        assert (await c.post("user/check_password", main))[1] == {"retcode": "0 Done"}
        bad = {**main, "Type": "master"}
        assert (await c.post("user/check_password", bad))[1] == {
            "retcode": "3 Invalid parameters"
        }


# -- trade/balance (docs/mt5-webapi.md#balance-operations) -----------------------------


async def test_balance_types_create_deals(sim: Simulator, mt5_session) -> None:
    async with mt5_session(sim) as c:
        login = await _demo_login(c)
        for kind in (2, 3, 4, 5, 6):
            _, op = await c.get("trade/balance", login=login, type=kind, balance="1.5")
            assert set(op) == {"retcode", "answer"}
            assert list(op["answer"]) == ["Ticket"]
            _, deal = await c.get("deal/get", ticket=op["answer"]["Ticket"])
            assert deal["answer"]["Action"] == str(kind)
            assert deal["answer"]["Profit"] == "1.50"
        for kind in (0, 1, 7, 10, 18):
            _, op = await c.get("trade/balance", login=login, type=kind, balance="1")
            assert op == {"retcode": "3 Invalid parameters"}


async def test_balance_comment_is_cut_not_rejected(sim: Simulator, mt5_session) -> None:
    comment = "A" * 31 + "-cut-off"
    async with mt5_session(sim) as c:
        login = await _demo_login(c)
        _, op = await c.get(
            "trade/balance", login=login, type=2, balance="1", comment=comment
        )
        assert op["retcode"] == "0 Done"
        _, deal = await c.get("deal/get", ticket=op["answer"]["Ticket"])
    assert deal["answer"]["Comment"] == "A" * 31


async def test_balance_limits_and_no_money(sim: Simulator, mt5_session) -> None:
    async with mt5_session(sim) as c:
        login = await _demo_login(c)
        _, user = await c.get("user/get", login=login)
        balance = Decimal(user["answer"]["Balance"])
        too_much = str(-(balance + 1))
        # check_margin defaults to 1: a withdrawal beyond the money is refused.
        # check_margin=0 only skips the free-margin check: "> balance" stays 10019.
        for extra in ({}, {"check_margin": 1}, {"check_margin": 0}):
            _, op = await c.get(
                "trade/balance", login=login, type=2, balance=too_much, **extra
            )
            assert op == {"retcode": "10019 No money"}
        # More credit than was issued cannot be taken back.
        _, credit = await c.get("trade/balance", login=login, type=3, balance="-1")
        assert credit == {"retcode": "10019 No money"}
        _, limit = await c.get("trade/balance", login=login, type=2, balance="1e9")
        assert limit["retcode"] == "0 Done"
        _, over = await c.get(
            "trade/balance", login=login, type=2, balance="1000000000.01"
        )
        assert over == {"retcode": "4005 Money limit reached"}


# -- symbol lists and masks (docs/mt5-webapi.md#masks) ---------------------------------


async def test_masks_need_the_full_path(sim: Simulator, mt5_session) -> None:
    async with mt5_session(sim) as c:
        # A name-only mask matches nothing: EURUSD's path is Forex\Major\EURUSD.
        _, by_name = await c.get("tick/last", symbol="EUR*")
        assert by_name["answer"] == []
        _, by_path = await c.get("tick/last", symbol="Forex\\*\\EUR*")
        assert {t["Symbol"] for t in by_path["answer"]} == {
            "EURUSD", "EURGBP", "EURJPY", "EURCHF", "EURAUD",
        }  # fmt: skip
        # Plain names (and full paths) need no path; "!" excludes either kind.
        _, plain = await c.get("tick/last", symbol="EURUSD,Metals\\XAUUSD")
        assert [t["Symbol"] for t in plain["answer"]] == ["EURUSD", "XAUUSD"]
        _, excluded = await c.get(
            "tick/last", symbol="Forex\\Major\\*,!AUDUSD,!Forex\\Major\\USD*"
        )
        assert [t["Symbol"] for t in excluded["answer"]] == [
            "EURUSD",
            "GBPUSD",
            "NZDUSD",
        ]
        _, masked = await c.get("symbol/get", mask="EUR*")
        assert masked == {"retcode": "0 Done", "answer": []}
        _, masked = await c.get("symbol/get", mask="Forex\\Major\\*,!Forex\\Major\\U*")
        assert {s["Symbol"] for s in masked["answer"]} == {
            "EURUSD", "GBPUSD", "AUDUSD", "NZDUSD",
        }  # fmt: skip
        _, deals = await c.get(
            "deal/get_batch", group="*", symbol="XAU*", to=2**31, **{"from": 0}
        )
        assert deals["answer"] == []


async def test_symbol_and_group_get_shapes(sim: Simulator, mt5_session) -> None:
    async with mt5_session(sim) as c:
        # symbol wins over mask: an object, not an array.
        _, both = await c.get("symbol/get", symbol="EURUSD", mask="Metals\\*")
        assert both["answer"]["Symbol"] == "EURUSD"
        # A mask always gives an array, even for one match.
        _, one = await c.get("symbol/get", mask="Metals\\XAUUSD")
        assert [s["Symbol"] for s in one["answer"]] == ["XAUUSD"]
        _, group = await c.get("group/get", group="real\\vip", mask="demo\\*")
        assert group["answer"]["Group"] == "real\\vip"
        _, groups = await c.get("group/get", mask="real\\vip")
        assert [g["Group"] for g in groups["answer"]] == ["real\\vip"]
        _, none = await c.get("group/get", mask="nothing\\*")
        assert none == {"retcode": "0 Done", "answer": []}


async def test_mask_answers_are_capped(
    sim: Simulator, mt5_session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real cap is 5000 configs; two here stand in for it.
    monkeypatch.setattr(config_commands, "MASK_MAX", 2)
    async with mt5_session(sim) as c:
        _, symbols = await c.get("symbol/get", mask="Forex\\Major\\*")
        _, groups = await c.get("group/get", mask="*")
        _, exact = await c.get("symbol/get", mask="Metals\\*")
    assert symbols["retcode"] == "14 Operation has not been completed"
    assert [s["Symbol"] for s in symbols["answer"]] == ["EURUSD", "GBPUSD"]
    assert groups["retcode"] == "14 Operation has not been completed"
    assert len(groups["answer"]) == 2
    assert exact["retcode"] == "0 Done"


async def test_tick_last_symbol_parameter_limit(sim: Simulator, mt5_session) -> None:
    # 4096 characters of parameter, empty items included.
    value = ",".join(["EURUSD"] * 585) + ",,"
    assert len(value) == 4096
    async with mt5_session(sim) as c:
        _, ok = await c.get("tick/last", symbol=value)
        assert [t["Symbol"] for t in ok["answer"]] == ["EURUSD"]
        _, too_long = await c.get("tick/last", symbol=value + ",")
        assert too_long == {"retcode": "3 Invalid parameters"}
        _, too_long = await c.post("tick/last", {"symbol": value + ","})
        assert too_long == {"retcode": "3 Invalid parameters"}


# -- trans_id (docs/mt5-webapi.md#tick-cursors) ----------------------------------------


async def test_trans_id_model(sim: Simulator, mt5_session) -> None:
    async with mt5_session(sim) as c:
        _, full = await c.get("tick/last", symbol="EURUSD,GBPUSD")  # no trans_id
        assert len(full["answer"]) == 2
        cursor = int(full["trans_id"])
        assert cursor == sim.broker.trans_id
        now = int(time.time() * 1000)
        sim.broker.apply_tick("EURUSD", 108_000, 108_010, now)
        sim.broker.apply_tick("USDJPY", 150_000, 150_010, now)  # not asked for
        for command in ("tick/last", "tick/stat"):
            _, delta = await c.get(command, symbol="EURUSD,GBPUSD", trans_id=cursor)
            assert [t["Symbol"] for t in delta["answer"]] == ["EURUSD"], command
            assert int(delta["trans_id"]) == cursor + 2
        _, group = await c.get(
            "tick/last_group",
            symbol="EURUSD,GBPUSD",
            group="demo\\forex",
            trans_id=cursor,
        )
        assert [t["Symbol"] for t in group["answer"]] == ["EURUSD"]
        # An id from the future (e.g. before a server restart): full snapshot.
        _, future = await c.get("tick/last", symbol="EURUSD,GBPUSD", trans_id=10**12)
        assert len(future["answer"]) == 2


# -- server time zone (docs/mt5-webapi.md#time-zones) ----------------------------------


@pytest.mark.parametrize(
    "sim_config",
    [SimConfig(tls=False, seed=1, ticks_per_second=0, server_timezone=120)],
)
async def test_server_time_zone_shifts_every_stamp(sim: Simulator, mt5_session) -> None:
    # MT5 stamps are server wall-clock time written as if UTC: GMT+2 runs 7200 s ahead.
    ahead = time.time() + 7200
    async with mt5_session(sim) as c:
        _, tz = await c.get("time/get")
        assert tz["answer"]["TimeZone"] == "120"
        _, server = await c.get("time/server")
        assert abs(int(server["answer"]["Time"].split()[0]) - ahead) < 60
        login = await _demo_login(c)
        _, op = await c.get("trade/balance", login=login, type=2, balance="1")
        _, deal = await c.get("deal/get", ticket=op["answer"]["Ticket"])
        assert abs(int(deal["answer"]["Time"]) - ahead) < 60
        _, ticks = await c.get("tick/last", symbol="BTCUSD")
        assert abs(int(ticks["answer"][0]["Datetime"]) - ahead) < 60
        # History reaches up to the server's "now", not UTC now.
        window = {"from": int(ahead) - 3600, "to": int(ahead) + 60}
        _, bars = await c.get("chart/get", symbol="BTCUSD", **window)
        assert bars["answer"][-1][0] > time.time() + 3600


# -- user/account/get availability (docs/mt5-webapi.md#accounts) -----------------------


async def test_account_state_needs_trades_or_activity(
    sim: Simulator, mt5_session
) -> None:
    async with mt5_session(sim) as c:
        _, added = await c.post("user/add", NEW_USER)
        login = added["login"]
        # A new account has no open trades and no activity since the server start.
        assert (await c.get("user/account/get", login=login))[1] == {
            "retcode": "13 Not found"
        }
        _, batch = await c.get("user/account/get_batch", login=login)
        assert batch == {"retcode": "0 Done", "answer": []}
        await c.get("trade/balance", login=login, type=2, balance="100")
        _, account = await c.get("user/account/get", login=login)
        assert account["answer"]["Balance"] == "100.00"


CONNECTION_SCOPE = SimConfig(
    tls=False, seed=1, ticks_per_second=0, trans_id_scope="connection"
)


@pytest.mark.parametrize("sim_config", [CONNECTION_SCOPE])
async def test_trans_id_per_connection_scope(sim: Simulator, mt5_session) -> None:
    symbols = "EURUSD,GBPUSD"
    async with mt5_session(sim) as a, mt5_session(sim) as b:
        _, first = await a.get("tick/last", symbol=symbols, trans_id=0)
        cursor = first["trans_id"]
        _, same = await a.get("tick/last", symbol=symbols, trans_id=cursor)
        assert same["answer"] == []
        # Another session was never given that cursor: a full snapshot.
        _, other = await b.get("tick/last", symbol=symbols, trans_id=cursor)
        assert len(other["answer"]) == 2
        # After a re-authentication the session's old cursors mean nothing either.
        await a.authenticate()
        _, again = await a.get("tick/last", symbol=symbols, trans_id=cursor)
        assert len(again["answer"]) == 2


@pytest.mark.parametrize(
    "sim_config",
    [
        SimConfig(
            tls=False,
            seed=1,
            ticks_per_second=0,
            trans_id_scope="connection",
            broker_options=BrokerOptions(unknown_trans_id_full=False),
        )
    ],
)
async def test_foreign_cursor_answers_nothing_when_unknown_is_empty(
    sim: Simulator, mt5_session
) -> None:
    # The hardest case for a client that polls one cursor through a pool: a cursor
    # from another session silently yields [] and a new id; changes are lost.
    async with mt5_session(sim) as a, mt5_session(sim) as b:
        _, first = await a.get("tick/last", symbol="EURUSD", trans_id=0)
        sim.broker.apply_tick("EURUSD", 108_000, 108_010, int(time.time() * 1000))
        _, other = await b.get("tick/last", symbol="EURUSD", trans_id=first["trans_id"])
        assert other["answer"] == []
        assert int(other["trans_id"]) == sim.broker.trans_id
        _, own = await a.get("tick/last", symbol="EURUSD", trans_id=first["trans_id"])
        assert [t["Bid"] for t in own["answer"]] == ["1.08000"]
