"""The in-memory broker: configuration, accounts, trading records, live ticks.

All state changes go through the methods here, so balances only move by operations
that leave a deal behind, and every price update bumps the global ``trans_id``
(docs/mt5-webapi.md#tick-cursors).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from mt5sim.market import seed as seeding
from mt5sim.market.history import PriceHistory
from mt5sim.market.instruments import CALC_FOREX, GROUPS, LOT_EXT, SYMBOLS
from mt5sim.market.masks import SymbolMasks
from mt5sim.market.records import ZERO, Deal, TickState
from mt5sim.retcodes import Mt5Error, Retcode

if TYPE_CHECKING:
    from collections.abc import Iterable

    from mt5sim.market.instruments import GroupSpec, SymbolSpec
    from mt5sim.market.records import Order, Position, User

ONE = Decimal(1)
HUNDRED = Decimal(100)
MAX_BALANCE_AMOUNT = Decimal(1_000_000_000)
BALANCE_ACTIONS = frozenset({2, 3, 4, 5, 6})
ACTION_CREDIT = 3
COMMENT_MAX = 31  # 32 bytes with the terminating NUL
FIRST_LOGIN = 100_000
_QUANTA = {d: Decimal(1).scaleb(-d) for d in range(11)}
_RESOLVE_CACHE_MAX = 512


def money(value: Decimal, digits: int) -> Decimal:
    return value.quantize(_QUANTA[digits], rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class BrokerOptions:
    """Switches for inferred behaviour (docs/mt5-webapi.md#inferred-behaviour)."""

    # tick/last with a trans_id above the current one: full snapshot (True) or [].
    unknown_trans_id_full: bool = True
    # tick/last with no changes: answer the current trans_id (False) or echo the
    # client's (True).
    no_change_echo: bool = False
    # Character classes (lower, upper, digit, other) a new password needs.
    password_classes: int = 4
    accounts: int = 60
    # user/account/get answers only for accounts with open orders/positions or
    # trading activity since the server started
    # (documented, docs/mt5-webapi.md#accounts); False answers for every account.
    accounts_need_activity: bool = True
    # trade/balance with check_margin=0 may take the balance below zero (True), or
    # only skips the free-margin check and still refuses a withdrawal above the
    # balance with 10019 (False: docs/mt5-webapi.md#balance-operations lists "> balance"
    # as its own 10019 case).
    overdraw_without_margin_check: bool = False


@dataclass(frozen=True, slots=True)
class AccountState:
    login: int
    currency_digits: int
    balance: Decimal
    credit: Decimal
    margin: Decimal
    margin_free: Decimal
    margin_level: Decimal
    margin_leverage: int
    profit: Decimal
    storage: Decimal
    floating: Decimal
    equity: Decimal
    margin_initial: Decimal = ZERO
    margin_maintenance: Decimal = ZERO


class LoginBook:
    """The trading records of one login, each in ticket (= time) order."""

    __slots__ = ("deals", "history", "orders", "positions")

    def __init__(self) -> None:
        self.positions: dict[int, Position] = {}
        self.orders: dict[int, Order] = {}
        self.history: list[Order] = []
        self.deals: list[Deal] = []


class Broker:
    def __init__(
        self, seed: int, now: float, options: BrokerOptions | None = None
    ) -> None:
        self.seed = seed
        self.options = options or BrokerOptions()
        self.trans_id = 0
        self.symbols: dict[str, SymbolSpec] = {s.name: s for s in SYMBOLS}
        self._symbol_lookup: dict[str, SymbolSpec] = {}
        for s in SYMBOLS:
            self._symbol_lookup[s.name.lower()] = s
            self._symbol_lookup[s.path.lower()] = s
        self.groups: dict[str, GroupSpec] = {g.name.lower(): g for g in GROUPS}
        self.price_history = {s.name: PriceHistory(s, seed) for s in SYMBOLS}
        self._pairs = {
            (s.base, s.profit): s for s in SYMBOLS if s.calc_mode == CALC_FOREX
        }
        self._resolve_cache: dict[tuple[str, ...], tuple[SymbolSpec, ...]] = {}
        self._populate(now)

    @classmethod
    def seeded(
        cls, seed: int, now: float, options: BrokerOptions | None = None
    ) -> Broker:
        return cls(seed, now, options)

    def reset(self, now: float) -> None:
        """Back to the seeded state. trans_id keeps rising (every tick counts as
        changed), so a client's old cursor can never hide a reset."""
        self._populate(now)

    def _populate(self, now: float) -> None:
        self.users: dict[int, User] = {}
        self.positions: dict[int, Position] = {}
        self.orders: dict[int, Order] = {}
        self.history_orders: dict[int, Order] = {}
        self.deals: dict[int, Deal] = {}
        self.books: dict[int, LoginBook] = {}
        self.ticks: dict[str, TickState] = {}
        self.next_order = 5_000_000
        self.next_deal = 3_000_000
        self.balance_ops = 0
        self.balance_sums: dict[int, Decimal] = {}
        # Logins with trading activity since this (simulated) server start.
        self.active_logins: set[int] = set()
        now_msc = int(now * 1000)
        for spec in SYMBOLS:
            mid = self.price_history[spec.name].mid(int(now))
            bid = mid - spec.spread // 2
            self.trans_id += 1
            self.ticks[spec.name] = TickState(
                spec, bid, bid + spec.spread, now_msc, self.trans_id,
                day_open=bid, prev_close=bid, bid_low=bid, bid_high=bid,
                ask_low=bid + spec.spread, ask_high=bid + spec.spread,
            )  # fmt: skip
        seeding.populate(self, int(now))

    # -- allocation and insertion (used by the seed and by operations) ----------

    def allocate_order(self) -> int:
        self.next_order += 1
        return self.next_order

    def allocate_deal(self) -> int:
        self.next_deal += 1
        return self.next_deal

    def allocate_login(self) -> int:
        return (
            max((lg for lg in self.users if lg >= FIRST_LOGIN), default=FIRST_LOGIN - 1)
            + 1
        )

    def book(self, login: int) -> LoginBook:
        found = self.books.get(login)
        if found is None:
            found = self.books[login] = LoginBook()
        return found

    def insert_user(self, user: User) -> None:
        self.users[user.login] = user
        self.book(user.login)

    def insert_position(self, pos: Position) -> None:
        self.positions[pos.ticket] = pos
        self.book(pos.login).positions[pos.ticket] = pos

    def insert_order(self, order: Order) -> None:
        self.orders[order.ticket] = order
        self.book(order.login).orders[order.ticket] = order

    def insert_history(self, order: Order) -> None:
        self.history_orders[order.ticket] = order
        self.book(order.login).history.append(order)

    def insert_deal(self, deal: Deal) -> None:
        self.deals[deal.ticket] = deal
        self.book(deal.login).deals.append(deal)

    def delete_user(self, login: int) -> None:
        self.users.pop(login)
        self.active_logins.discard(login)
        book = self.books.pop(login, LoginBook())
        for pos in book.positions:
            self.positions.pop(pos, None)
        for order in book.orders:
            self.orders.pop(order, None)
        for hist in book.history:
            self.history_orders.pop(hist.ticket, None)
        for deal in book.deals:
            self.deals.pop(deal.ticket, None)

    # -- lookups -----------------------------------------------------------------

    def group(self, name: str) -> GroupSpec | None:
        return self.groups.get(name.lower())

    def symbol(self, name: str) -> SymbolSpec | None:
        """By name or full path, case-insensitively."""
        return self._symbol_lookup.get(name.lower())

    def resolve_symbols(self, items: Iterable[str]) -> tuple[SymbolSpec, ...]:
        """A symbol list with plain names/paths and masks (``Forex\\Major*``,
        ``!AUDUSD``), in configuration order. Masks match the full path
        only (docs/mt5-webapi.md#masks); an unknown plain name raises 13."""
        key = tuple(items)
        cached = self._resolve_cache.get(key)
        if cached is not None:
            return cached
        selector = SymbolMasks(key)
        for item in selector.names:
            if self.symbol(item) is None:
                raise Mt5Error(Retcode.ERR_NOTFOUND, f"symbol {item}")
        result = tuple(s for s in SYMBOLS if selector.matches(s.name, s.path))
        if len(self._resolve_cache) >= _RESOLVE_CACHE_MAX:
            self._resolve_cache.clear()
        self._resolve_cache[key] = result
        return result

    # -- prices ------------------------------------------------------------------

    def mid(self, symbol: SymbolSpec) -> Decimal:
        tick = self.ticks[symbol.name]
        return Decimal(tick.bid + tick.ask).scaleb(-symbol.digits) / 2

    def rate(self, src: str, dst: str) -> Decimal:
        """Conversion rate src → dst from current mid prices (via USD if needed)."""
        if src == dst:
            return ONE
        direct = self._pair_rate(src, dst)
        if direct is not None:
            return direct
        left, right = self._pair_rate(src, "USD"), self._pair_rate("USD", dst)
        if left is None or right is None:
            return ONE  # no route: cannot happen with the seeded symbols
        return left * right

    def _pair_rate(self, src: str, dst: str) -> Decimal | None:
        if src == dst:
            return ONE
        spec = self._pairs.get((src, dst))
        if spec is not None:
            return self.mid(spec)
        spec = self._pairs.get((dst, src))
        if spec is not None:
            return ONE / self.mid(spec)
        return None

    def apply_tick(self, name: str, bid: int, ask: int, time_msc: int) -> None:
        """Accept a price update (points); bumps the global trans_id."""
        tick = self.ticks[name]
        self.trans_id += 1
        tick.seq = self.trans_id
        if time_msc // 86_400_000 != tick.time_msc // 86_400_000:
            tick.prev_close, tick.day_open = tick.bid, bid
            tick.bid_low = tick.bid_high = bid
            tick.ask_low = tick.ask_high = ask
        tick.bid_dir = 1 if bid > tick.bid else 2 if bid < tick.bid else 0
        tick.ask_dir = 1 if ask > tick.ask else 2 if ask < tick.ask else 0
        tick.bid, tick.ask, tick.time_msc = bid, ask, time_msc
        tick.bid_low, tick.bid_high = min(tick.bid_low, bid), max(tick.bid_high, bid)
        tick.ask_low, tick.ask_high = min(tick.ask_low, ask), max(tick.ask_high, ask)
        tick.wire = None

    def ticks_since(
        self, symbols: Iterable[SymbolSpec], trans_id: int
    ) -> tuple[list[TickState], int]:
        """Ticks changed after ``trans_id`` and the trans_id to
        answer (docs/mt5-webapi.md#tick-cursors)."""
        current = self.trans_id
        full = trans_id <= 0 or (
            trans_id > current and self.options.unknown_trans_id_full
        )
        ticks = [self.ticks[s.name] for s in symbols]
        if not full:
            ticks = [t for t in ticks if t.seq > trans_id]
        answer_id = current
        if not ticks and self.options.no_change_echo and trans_id <= current:
            answer_id = trans_id
        return ticks, answer_id

    # -- trade state -------------------------------------------------------------

    def position_profit(
        self, pos: Position, user: User
    ) -> tuple[Decimal, int, Decimal]:
        """(profit in account currency, current price in points, profit rate)."""
        spec = pos.symbol
        tick = self.ticks[spec.name]
        open_points = spec.to_points(pos.price_open)
        if pos.action == 0:
            current, diff = tick.bid, tick.bid - open_points
        else:
            current, diff = tick.ask, open_points - tick.ask
        raw = (
            Decimal(diff).scaleb(-spec.digits)
            * spec.contract_size
            * pos.volume_ext
            / LOT_EXT
        )
        rate = self.rate(spec.profit, user.group.currency)
        return money(raw * rate, user.group.currency_digits), current, rate

    def position_margin(self, pos: Position, user: User) -> tuple[Decimal, Decimal]:
        """(margin in account currency, margin rate)."""
        spec = pos.symbol
        amount = spec.contract_size * pos.volume_ext / LOT_EXT / user.leverage
        if spec.calc_mode != CALC_FOREX:
            amount *= self.mid(spec)
        rate = self.rate(spec.margin_currency, user.group.currency)
        return money(amount * rate, user.group.currency_digits), rate

    def account_available(self, login: int) -> bool:
        """Whether user/account/get knows the account: open orders or positions, or
        trading activity since the server started (docs/mt5-webapi.md#accounts)."""
        if not self.options.accounts_need_activity or login in self.active_logins:
            return True
        book = self.books.get(login)
        return book is not None and bool(book.positions or book.orders)

    def account(self, user: User) -> AccountState:
        digits = user.group.currency_digits
        profit = storage = margin = ZERO
        for pos in self.book(user.login).positions.values():
            profit += self.position_profit(pos, user)[0]
            storage += pos.storage
            margin += self.position_margin(pos, user)[0]
        floating = profit + storage
        equity = user.balance + user.credit + floating
        level = money(equity / margin * HUNDRED, digits) if margin else ZERO
        return AccountState(
            login=user.login,
            currency_digits=digits,
            balance=user.balance,
            credit=user.credit,
            margin=margin,
            margin_free=equity - margin,
            margin_level=level,
            margin_leverage=user.leverage,
            profit=profit,
            storage=storage,
            floating=floating,
            equity=equity,
            margin_initial=margin,
            margin_maintenance=margin,
        )

    # -- operations --------------------------------------------------------------

    def balance_operation(
        self,
        user: User,
        action: int,
        amount: Decimal,
        comment: str,
        *,
        check_margin: bool,
        now: float,
    ) -> Deal:
        """trade/balance: a deal of type ``action`` moving balance or credit."""
        if action not in BALANCE_ACTIONS:
            raise Mt5Error(Retcode.ERR_PARAMS, f"balance type {action}")
        if abs(amount) > MAX_BALANCE_AMOUNT:
            raise Mt5Error(Retcode.TRADE_MAX_MONEY)
        amount = money(amount, user.group.currency_digits)
        if not amount:
            raise Mt5Error(Retcode.ERR_PARAMS, "zero amount")
        if amount < 0:
            # As documented (docs/mt5-webapi.md#balance-operations): 10019 for a
            # withdrawal above free margin (check_margin=1, the default), above the
            # credit issued (type 3), or above the balance.
            if action == ACTION_CREDIT:
                if -amount > user.credit:
                    raise Mt5Error(Retcode.REQUEST_NO_MONEY, "credit")
            else:
                if check_margin and -amount > self.account(user).margin_free:
                    raise Mt5Error(Retcode.REQUEST_NO_MONEY, "free margin")
                overdraw = self.options.overdraw_without_margin_check
                if -amount > user.balance and (check_margin or not overdraw):
                    raise Mt5Error(Retcode.REQUEST_NO_MONEY, "balance")
        deal = Deal(
            ticket=self.allocate_deal(),
            login=user.login,
            action=action,
            time_msc=int(now * 1000),
            currency_digits=user.group.currency_digits,
            profit=amount,
            comment=comment[:COMMENT_MAX],
        )
        if action == ACTION_CREDIT:
            user.credit += amount
        else:
            user.balance += amount
        user.wire = None
        self.insert_deal(deal)
        self.balance_ops += 1
        self.active_logins.add(user.login)
        self.balance_sums[user.login] = self.balance_sums.get(user.login, ZERO) + amount
        return deal

    def balance_stats(self) -> dict[str, object]:
        return {
            "count": self.balance_ops,
            "per_login": {str(k): str(v) for k, v in self.balance_sums.items()},
        }
