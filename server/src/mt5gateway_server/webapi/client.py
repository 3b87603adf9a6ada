"""WebApiClient: one typed async method per MT5 Web API command, returning DTOs.

No proto types here; the gRPC layer maps these DTOs. Passwords go only in JSON bodies.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import structlog

from mt5gateway_server.webapi._history import (
    MAX_BAR_SPAN,
    MAX_HISTORY_ROWS,
    MAX_TICK_SPAN,
    HistoryBounds,
    HistoryReader,
)
from mt5gateway_server.webapi._requests import (
    MAX_BATCH_ITEMS,
    MAX_COMMENT,
    MAX_PAGE,
    MAX_SYMBOL_CHARS,
    BalanceOperation,
    NewUser,
    Password,
    PasswordType,
    RequestInterface,
    UserUpdate,
    check_page,
    ids,
    one_of,
    secret,
    split_lists,
    user_body,
)
from mt5gateway_server.webapi.errors import PARTIAL_RETCODE, ProtocolError
from mt5gateway_server.webapi.models import (
    Account,
    ChartBar,
    CommonConfig,
    Deal,
    Group,
    HistoryPage,
    HistoryPosition,
    Order,
    Position,
    Record,
    ServerTime,
    Symbol,
    Tick,
    TickRow,
    TickSnapshot,
    TickStat,
    TickStatSnapshot,
    TimeConfig,
    User,
    parse_chart_bars,
    parse_tick_rows,
)
from mt5gateway_server.webapi.retry import ExponentialBackoff, RetryPolicy, Sleep
from mt5gateway_server.webapi.wire import (
    Envelope,
    JsonBody,
    QueryValue,
    TimeConvention,
    mt5_length,
    to_int,
)

if TYPE_CHECKING:
    from datetime import datetime
    from decimal import Decimal

    from mt5gateway_server.webapi.config import ServerConfig

__all__ = [
    "MAX_BAR_SPAN",
    "MAX_BATCH_ITEMS",
    "MAX_COMMENT",
    "MAX_HISTORY_ROWS",
    "MAX_PAGE",
    "MAX_SYMBOL_CHARS",
    "MAX_TICK_SPAN",
    "BalanceOperation",
    "NewUser",
    "PasswordType",
    "RequestInterface",
    "UserUpdate",
    "WebApiClient",
]

log = structlog.get_logger("mt5gateway.webapi")

R = TypeVar("R", bound=Record)


def _total(env: Envelope) -> int:
    answer = env.answer
    if isinstance(answer, Mapping):
        for key in ("Total", "total"):
            if key in answer:
                return to_int(answer[key])
    raise ProtocolError("answer has no Total")


def _single(env: Envelope, key: str) -> object:
    answer = env.answer
    if isinstance(answer, Mapping):
        for k, v in answer.items():
            if k.lower() == key.lower():
                return v
    raise ProtocolError(f"answer has no {key}")


class WebApiClient:
    """Typed MT5 commands over a pool or one leased session of one server
    (``PoolManager.client(name)``, ``SessionPool.client(session)``)."""

    def __init__(
        self,
        transport: RequestInterface,
        config: ServerConfig,
        *,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.transport = transport
        self.server = config.name
        self.time_convention = TimeConvention(config.server_utc_offset)
        # History not loaded yet (retcode 1): asked again, with patience to spare.
        not_ready = RetryPolicy(
            attempts=1 + config.not_ready_retries,
            backoff=ExponentialBackoff(0.1, 2.0),
            sleep=sleep,
        )
        self._history = HistoryReader(
            transport, self.server, self.time_convention, not_ready
        )

    def __repr__(self) -> str:
        return f"<WebApiClient {self.transport!r}>"

    @property
    def pool(self) -> Any:  # noqa: ANN401 - a SessionPool or an Mt5Session
        """The transport, for callers still reading ``client.pool.config`` (use
        ``time_convention``); goes once they have moved."""
        return self.transport

    async def _read(
        self,
        command: str,
        params: Mapping[str, QueryValue] | None = None,
        *,
        body: JsonBody = None,
        accept: frozenset[int] = frozenset(),
    ) -> Envelope:
        return await self.transport.request(command, params, body=body, accept=accept)

    async def _batch_read(
        self, command: str, params: Mapping[str, QueryValue]
    ) -> Envelope:
        query, body = split_lists(params)
        return await self._read(command, query, body=body)

    async def _write(
        self,
        command: str,
        params: Mapping[str, QueryValue] | None = None,
        *,
        body: JsonBody = None,
    ) -> Envelope:
        return await self.transport.request(command, params, body=body, write=True)

    def _one(self, cls: type[R], env: Envelope) -> R:
        return cls.from_wire(env.answer, self.time_convention)

    def _many(self, cls: type[R], env: Envelope) -> list[R]:
        answer = env.answer
        if isinstance(answer, Mapping):  # a single object where a list was expected
            answer = [answer]
        return cls.list_from_wire(answer, self.time_convention)

    def _seconds(self, value: datetime) -> int:
        return self.time_convention.to_seconds(value)

    # ------------------------------------------------------------------ common

    async def ping(self) -> None:
        await self._read("test/access")

    async def common_get(self) -> CommonConfig:
        return self._one(CommonConfig, await self._read("common/get"))

    async def time_get(self) -> TimeConfig:
        return self._one(TimeConfig, await self._read("time/get"))

    async def time_server(self) -> ServerTime:
        raw = str(_single(await self._read("time/server"), "Time"))
        unix, _, text = raw.partition(" ")
        when = self.time_convention.from_seconds(unix)
        if when is None:
            raise ProtocolError("time/server: zero time")
        return ServerTime(when, text.strip())

    # ------------------------------------------------------------------ users

    async def user_add(self, user: NewUser) -> User:
        body = user_body(user)
        body["PassMain"] = secret(user.password_main)
        body["PassInvestor"] = secret(user.password_investor)
        env = await self._write("user/add", body=body)
        return self._one(User, env)

    async def user_update(self, login: int, changes: UserUpdate) -> User:
        body = user_body(changes)
        body["Login"] = str(login)
        env = await self._write("user/update", {"login": login}, body=body)
        return self._one(User, env)

    async def user_delete(self, login: int) -> None:
        await self._write("user/delete", {"login": login})

    async def user_get(self, login: int) -> User:
        return self._one(User, await self._read("user/get", {"login": login}))

    async def user_get_batch(
        self,
        *,
        logins: Iterable[int] | None = None,
        groups: Iterable[str] | None = None,
    ) -> list[User]:
        login_list, group_list = ids(logins), ids(groups)
        one_of(logins=login_list, groups=group_list)
        env = await self._batch_read(
            "user/get_batch", {"login": login_list, "group": group_list}
        )
        return self._many(User, env)

    async def user_logins(self, groups: Iterable[str]) -> list[int]:
        env = await self._read("user/logins", {"group": list(groups)})
        return [to_int(v) for v in env.answer or []]

    async def user_group(self, login: int) -> str:
        return str(_single(await self._read("user/group", {"login": login}), "Group"))

    async def user_total(self) -> int:
        return _total(await self._read("user/total"))

    async def user_check_password(
        self, login: int, password: Password, kind: PasswordType = PasswordType.MAIN
    ) -> bool:
        """True if the password is right; False on ``3006 Invalid account password``."""
        body = {"Login": str(login), "Type": kind.value, "Password": secret(password)}
        env = await self._read(
            "user/check_password", body=body, accept=frozenset({3006})
        )
        return env.retcode == 0

    async def user_change_password(
        self, login: int, password: Password, kind: PasswordType = PasswordType.MAIN
    ) -> None:
        body = {"Login": str(login), "Type": kind.value, "Password": secret(password)}
        await self._write("user/change_password", body=body)

    async def account_get(self, login: int) -> Account:
        return self._one(
            Account, await self._read("user/account/get", {"login": login})
        )

    async def account_get_batch(
        self,
        *,
        logins: Iterable[int] | None = None,
        groups: Iterable[str] | None = None,
    ) -> list[Account]:
        login_list, group_list = ids(logins), ids(groups)
        one_of(logins=login_list, groups=group_list)
        env = await self._batch_read(
            "user/account/get_batch", {"login": login_list, "group": group_list}
        )
        return self._many(Account, env)

    # ------------------------------------------------------------------ trade

    async def trade_balance(
        self,
        login: int,
        operation: BalanceOperation,
        amount: Decimal,
        comment: str = "",
        *,
        check_margin: bool = True,
    ) -> int:
        """Apply a balance operation; returns the deal ticket.

        Never retried once sent: a lost answer raises ``OutcomeUnknown`` — reconcile by
        looking the deal up (e.g. by ``comment``) before trying again.
        """
        if mt5_length(comment) > MAX_COMMENT:
            raise ValueError(f"comment longer than {MAX_COMMENT} characters")
        if not amount.is_finite() or amount == 0:
            raise ValueError("amount must be a non-zero finite Decimal")
        env = await self._write(
            "trade/balance",
            {
                "login": login,
                "type": BalanceOperation(operation),
                "balance": amount,
                "comment": comment,
                "check_margin": 1 if check_margin else 0,
            },
        )
        return to_int(_single(env, "Ticket"))

    # ------------------------------------------------------------------ positions

    async def position_get(self, login: int, symbol: str) -> Position:
        env = await self._read("position/get", {"login": login, "symbol": symbol})
        return self._one(Position, env)

    async def position_get_total(self, login: int) -> int:
        return _total(await self._read("position/get_total", {"login": login}))

    async def position_get_page(
        self, login: int, offset: int = 0, total: int = MAX_PAGE
    ) -> list[Position]:
        check_page(offset, total)
        env = await self._read(
            "position/get_page", {"login": login, "offset": offset, "total": total}
        )
        return self._many(Position, env)

    async def position_get_batch(
        self,
        *,
        logins: Iterable[int] | None = None,
        groups: Iterable[str] | None = None,
        tickets: Iterable[int] | None = None,
        symbols: Iterable[str] | None = None,
    ) -> list[Position]:
        params = self._batch(logins, groups, tickets, symbols)
        return self._many(
            Position, await self._batch_read("position/get_batch", params)
        )

    def _batch(  # noqa: PLR0917 - private helper mirroring the public keywords
        self,
        logins: Iterable[int] | None,
        groups: Iterable[str] | None,
        tickets: Iterable[int] | None,
        symbols: Iterable[str] | None,
        from_: datetime | None = None,
        to: datetime | None = None,
        *,
        history: bool = False,
    ) -> dict[str, QueryValue]:
        login_list, group_list, ticket_list = ids(logins), ids(groups), ids(tickets)
        one_of(logins=login_list, groups=group_list, tickets=ticket_list)
        if symbols is not None and ticket_list is not None:
            raise ValueError("symbols filter only applies with logins or groups")
        params: dict[str, QueryValue] = {
            "login": login_list,
            "group": group_list,
            "ticket": ticket_list,
            "symbol": None if symbols is None else list(symbols),
        }
        if history:
            if ticket_list is None and (from_ is None or to is None):
                raise ValueError("from_ and to are required with logins or groups")
            params["from"] = None if from_ is None else self._seconds(from_)
            params["to"] = None if to is None else self._seconds(to)
        return params

    # ------------------------------------------------------------------ orders

    async def order_get(self, ticket: int) -> Order:
        return self._one(Order, await self._read("order/get", {"ticket": ticket}))

    async def order_get_total(self, login: int) -> int:
        return _total(await self._read("order/get_total", {"login": login}))

    async def order_get_page(
        self, login: int, offset: int = 0, total: int = MAX_PAGE
    ) -> list[Order]:
        check_page(offset, total)
        env = await self._read(
            "order/get_page", {"login": login, "offset": offset, "total": total}
        )
        return self._many(Order, env)

    async def order_get_batch(
        self,
        *,
        logins: Iterable[int] | None = None,
        groups: Iterable[str] | None = None,
        tickets: Iterable[int] | None = None,
        symbols: Iterable[str] | None = None,
    ) -> list[Order]:
        params = self._batch(logins, groups, tickets, symbols)
        return self._many(Order, await self._batch_read("order/get_batch", params))

    # ------------------------------------------------------------ history orders, deals

    async def history_get(self, ticket: int) -> Order:
        return self._one(Order, await self._read("history/get", {"ticket": ticket}))

    async def history_get_total(self, login: int, from_: datetime, to: datetime) -> int:
        return _total(
            await self._read("history/get_total", self._range(login, from_, to))
        )

    async def history_get_page(
        self,
        login: int,
        from_: datetime,
        to: datetime,
        offset: int = 0,
        total: int = MAX_PAGE,
    ) -> list[Order]:
        check_page(offset, total)
        params = {**self._range(login, from_, to), "offset": offset, "total": total}
        return self._many(Order, await self._read("history/get_page", params))

    async def history_get_batch(
        self,
        *,
        logins: Iterable[int] | None = None,
        groups: Iterable[str] | None = None,
        tickets: Iterable[int] | None = None,
        symbols: Iterable[str] | None = None,
        from_: datetime | None = None,
        to: datetime | None = None,
    ) -> list[Order]:
        params = self._batch(logins, groups, tickets, symbols, from_, to, history=True)
        return self._many(Order, await self._batch_read("history/get_batch", params))

    async def deal_get(self, ticket: int) -> Deal:
        return self._one(Deal, await self._read("deal/get", {"ticket": ticket}))

    async def deal_get_total(self, login: int, from_: datetime, to: datetime) -> int:
        return _total(await self._read("deal/get_total", self._range(login, from_, to)))

    async def deal_get_page(
        self,
        login: int,
        from_: datetime,
        to: datetime,
        offset: int = 0,
        total: int = MAX_PAGE,
    ) -> list[Deal]:
        check_page(offset, total)
        params = {**self._range(login, from_, to), "offset": offset, "total": total}
        return self._many(Deal, await self._read("deal/get_page", params))

    async def deal_get_batch(
        self,
        *,
        logins: Iterable[int] | None = None,
        groups: Iterable[str] | None = None,
        tickets: Iterable[int] | None = None,
        symbols: Iterable[str] | None = None,
        from_: datetime | None = None,
        to: datetime | None = None,
    ) -> list[Deal]:
        params = self._batch(logins, groups, tickets, symbols, from_, to, history=True)
        return self._many(Deal, await self._batch_read("deal/get_batch", params))

    def _range(
        self, login: int, from_: datetime, to: datetime
    ) -> dict[str, QueryValue]:
        return {"login": login, "from": self._seconds(from_), "to": self._seconds(to)}

    # ------------------------------------------------------------------ prices

    async def tick_last(
        self, symbols: Iterable[str], trans_id: int = 0
    ) -> TickSnapshot:
        """Ticks changed since ``trans_id`` (0 = all); pass the returned ``trans_id``
        next time. Restart from 0 after a re-authentication or a smaller answer id."""
        env = await self._read(
            "tick/last", {"symbol": list(symbols), "trans_id": trans_id}
        )
        return TickSnapshot(self._many(Tick, env), to_int(env.fields.get("trans_id")))

    async def tick_last_group(
        self, symbols: Iterable[str], group: str, trans_id: int = 0
    ) -> TickSnapshot:
        env = await self._read(
            "tick/last_group",
            {"symbol": list(symbols), "group": group, "trans_id": trans_id},
        )
        return TickSnapshot(self._many(Tick, env), to_int(env.fields.get("trans_id")))

    async def tick_stat(
        self, symbols: Iterable[str], trans_id: int = 0
    ) -> TickStatSnapshot:
        env = await self._read(
            "tick/stat", {"symbol": list(symbols), "trans_id": trans_id}
        )
        return TickStatSnapshot(
            self._many(TickStat, env), to_int(env.fields.get("trans_id"))
        )

    async def tick_history(
        self,
        symbol: str,
        from_: datetime,
        to: datetime,
        data: str = "dba",
        *,
        limit: int = MAX_HISTORY_ROWS,
        resume: HistoryPosition | None = None,
    ) -> HistoryPage[TickRow]:
        """Tick rows, oldest first, at most ``limit`` (then ``next`` says where the
        rest starts); ``data`` letters: d time (ms), b bid, a ask, l last, v volume.
        ``from_`` to ``to`` spans at most ``MAX_TICK_SPAN``."""
        if "d" not in data:
            data = "d" + data
        return await self._history.read(
            "tick/history",
            (symbol, from_, to, data),
            lambda answer: parse_tick_rows(answer, data, self.time_convention),
            HistoryBounds(MAX_TICK_SPAN, limit, resume),
        )

    async def chart_get(
        self,
        symbol: str,
        from_: datetime,
        to: datetime,
        data: str = "dohlctvs",
        *,
        limit: int = MAX_HISTORY_ROWS,
        resume: HistoryPosition | None = None,
    ) -> HistoryPage[ChartBar]:
        """M1 bars, oldest first, at most ``limit``; ``data`` letters: d time (s),
        o h l c prices, t tick volume, v real volume, s spread. ``from_`` to ``to``
        spans at most ``MAX_BAR_SPAN``."""
        if "d" not in data:
            data = "d" + data
        return await self._history.read(
            "chart/get",
            (symbol, from_, to, data),
            lambda answer: parse_chart_bars(answer, data, self.time_convention),
            HistoryBounds(MAX_BAR_SPAN, limit, resume),
        )

    # ------------------------------------------------------------------ symbols

    async def symbol_list(self) -> list[str]:
        env = await self._read("symbol/list")
        return [str(v) for v in env.answer or []]

    async def symbol_total(self) -> int:
        return _total(await self._read("symbol/total"))

    async def symbol_next(self, index: int, count: int = 1) -> list[Symbol]:
        env = await self._read("symbol/next", {"index": index, "count": count})
        return self._many(Symbol, env)

    async def symbol_get(self, symbol: str) -> Symbol:
        return self._one(Symbol, await self._read("symbol/get", {"symbol": symbol}))

    async def symbol_get_mask(self, masks: Iterable[str]) -> list[Symbol]:
        env = await self._read(
            "symbol/get", {"mask": list(masks)}, accept=frozenset({PARTIAL_RETCODE})
        )
        if env.retcode == PARTIAL_RETCODE:
            log.warning(
                "mt5_answer_truncated", server=self.server, command="symbol/get"
            )
        return self._many(Symbol, env)

    async def symbol_get_group(self, symbol: str, group: str) -> Symbol:
        env = await self._read("symbol/get_group", {"symbol": symbol, "group": group})
        return self._one(Symbol, env)

    # ------------------------------------------------------------------ groups

    async def group_list(self) -> list[str]:
        env = await self._read("group/list")
        return [str(v) for v in env.answer or []]

    async def group_total(self) -> int:
        return _total(await self._read("group/total"))

    async def group_next(self, index: int, count: int = 1) -> list[Group]:
        env = await self._read("group/next", {"index": index, "count": count})
        return self._many(Group, env)

    async def group_get(self, group: str) -> Group:
        return self._one(Group, await self._read("group/get", {"group": group}))

    async def group_get_mask(self, masks: Iterable[str]) -> list[Group]:
        env = await self._read(
            "group/get", {"mask": list(masks)}, accept=frozenset({PARTIAL_RETCODE})
        )
        if env.retcode == PARTIAL_RETCODE:
            log.warning("mt5_answer_truncated", server=self.server, command="group/get")
        return self._many(Group, env)
