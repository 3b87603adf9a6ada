"""Every command method against mt5sim, with typed values."""

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from mt5gateway_server.webapi import (
    Account,
    BalanceOperation,
    ChartBar,
    Deal,
    Group,
    InvalidParams,
    NewUser,
    NoMoney,
    NotFound,
    Order,
    PasswordType,
    Position,
    Symbol,
    Tick,
    TickRow,
    User,
    UserUpdate,
)

NOW = datetime.now(UTC)
LONG_AGO = NOW - timedelta(days=3650)
SOON = NOW + timedelta(days=1)


@pytest.fixture
async def client(open_pool):
    async with open_pool(pool_size=2) as pool:
        yield pool.client()


async def trader_with_positions(client):
    positions = await client.position_get_batch(groups=["*"])
    assert positions, "seeded positions expected"
    return positions[0].login


async def test_common_and_time(client):
    common = await client.common_get()
    assert common.product == "MetaTrader 5"
    assert common.total_users > 0
    tc = await client.time_get()
    assert isinstance(tc.timezone_minutes, int)
    st = await client.time_server()
    assert st.time.tzinfo is not None
    assert abs((st.time - datetime.now(UTC)).total_seconds()) < 120
    await client.ping()


async def test_users_read(client):
    total = await client.user_total()
    logins = await client.user_logins(["*"])
    assert total == len(logins)
    traders = [lg for lg in logins if lg >= 100000]
    user = await client.user_get(traders[0])
    assert isinstance(user, User)
    assert user.login == traders[0]
    assert isinstance(user.balance, Decimal)
    assert user.registration_time is not None
    assert user.registration_time.tzinfo is not None
    group = await client.user_group(traders[0])
    assert group == user.group
    batch = await client.user_get_batch(logins=traders[:3])
    assert [u.login for u in batch] == traders[:3]
    by_group = await client.user_get_batch(groups=[group])
    assert all(u.group == group for u in by_group)
    account = await client.account_get(traders[0])
    assert isinstance(account, Account)
    assert isinstance(account.equity, Decimal)
    accounts = await client.account_get_batch(logins=traders[:2])
    assert len(accounts) == 2
    assert len(await client.account_get_batch(groups=[group])) >= 1
    with pytest.raises(NotFound):
        await client.user_get(999_999_999)


async def test_user_lifecycle_with_escaping_and_passwords(client):
    user = await client.user_add(
        NewUser(
            group="demo\\forex",
            name="John Smith|Jr = 1",
            leverage=100,
            password_main="Main1234!x",
            password_investor="Inv1234!xy",
            email="john@example.com",
        )
    )
    assert user.login > 0
    assert user.name == "John Smith|Jr = 1"
    assert user.group == "demo\\forex"
    updated = await client.user_update(
        user.login, UserUpdate(name="Jane Doe", comment="a\\b c", leverage=200)
    )
    assert updated.name == "Jane Doe"
    assert updated.comment == "a\\b c"
    assert updated.leverage == 200
    assert await client.user_check_password(user.login, "Main1234!x")
    assert not await client.user_check_password(user.login, "Wrong1234!x")
    assert await client.user_check_password(
        user.login, "Inv1234!xy", PasswordType.INVESTOR
    )
    await client.user_change_password(user.login, "Newpass99!z")
    assert await client.user_check_password(user.login, "Newpass99!z")
    await client.user_delete(user.login)
    with pytest.raises(NotFound):
        await client.user_get(user.login)


