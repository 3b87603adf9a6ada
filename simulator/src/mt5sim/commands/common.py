"""common/get, time/get, time/server (docs/mt5-webapi.md#common-and-time)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from mt5sim.commands.base import Reply
from mt5sim.market.wire import SERVER_NAME

if TYPE_CHECKING:
    from mt5sim.commands.base import CommandContext, Params

_YEAR = 365 * 86_400
# No daylight saving; TimeZone is SimConfig.server_timezone (0 = UTC).
_DAYS = [["1"] * 24 for _ in range(7)]


def common_get(ctx: CommandContext, _params: Params) -> Reply:
    broker = ctx.broker
    users = broker.users.values()
    expiry = str(int(ctx.now) // 86_400 * 86_400 + _YEAR)
    return Reply(
        {
            "Name": SERVER_NAME,
            "NameFull": f"{SERVER_NAME} (mt5sim)",
            "Owner": "MT5 Gateway Simulator Ltd.",
            "OwnerID": "mt5sim",
            "OwnerHost": "localhost",
            "OwnerEmail": "admin@example.com",
            "Product": "MetaTrader 5",
            "ExpirationLicense": expiry,
            "ExpirationSupport": expiry,
            "LimitTradeServers": "1",
            "LimitWebServers": "1",
            "LimitAccounts": "0",
            "LimitDeals": "0",
            "LimitSymbols": "0",
            "LimitGroups": "0",
            "LiveUpdateMode": "0",
            "TotalUsers": str(len(broker.users)),
            "TotalUsersReal": str(sum(not u.group.demo for u in users)),
            "TotalDeals": str(len(broker.deals)),
            "TotalOrders": str(len(broker.orders)),
            "TotalOrdersHistory": str(len(broker.history_orders)),
            "TotalPositions": str(len(broker.positions)),
            "AccountUrl": "https://example.com/open-account",
            "AccountAuto": "0",
        }
    )


def time_get(ctx: CommandContext, _params: Params) -> Reply:
    return Reply(
        {
            "Daylight": "0",
            "DaylightState": "0",
            "TimeZone": str(ctx.timezone),
            "TimeServer": "pool.ntp.org",
            "Days": _DAYS,
        }
    )


def time_server(ctx: CommandContext, _params: Params) -> Reply:
    seconds = int(ctx.now)
    text = time.strftime("%Y.%m.%d %H:%M:%S", time.gmtime(seconds))
    return Reply({"Time": f"{seconds} {text}"})
