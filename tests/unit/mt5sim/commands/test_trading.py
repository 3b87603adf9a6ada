from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from mt5sim.retcodes import Retcode

from .conftest import NOW, Call, retcode_of

if TYPE_CHECKING:
    from mt5sim.market.broker import Broker

ALL_TIME = {"from": 0, "to": int(NOW)}


def _busiest(broker: Broker) -> int:
    return max(broker.users, key=lambda lg: len(broker.book(lg).deals))


def test_position_get_total_page(call: Call, broker: Broker) -> None:
    pos = next(iter(broker.positions.values()))
    answer = call("position/get", login=pos.login, symbol=pos.symbol.name).answer
    assert answer["Login"] == str(pos.login)
    assert answer["Symbol"] == pos.symbol.name
    count = len(broker.book(pos.login).positions)
    assert call("position/get_total", login=pos.login).answer == {"Total": str(count)}
    page = call("position/get_page", login=pos.login, offset=0, total=100).answer
    assert [p["Position"] for p in page] == [
        str(t) for t in broker.book(pos.login).positions
    ]
    missing = {"login": pos.login, "symbol": "NOPE"}
    assert retcode_of(call, "position/get", **missing) == Retcode.ERR_NOTFOUND


def test_pages(call: Call, broker: Broker) -> None:
    login = _busiest(broker)
    deals = broker.book(login).deals
    total = call("deal/get_total", login=login, **ALL_TIME).answer
    assert total == {"Total": str(len(deals))}
    first = call("deal/get_page", login=login, offset=0, total=3, **ALL_TIME).answer
    second = call("deal/get_page", login=login, offset=3, total=3, **ALL_TIME).answer
    assert [d["Deal"] for d in first + second] == [str(d.ticket) for d in deals[:6]]
    beyond = call("deal/get_page", login=login, offset=10_000, total=5, **ALL_TIME)
    assert beyond.answer == []


def test_page_total_is_capped_at_100(call: Call, broker: Broker) -> None:
    # Give one account more than 100 deals.
    for _ in range(120):
        call("trade/balance", login=100_020, type=2, balance=1)
    page = call("deal/get_page", login=100_020, offset=0, total=500, **ALL_TIME)
    assert len(page.answer) == 100
    total = call("deal/get_total", login=100_020, **ALL_TIME).answer
    assert int(total["Total"]) > 120


@pytest.mark.parametrize(
    "query",
    [
        {"offset": -1, "total": 10},
        {"offset": 0, "total": -1},
        {"offset": 0},
        {"total": 5},
        {"offset": "x", "total": 5},
    ],
)
def test_page_bad_params(call: Call, query: dict[str, object]) -> None:
    assert retcode_of(call, "position/get_page", login=100_001, **query) == 3


def test_time_ranges(call: Call, broker: Broker) -> None:
    login = _busiest(broker)
    deals = broker.book(login).deals
    middle = deals[len(deals) // 2].time_msc // 1000
    window = {"from": middle, "to": int(NOW)}
    expected = [d for d in deals if d.time_msc // 1000 >= middle]
    total = call("deal/get_total", login=login, **window).answer
    assert total == {"Total": str(len(expected))}
    history = broker.book(login).history
    hist_total = call("history/get_total", login=login, **ALL_TIME).answer
    assert hist_total == {"Total": str(len(history))}
    assert retcode_of(call, "deal/get_total", login=login) == 3
    assert retcode_of(call, "deal/get_total", login=login, **{"from": 5, "to": 1}) == 3


def test_get_by_ticket(call: Call, broker: Broker) -> None:
    order = next(iter(broker.orders.values()))
    assert call("order/get", ticket=order.ticket).answer["Order"] == str(order.ticket)
    hist = next(iter(broker.history_orders.values()))
    assert call("history/get", ticket=hist.ticket).answer["TimeDone"] != "0"
    deal = next(iter(broker.deals.values()))
    assert call("deal/get", ticket=deal.ticket).answer["Deal"] == str(deal.ticket)
    assert retcode_of(call, "order/get", ticket=1) == Retcode.ERR_NOTFOUND
    assert retcode_of(call, "deal/get", ticket=hist.ticket) == Retcode.ERR_NOTFOUND
    assert retcode_of(call, "deal/get") == Retcode.ERR_PARAMS


def test_batch_by_group_and_symbol(call: Call, broker: Broker) -> None:
    answer = call("position/get_batch", group="*", symbol="EURUSD,GBPUSD").answer
    expected = [
        p for p in broker.positions.values() if p.symbol.name in {"EURUSD", "GBPUSD"}
    ]
    assert sorted(int(p["Position"]) for p in answer) == sorted(
        p.ticket for p in expected
    )
    metals = call("position/get_batch", group="*", symbol="Metals\\*").answer
    assert {p["Symbol"] for p in metals} <= {"XAUUSD", "XAGUSD"}


def test_batch_by_login_and_ticket(call: Call, broker: Broker) -> None:
    orders = list(broker.orders.values())[:3]
    tickets = ",".join(str(o.ticket) for o in orders)
    answer = call("order/get_batch", ticket=f"{tickets},1").answer
    assert [o["Order"] for o in answer] == [str(o.ticket) for o in orders]
    login = orders[0].login
    by_login = call("order/get_batch", login=login).answer
    assert {o["Login"] for o in by_login} == {str(login)}
    deals = call("deal/get_batch", login=login, **ALL_TIME).answer
    assert len(deals) == len(broker.book(login).deals)


def test_batch_selectors(call: Call) -> None:
    assert retcode_of(call, "position/get_batch") == 3
    assert retcode_of(call, "position/get_batch", login=100_001, group="*") == 3
    assert retcode_of(call, "position/get_batch", ticket=1, symbol="EURUSD") == 3
    # from/to are required with login/group for history and deals.
    assert retcode_of(call, "deal/get_batch", login=100_001) == 3
    assert call("deal/get_batch", ticket=1).answer == []


def test_batch_body_arrays(call: Call, broker: Broker) -> None:
    tickets = [str(t) for t in list(broker.positions)[:2]]
    answer = call("position/get_batch", body={"ticket": tickets}).answer
    assert [p["Position"] for p in answer] == tickets


def test_permissions(demo_call: Call, broker: Broker) -> None:
    def is_demo(login: int) -> bool:
        return broker.users[login].group.name.startswith("demo")

    foreign = next(p for p in broker.positions.values() if not is_demo(p.login))
    own = next(p for p in broker.positions.values() if is_demo(p.login))
    assert retcode_of(demo_call, "position/get_total", login=foreign.login) == 8
    foreign_deal = next(d for d in broker.deals.values() if not is_demo(d.login))
    assert retcode_of(demo_call, "deal/get", ticket=foreign_deal.ticket) == 8
    answer = demo_call("position/get_batch", ticket=f"{foreign.ticket},{own.ticket}")
    assert [p["Position"] for p in answer.answer] == [str(own.ticket)]
    everything = demo_call("position/get_batch", group="*").answer
    assert all(is_demo(int(p["Login"])) for p in everything)
