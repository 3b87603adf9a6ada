"""Typed DTOs of MT5 answers (never reused as API types).

The catalogue lives in private modules, each record's fields declared once (name,
type, wire key and kind): ``_users`` (User, Account), ``_trades`` (Position, Order,
Deal), ``_prices`` (Tick, TickStat, history rows and pages), ``_configs`` (Symbol,
Group, CommonConfig, TimeConfig, ServerTime); ``_record`` is the parsing engine
(``Record.from_wire``, the fast value converters). Import them from here or from
``mt5gateway_server.webapi``.
"""

from mt5gateway_server.webapi._configs import (
    CommonConfig,
    Group,
    ServerTime,
    Symbol,
    TimeConfig,
)
from mt5gateway_server.webapi._prices import (
    ChartBar,
    HistoryPage,
    HistoryPosition,
    HistoryRow,
    Tick,
    TickRow,
    TickSnapshot,
    TickStat,
    TickStatSnapshot,
    parse_chart_bars,
    parse_tick_rows,
)
from mt5gateway_server.webapi._record import (
    _DECIMALS,
    _EMPTY,
    _PLANS,
    Kind,
    Record,
    _spec,
    fast_from_millis,
    fast_from_seconds,
    fast_lots,
    fast_to_decimal,
    fast_to_int,
    fast_to_str,
    record,
    unmodelled,
    wire,
)
from mt5gateway_server.webapi._trades import Deal, Order, Position
from mt5gateway_server.webapi._users import Account, User

__all__ = [
    "_DECIMALS",
    "_EMPTY",
    "_PLANS",
    "Account",
    "ChartBar",
    "CommonConfig",
    "Deal",
    "Group",
    "HistoryPage",
    "HistoryPosition",
    "HistoryRow",
    "Kind",
    "Order",
    "Position",
    "Record",
    "ServerTime",
    "Symbol",
    "Tick",
    "TickRow",
    "TickSnapshot",
    "TickStat",
    "TickStatSnapshot",
    "TimeConfig",
    "User",
    "_spec",
    "fast_from_millis",
    "fast_from_seconds",
    "fast_lots",
    "fast_to_decimal",
    "fast_to_int",
    "fast_to_str",
    "parse_chart_bars",
    "parse_tick_rows",
    "record",
    "unmodelled",
    "wire",
]
