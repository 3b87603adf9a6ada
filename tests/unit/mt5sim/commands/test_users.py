from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from mt5sim.market.broker import BrokerOptions
from mt5sim.retcodes import Retcode

from .conftest import NOW, Call, retcode_of

if TYPE_CHECKING:
    from mt5sim.market.broker import Broker

ADD = {
    "group": "demo\\forex",
    "name": "Jane Doe",
    "leverage": "100",
    "pass_main": "Str0ng#Pass",
    "pass_investor": "Inv3st#Pass",
}


def test_get(call: Call, broker: Broker) -> None:
    reply = call("user/get", login=100_002)
    assert reply.answer is not None
    assert reply.answer["Login"] == "100002"
    assert reply.answer["Group"] == broker.users[100_002].group.name


def test_get_errors(call: Call) -> None:
    assert retcode_of(call, "user/get", login=42) == Retcode.ERR_NOTFOUND
    assert retcode_of(call, "user/get") == Retcode.ERR_PARAMS
    assert retcode_of(call, "user/get", login="abc") == Retcode.ERR_PARAMS


def test_permissions(demo_call: Call, broker: Broker) -> None:
    real = next(
        u.login for u in broker.users.values() if u.group.name.startswith("real")
    )
    demo = next(
        u.login for u in broker.users.values() if u.group.name.startswith("demo")
    )
    assert retcode_of(demo_call, "user/get", login=real) == Retcode.ERR_PERMISSIONS
    assert retcode_of(demo_call, "user/account/get", login=real) == (
        Retcode.ERR_PERMISSIONS
    )
    assert demo_call("user/get", login=demo).answer is not None
    # Batch and mask answers leave foreign records out instead of failing.
    batch = demo_call("user/get_batch", login=f"{real},{demo}").answer
    assert [u["Login"] for u in batch] == [str(demo)]
    logins = demo_call("user/logins", group="*").answer
    assert all(broker.users[int(lg)].group.name.startswith("demo") for lg in logins)
    total = demo_call("user/total").answer
    assert int(total["Total"]) == len(logins)


def test_get_batch_by_group_masks(call: Call, broker: Broker) -> None:
    answer = call("user/get_batch", group="real\\*,!real\\vip").answer
    assert answer
    assert {u["Group"] for u in answer} == {"real\\standard"}
    expected = [
        u.login for u in broker.users.values() if u.group.name == "real\\standard"
    ]
    assert [int(u["Login"]) for u in answer] == expected


def test_get_batch_needs_exactly_one_selector(call: Call) -> None:
    assert retcode_of(call, "user/get_batch") == Retcode.ERR_PARAMS
    assert (
        retcode_of(call, "user/get_batch", login="100001", group="*")
        == Retcode.ERR_PARAMS
    )


def test_get_batch_body_arrays(call: Call) -> None:
    answer = call("user/get_batch", body={"login": ["100001", 100002, 999]}).answer
    assert [u["Login"] for u in answer] == ["100001", "100002"]


def test_logins_total_group(call: Call, broker: Broker) -> None:
    logins = call("user/logins", group="demo*").answer
    assert logins == [
        str(u.login) for u in broker.users.values() if u.group.name.startswith("demo")
    ]
    assert retcode_of(call, "user/logins") == Retcode.ERR_PARAMS
    assert call("user/total").answer == {"Total": str(len(broker.users))}
    login = next(iter(broker.users))
    assert call("user/group", login=login).answer == {
        "Group": broker.users[login].group.name
    }


def test_add_allocates_login(call: Call, broker: Broker) -> None:
    reply = call("user/add", **ADD)
    login = int(reply.extra["login"])
    assert login == max(broker.users)
    assert reply.answer["Login"] == str(login)
    assert reply.answer["Name"] == "Jane Doe"
    assert reply.answer["Registration"] == str(int(NOW))
    assert reply.answer["Balance"] == "0.00"
    assert reply.answer["Rights"] == "483"
    assert call("user/get", login=login).answer == reply.answer


