"""tick/* and chart/get (docs/mt5-webapi.md#prices)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mt5sim.commands.args import (
    bad,
    group_allowed,
    opt_int,
    opt_list,
    opt_str,
    req_str,
    time_range,
)
from mt5sim.commands.base import Reply
from mt5sim.market import wire
from mt5sim.retcodes import Mt5Error, Retcode

if TYPE_CHECKING:
    from mt5sim.commands.base import CommandContext, Params
    from mt5sim.market.history import PriceHistory
    from mt5sim.market.instruments import SymbolSpec
    from mt5sim.market.records import TickState

# Row caps standing in for the 16 MB answer limit: more rows → first part + retcode 14.
MAX_TICK_ROWS = 100_000
MAX_BAR_ROWS = 100_000
DAY = 86_400
_ISSUED_MAX = 4096  # remembered trans_ids per session (a bound, not a rule)
# characters of the tick/last symbol parameter (docs/mt5-webapi.md#limits)
SYMBOL_LIST_MAX = 4096
_TICK_LETTERS = frozenset("dbalv")
_BAR_LETTERS = frozenset("dohlctvs")


def _changed_ticks(
    ctx: CommandContext, params: Params
) -> tuple[list[TickState], dict[str, str]]:
    raw = params.get("symbol")
    # The limit is on the parameter as sent (spaces and empty items included).
    if raw is not None and len(raw) > SYMBOL_LIST_MAX:
        raise bad("symbol list longer than 4096 characters")
    items = opt_list(params, "symbol")
    if items is None:
        raise bad("symbol required")
    specs = ctx.broker.resolve_symbols(items)
    requested = opt_int(params, "trans_id", 0)
    issued = ctx.session_trans_ids
    if issued is not None and requested > 0 and requested not in issued:
        # Per-connection cursors: an id this session was never given is unknown.
        if ctx.broker.options.unknown_trans_id_full:
            requested = 0
        else:
            issued.add(ctx.broker.trans_id)
            return [], {"trans_id": str(ctx.broker.trans_id)}
    ticks, trans_id = ctx.broker.ticks_since(specs, requested)
    if issued is not None:
        if len(issued) >= _ISSUED_MAX:
            issued.clear()
        issued.add(trans_id)
    return ticks, {"trans_id": str(trans_id)}


def tick_last(ctx: CommandContext, params: Params) -> Reply:
    ticks, extra = _changed_ticks(ctx, params)
    return Reply([wire.tick(t) for t in ticks], extra=extra)


def tick_last_group(ctx: CommandContext, params: Params) -> Reply:
    """Prices as the group sees them: its spread difference widens each quote."""
    name = req_str(params, "group")
    group = ctx.broker.group(name)
    if group is None:
        raise Mt5Error(Retcode.ERR_NOTFOUND, f"group {name}")
    if not group_allowed(ctx, group.name):
        raise Mt5Error(Retcode.ERR_PERMISSIONS, f"group {name}")
    ticks, extra = _changed_ticks(ctx, params)
    return Reply([wire.tick(t, group.spread_diff) for t in ticks], extra=extra)


def tick_stat(ctx: CommandContext, params: Params) -> Reply:
    ticks, extra = _changed_ticks(ctx, params)
    return Reply([wire.tick_stat(t) for t in ticks], extra=extra)


def _history_args(
    ctx: CommandContext, params: Params, letters: frozenset[str], default: str
) -> tuple[SymbolSpec, PriceHistory, int, int, str]:
    name = req_str(params, "symbol").strip()
    spec = ctx.broker.symbol(name)
    if spec is None:
        raise Mt5Error(Retcode.ERR_NOTFOUND, f"symbol {name}")
    start, end = time_range(params)
    data = (opt_str(params, "data") or default).strip().lower()
    if not data or not set(data) <= letters:
        raise bad(f"data {data}")
    end = min(end, int(ctx.now))  # no history in the future
    return spec, ctx.broker.price_history[spec.name], start, end, data


def _next_open(history: PriceHistory, t: int) -> int:
    """``t`` itself when the market is open, else the start of the next day."""
    return t if history.is_open(t) else (t // DAY + 1) * DAY


def tick_history(ctx: CommandContext, params: Params) -> Reply:
    """Rows of numbers in the order of the ``data`` letters; ``d`` in ms."""
    spec, history, start, end, data = _history_args(ctx, params, _TICK_LETTERS, "dba")
    scale = 10.0**spec.digits
    half = spec.spread // 2
    rows: list[list[float | int]] = []
    second = _next_open(history, max(start, 0))
    while second <= end:
        if second % DAY == 0:
            second = _next_open(history, second)
            if second > end:
                break
        msc = history.tick_msc(second)
        if msc is not None:
            if len(rows) >= MAX_TICK_ROWS:
                return Reply(rows, retcode=Retcode.ERR_PARTIAL)
            mid = history.mid(second)
            values = {
                "d": msc,
                "b": round((mid - half) / scale, spec.digits),
                "a": round((mid - half + spec.spread) / scale, spec.digits),
                "l": 0.0,
                "v": 0,
            }
            rows.append([values[c] for c in data])
        second += 1
    return Reply(rows)


def chart_get(ctx: CommandContext, params: Params) -> Reply:
    """M1 bars as rows of numbers in the order of the ``data`` letters; ``d`` in s."""
    spec, history, start, end, data = _history_args(ctx, params, _BAR_LETTERS, "dohlc")
    scale = 10.0**spec.digits
    rows: list[list[float | int]] = []
    minute = max(start, 0) // 60 * 60
    while minute <= end:
        if not history.is_open(minute):
            minute = (minute // DAY + 1) * DAY
            continue
        if len(rows) >= MAX_BAR_ROWS:
            return Reply(rows, retcode=Retcode.ERR_PARTIAL)
        o, h, lo, c, ticks = history.bar(minute)
        values = {
            "d": minute,
            "o": round(o / scale, spec.digits),
            "h": round(h / scale, spec.digits),
            "l": round(lo / scale, spec.digits),
            "c": round(c / scale, spec.digits),
            "t": ticks,
            "v": 0,
            "s": spec.spread,
        }
        rows.append([values[k] for k in data])
        minute += 60
    return Reply(rows)
