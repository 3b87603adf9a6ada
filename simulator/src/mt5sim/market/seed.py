"""Deterministic seeded market: accounts and ~90 days of trading history.

Every balance change is a deal: the seed replays deposits, credits, charges,
withdrawals and round-trip trades in global time order, allocating order and deal
tickets as it goes, and each account's balance is the sum of its deals. Realized
profits use rates from the symbols' reference prices, so balances depend on the
seed only: times, and the prices taken from the history curve, shift with
``now``; amounts and tickets do not. Trades may fall on weekends.
"""

from __future__ import annotations

import random
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, NamedTuple

from mt5sim.market.instruments import CALC_FOREX, LOT_EXT, SYMBOLS
from mt5sim.market.records import ZERO, Deal, Order, Position, User

if TYPE_CHECKING:
    from collections.abc import Callable

    from mt5sim.market.broker import Broker
    from mt5sim.market.instruments import GroupSpec, SymbolSpec

DAY = 86_400
MANAGER_LOGIN = 1000
ORDER_FILLED = 4
ORDER_PLACED = 1
ORDER_CANCELED = 2

_FIRST = [
    "James",
    "Maria",
    "Oliver",
    "Sofia",
    "Lukas",
    "Emma",
    "Noah",
    "Chloe",
    "Mateo",
    "Aisha",
    "Daniel",
    "Yuki",
    "Omar",
    "Hannah",
    "Pierre",
    "Elena",
    "Marco",
    "Ingrid",
    "Rahul",
    "Fatima",
    "Tomas",
    "Leila",
    "Kenji",
    "Ana",
]
_LAST = [
    "Smith",
    "Garcia",
    "Muller",
    "Rossi",
    "Dubois",
    "Kowalski",
    "Tanaka",
    "Silva",
    "Novak",
    "Jensen",
    "Ahmed",
    "Petrov",
    "Brown",
    "Fischer",
    "Costa",
    "Nakamura",
    "Okafor",
    "Larsen",
    "Moreau",
    "Haddad",
]
_PLACES = (
    ("United Kingdom", "London", "EC1A 1BB"),
    ("Germany", "Berlin", "10115"),
    ("France", "Paris", "75001"),
    ("Cyprus", "Limassol", "3025"),
    ("Japan", "Tokyo", "100-0001"),
    ("Spain", "Madrid", "28001"),
    ("Italy", "Milan", "20121"),
    ("United Arab Emirates", "Dubai", "00000"),
    ("Poland", "Warsaw", "00-001"),
    ("Brazil", "Sao Paulo", "01000-000"),
)
_CLIENT_GROUPS = ("demo\\forex", "demo\\forex-usd", "real\\standard", "real\\vip")
_GROUP_WEIGHTS = (3, 2, 3, 2)
_DEPOSITS = (1000, 2500, 5000, 10000, 25000, 50000)


def _static_rate(src: str, dst: str) -> Decimal:
    """Conversion at reference prices (keeps seeded balances independent of time)."""
    if src == dst:
        return Decimal(1)
    for s in SYMBOLS:
        if s.calc_mode != CALC_FOREX:
            continue
        if (s.base, s.profit) == (src, dst):
            return s.price
        if (s.base, s.profit) == (dst, src):
            return 1 / s.price
    return _static_rate(src, "USD") * _static_rate("USD", dst)


def _money(value: Decimal, group: GroupSpec) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-group.currency_digits), ROUND_HALF_UP)


class _Fill(NamedTuple):
    user: User
    spec: SymbolSpec
    side: int
    volume: int  # Ext units
    t: int
    price: Decimal


