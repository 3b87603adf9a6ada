"""ConfigService, QuoteService (unary) and ServerService end to end against mt5sim."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import TYPE_CHECKING

import grpc
from google.protobuf import timestamp_pb2
from mt5gateway.v1 import config_pb2, server_pb2
from mt5gateway.v1 import config_service_pb2 as cpb
from mt5gateway.v1 import quote_service_pb2 as qpb
from mt5gateway.v1 import server_service_pb2 as spb
from mt5gateway_server.mapping.money import decimal_from_proto, money_from_proto

if TYPE_CHECKING:
    from conftest import Gateway


def _stamp(seconds: int) -> timestamp_pb2.Timestamp:
    return timestamp_pb2.Timestamp(seconds=seconds)


# ------------------------------------------------------------------ symbols


async def test_symbol_names_paged_with_total(gateway: Gateway) -> None:
    names: list[str] = []
    token = ""
    while True:
        reply = await gateway.config.ListSymbolNames(
            cpb.ListSymbolNamesRequest(page_size=10, page_token=token)
        )
        assert reply.total_size == len(gateway.sim.broker.ticks)
        names.extend(reply.symbols)
        token = reply.next_page_token
        if not token:
            break
    assert sorted(names) == sorted(gateway.sim.broker.ticks)


async def test_get_symbol_values(gateway: Gateway) -> None:
    reply = await gateway.config.GetSymbol(cpb.GetSymbolRequest(symbol="EURUSD"))
    symbol = reply.symbol
    assert symbol.symbol == "EURUSD"
    assert symbol.currency_base == "EUR"
    assert symbol.currency_profit == "USD"
    assert symbol.digits == 5
    assert decimal_from_proto(symbol.point) == Decimal("0.00001")
    assert decimal_from_proto(symbol.contract_size) == 100_000
    assert symbol.trade_mode == config_pb2.SYMBOL_TRADE_MODE_FULL
    assert decimal_from_proto(symbol.volume_min) > 0
    assert len(symbol.trade_sessions) > 0
    assert "CalcMode" in symbol.extra_fields
    assert "ISIN" not in symbol.extra_fields  # typed fields leave the map


async def test_symbol_not_found_and_mask_rejected(gateway: Gateway, rpc_error) -> None:
    missing = await rpc_error(
        gateway.config.GetSymbol(cpb.GetSymbolRequest(symbol="NOPE"))
    )
    assert missing.code is grpc.StatusCode.NOT_FOUND
    assert missing.reason == "MT5_NOT_FOUND"
    assert missing.metadata["symbol"] == "NOPE"
    before = await gateway.requests()
    mask = await rpc_error(gateway.config.GetSymbol(cpb.GetSymbolRequest(symbol="EU*")))
    assert mask.fields == ["symbol"]
    assert await gateway.requests() == before


async def test_list_symbols_by_mask_and_batch(gateway: Gateway) -> None:
    listed = await gateway.config.ListSymbols(
        cpb.ListSymbolsRequest(masks=["*USD*"], page_size=1000)
    )
    assert listed.symbols
    assert all("USD" in s.path for s in listed.symbols)
    assert listed.total_size == len(listed.symbols)
    batch = await gateway.config.BatchGetSymbols(
        cpb.BatchGetSymbolsRequest(symbols=["GBPUSD", "NOPE", "EURUSD"])
    )
    assert [s.symbol for s in batch.symbols] == ["GBPUSD", "EURUSD"]


async def test_group_symbol_and_groups(gateway: Gateway) -> None:
    reply = await gateway.config.GetGroupSymbol(
        cpb.GetGroupSymbolRequest(symbol="EURUSD", group="real\\standard")
    )
    assert reply.symbol.symbol == "EURUSD"
    names = await gateway.config.ListGroupNames(cpb.ListGroupNamesRequest())
    assert "real\\vip" in names.groups
    assert names.total_size == len(names.groups)
    groups = await gateway.config.ListGroups(
        cpb.ListGroupsRequest(masks=["real\\*"], page_size=1)
    )
    assert len(groups.groups) == 1
    assert groups.next_page_token
    vip = await gateway.config.GetGroup(cpb.GetGroupRequest(group="real\\vip"))
    assert vip.group.currency == "EUR"
    assert vip.group.password_min_length == 10
    assert decimal_from_proto(vip.group.margin_call) == 100
    assert vip.group.symbol_paths == ["*"]
    assert "ReportsSMTPPass" not in vip.group.extra_fields
    demo = await gateway.config.GetGroup(cpb.GetGroupRequest(group="demo\\forex"))
    assert money_from_proto(demo.group.demo_deposit) == 10_000
    assert demo.group.demo_deposit.currency_code == "USD"


# ------------------------------------------------------------------ quotes


async def test_list_quotes_and_group_quotes(gateway: Gateway) -> None:
    plain = await gateway.quotes.ListQuotes(
        qpb.ListQuotesRequest(symbols=["GBPUSD", "EURUSD"])
    )
    assert [q.symbol for q in plain.quotes] == ["EURUSD", "GBPUSD"]
    eurusd = plain.quotes[0]
    tick = gateway.sim.broker.ticks["EURUSD"]
    assert eurusd.digits == 5
    assert decimal_from_proto(eurusd.ask) > decimal_from_proto(eurusd.bid)
    assert eurusd.quote_time.seconds > 0
    assert tick is not None
    grouped = await gateway.quotes.ListGroupQuotes(
        qpb.ListGroupQuotesRequest(group="real\\standard", symbols=["EURUSD"])
    )
    spread = decimal_from_proto(grouped.quotes[0].ask) - decimal_from_proto(
        grouped.quotes[0].bid
    )
    plain_spread = decimal_from_proto(eurusd.ask) - decimal_from_proto(eurusd.bid)
    assert spread > plain_spread  # the group's spread markup


async def test_quote_stats(gateway: Gateway) -> None:
    reply = await gateway.quotes.ListQuoteStats(
        qpb.ListQuoteStatsRequest(symbols=["EURUSD"])
    )
    (stats,) = reply.quote_stats
    assert stats.symbol == "EURUSD"
    assert decimal_from_proto(stats.bid_high) >= decimal_from_proto(stats.bid_low)


async def test_quotes_validation(gateway: Gateway, rpc_error) -> None:
    before = await gateway.requests()
    failure = await rpc_error(gateway.quotes.ListQuotes(qpb.ListQuotesRequest()))
    assert failure.fields == ["symbols"]
    long_list = ["X" * 100] * 50
    too_long = await rpc_error(
        gateway.quotes.ListQuotes(qpb.ListQuotesRequest(symbols=long_list))
    )
    assert too_long.fields == ["symbols"]
    backwards = await rpc_error(
        gateway.quotes.ListBars(
            qpb.ListBarsRequest(
                symbol="EURUSD", start_time=_stamp(2_000), end_time=_stamp(1_000)
            )
        )
    )
    assert backwards.fields == ["end_time"]
    missing = await rpc_error(gateway.quotes.ListBars(qpb.ListBarsRequest()))
    assert set(missing.fields) == {"symbol", "start_time", "end_time"}
    assert await gateway.requests() == before


async def test_bars_and_ticks_paged_oldest_first(gateway: Gateway) -> None:
    now = int(time.time())
    request = qpb.ListBarsRequest(
        symbol="EURUSD", start_time=_stamp(now - 3600), end_time=_stamp(now)
    )
    everything = await gateway.quotes.ListBars(request)
    assert 0 < len(everything.bars) <= 61
    times = [b.open_time.seconds for b in everything.bars]
    assert times == sorted(times)
    assert all(t % 60 == 0 for t in times)
    paged: list[int] = []
    token = ""
    while True:
        request.page_size, request.page_token = 25, token
        page = await gateway.quotes.ListBars(request)
        paged.extend(b.open_time.seconds for b in page.bars)
        token = page.next_page_token
        if not token:
            break
    assert paged == times
    bar = everything.bars[0]
    assert decimal_from_proto(bar.high) >= decimal_from_proto(bar.low)

    ticks = await gateway.quotes.ListTickHistory(
        qpb.ListTickHistoryRequest(
            symbol="EURUSD",
            start_time=_stamp(now - 600),
            end_time=_stamp(now),
            page_size=3,
        )
    )
    assert len(ticks.ticks) == 3
    assert ticks.next_page_token
    stamps = [t.tick_time.ToMilliseconds() for t in ticks.ticks]
    assert stamps == sorted(stamps)


# ------------------------------------------------------------------ server


async def test_server_time_and_common_config(gateway: Gateway) -> None:
    reply = await gateway.server.GetServerTime(spb.GetServerTimeRequest())
    assert abs(reply.server_time.seconds - time.time()) < 60
    assert reply.time_config.utc_offset.seconds == 0
    assert reply.time_config.time_server == "pool.ntp.org"
    assert "Days" in reply.time_config.extra_fields
    common = await gateway.server.GetCommonConfig(spb.GetCommonConfigRequest())
    config = common.common_config
    assert config.product == "MetaTrader 5"
    assert config.user_count == len(gateway.sim.broker.users)
    assert config.deal_count == len(gateway.sim.broker.deals)
    assert config.license_expiration_time.seconds > time.time()
    assert config.account_url


async def test_server_status_and_list(gateway: Gateway, rpc_error) -> None:
    before = await gateway.requests()
    status = await gateway.server.GetServerStatus(spb.GetServerStatusRequest())
    main = status.server_status
    assert main.name == "main"
    assert main.default_server
    assert main.serving
    assert main.pool_size == 2
    assert main.ready_session_count + main.busy_session_count >= 1
    assert main.breaker_state == server_pb2.BREAKER_STATE_CLOSED
    listed = await gateway.server.ListServers(spb.ListServersRequest())
    assert [s.name for s in listed.servers] == ["main"]
    assert await gateway.requests() == before  # no MT5 call
    bad = await rpc_error(
        gateway.server.ListServers(spb.ListServersRequest(page_size=-3))
    )
    assert bad.fields == ["page_size"]
