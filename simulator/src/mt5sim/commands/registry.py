"""REST path (after ``/api/``) → Command. auth/*, test/access and quit belong to
the transport and are not here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mt5sim.commands import common, config, prices, trade, trading, users
from mt5sim.commands.base import Command

if TYPE_CHECKING:
    from mt5sim.commands.base import Handler


def _raw(path: str) -> str:
    """The mechanical raw name (docs/mt5-webapi.md#raw-names): ``a/b/get_batch`` →
    ``A_B_GET_BATCH``."""
    return path.replace("/", "_").upper()


def _family(prefix: str, family: trading.Family[trading.R]) -> dict[str, Handler]:
    return {
        f"{prefix}/get_total": trading.make_total(family),
        f"{prefix}/get_page": trading.make_page(family),
        f"{prefix}/get_batch": trading.make_batch(family),
    }


_HANDLERS: dict[str, Handler] = {
    "common/get": common.common_get,
    "time/get": common.time_get,
    "time/server": common.time_server,
    "user/add": users.user_add,
    "user/update": users.user_update,
    "user/delete": users.user_delete,
    "user/get": users.user_get,
    "user/get_batch": users.user_get_batch,
    "user/logins": users.user_logins,
    "user/total": users.user_total,
    "user/group": users.user_group,
    "user/check_password": users.user_check_password,
    "user/change_password": users.user_change_password,
    "user/account/get": users.user_account_get,
    "user/account/get_batch": users.user_account_get_batch,
    "trade/balance": trade.trade_balance,
    "position/get": trading.position_get,
    **_family("position", trading.POSITIONS),
    "order/get": trading.make_get(trading.ORDERS),
    **_family("order", trading.ORDERS),
    "history/get": trading.make_get(trading.HISTORY),
    **_family("history", trading.HISTORY),
    "deal/get": trading.make_get(trading.DEALS),
    **_family("deal", trading.DEALS),
    "tick/last": prices.tick_last,
    "tick/last_group": prices.tick_last_group,
    "tick/stat": prices.tick_stat,
    "tick/history": prices.tick_history,
    "chart/get": prices.chart_get,
    "symbol/list": config.symbol_list,
    "symbol/total": config.symbol_total,
    "symbol/next": config.symbol_next,
    "symbol/get": config.symbol_get,
    "symbol/get_group": config.symbol_get_group,
    "group/list": config.group_list,
    "group/total": config.group_total,
    "group/next": config.group_next,
    "group/get": config.group_get,
}

# Raw names that do not follow the mechanical rule (docs/mt5-webapi.md#raw-names).
_RAW_EXCEPTIONS = {
    "user/check_password": "USER_PASS_CHECK",
    "user/change_password": "USER_PASS_CHANGE",
    "tick/history": "TICK_HISTORY_GET",
}

COMMANDS: dict[str, Command] = {
    path: Command(path, _RAW_EXCEPTIONS.get(path, _raw(path)), handler)
    for path, handler in _HANDLERS.items()
}
