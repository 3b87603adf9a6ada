"""user/* commands (docs/mt5-webapi.md#users)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mt5sim.commands.args import (
    bad,
    group_allowed,
    login_user,
    opt_int,
    opt_list,
    opt_str,
    req_int,
    req_str,
    select_users,
    user_of,
    visible_users,
)
from mt5sim.commands.base import Reply
from mt5sim.market import wire
from mt5sim.market.masks import MaskSet
from mt5sim.market.records import USER_TEXT_FIELDS, User
from mt5sim.retcodes import Mt5Error, Retcode

if TYPE_CHECKING:
    from mt5sim.commands.base import CommandContext, Params
    from mt5sim.market.broker import Broker
    from mt5sim.market.instruments import GroupSpec

PASSWORD_MAX = 16
LEVERAGE_MAX = 500
# Field length limits (docs/mt5-webapi.md#records); longer values are cut like the
# server's fixed buffers.
_TEXT_LIMITS = {"Company": 63, "Comment": 63, "TradeAccounts": 127}
_TEXT_DEFAULT_LIMIT = 127
# Alternative spellings: the query name of PhonePassword, and the docs' ZIPCode
# next to the ZipCode live servers send (docs/mt5-webapi.md#records). Body names are
# case-sensitive.
_ALIASES = {"PhonePassword": ("pass_phone",), "ZipCode": ("ZIPCode",)}
_INT_FIELDS = ("Rights", "Language", "Color", "Agent", "LimitOrders", "LimitPositions")
_PASSWORD_TYPES = ("main", "investor", "api")


def _group_for(ctx: CommandContext, name: str) -> GroupSpec:
    group = ctx.broker.group(name)
    if group is None or not group_allowed(ctx, group.name):
        raise Mt5Error(Retcode.ERR_PERMISSIONS, f"group {name}")
    return group


def password_ok(broker: Broker, group: GroupSpec, password: str) -> bool:
    """Length 8..16 (at least the group's AuthPasswordMin) and enough character
    classes out of lower case, upper case, digits and others."""
    if not max(8, group.auth_password_min) <= len(password) <= PASSWORD_MAX:
        return False
    classes = (
        any(c.islower() for c in password)
        + any(c.isupper() for c in password)
        + any(c.isdigit() for c in password)
        + any(not c.isalnum() for c in password)
    )
    return classes >= broker.options.password_classes


def _check_password(broker: Broker, group: GroupSpec, password: str) -> None:
    if not password_ok(broker, group, password):
        raise Mt5Error(Retcode.USR_INVALID_PASSWORD)


def _apply_fields(user: User, params: Params, *, strict: bool) -> None:
    """Copy the given User fields; invalid integers are errors on add (``strict``)
    and ignored on update, as the docs say."""
    for name in USER_TEXT_FIELDS:
        value = opt_str(params, name, *_ALIASES.get(name, ()))
        if value is not None:
            user.text[name] = value[: _TEXT_LIMITS.get(name, _TEXT_DEFAULT_LIMIT)]
    for name in _INT_FIELDS:
        value = params.get(name)
        if value is None:
            continue
        try:
            number = int(value)
        except ValueError:
            if strict:
                raise bad(f"{name} is not an integer") from None
            continue
        if number >= 0:
            setattr(user, _snake(name), number)
        elif strict:
            raise bad(f"{name} negative")
    user.wire = None


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def _leverage(params: Params, *, required: bool) -> int | None:
    if required:
        value = req_int(params, "leverage")
    else:
        # user/update ignores invalid values, a non-number
        # included (docs/mt5-webapi.md#users).
        try:
            value = opt_int(params, "leverage", 0)
        except Mt5Error:
            return None
    if 1 <= value <= LEVERAGE_MAX:
        return value
    if required:
        raise bad("leverage out of 1..500")
    return None


def user_add(ctx: CommandContext, params: Params) -> Reply:
    broker = ctx.broker
    group = _group_for(ctx, req_str(params, "group"))
    name = req_str(params, "name")
    leverage = _leverage(params, required=True)
    pass_main = req_str(params, "PassMain", "pass_main")
    pass_investor = req_str(params, "PassInvestor", "pass_investor")
    _check_password(broker, group, pass_main)
    _check_password(broker, group, pass_investor)
    login = opt_int(params, "login", 0)
    if login < 0:
        raise bad("negative login")
    if login == 0:
        login = broker.allocate_login()
    elif login in broker.users:
        raise Mt5Error(Retcode.USR_LOGIN_EXIST)
    now = int(ctx.now)
    user = User(
        login=login,
        group=group,
        leverage=leverage or group.leverage,
        registration=now,
        last_pass_change=now,
        pass_main=pass_main,
        pass_investor=pass_investor,
    )
    _apply_fields(user, params, strict=True)
    user.text["Name"] = name[:_TEXT_DEFAULT_LIMIT]
    broker.insert_user(user)
    return Reply(wire.user(user), extra={"login": str(login)})


def user_update(ctx: CommandContext, params: Params) -> Reply:
    user = login_user(ctx, params)
    group_name = params.get("group")
    if group_name is not None and group_name.strip():
        user.group = _group_for(ctx, group_name)
    leverage = _leverage(params, required=False)
    if leverage is not None:
        user.leverage = leverage
    _apply_fields(user, params, strict=False)
    return Reply(wire.user(user), extra={"login": str(user.login)})


def user_delete(ctx: CommandContext, params: Params) -> Reply:
    user = login_user(ctx, params)
    if user.login == ctx.manager.login:
        raise Mt5Error(Retcode.USR_SUICIDE)
    if user.group.name.lower().startswith("managers\\"):
        raise Mt5Error(Retcode.ERR_PERMISSIONS, "manager accounts cannot be deleted")
    book = ctx.broker.books.get(user.login)
    if book is not None and (book.positions or book.orders):
        raise Mt5Error(Retcode.USR_HAS_TRADES)
    ctx.broker.delete_user(user.login)
    return Reply()


def user_get(ctx: CommandContext, params: Params) -> Reply:
    return Reply(wire.user(login_user(ctx, params)))


def user_get_batch(ctx: CommandContext, params: Params) -> Reply:
    return Reply([wire.user(u) for u in select_users(ctx, params)])


def user_logins(ctx: CommandContext, params: Params) -> Reply:
    groups = opt_list(params, "group")
    if groups is None:
        raise bad("group required")
    return Reply([str(u.login) for u in visible_users(ctx, MaskSet(groups))])


def user_total(ctx: CommandContext, _params: Params) -> Reply:
    return Reply({"Total": str(len(visible_users(ctx)))})


def user_group(ctx: CommandContext, params: Params) -> Reply:
    return Reply({"Group": login_user(ctx, params).group.name})


def _password_args(ctx: CommandContext, params: Params) -> tuple[User, str, str]:
    user = user_of(ctx, req_int(params, "login"))
    kind = (params.get("type") or "main").strip().lower()
    if kind not in _PASSWORD_TYPES:
        raise bad(f"password type {kind}")
    return user, kind, req_str(params, "password")


def user_check_password(ctx: CommandContext, params: Params) -> Reply:
    user, kind, password = _password_args(ctx, params)
    stored = {"main": user.pass_main, "investor": user.pass_investor}.get(
        kind, user.pass_api
    )
    if not stored or password != stored:
        raise Mt5Error(Retcode.USR_INVALID_PASSWORD)
    return Reply()


def user_change_password(ctx: CommandContext, params: Params) -> Reply:
    user, kind, password = _password_args(ctx, params)
    _check_password(ctx.broker, user.group, password)
    if kind == "main":
        user.pass_main = password
    elif kind == "investor":
        user.pass_investor = password
    else:
        user.pass_api = password
    user.last_pass_change = int(ctx.now)
    user.wire = None
    return Reply()


def user_account_get(ctx: CommandContext, params: Params) -> Reply:
    user = login_user(ctx, params)
    if not ctx.broker.account_available(user.login):
        # A dormant account has no trade state on the
        # server (docs/mt5-webapi.md#accounts).
        raise Mt5Error(Retcode.ERR_NOTFOUND, f"account {user.login} not loaded")
    return Reply(wire.account(ctx.broker.account(user)))


def user_account_get_batch(ctx: CommandContext, params: Params) -> Reply:
    broker = ctx.broker
    return Reply(
        [
            wire.account(broker.account(u))
            for u in select_users(ctx, params)
            if broker.account_available(u.login)
        ]
    )