def test_add_with_body_fields(call: Call) -> None:
    body = {
        "Login": "777777",
        "Group": "real\\standard",
        "Name": "Body Name",
        "Leverage": "50",
        "PassMain": "B0dy#Passw",
        "PassInvestor": "B0dy#Invst",
        "ZIPCode": "12345",
        "Email": "body@example.com",
        "Rights": "2531",
        "Language": "1033",
    }
    reply = call("user/add", body=body, name="Query Name")
    answer = reply.answer
    assert reply.extra == {"login": "777777"}
    assert answer["Name"] == "Body Name"  # the body wins over the query
    assert answer["ZipCode"] == "12345"
    assert answer["Leverage"] == "50"
    assert answer["Rights"] == "2531"
    assert answer["Language"] == "1033"
    assert retcode_of(call, "user/add", body=body) == Retcode.USR_LOGIN_EXIST


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"group": "nope\\nope"}, Retcode.ERR_PERMISSIONS),
        ({"name": ""}, Retcode.ERR_PARAMS),
        ({"leverage": "0"}, Retcode.ERR_PARAMS),
        ({"leverage": "501"}, Retcode.ERR_PARAMS),
        ({"pass_main": "short1A!"[:7]}, Retcode.USR_INVALID_PASSWORD),
        ({"pass_main": "Str0ng#Pass-too-long"}, Retcode.USR_INVALID_PASSWORD),
        ({"pass_main": "alllower1#"}, Retcode.USR_INVALID_PASSWORD),
        ({"pass_investor": "NoDigits#x"}, Retcode.USR_INVALID_PASSWORD),
        # real\vip requires at least 10 characters (AuthPasswordMin).
        ({"group": "real\\vip", "pass_main": "Vip#Pas1"}, Retcode.USR_INVALID_PASSWORD),
        ({"login": "-5"}, Retcode.ERR_PARAMS),
        ({"rights": "x"}, Retcode.ERR_PARAMS),
    ],
)
def test_add_errors(call: Call, change: dict[str, str], code: int) -> None:
    assert retcode_of(call, "user/add", **{**ADD, **change}) == code


def test_add_into_foreign_group(demo_call: Call) -> None:
    query = {**ADD, "group": "real\\standard"}
    assert retcode_of(demo_call, "user/add", **query) == Retcode.ERR_PERMISSIONS


def test_update(call: Call, broker: Broker) -> None:
    before = call("user/get", login=100_005).answer
    reply = call(
        "user/update",
        login=100_005,
        name="John|Smith",
        leverage="999",  # invalid values are ignored on update
        color="bad",
        balance="1000000",  # read-only
        group="real\\vip",
    )
    answer = reply.answer
    assert answer["Name"] == "John|Smith"
    assert answer["Leverage"] == before["Leverage"]
    assert answer["Color"] == before["Color"]
    assert answer["Balance"] == before["Balance"]
    assert answer["Group"] == "real\\vip"
    assert reply.extra == {"login": "100005"}
    assert call("user/get", login=100_005).answer == answer
    assert broker.users[100_005].group.name == "real\\vip"
    assert retcode_of(call, "user/update", login=1) == Retcode.ERR_NOTFOUND


def test_delete(call: Call, broker: Broker) -> None:
    login = int(call("user/add", **ADD).extra["login"])
    call("user/delete", login=login)
    assert login not in broker.users
    assert retcode_of(call, "user/delete", login=login) == Retcode.ERR_NOTFOUND
    assert retcode_of(call, "user/delete", login=1000) == Retcode.USR_SUICIDE
    busy = next(iter(broker.positions.values())).login
    assert retcode_of(call, "user/delete", login=busy) == Retcode.USR_HAS_TRADES


