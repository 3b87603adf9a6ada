"""Symbol, group, common and time configuration records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mt5gateway_server.webapi._record import (
    D,
    L,
    N,
    R,
    Record,
    S,
    record,
    unmodelled,
    wire,
)

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime
    from decimal import Decimal


@record
class Symbol(Record):
    symbol: str = wire("Symbol", S)
    path: str = wire("Path", S)
    description: str = wire("Description", S)
    currency_base: str = wire("CurrencyBase", S)
    currency_profit: str = wire("CurrencyProfit", S)
    currency_margin: str = wire("CurrencyMargin", S)
    digits: int = wire("Digits", N)
    point: Decimal = wire("Point", D)
    contract_size: Decimal = wire("ContractSize", D)
    tick_value: Decimal = wire("TickValue", D)
    tick_size: Decimal = wire("TickSize", D)
    trade_mode: int = wire("TradeMode", N)
    calc_mode: int = wire("CalcMode", N)
    exec_mode: int = wire("ExecMode", N)
    spread: int = wire("Spread", N)
    stops_level: int = wire("StopsLevel", N)
    volume_min: Decimal = wire(("VolumeMinExt", "VolumeMin"), L)  # lots
    volume_max: Decimal = wire(("VolumeMaxExt", "VolumeMax"), L)
    volume_step: Decimal = wire(("VolumeStepExt", "VolumeStep"), L)
    swap_long: Decimal = wire("SwapLong", D)
    swap_short: Decimal = wire("SwapShort", D)
    sessions_quotes: Any = wire("SessionsQuotes", R)
    sessions_trades: Any = wire("SessionsTrades", R)
    extra: Mapping[str, Any] = unmodelled()


@record
class Group(Record):
    group: str = wire("Group", S)
    server: int = wire("Server", N)
    company: str = wire("Company", S)
    currency: str = wire("Currency", S)
    currency_digits: int = wire("CurrencyDigits", N)
    margin_call: Decimal = wire("MarginCall", D)
    margin_stop_out: Decimal = wire("MarginStopOut", D)
    margin_so_mode: int = wire("MarginSOMode", N)
    margin_mode: int = wire("MarginMode", N)
    auth_password_min: int = wire("AuthPasswordMin", N)
    demo_leverage: int = wire("DemoLeverage", N)
    demo_deposit: Decimal = wire("DemoDeposit", D)
    limit_history: int = wire("LimitHistory", N)
    limit_orders: int = wire("LimitOrders", N)
    limit_symbols: int = wire("LimitSymbols", N)
    limit_positions: int = wire("LimitPositions", N)
    trade_flags: int = wire("TradeFlags", N)
    symbols: Any = wire("Symbols", R)
    commissions: Any = wire("Commissions", R)
    extra: Mapping[str, Any] = unmodelled()


@record
class CommonConfig(Record):
    name: str = wire("Name", S)
    name_full: str = wire("NameFull", S)
    owner: str = wire("Owner", S)
    owner_id: str = wire("OwnerID", S)
    owner_host: str = wire("OwnerHost", S)
    owner_email: str = wire("OwnerEmail", S)
    product: str = wire("Product", S)
    limit_trade_servers: int = wire("LimitTradeServers", N)
    limit_web_servers: int = wire("LimitWebServers", N)
    limit_accounts: int = wire("LimitAccounts", N)
    total_users: int = wire("TotalUsers", N)
    total_users_real: int = wire("TotalUsersReal", N)
    total_deals: int = wire("TotalDeals", N)
    total_orders: int = wire("TotalOrders", N)
    total_positions: int = wire("TotalPositions", N)
    extra: Mapping[str, Any] = unmodelled()


@record
class TimeConfig(Record):
    daylight: int = wire("Daylight", N)
    daylight_state: int = wire("DaylightState", N)
    timezone_minutes: int = wire("TimeZone", N)  # minutes east of GMT
    time_server: str = wire("TimeServer", S)
    days: Any = wire("Days", R)
    extra: Mapping[str, Any] = unmodelled()


@dataclass(frozen=True, slots=True)
class ServerTime:
    time: datetime
    text: str  # "yyyy.mm.dd hh:mm:ss" as the server formatted it
