from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import pytest
from mt5sim.retcodes import Retcode

from .conftest import NOW, Call, retcode_of

if TYPE_CHECKING:
    from mt5sim.market.broker import Broker


@pytest.mark.parametrize("action", [2, 3, 4, 5, 6])
def test_every_type_creates_a_deal(call: Call, broker: Broker, action: int) -> None:
    user = broker.users[100_010]
    balance, credit = user.balance, user.credit
    reply = call(
        "trade/balance", login=100_010, type=action, balance="12.34", comment="c"
    )
    ticket = int(reply.answer["Ticket"])
    deal = call("deal/get", ticket=ticket).answer
    assert deal["Action"] == str(action)
    assert deal["Profit"] == "12.34"
    assert deal["Login"] == "100010"
    assert deal["Symbol"] == ""
    assert deal["Time"] == str(int(NOW))
    if action == 3:
        assert (user.balance, user.credit) == (balance, credit + Decimal("12.34"))
    else:
        assert (user.balance, user.credit) == (balance + Decimal("12.34"), credit)
    assert call("user/get", login=100_010).answer["Balance"] == f"{user.balance:.2f}"


def test_exact_decimals_and_stats(call: Call, broker: Broker) -> None:
    user = broker.users[100_011]
    start = user.balance
    for _ in range(10):
        call("trade/balance", login=100_011, type=2, balance="0.10")
    call("trade/balance", login=100_011, type=2, balance="-0.30")
    assert user.balance == start + Decimal("0.70")
    stats = broker.balance_stats()
    assert stats == {"count": 11, "per_login": {"100011": "0.70"}}
    account = call("user/account/get", login=100_011).answer
    assert account["Balance"] == f"{start + Decimal('0.70'):.2f}"


def test_comment_is_cut(call: Call) -> None:
    reply = call("trade/balance", login=100_012, type=2, balance=1, comment="x" * 50)
    deal = call("deal/get", ticket=reply.answer["Ticket"]).answer
    assert deal["Comment"] == "x" * 31


def test_errors(call: Call, broker: Broker) -> None:
    login = next(u.login for u in broker.users.values() if u.login >= 100_000)
    base = {"login": login, "type": 2}
    assert retcode_of(call, "trade/balance", **base, balance="1000000001") == (
        Retcode.TRADE_MAX_MONEY
    )
    assert retcode_of(call, "trade/balance", **base, balance="-99999999") == (
        Retcode.REQUEST_NO_MONEY
    )
    assert (
        retcode_of(call, "trade/balance", **base, balance="abc") == Retcode.ERR_PARAMS
    )
    assert retcode_of(call, "trade/balance", **base) == Retcode.ERR_PARAMS
    assert retcode_of(call, "trade/balance", login=login, type=7, balance=1) == 3
    assert retcode_of(call, "trade/balance", login=login, balance=1) == 3
    assert retcode_of(call, "trade/balance", login=1, type=2, balance=1) == 13
    no_credit = next(u for u in broker.users.values() if not u.credit)
    credit = {"login": no_credit.login, "type": 3, "balance": "-1"}
    assert retcode_of(call, "trade/balance", **credit) == Retcode.REQUEST_NO_MONEY
    assert broker.balance_stats()["count"] == 0


def test_withdrawal_beyond_free_margin(call: Call, broker: Broker) -> None:
    login = next(iter(broker.positions.values())).login
    user = broker.users[login]
    margin_free = broker.account(user).margin_free
    too_much = min(margin_free, user.balance) + Decimal("0.01")
    query = {"login": login, "type": 2, "balance": str(-too_much)}
    assert retcode_of(call, "trade/balance", **query) == Retcode.REQUEST_NO_MONEY
    if too_much <= user.balance:
        # check_margin=0 skips the free-margin check ...
        call("trade/balance", **query, check_margin=0)
        assert user.balance == user.balance_prev_day - too_much
    # ... but never lets a withdrawal exceed the
    # balance (docs/mt5-webapi.md#balance-operations).
    beyond = {"login": login, "type": 2, "balance": str(-(user.balance + 1))}
    assert retcode_of(call, "trade/balance", **beyond, check_margin=0) == (
        Retcode.REQUEST_NO_MONEY
    )


def test_foreign_login(demo_call: Call, broker: Broker) -> None:
    real = next(
        u.login for u in broker.users.values() if u.group.name.startswith("real")
    )
    query = {"login": real, "type": 2, "balance": 1}
    assert retcode_of(demo_call, "trade/balance", **query) == Retcode.ERR_PERMISSIONS
