"""Symbol, Group, CommonConfig and TimeConfig DTOs -> protos (pure).

The common fields are typed; every other MT5 field goes to ``extra_fields`` as MT5 sent
it (arrays and objects JSON-encoded). A field typed here never also appears there.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from mt5gateway.v1 import config_pb2, server_pb2

from mt5gateway_server.mapping.enums import DAY_OF_WEEK, SYMBOL_TRADE_MODE
from mt5gateway_server.mapping.money import decimal_to_proto, money_to_proto
from mt5gateway_server.mapping.time import duration_from_timedelta, optional_timestamp
from mt5gateway_server.webapi.wire import UTC_TIME, TimeConvention, lots, to_decimal
from mt5gateway_server.webapi.wire import to_int as _to_int
from mt5gateway_server.webapi.wire import to_str as _to_str

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from mt5gateway_server.webapi import CommonConfig, Group, Symbol, TimeConfig

__all__ = [
    "common_config_to_proto",
    "extra_fields",
    "group_to_proto",
    "sessions_to_proto",
    "symbol_to_proto",
    "time_config_to_proto",
]

# Never passed through, whatever the record (SMTP and other credentials).
_SECRET_KEYS = frozenset({"ReportsSMTPPass", "SMTPPass", "Password"})


def _text(value: object) -> str:
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return _to_str(value)


def extra_fields(
    extra: Mapping[str, Any],
    typed: Iterable[str] = (),
    also: Mapping[str, object] | None = None,
) -> dict[str, str]:
    """MT5 fields without a typed proto field, by MT5 JSON name, as text."""
    skip = set(typed) | _SECRET_KEYS
    out = {k: _text(v) for k, v in extra.items() if k not in skip}
    for key, value in (also or {}).items():
        out[key] = _text(value)
    return out


def sessions_to_proto(days: object) -> list[config_pb2.SymbolSession]:
    """MT5 ``Sessions*``: seven lists (Sunday first) of ``{"Open", "Close"}``."""
    out: list[config_pb2.SymbolSession] = []
    if not isinstance(days, list):
        return out
    for day, sessions in enumerate(days[:7]):
        for session in sessions if isinstance(sessions, list) else ():
            if not isinstance(session, dict):
                continue
            out.append(
                config_pb2.SymbolSession(
                    day=DAY_OF_WEEK.to_proto(day),  # type: ignore[arg-type]
                    open_minute=_to_int(session.get("Open")),
                    close_minute=_to_int(session.get("Close")),
                )
            )
    return out


# Extra keys the Symbol message types.
_SYMBOL_TYPED = (
    "ISIN",
    "Exchange",
    "FreezeLevel",
    "VolumeLimit",
    "VolumeLimitExt",
    "MarginInitial",
    "MarginMaintenance",
    "Swap3Day",
    "TimeStart",
    "TimeExpiration",
)


def symbol_to_proto(symbol: Symbol, tc: TimeConvention = UTC_TIME) -> config_pb2.Symbol:
    extra = symbol.extra
    return config_pb2.Symbol(
        symbol=symbol.symbol,
        path=symbol.path,
        description=symbol.description,
        isin=_to_str(extra.get("ISIN")),
        exchange=_to_str(extra.get("Exchange")),
        currency_base=symbol.currency_base,
        currency_profit=symbol.currency_profit,
        currency_margin=symbol.currency_margin,
        digits=symbol.digits,
        point=decimal_to_proto(symbol.point),
        contract_size=decimal_to_proto(symbol.contract_size),
        tick_value=decimal_to_proto(symbol.tick_value),
        tick_size=decimal_to_proto(symbol.tick_size),
        spread=symbol.spread,
        stops_level=symbol.stops_level,
        freeze_level=_to_int(extra.get("FreezeLevel")),
        trade_mode=SYMBOL_TRADE_MODE.to_proto(symbol.trade_mode),  # type: ignore[arg-type]
        volume_min=decimal_to_proto(symbol.volume_min),
        volume_max=decimal_to_proto(symbol.volume_max),
        volume_step=decimal_to_proto(symbol.volume_step),
        volume_limit=decimal_to_proto(lots(extra, "VolumeLimitExt", "VolumeLimit")),
        margin_initial=decimal_to_proto(to_decimal(extra.get("MarginInitial"))),
        margin_maintenance=decimal_to_proto(to_decimal(extra.get("MarginMaintenance"))),
        swap_long=decimal_to_proto(symbol.swap_long),
        swap_short=decimal_to_proto(symbol.swap_short),
        triple_swap_day=DAY_OF_WEEK.to_proto(_to_int(extra.get("Swap3Day"))),  # type: ignore[arg-type]
        start_time=optional_timestamp(tc.from_seconds(extra.get("TimeStart"))),
        expiration_time=optional_timestamp(
            tc.from_seconds(extra.get("TimeExpiration"))
        ),
        quote_sessions=sessions_to_proto(symbol.sessions_quotes),
        trade_sessions=sessions_to_proto(symbol.sessions_trades),
        extra_fields=extra_fields(
            extra,
            _SYMBOL_TYPED,
            {"CalcMode": symbol.calc_mode, "ExecMode": symbol.exec_mode},
        ),
    )


_GROUP_TYPED = ("TradeInterestrate",)


def group_to_proto(group: Group) -> config_pb2.Group:
    symbols = group.symbols if isinstance(group.symbols, list) else []
    return config_pb2.Group(
        group=group.group,
        trade_server_id=group.server,
        company=group.company,
        currency=group.currency,
        currency_digits=group.currency_digits,
        password_min_length=group.auth_password_min,
        margin_call=decimal_to_proto(group.margin_call),
        margin_stop_out=decimal_to_proto(group.margin_stop_out),
        demo_leverage=group.demo_leverage,
        demo_deposit=money_to_proto(group.demo_deposit, group.currency),
        limit_orders=group.limit_orders,
        limit_positions=group.limit_positions,
        limit_symbols=group.limit_symbols,
        interest_rate=decimal_to_proto(
            to_decimal(group.extra.get("TradeInterestrate"))
        ),
        symbol_paths=[_to_str(s.get("Path")) for s in symbols if isinstance(s, dict)],
        extra_fields=extra_fields(
            group.extra,
            _GROUP_TYPED,
            {
                "MarginSOMode": group.margin_so_mode,
                "MarginMode": group.margin_mode,
                "LimitHistory": group.limit_history,
                "TradeFlags": group.trade_flags,
                "Symbols": symbols,
                "Commissions": group.commissions
                if group.commissions is not None
                else [],
            },
        ),
    )


_COMMON_TYPED = (
    "ExpirationLicense",
    "ExpirationSupport",
    "LimitDeals",
    "LimitSymbols",
    "LimitGroups",
    "TotalOrdersHistory",
    "AccountUrl",
)


def common_config_to_proto(
    common: CommonConfig, tc: TimeConvention = UTC_TIME
) -> server_pb2.CommonConfig:
    extra = common.extra
    return server_pb2.CommonConfig(
        name=common.name,
        full_name=common.name_full,
        owner=common.owner,
        owner_id=common.owner_id,
        owner_host=common.owner_host,
        owner_email=common.owner_email,
        product=common.product,
        license_expiration_time=optional_timestamp(
            tc.from_seconds(extra.get("ExpirationLicense"))
        ),
        support_expiration_time=optional_timestamp(
            tc.from_seconds(extra.get("ExpirationSupport"))
        ),
        limit_trade_servers=common.limit_trade_servers,
        limit_web_servers=common.limit_web_servers,
        limit_accounts=common.limit_accounts,
        limit_deals=_to_int(extra.get("LimitDeals")),
        limit_symbols=_to_int(extra.get("LimitSymbols")),
        limit_groups=_to_int(extra.get("LimitGroups")),
        user_count=common.total_users,
        real_user_count=common.total_users_real,
        deal_count=common.total_deals,
        order_count=common.total_orders,
        history_order_count=_to_int(extra.get("TotalOrdersHistory")),
        position_count=common.total_positions,
        account_url=_to_str(extra.get("AccountUrl")),
        extra_fields=extra_fields(extra, _COMMON_TYPED),
    )


def time_config_to_proto(config: TimeConfig) -> server_pb2.TimeConfig:
    return server_pb2.TimeConfig(
        utc_offset=duration_from_timedelta(timedelta(minutes=config.timezone_minutes)),
        daylight_saving=bool(config.daylight),
        daylight_saving_active=bool(config.daylight_state),
        time_server=config.time_server,
        extra_fields=extra_fields(config.extra, (), {"Days": config.days}),
    )