async def test_trade_balance_deposit_and_no_money(client, control):
    login = await trader_with_positions(client)
    before = await client.user_get(login)
    ticket = await client.trade_balance(
        login, BalanceOperation.BALANCE, Decimal("100.25"), "dep #1"
    )
    assert ticket > 0
    after = await client.user_get(login)
    assert after.balance - before.balance == Decimal("100.25")
    deal = await client.deal_get(ticket)
    assert isinstance(deal, Deal)
    assert deal.action == BalanceOperation.BALANCE
    assert deal.profit == Decimal("100.25")
    assert deal.comment == "dep #1"
    with pytest.raises(NoMoney) as info:
        await client.trade_balance(
            login, BalanceOperation.BALANCE, Decimal(-900_000_000)
        )
    assert info.value.retcode == 10019
    with pytest.raises(ValueError, match="comment"):
        await client.trade_balance(
            login, BalanceOperation.BALANCE, Decimal(1), "x" * 32
        )
    stats = await control.stats()
    assert stats["balance_operations"]["count"] == 1


async def test_positions(client):
    login = await trader_with_positions(client)
    total = await client.position_get_total(login)
    page = await client.position_get_page(login, 0, 100)
    assert len(page) == total
    p = page[0]
    assert isinstance(p, Position)
    assert isinstance(p.volume, Decimal)
    assert p.volume > 0
    assert p.price_open > 0
    assert p.create_time is not None
    one = await client.position_get(login, p.symbol)
    assert one.symbol == p.symbol
    by_ticket = await client.position_get_batch(tickets=[p.ticket])
    assert [x.ticket for x in by_ticket] == [p.ticket]
    by_symbol = await client.position_get_batch(logins=[login], symbols=[p.symbol])
    assert all(x.symbol == p.symbol for x in by_symbol)
    with pytest.raises(ValueError, match="total"):
        await client.position_get_page(login, 0, 101)


async def test_orders_history_deals(client):
    orders = await client.order_get_batch(groups=["*"])
    assert orders
    o = orders[0]
    assert isinstance(o, Order)
    assert (await client.order_get(o.ticket)).ticket == o.ticket
    assert await client.order_get_total(o.login) >= 1
    assert await client.order_get_page(o.login)
    assert isinstance(o.volume_initial, Decimal)

    hist = await client.history_get_batch(groups=["*"], from_=LONG_AGO, to=SOON)
    assert hist
    h = hist[0]
    assert (await client.history_get(h.ticket)).ticket == h.ticket
    total = await client.history_get_total(h.login, LONG_AGO, SOON)
    page = await client.history_get_page(h.login, LONG_AGO, SOON, 0, 100)
    assert len(page) == min(total, 100)
    assert await client.history_get_batch(tickets=[h.ticket])

    deals = await client.deal_get_batch(logins=[h.login], from_=LONG_AGO, to=SOON)
    assert deals
    d = deals[0]
    assert d.time is not None
    assert (await client.deal_get(d.ticket)).ticket == d.ticket
    dtotal = await client.deal_get_total(h.login, LONG_AGO, SOON)
    assert dtotal == len(deals)
    dpage = await client.deal_get_page(h.login, LONG_AGO, SOON, 0, 5)
    assert len(dpage) == min(dtotal, 5)
    with pytest.raises(ValueError, match="required"):
        await client.deal_get_batch(logins=[h.login])


async def test_ticks_and_trans_id(client):
    snap = await client.tick_last(["EURUSD", "GBPUSD"])
    assert {t.symbol for t in snap.ticks} == {"EURUSD", "GBPUSD"}
    assert all(isinstance(t, Tick) and t.bid > 0 and t.ask >= t.bid for t in snap.ticks)
    assert snap.trans_id > 0
    again = await client.tick_last(["EURUSD", "GBPUSD"], snap.trans_id)
    assert again.trans_id >= snap.trans_id
    group_snap = await client.tick_last_group(["EURUSD"], "demo\\forex")
    assert group_snap.ticks[0].symbol == "EURUSD"
    stats = await client.tick_stat(["EURUSD"])
    assert stats.stats[0].symbol == "EURUSD"
    assert isinstance(stats.stats[0].bid_high, Decimal)


