"""symbol/* and group/* configuration reads (docs/mt5-webapi.md#symbols-and-groups)."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

from mt5sim.commands.args import (
    bad,
    group_allowed,
    manager_masks,
    opt_int,
    opt_list,
    opt_str,
    req_int,
    req_str,
)
from mt5sim.commands.base import Reply
from mt5sim.market import wire
from mt5sim.market.instruments import SYMBOLS
from mt5sim.market.masks import MaskSet, SymbolMasks
from mt5sim.retcodes import Mt5Error, Retcode

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from mt5sim.commands.base import CommandContext, Params
    from mt5sim.market.instruments import GroupSpec, SymbolSpec

T = TypeVar("T")
MASK_MAX = 5000  # symbol/get and group/get by mask answer at most 5000 configs


@lru_cache(maxsize=256)
def _symbol_wire(spec: SymbolSpec, spread_diff: int = 0) -> dict[str, Any]:
    # Symbol configs never change, so each wire dict is built once.
    return wire.symbol(spec, spread_diff)


def _next(items: Sequence[T], params: Params, to_wire: Callable[[T], object]) -> Reply:
    """symbol/next, group/next: one object for count=1, else an array."""
    index = req_int(params, "index", minimum=0)
    count = opt_int(params, "count", 1)
    if count < 1:
        raise bad("count below 1")
    if index >= len(items):
        raise Mt5Error(Retcode.ERR_NOTFOUND, f"index {index}")
    chosen = items[index : index + count]
    if count == 1:
        return Reply(to_wire(chosen[0]))
    return Reply([to_wire(i) for i in chosen])


def _mask_args(params: Params, single: str) -> tuple[str | None, list[str] | None]:
    """``single=name`` wins over ``mask=list``; one of them is required."""
    name = opt_str(params, single)
    if name is not None and name.strip():
        return name.strip(), None
    masks = opt_list(params, "mask")
    if masks is None:
        raise bad(f"{single} or mask required")
    return None, masks


def _capped(records: list[Any]) -> Reply:
    """A mask answer: always an array, at most MASK_MAX configs, else the first
    MASK_MAX with retcode 14 (docs/mt5-webapi.md#limits)."""
    if len(records) > MASK_MAX:
        return Reply(records[:MASK_MAX], retcode=Retcode.ERR_PARTIAL)
    return Reply(records)


def symbol_list(_ctx: CommandContext, _params: Params) -> Reply:
    return Reply([s.name for s in SYMBOLS])


def symbol_total(_ctx: CommandContext, _params: Params) -> Reply:
    return Reply({"Total": str(len(SYMBOLS))})


def symbol_next(_ctx: CommandContext, params: Params) -> Reply:
    return _next(SYMBOLS, params, _symbol_wire)


def _symbol(ctx: CommandContext, name: str) -> SymbolSpec:
    spec = ctx.broker.symbol(name)
    if spec is None:
        raise Mt5Error(Retcode.ERR_NOTFOUND, f"symbol {name}")
    return spec


def symbol_get(ctx: CommandContext, params: Params) -> Reply:
    name, masks = _mask_args(params, "symbol")
    if name is not None:
        return Reply(_symbol_wire(_symbol(ctx, name)))
    assert masks is not None  # noqa: S101 - _mask_args returns one of the two
    selector = SymbolMasks(masks)
    return _capped(
        [_symbol_wire(s) for s in SYMBOLS if selector.matches(s.name, s.path)]
    )


def _group(ctx: CommandContext, name: str) -> GroupSpec:
    group = ctx.broker.group(name)
    if group is None:
        raise Mt5Error(Retcode.ERR_NOTFOUND, f"group {name}")
    if not group_allowed(ctx, group.name):
        raise Mt5Error(Retcode.ERR_PERMISSIONS, f"group {name}")
    return group


def symbol_get_group(ctx: CommandContext, params: Params) -> Reply:
    spec = _symbol(ctx, req_str(params, "symbol").strip())
    group = _group(ctx, req_str(params, "group").strip())
    return Reply(_symbol_wire(spec, group.spread_diff))


def _visible_groups(ctx: CommandContext) -> list[GroupSpec]:
    allowed = manager_masks(ctx)
    return [g for g in ctx.broker.groups.values() if allowed.matches(g.name)]


def group_list(ctx: CommandContext, _params: Params) -> Reply:
    return Reply([g.name for g in _visible_groups(ctx)])


def group_total(ctx: CommandContext, _params: Params) -> Reply:
    return Reply({"Total": str(len(_visible_groups(ctx)))})


def group_next(ctx: CommandContext, params: Params) -> Reply:
    return _next(_visible_groups(ctx), params, wire.group)


def group_get(ctx: CommandContext, params: Params) -> Reply:
    name, masks = _mask_args(params, "group")
    if name is not None:
        return Reply(wire.group(_group(ctx, name)))
    assert masks is not None  # noqa: S101 - _mask_args returns one of the two
    selector = MaskSet(masks)
    return _capped(
        [wire.group(g) for g in _visible_groups(ctx) if selector.matches(g.name)]
    )
