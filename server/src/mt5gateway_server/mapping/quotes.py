"""Tick, TickStat, tick history rows and M1 bars -> protos (pure)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from mt5gateway.v1 import quote_pb2

from mt5gateway_server.mapping.enums import TICK_DIRECTION
from mt5gateway_server.mapping.money import decimal_to_proto
from mt5gateway_server.mapping.time import optional_timestamp
from mt5gateway_server.webapi.wire import to_decimal

if TYPE_CHECKING:
    from google.type import decimal_pb2

    from mt5gateway_server.webapi import ChartBar, Tick, TickRow, TickStat

__all__ = ["bar_to_proto", "history_tick_to_proto", "quote_to_proto", "stats_to_proto"]

_ZERO = Decimal(0)


def _d(value: Decimal | None) -> decimal_pb2.Decimal:
    return decimal_to_proto(_ZERO if value is None else value)


def quote_to_proto(tick: Tick) -> quote_pb2.Quote:
    # Volume in lots: MT5's VolumeReal (the integer Volume is in whole lots/contracts).
    volume = tick.volume_real or Decimal(tick.volume)
    return quote_pb2.Quote(
        symbol=tick.symbol,
        digits=tick.digits,
        quote_time=optional_timestamp(tick.time_msc or tick.time),
        bid=_d(tick.bid),
        ask=_d(tick.ask),
        last=_d(tick.last),
        volume=_d(volume),
    )


def stats_to_proto(stat: TickStat) -> quote_pb2.QuoteStats:
    extra = stat.extra

    def raw(key: str) -> decimal_pb2.Decimal:
        return _d(to_decimal(extra.get(key)))

    def direction(value: int) -> int:
        return TICK_DIRECTION.to_proto(value)

    return quote_pb2.QuoteStats(
        symbol=stat.symbol,
        digits=stat.digits,
        quote_time=optional_timestamp(stat.time_msc or stat.time),
        bid=_d(stat.bid),
        bid_low=_d(stat.bid_low),
        bid_high=_d(stat.bid_high),
        bid_direction=direction(stat.bid_dir),  # type: ignore[arg-type]
        ask=_d(stat.ask),
        ask_low=_d(stat.ask_low),
        ask_high=_d(stat.ask_high),
        ask_direction=direction(stat.ask_dir),  # type: ignore[arg-type]
        last=_d(stat.last),
        last_low=_d(stat.last_low),
        last_high=_d(stat.last_high),
        last_direction=direction(stat.last_dir),  # type: ignore[arg-type]
        volume=_d(Decimal(stat.volume)),
        volume_low=_d(Decimal(stat.volume_low)),
        volume_high=_d(Decimal(stat.volume_high)),
        volume_direction=direction(int(extra.get("VolumeDir") or 0)),  # type: ignore[arg-type]
        deal_count=stat.trade_deals,
        trade_volume=_d(Decimal(stat.trade_volume)),
        turnover=raw("TradeTurnover"),
        open_interest=raw("TradeInterest"),
        buy_order_count=int(to_decimal(extra.get("TradeBuyOrders"))),
        buy_order_volume=raw("TradeBuyVolume"),
        sell_order_count=int(to_decimal(extra.get("TradeSellOrders"))),
        sell_order_volume=raw("TradeSellVolume"),
        open_price=_d(stat.price_open),
        close_price=_d(stat.price_close),
        average_price=raw("PriceAw"),
        price_change=_d(stat.price_change),
        volatility=raw("PriceVolatility"),
        theoretical_price=raw("PriceTheoretical"),
        delta=raw("PriceGreeksDelta"),
        theta=raw("PriceGreeksTheta"),
        gamma=raw("PriceGreeksGamma"),
        vega=raw("PriceGreeksVega"),
        rho=raw("PriceGreeksRho"),
        omega=raw("PriceGreeksOmega"),
        sensitivity=raw("PriceSensitivity"),
    )


def history_tick_to_proto(row: TickRow) -> quote_pb2.HistoryTick:
    return quote_pb2.HistoryTick(
        tick_time=optional_timestamp(row.time),
        bid=_d(row.bid),
        ask=_d(row.ask),
        last=_d(row.last),
        volume=_d(row.volume),
    )


def bar_to_proto(bar: ChartBar) -> quote_pb2.Bar:
    return quote_pb2.Bar(
        open_time=optional_timestamp(bar.time),
        open=_d(bar.open),
        high=_d(bar.high),
        low=_d(bar.low),
        close=_d(bar.close),
        tick_count=bar.tick_volume or 0,
        volume=_d(None if bar.volume is None else Decimal(bar.volume)),
        spread=bar.spread or 0,
    )
