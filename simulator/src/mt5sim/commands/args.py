"""Parameter parsing and the selection helpers shared by the handlers.

Every malformed or missing parameter raises ``Mt5Error(3)``; unknown records 13;
records in groups outside the manager's masks 8 when asked for directly, and are
silently left out of list, mask and batch answers.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from mt5sim.commands.base import Reply
from mt5sim.market.masks import MaskSet, mask_set
from mt5sim.retcodes import Mt5Error, Retcode

if TYPE_CHECKING:
    from collections.abc import Sequence

    from mt5sim.commands.base import CommandContext, Params
    from mt5sim.market.records import User

# get_page answers at most 100 records, more is capped (docs/mt5-webapi.md#limits)
PAGE_MAX = 100


def bad(detail: str) -> Mt5Error:
    return Mt5Error(Retcode.ERR_PARAMS, detail)


def opt_str(params: Params, *names: str) -> str | None:
    """The first given of several spellings (body ``PassMain``, query ``pass_main``)."""
    for name in names:
        value = params.get(name)
        if value is not None:
            return value
    return None


def req_str(params: Params, *names: str) -> str:
    value = opt_str(params, *names)
    if value is None or not value.strip():
        raise bad(f"{names[0]} required")
    return value


def _int(value: str, name: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise bad(f"{name} is not an integer") from None


def opt_int(params: Params, name: str, default: int) -> int:
    value = params.get(name)
    if value is None or not value.strip():
        return default
    return _int(value, name)


def req_int(params: Params, name: str, minimum: int | None = None) -> int:
    value = _int(req_str(params, name), name)
    if minimum is not None and value < minimum:
        raise bad(f"{name} below {minimum}")
    return value


def req_decimal(params: Params, name: str) -> Decimal:
    text = req_str(params, name).strip()
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise bad(f"{name} is not a number") from None
    if not value.is_finite():
        raise bad(f"{name} is not finite")
    return value


def opt_list(params: Params, name: str) -> list[str] | None:
    """A comma list (or JSON array), empty items dropped; None when absent."""
    items = params.get_list(name)
    if items is None:
        return None
    cleaned = [str(i).strip() for i in items if str(i).strip()]
    return cleaned or None


def int_list(items: Sequence[str], name: str) -> list[int]:
    return [_int(i, name) for i in items]


def manager_masks(ctx: CommandContext) -> MaskSet:
    return mask_set(ctx.manager.groups)


def group_allowed(ctx: CommandContext, group_name: str) -> bool:
    return mask_set(ctx.manager.groups).matches(group_name)


def user_of(ctx: CommandContext, login: int) -> User:
    """An existing user in the manager's groups: 13 if missing, 8 if not allowed."""
    user = ctx.broker.users.get(login)
    if user is None:
        raise Mt5Error(Retcode.ERR_NOTFOUND, f"login {login}")
    if not group_allowed(ctx, user.group.name):
        raise Mt5Error(Retcode.ERR_PERMISSIONS, f"login {login}")
    return user


def login_user(ctx: CommandContext, params: Params) -> User:
    return user_of(ctx, req_int(params, "login"))


def visible_users(ctx: CommandContext, masks: MaskSet | None = None) -> list[User]:
    """Users in the manager's groups (and in ``masks`` when given), by login."""
    allowed = manager_masks(ctx)
    return [
        u
        for u in ctx.broker.users.values()
        if allowed.matches(u.group.name)
        and (masks is None or masks.matches(u.group.name))
    ]


def select_users(ctx: CommandContext, params: Params) -> list[User]:
    """``login=list`` or ``group=masks`` (exactly one); unknown or foreign logins
    in a list are skipped."""
    logins, groups = opt_list(params, "login"), opt_list(params, "group")
    if (logins is None) == (groups is None):
        raise bad("exactly one of login, group")
    if groups is not None:
        return visible_users(ctx, MaskSet(groups))
    allowed = manager_masks(ctx)
    found = (ctx.broker.users.get(lg) for lg in int_list(logins or [], "login"))
    return [u for u in found if u is not None and allowed.matches(u.group.name)]


def page_window(params: Params) -> tuple[int, int]:
    """(offset, total) of a get_page request; total above 100 is capped to 100."""
    offset = req_int(params, "offset", minimum=0)
    total = req_int(params, "total", minimum=0)
    return offset, min(total, PAGE_MAX)


def time_range(params: Params) -> tuple[int, int]:
    start, end = req_int(params, "from"), req_int(params, "to")
    if end < start:
        raise bad("to before from")
    return start, end


def total_reply(count: int) -> Reply:
    return Reply({"Total": str(count)})