def test_delete_removes_history(call: Call, broker: Broker) -> None:
    idle = next(
        u.login
        for u in broker.users.values()
        if u.login >= 100_000 and not broker.book(u.login).positions
        and not broker.book(u.login).orders
    )  # fmt: skip
    deals = [d.ticket for d in broker.book(idle).deals]
    call("user/delete", login=idle)
    assert not any(t in broker.deals for t in deals)


def test_check_password(call: Call) -> None:
    call("user/check_password", login=100_001, type="main", password="Main#100001")
    call(
        "user/check_password", login=100_001, type="INVESTOR", password="Invest#100001"
    )
    body = {"Login": "100001", "Type": "main", "Password": "Main#100001"}
    call("user/check_password", body=body)
    wrong = {"login": 100_001, "type": "main", "password": "Invest#100001"}
    assert retcode_of(call, "user/check_password", **wrong) == (
        Retcode.USR_INVALID_PASSWORD
    )
    # No API password is set on seeded accounts.
    api = {"login": 100_001, "type": "api", "password": ""}
    assert retcode_of(call, "user/check_password", **api) == Retcode.ERR_PARAMS
    api["password"] = "anything"
    assert (
        retcode_of(call, "user/check_password", **api) == Retcode.USR_INVALID_PASSWORD
    )
    bad_type = {"login": 100_001, "type": "master", "password": "x"}
    assert retcode_of(call, "user/check_password", **bad_type) == Retcode.ERR_PARAMS


def test_change_password(call: Call, broker: Broker) -> None:
    call("user/change_password", login=100_001, type="api", password="N3w#ApiPass")
    call("user/check_password", login=100_001, type="api", password="N3w#ApiPass")
    call("user/change_password", login=100_001, type="main", password="N3w#MainPass")
    call("user/check_password", login=100_001, type="main", password="N3w#MainPass")
    assert broker.users[100_001].last_pass_change == int(NOW)
    weak = {"login": 100_001, "type": "main", "password": "password"}
    assert retcode_of(call, "user/change_password", **weak) == (
        Retcode.USR_INVALID_PASSWORD
    )


def test_account(call: Call, broker: Broker) -> None:
    login = next(iter(broker.positions.values())).login
    acc = call("user/account/get", login=login).answer
    assert acc["Login"] == str(login)
    assert float(acc["Equity"]) == pytest.approx(
        float(acc["Balance"]) + float(acc["Credit"]) + float(acc["Floating"])
    )
    batch = call("user/account/get_batch", group="real\\*").answer
    assert {a["Login"] for a in batch} == {
        str(u.login)
        for u in broker.users.values()
        if u.group.name.startswith("real") and broker.account_available(u.login)
    }


def test_account_needs_trades_or_activity(call: Call, broker: Broker) -> None:
    # As documented (docs/mt5-webapi.md#accounts), only accounts with open
    # orders/positions or trading activity since the server started have a trade state;
    # the seed leaves some dormant.
    dormant = [
        u.login
        for u in broker.users.values()
        if u.login >= 100_000
        and not (broker.books[u.login].positions or broker.books[u.login].orders)
    ]
    assert dormant
    login = dormant[0]
    assert retcode_of(call, "user/account/get", login=login) == Retcode.ERR_NOTFOUND
    assert call("user/account/get_batch", login=str(login)).answer == []
    call("trade/balance", login=login, type=2, balance="10")
    assert call("user/account/get", login=login).answer["Login"] == str(login)
    # A fresh account has no activity either.
    added = call(
        "user/add", group="demo\\forex", name="New", leverage=100,
        pass_main="Str0ng#Pass", pass_investor="Inv3st#Pass",
    )  # fmt: skip
    new_login = int(added.extra["login"])
    assert retcode_of(call, "user/account/get", login=new_login) == Retcode.ERR_NOTFOUND
    broker.options = BrokerOptions(accounts_need_activity=False)
    assert call("user/account/get", login=dormant[-1]).answer["CurrencyDigits"] == "2"