async def test_tick_history_and_chart(client):
    page = await client.tick_history("EURUSD", NOW - timedelta(hours=1), SOON, "dba")
    rows = page.rows
    assert rows
    assert page.next is None
    assert isinstance(rows[0], TickRow)
    assert rows[0].time is not None
    assert isinstance(rows[0].bid, Decimal)
    bars = (
        await client.chart_get("EURUSD", NOW - timedelta(hours=3), SOON, "dohlc")
    ).rows
    assert bars
    assert isinstance(bars[0], ChartBar)
    b = bars[0]
    assert b.low is not None
    assert b.high is not None
    assert b.low <= b.high


async def test_history_read_page_by_page_equals_one_read(client):
    start, end = NOW - timedelta(hours=2), NOW
    whole = await client.tick_history("EURUSD", start, end, "dba")
    assert whole.next is None
    assert len(whole.rows) > 1000
    paged = []
    resume = None
    while True:
        page = await client.tick_history(
            "EURUSD", start, end, "dba", limit=700, resume=resume
        )
        assert len(page.rows) <= 700
        paged.extend(page.rows)
        if page.next is None:
            break
        resume = page.next
    assert paged == whole.rows


async def test_symbols(client):
    names = await client.symbol_list()
    assert "EURUSD" in names
    assert await client.symbol_total() == len(names)
    s = await client.symbol_get("EURUSD")
    assert isinstance(s, Symbol)
    assert s.digits == 5
    assert s.contract_size == Decimal(100000)
    assert s.volume_min == Decimal("0.01")
    nxt = await client.symbol_next(0, 3)
    assert len(nxt) == 3
    masked = await client.symbol_get_mask([f"{s.path}"])
    assert [m.symbol for m in masked] == ["EURUSD"]
    grouped = await client.symbol_get_group("EURUSD", "demo\\forex")
    assert grouped.symbol == "EURUSD"
    with pytest.raises(NotFound):
        await client.symbol_get("NOPE")


async def test_groups(client):
    names = await client.group_list()
    assert "demo\\forex" in names
    assert await client.group_total() == len(names)
    g = await client.group_get("demo\\forex")
    assert isinstance(g, Group)
    assert g.currency
    assert len(await client.group_next(0, 2)) == 2
    masked = await client.group_get_mask(["demo\\*"])
    assert masked
    assert all(x.group.startswith("demo\\") for x in masked)


async def test_batch_argument_validation(client):
    with pytest.raises(ValueError, match="exactly one"):
        await client.user_get_batch()
    with pytest.raises(ValueError, match="exactly one"):
        await client.position_get_batch(logins=[1], groups=["*"])
    with pytest.raises(ValueError, match="BalanceOperation"):
        await client.trade_balance(1, 9, Decimal(1))  # type: ignore[arg-type]
    with pytest.raises(InvalidParams):
        await client.symbol_next(-1)


async def test_client_over_one_leased_session(open_pool):
    async with open_pool(pool_size=2) as pool, pool.lease() as session:
        client = pool.client(session)
        assert client.transport is session
        symbols = ["EURUSD", "GBPUSD", "USDJPY"]
        first = await client.tick_last(symbols)
        assert {t.symbol for t in first.ticks} == set(symbols)
        assert first.trans_id > 0
        await asyncio.sleep(0.3)  # the simulator's feed moves prices
        later = await client.tick_last(symbols, first.trans_id)
        assert later.trans_id >= first.trans_id
        assert {t.symbol for t in later.ticks} <= set(symbols)
        before = session.requests
        with pytest.raises(NotFound):  # retcodes raise as through the pool
            await client.user_get(999_999_999)
        assert session.requests == before + 1  # on this session, not retried


async def test_long_batch_lists_go_in_a_json_body(client, control):
    logins = [lg for lg in await client.user_logins(["*"]) if lg >= 100000]
    # Thousands of unknown logins push the list past the query limit.
    wanted = logins[:3] + list(range(900_000_000, 900_000_600))
    users = await client.user_get_batch(logins=wanted)
    assert sorted(u.login for u in users) == sorted(logins[:3])
    positions = await client.position_get_batch(logins=wanted)
    assert {p.login for p in positions} <= set(logins[:3])
