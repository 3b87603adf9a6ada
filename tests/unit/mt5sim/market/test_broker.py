from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mt5sim.market import wire
from mt5sim.market.broker import Broker, BrokerOptions
from mt5sim.market.prices import PriceFeed
from mt5sim.retcodes import Mt5Error, Retcode

NOW = 1_764_000_000.0


@pytest.fixture
def broker() -> Broker:
    return Broker.seeded(11, NOW)


def _snapshot(b: Broker) -> list[dict[str, object]]:
    return [wire.user(u) for u in b.users.values()] + [
        wire.deal(d) for d in b.deals.values()
    ]


def test_seed_is_deterministic(broker: Broker) -> None:
    assert _snapshot(Broker.seeded(11, NOW)) == _snapshot(broker)
    assert _snapshot(Broker.seeded(12, NOW)) != _snapshot(broker)


def test_balances_do_not_depend_on_now(broker: Broker) -> None:
    later = Broker.seeded(11, NOW + 3 * 86_400)
    assert {u.login: u.balance for u in later.users.values()} == {
        u.login: u.balance for u in broker.users.values()
    }


def test_market_size(broker: Broker) -> None:
    assert len(broker.symbols) >= 20
    clients = [u for u in broker.users.values() if u.login >= 100_000]
    assert len(clients) >= 50
    assert len(broker.positions) > 20
    assert broker.orders
    assert broker.history_orders
    assert {g.name for g in broker.groups.values()} >= {
        "demo\\forex", "demo\\forex-usd", "real\\standard", "real\\vip",
        "managers\\administrators",
    }  # fmt: skip


@pytest.mark.parametrize("seed", range(1, 9))
def test_balance_is_the_sum_of_deals(seed: int) -> None:
    broker = Broker.seeded(seed, NOW)
    for user in broker.users.values():
        deals = broker.book(user.login).deals
        balance = sum((d.money for d in deals if d.action != 3), Decimal(0))
        credit = sum((d.profit for d in deals if d.action == 3), Decimal(0))
        assert balance == user.balance, user.login
        assert credit == user.credit, user.login
        assert user.balance >= 0


def test_tickets_grow_with_time(broker: Broker) -> None:
    deals = sorted(broker.deals.values(), key=lambda d: d.ticket)
    times = [d.time_msc for d in deals]
    assert times == sorted(times)
    assert all(p.ticket in broker.history_orders for p in broker.positions.values())


def test_account_equity(broker: Broker) -> None:
    user = next(u for u in broker.users.values() if broker.book(u.login).positions)
    acc = broker.account(user)
    assert acc.equity == acc.balance + acc.credit + acc.floating
    assert acc.floating == acc.profit + acc.storage
    assert acc.margin > 0
    assert acc.margin_free == acc.equity - acc.margin
    assert acc.margin_level == (acc.equity / acc.margin * 100).quantize(Decimal("0.01"))


def test_floating_profit_follows_prices(broker: Broker) -> None:
    pos = next(p for p in broker.positions.values() if p.action == 0)
    user = broker.users[pos.login]
    before = broker.position_profit(pos, user)[0]
    tick = broker.ticks[pos.symbol.name]
    broker.apply_tick(pos.symbol.name, tick.bid + 100, tick.ask + 100, int(NOW * 1000))
    assert broker.position_profit(pos, user)[0] > before


def test_balance_operation(broker: Broker) -> None:
    user = broker.users[100_003]
    balance = user.balance
    deal = broker.balance_operation(
        user, 2, Decimal("100.10"), "x" * 40, check_margin=True, now=NOW + 1
    )
    assert user.balance == balance + Decimal("100.10")
    assert deal.comment == "x" * 31
    assert deal.ticket == broker.next_deal
    assert broker.deals[deal.ticket] is deal
    assert broker.book(user.login).deals[-1] is deal
    assert broker.balance_stats() == {"count": 1, "per_login": {"100003": "100.10"}}


@pytest.mark.parametrize(
    ("action", "amount", "code"),
    [
        (7, "10", Retcode.ERR_PARAMS),
        (1, "10", Retcode.ERR_PARAMS),
        (2, "1000000000.01", Retcode.TRADE_MAX_MONEY),
        (2, "-1000000001", Retcode.TRADE_MAX_MONEY),
        (2, "0", Retcode.ERR_PARAMS),
        (2, "-100000000", Retcode.REQUEST_NO_MONEY),
        (3, "-0.01", Retcode.REQUEST_NO_MONEY),
    ],
)
def test_balance_operation_errors(
    broker: Broker, action: int, amount: str, code: int
) -> None:
    user = next(u for u in broker.users.values() if u.login >= 100_000 and not u.credit)
    with pytest.raises(Mt5Error) as err:
        broker.balance_operation(
            user, action, Decimal(amount), "", check_margin=True, now=NOW
        )
    assert err.value.code == code
    assert broker.balance_stats()["count"] == 0


def test_withdrawal_without_margin_check(broker: Broker) -> None:
    user = broker.users[100_004]
    # "> balance" is a 10019 of its own, whatever check_margin says
    # (docs/mt5-webapi.md#balance-operations).
    with pytest.raises(Mt5Error) as err:
        broker.balance_operation(
            user, 2, -(user.balance + 10), "", check_margin=False, now=NOW
        )
    assert err.value.code == Retcode.REQUEST_NO_MONEY
    broker.options = BrokerOptions(overdraw_without_margin_check=True)
    broker.balance_operation(
        user, 2, -(user.balance + 10), "", check_margin=False, now=NOW
    )
    assert user.balance == Decimal(-10)


