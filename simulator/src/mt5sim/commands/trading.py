"""position/*, order/*, history/*, deal/* (docs/mt5-webapi.md#trades).

The four families share one set of handler factories; a ``Family`` says where the
records live, how they are found by ticket, whether they are filtered by time,
and how they go on the wire.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from mt5sim.commands.args import (
    bad,
    group_allowed,
    int_list,
    login_user,
    opt_list,
    page_window,
    req_int,
    req_str,
    select_users,
    time_range,
    total_reply,
)
from mt5sim.commands.base import Reply
from mt5sim.market import wire
from mt5sim.market.masks import SymbolMasks
from mt5sim.retcodes import Mt5Error, Retcode

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from mt5sim.commands.base import CommandContext, Handler, Params
    from mt5sim.market.broker import Broker
    from mt5sim.market.instruments import SymbolSpec
    from mt5sim.market.records import Deal, Order, Position


class Record(Protocol):
    @property
    def ticket(self) -> int: ...
    @property
    def login(self) -> int: ...
    @property
    def symbol(self) -> SymbolSpec | None: ...


R = TypeVar("R", bound=Record)


@dataclass(frozen=True, slots=True)
class Family(Generic[R]):
    records_of: Callable[[Broker, int], Sequence[R]]
    find: Callable[[Broker, int], R | None]
    to_wire: Callable[[Broker, R], dict[str, Any]]
    # Seconds used by from/to filters; None for open positions and orders.
    time_of: Callable[[R], int] | None = None


def _in_range(
    family: Family[R], records: Iterable[R], window: tuple[int, int]
) -> list[R]:
    time_of = family.time_of
    if time_of is None:
        return list(records)
    start, end = window
    return [r for r in records if start <= time_of(r) <= end]


def _login_records(family: Family[R], ctx: CommandContext, params: Params) -> list[R]:
    user = login_user(ctx, params)
    records = family.records_of(ctx.broker, user.login)
    if family.time_of is None:
        return list(records)
    return _in_range(family, records, time_range(params))


def make_get(family: Family[R]) -> Handler:
    def handler(ctx: CommandContext, params: Params) -> Reply:
        ticket = req_int(params, "ticket")
        record = family.find(ctx.broker, ticket)
        if record is None:
            raise Mt5Error(Retcode.ERR_NOTFOUND, f"ticket {ticket}")
        owner = ctx.broker.users[record.login]
        if not group_allowed(ctx, owner.group.name):
            raise Mt5Error(Retcode.ERR_PERMISSIONS, f"ticket {ticket}")
        return Reply(family.to_wire(ctx.broker, record))

    return handler


def make_total(family: Family[R]) -> Handler:
    def handler(ctx: CommandContext, params: Params) -> Reply:
        return total_reply(len(_login_records(family, ctx, params)))

    return handler


def make_page(family: Family[R]) -> Handler:
    def handler(ctx: CommandContext, params: Params) -> Reply:
        records = _login_records(family, ctx, params)
        offset, total = page_window(params)
        page = records[offset : offset + total]
        return Reply([family.to_wire(ctx.broker, r) for r in page])

    return handler


def _visible(ctx: CommandContext, record: Record) -> bool:
    return group_allowed(ctx, ctx.broker.users[record.login].group.name)


def _symbol_filter(params: Params) -> SymbolMasks | None:
    symbols = opt_list(params, "symbol")
    return SymbolMasks(symbols) if symbols is not None else None


def _symbol_matches(masks: SymbolMasks, spec: SymbolSpec | None) -> bool:
    return spec is not None and masks.matches(spec.name, spec.path)


def make_batch(family: Family[R]) -> Handler:
    """Exactly one of login=list / group=masks / ticket=list; symbol filters the
    first two; from/to are required with login/group for ranged families."""

    def handler(ctx: CommandContext, params: Params) -> Reply:
        broker = ctx.broker
        given = [opt_list(params, n) is not None for n in ("login", "group", "ticket")]
        if sum(given) != 1:
            raise bad("exactly one of login, group, ticket")
        symbols = _symbol_filter(params)
        records: list[R]
        if given[2]:
            if symbols is not None:
                raise bad("symbol cannot filter tickets")
            tickets = int_list(opt_list(params, "ticket") or [], "ticket")
            found = (family.find(broker, t) for t in tickets)
            records = [r for r in found if r is not None and _visible(ctx, r)]
        else:
            window = time_range(params) if family.time_of is not None else (0, 0)
            users = select_users(ctx, params)
            merged = chain.from_iterable(
                family.records_of(broker, u.login) for u in users
            )
            records = _in_range(family, merged, window)
            if symbols is not None:
                records = [r for r in records if _symbol_matches(symbols, r.symbol)]
        return Reply([family.to_wire(broker, r) for r in records])

    return handler


def _book_attr(name: str) -> Callable[[Broker, int], Sequence[Any]]:
    def records_of(broker: Broker, login: int) -> Sequence[Any]:
        book = broker.books.get(login)
        if book is None:
            return ()
        records = getattr(book, name)
        return list(records.values()) if isinstance(records, dict) else records

    return records_of


def _order_wire(broker: Broker, order: Order) -> dict[str, Any]:
    return wire.order(broker, order)


def _deal_wire(_broker: Broker, deal: Deal) -> dict[str, Any]:
    return wire.deal(deal)


POSITIONS: Family[Position] = Family(
    records_of=_book_attr("positions"),
    find=lambda b, t: b.positions.get(t),
    to_wire=wire.position,
)
ORDERS: Family[Order] = Family(
    records_of=_book_attr("orders"),
    find=lambda b, t: b.orders.get(t),
    to_wire=_order_wire,
)
HISTORY: Family[Order] = Family(
    records_of=_book_attr("history"),
    find=lambda b, t: b.history_orders.get(t),
    to_wire=_order_wire,
    time_of=lambda o: o.time_setup_msc // 1000,
)
DEALS: Family[Deal] = Family(
    records_of=_book_attr("deals"),
    find=lambda b, t: b.deals.get(t),
    to_wire=_deal_wire,
    time_of=lambda d: d.time_msc // 1000,
)


def position_get(ctx: CommandContext, params: Params) -> Reply:
    """The first position of the login on the symbol (netting
    semantics, docs/mt5-webapi.md#trades)."""
    user = login_user(ctx, params)
    name = req_str(params, "symbol").strip()
    spec = ctx.broker.symbol(name)
    if spec is not None:
        for pos in POSITIONS.records_of(ctx.broker, user.login):
            if pos.symbol is spec:
                return Reply(wire.position(ctx.broker, pos))
    raise Mt5Error(Retcode.ERR_NOTFOUND, f"position {user.login} {name}")