class _Seeder:
    def __init__(self, broker: Broker, now: int) -> None:
        self.broker = broker
        self.now = now
        self.rng = random.Random(broker.seed)
        self.events: list[tuple[int, int, Callable[[], None]]] = []
        # Ticket of the opening order of each closed trade, by trade id.
        self.open_tickets: dict[int, int] = {}

    def at(self, t_msc: int, action: Callable[[], None]) -> None:
        self.events.append((t_msc, len(self.events), action))

    def run(self) -> None:
        self.broker.insert_user(
            User(
                login=MANAGER_LOGIN,
                group=self._group("managers\\administrators"),
                leverage=100,
                registration=self.now - 400 * DAY,
                pass_main="Password1",  # noqa: S106 - the documented demo manager
                pass_investor="Password1",  # noqa: S106
                text={"Name": "Simulator Manager", "Email": "manager@example.com"},
            )
        )
        for index in range(self.broker.options.accounts):
            self._account(100_000 + index)
        self.events.sort(key=lambda e: (e[0], e[1]))
        for _, _, action in self.events:
            action()
        for user in self.broker.users.values():
            user.balance_prev_day = user.balance_prev_month = user.balance

    def _group(self, name: str) -> GroupSpec:
        group = self.broker.group(name)
        if group is None:  # pragma: no cover - static configuration
            raise LookupError(name)
        return group

    def _account(self, login: int) -> None:
        rng = self.rng
        group = self._group(rng.choices(_CLIENT_GROUPS, _GROUP_WEIGHTS)[0])
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        country, city, zipcode = rng.choice(_PLACES)
        reg = self.now - rng.randint(60 * DAY, 95 * DAY)
        user = User(
            login=login,
            group=group,
            leverage=group.leverage,
            registration=reg,
            last_access=self.now - rng.randint(60, 5 * DAY),
            last_pass_change=reg,
            pass_main=f"Main#{login}",
            pass_investor=f"Invest#{login}",
            client_id=login - 90_000,
            last_ip=".".join(str(rng.randint(1, 254)) for _ in range(4)),
            text={
                "Name": f"{first} {last}",
                "FirstName": first,
                "LastName": last,
                "Country": country,
                "City": city,
                "ZipCode": zipcode,
                "Address": f"{rng.randint(1, 200)} Market Street",
                "Phone": f"+1555{rng.randint(1_000_000, 9_999_999)}",
                "Email": f"{first.lower()}.{last.lower()}{login % 1000}@example.com",
                "Status": "RE" if not group.demo else "",
                "LeadSource": rng.choice(("", "Google", "Referral", "Partner")),
            },
        )
        self.broker.insert_user(user)
        self._activity(user)

    def _activity(self, user: User) -> None:
        rng, group, reg = self.rng, user.group, user.registration
        deposit = Decimal(rng.choice(_DEPOSITS))
        self._balance(user, reg + 300, 2, deposit, "Deposit")
        if not group.demo and rng.random() < 0.3:
            self._balance(
                user, reg + 600, 3, Decimal(rng.choice((500, 1000))), "Credit"
            )
        if group.demo and rng.random() < 0.2:
            self._balance(user, reg + 900, 6, Decimal(100), "Welcome bonus")
        if rng.random() < 0.3:
            for month in (30, 60):
                if reg + month * DAY < self.now:
                    self._balance(
                        user, reg + month * DAY, 4, Decimal(-5), "Maintenance Fee"
                    )
        if rng.random() < 0.05:
            self._balance(user, reg + 2 * DAY, 5, Decimal("1.50"), "Correction")
        max_units = max(1, int(deposit) // 1000)
        self._trading(user, max_units)

    def _trading(self, user: User, max_units: int) -> None:
        rng, reg = self.rng, user.registration
        for _ in range(rng.randint(2, 12)):
            self._closed_trade(user, reg, max_units)
        for _ in range(rng.randint(0, 2)):
            self._withdrawal(user, rng.randint(reg + DAY, self.now - DAY))
        if rng.random() < 0.7:
            for _ in range(rng.randint(1, 4)):
                self._open_position(user, reg, max_units)
        for _ in range(rng.randint(0, 2)):
            self._pending(user, reg, max_units, canceled=False)
        for _ in range(rng.randint(0, 2)):
            self._pending(user, reg, max_units, canceled=True)

    # -- balance operations ------------------------------------------------------

    def _balance(
        self, user: User, t: int, action: int, amount: Decimal, comment: str
    ) -> None:
        def apply() -> None:
            self._deal(user, t * 1000, action, amount, comment)

        self.at(t * 1000, apply)

    def _withdrawal(self, user: User, t: int) -> None:
        fraction = Decimal(self.rng.choice((10, 15, 20))) / 100

        def apply() -> None:
            amount = _money(user.balance * fraction, user.group)
            if amount > 0:
                self._deal(user, t * 1000, 2, -amount, "Withdrawal")

        self.at(t * 1000, apply)

    def _deal(
        self, user: User, t_msc: int, action: int, amount: Decimal, comment: str
    ) -> None:
        broker = self.broker
        broker.insert_deal(
            Deal(
                ticket=broker.allocate_deal(),
                login=user.login,
                action=action,
                time_msc=t_msc,
                currency_digits=user.group.currency_digits,
                profit=amount,
                comment=comment,
            )
        )
        if action == 3:
            user.credit += amount
        else:
            user.balance += amount

    # -- trades ------------------------------------------------------------------

    def _trade_params(
        self, user: User, start: int, end: int, max_units: int
    ) -> tuple[SymbolSpec, int, int, int] | None:
        rng = self.rng
        spec = rng.choice(SYMBOLS)
        if end <= start:
            return None
        t = rng.randint(start, end)
        if t < user.registration + 3600:
            return None
        units = rng.choice([u for u in (1, 2, 5, 10, 20, 50) if u <= max_units])
        return spec, rng.randint(0, 1), units * spec.volume_min, t

    def _fill_price(self, spec: SymbolSpec, t: int, side: int) -> int:
        mid = self.broker.price_history[spec.name].mid(t)
        half = spec.spread // 2
        return mid + half if side == 0 else mid - half

    def _commission(self, user: User, volume_ext: int) -> Decimal:
        if user.group.name != "real\\standard":
            return ZERO
        return _money(Decimal("-3.5") * volume_ext / LOT_EXT, user.group)

    def _market_order(self, fill: _Fill, position_id: int) -> int:
        user, spec, side, volume, t, price = fill
        ticket = self.broker.allocate_order()
        self.broker.insert_history(
            Order(
                ticket=ticket,
                login=user.login,
                symbol=spec,
                type=side,
                state=ORDER_FILLED,
                time_setup_msc=t * 1000,
                time_done_msc=t * 1000 + 15,
                volume_initial_ext=volume,
                volume_current_ext=0,
                price_order=price,
                price_current=price,
                type_fill=1,
                position_id=position_id or ticket,
                reason=self.rng.choice((0, 0, 1, 16)),
            )
        )
        return ticket

    def _entry_deal(
        self,
        fill: _Fill,
        order: int,
        position_id: int,
        *,
        profit: Decimal = ZERO,
        storage: Decimal = ZERO,
        price_position: Decimal = ZERO,
    ) -> None:
        user, spec, side, volume, t, price = fill
        entry = 1 if price_position else 0
        commission = self._commission(user, volume)
        point = spec.point
        self.broker.insert_deal(
            Deal(
                ticket=self.broker.allocate_deal(),
                login=user.login,
                action=side,
                time_msc=t * 1000 + 15,
                currency_digits=user.group.currency_digits,
                profit=profit,
                symbol=spec,
                entry=entry,
                order=order,
                position_id=position_id,
                price=price,
                price_position=price_position,
                volume_ext=volume,
                volume_closed_ext=volume if entry == 1 else 0,
                storage=storage,
                commission=commission,
                rate_profit=_static_rate(spec.profit, user.group.currency),
                rate_margin=_static_rate(spec.margin_currency, user.group.currency),
                market_bid=price - (point * spec.spread if side == 0 else 0),
                market_ask=price + (point * spec.spread if side == 1 else 0),
            )
        )
        user.balance += profit + storage + commission

    def _closed_trade(self, user: User, reg: int, max_units: int) -> None:
        params = self._trade_params(user, reg + 3600, self.now - 3 * DAY, max_units)
        if params is None:
            return
        spec, side, volume, t_open = params
        duration = self.rng.randint(300, 3 * DAY)
        t_close = t_open + duration
        # The price move comes from the seed, not from the history curve, so that
        # realized profits (and balances) do not depend on ``now``.
        move = round(self.rng.gauss(0, spec.volatility * (duration / 3) ** 0.5))
        if t_close >= self.now - 60:
            return
        trade = len(self.open_tickets)
        open_points = self._fill_price(spec, t_open, side)
        close_mid = open_points + (-1 if side == 0 else 1) * (spec.spread // 2) + move
        close_points = (
            close_mid - spec.spread // 2 if side == 0 else close_mid + spec.spread // 2
        )
        open_price, close_price = (
            spec.from_points(open_points),
            spec.from_points(close_points),
        )
        diff = close_points - open_points if side == 0 else open_points - close_points
        profit = _money(
            Decimal(diff).scaleb(-spec.digits) * spec.contract_size * volume / LOT_EXT
            * _static_rate(spec.profit, user.group.currency),
            user.group,
        )  # fmt: skip
        days = (t_close - t_open) // DAY
        swap = spec.swap_long if side == 0 else spec.swap_short
        storage = _money(swap * days * volume / LOT_EXT, user.group)

        opening = _Fill(user, spec, side, volume, t_open, open_price)
        closing = _Fill(user, spec, 1 - side, volume, t_close, close_price)

        def open_() -> None:
            ticket = self._market_order(opening, 0)
            self.open_tickets[trade] = ticket
            self._entry_deal(opening, ticket, ticket)

        def close() -> None:
            pos = self.open_tickets[trade]
            order = self._market_order(closing, pos)
            self._entry_deal(
                closing,
                order,
                pos,
                profit=profit,
                storage=storage,
                price_position=open_price,
            )

        self.open_tickets[trade] = 0
        self.at(t_open * 1000, open_)
        self.at(t_close * 1000, close)

    def _open_position(self, user: User, reg: int, max_units: int) -> None:
        start = max(reg + 3600, self.now - 10 * DAY)
        params = self._trade_params(user, start, self.now - 3600, max_units)
        if params is None:
            return
        spec, side, volume, t = params
        price = spec.from_points(self._fill_price(spec, t, side))
        days = (self.now - t) // DAY
        swap = spec.swap_long if side == 0 else spec.swap_short
        storage = _money(swap * days * volume / LOT_EXT, user.group)

        def apply() -> None:
            fill = _Fill(user, spec, side, volume, t, price)
            ticket = self._market_order(fill, 0)
            self._entry_deal(fill, ticket, ticket)
            self.broker.insert_position(
                Position(
                    ticket=ticket,
                    login=user.login,
                    symbol=spec,
                    action=side,
                    volume_ext=volume,
                    price_open=price,
                    time_create_msc=t * 1000 + 15,
                    time_update_msc=t * 1000 + 15,
                    storage=storage,
                    rate_margin=_static_rate(spec.margin_currency, user.group.currency),
                    reason=self.rng.choice((0, 1, 16)),
                )
            )

        self.at(t * 1000, apply)

    def _pending(self, user: User, reg: int, max_units: int, *, canceled: bool) -> None:
        start = max(reg + 3600, self.now - (30 if canceled else 5) * DAY)
        params = self._trade_params(user, start, self.now - 600, max_units)
        if params is None:
            return
        spec, _, volume, t = params
        order_type = self.rng.randint(2, 5)  # buy/sell limit, buy/sell stop
        mid = self.broker.price_history[spec.name].mid(t)
        distance = spec.volatility * self.rng.randint(50, 300) + spec.spread
        below = order_type in {2, 5}
        price = spec.from_points(mid - distance if below else mid + distance)
        done = min(self.now - 60, t + self.rng.randint(600, 2 * DAY)) if canceled else 0

        def apply() -> None:
            order = Order(
                ticket=self.broker.allocate_order(),
                login=user.login,
                symbol=spec,
                type=order_type,
                state=ORDER_CANCELED if canceled else ORDER_PLACED,
                time_setup_msc=t * 1000,
                time_done_msc=done * 1000,
                volume_initial_ext=volume,
                volume_current_ext=volume,
                price_order=price,
                price_current=spec.from_points(mid),
                type_fill=2,
            )
            if canceled:
                self.broker.insert_history(order)
            else:
                self.broker.insert_order(order)

        self.at(t * 1000, apply)


def populate(broker: Broker, now: int) -> None:
    _Seeder(broker, now).run()