def test_reset_restores_seed_and_raises_trans_id(broker: Broker) -> None:
    before = _snapshot(broker)
    trans_id = broker.trans_id
    broker.balance_operation(
        broker.users[100_001], 2, Decimal(5), "", check_margin=True, now=NOW
    )
    broker.reset(NOW)
    assert _snapshot(broker) == before
    assert broker.balance_stats() == {"count": 0, "per_login": {}}
    assert min(t.seq for t in broker.ticks.values()) > trans_id


def test_trans_id_deltas(broker: Broker) -> None:
    eurusd, gbpusd = broker.symbols["EURUSD"], broker.symbols["GBPUSD"]
    full, current = broker.ticks_since([eurusd, gbpusd], 0)
    assert [t.symbol.name for t in full] == ["EURUSD", "GBPUSD"]
    assert current == broker.trans_id
    none, same = broker.ticks_since([eurusd, gbpusd], current)
    assert none == []
    assert same == current
    tick = broker.ticks["GBPUSD"]
    broker.apply_tick("GBPUSD", tick.bid + 1, tick.ask + 1, int(NOW * 1000) + 5)
    assert broker.trans_id == current + 1
    changed, newer = broker.ticks_since([eurusd, gbpusd], current)
    assert [t.symbol.name for t in changed] == ["GBPUSD"]
    assert newer == current + 1
    # An id from the future (e.g. before a restart) gets the full snapshot.
    again, _ = broker.ticks_since([eurusd, gbpusd], current + 100)
    assert len(again) == 2


def test_trans_id_switches() -> None:
    b = Broker.seeded(
        1, NOW, BrokerOptions(unknown_trans_id_full=False, no_change_echo=True)
    )
    eurusd = b.symbols["EURUSD"]
    tick = b.ticks["GBPUSD"]
    b.apply_tick("GBPUSD", tick.bid + 1, tick.ask + 1, int(NOW * 1000))
    assert b.ticks_since([eurusd], b.trans_id + 5) == ([], b.trans_id)
    assert b.ticks_since([eurusd], b.trans_id - 1) == ([], b.trans_id - 1)


def test_resolve_symbols(broker: Broker) -> None:
    names = [s.name for s in broker.resolve_symbols(["Forex\\Major*", "!AUDUSD"])]
    assert names == ["EURUSD", "GBPUSD", "USDJPY", "USDCHF", "USDCAD", "NZDUSD"]
    plain = broker.resolve_symbols(["Forex\\Major\\EURUSD", "xauusd"])
    assert [s.name for s in plain] == ["EURUSD", "XAUUSD"]
    everything_but = broker.resolve_symbols(["!Crypto\\*"])
    assert len(everything_but) == len(broker.symbols) - 2
    with pytest.raises(Mt5Error) as err:
        broker.resolve_symbols(["NOPE"])
    assert err.value.code == Retcode.ERR_NOTFOUND


def test_rates(broker: Broker) -> None:
    assert broker.rate("USD", "USD") == 1
    eurusd = broker.mid(broker.symbols["EURUSD"])
    assert broker.rate("EUR", "USD") == eurusd
    assert broker.rate("USD", "EUR") == 1 / eurusd
    assert broker.rate("JPY", "EUR") == 1 / broker.mid(broker.symbols["EURJPY"])
    # No CAD/EUR symbol: CAD → USD → EUR.
    usdcad = broker.mid(broker.symbols["USDCAD"])
    assert broker.rate("CAD", "EUR") == (1 / usdcad) * (1 / eurusd)


def test_price_feed_step_moves_prices(broker: Broker) -> None:
    feed = PriceFeed(broker, 5.0, seed=1)
    start = broker.trans_id
    feed.step(NOW + 1, count=50)
    assert broker.trans_id == start + 50
    moved = [t for t in broker.ticks.values() if t.seq > start]
    assert moved
    assert all(t.ask > t.bid for t in broker.ticks.values())
    assert all(t.time_msc == int((NOW + 1) * 1000) for t in moved)


async def test_price_feed_run_is_cancellable(broker: Broker) -> None:
    import asyncio  # noqa: PLC0415

    task = asyncio.create_task(PriceFeed(broker, 0, seed=1).run())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([2, 3, 4, 5, 6]),
            st.decimals(min_value=-5000, max_value=5000, places=3),
        ),
        min_size=1,
        max_size=15,
    )
)
def test_balance_operations_keep_books_exact(ops: list[tuple[int, Decimal]]) -> None:
    broker = Broker.seeded(2, NOW)
    user = broker.users[100_007]
    applied = Decimal(0)
    rejected: set[int] = set()
    for action, amount in ops:
        try:
            deal = broker.balance_operation(
                user, action, amount, "p", check_margin=True, now=NOW
            )
        except Mt5Error as exc:
            rejected.add(exc.code)
            continue
        applied += deal.profit
        assert deal.profit == amount.quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert rejected <= {Retcode.ERR_PARAMS, Retcode.REQUEST_NO_MONEY}
    deals = broker.book(user.login).deals
    assert user.balance == sum((d.money for d in deals if d.action != 3), Decimal(0))
    assert user.credit == sum((d.profit for d in deals if d.action == 3), Decimal(0))
    assert user.credit >= 0
    stats = broker.balance_stats()
    assert stats["per_login"] == ({"100007": str(applied)} if stats["count"] else {})
