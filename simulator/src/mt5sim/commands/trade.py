"""trade/balance (docs/mt5-webapi.md#balance-operations)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mt5sim.commands.args import login_user, opt_int, opt_str, req_decimal, req_int
from mt5sim.commands.base import Reply

if TYPE_CHECKING:
    from mt5sim.commands.base import CommandContext, Params


def trade_balance(ctx: CommandContext, params: Params) -> Reply:
    user = login_user(ctx, params)
    action = req_int(params, "type")
    amount = req_decimal(params, "balance")
    deal = ctx.broker.balance_operation(
        user,
        action,
        amount,
        opt_str(params, "comment") or "",
        check_margin=opt_int(params, "check_margin", 1) != 0,
        now=ctx.now,
    )
    return Reply({"Ticket": str(deal.ticket)})
