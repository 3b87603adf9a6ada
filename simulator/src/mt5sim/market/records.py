"""Mutable records of the broker state. Money and prices are ``Decimal``."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mt5sim.market.instruments import GroupSpec, SymbolSpec

ZERO = Decimal(0)

# User text fields by wire name, in wire order (query names match case-insensitively,
# except PhonePassword whose query name is pass_phone).
USER_TEXT_FIELDS: tuple[str, ...] = (
    "Name",
    "FirstName",
    "LastName",
    "MiddleName",
    "Company",
    "Account",
    "Country",
    "City",
    "State",
    "ZipCode",
    "Address",
    "Phone",
    "Email",
    "ID",
    "Status",
    "Comment",
    "PhonePassword",
    "MQID",
    "LeadSource",
    "LeadCampaign",
    "TradeAccounts",
)


@dataclass(slots=True)
class User:
    login: int
    group: GroupSpec
    leverage: int
    registration: int  # seconds
    pass_main: str
    pass_investor: str
    pass_api: str = ""
    rights: int = 483
    color: int = 4278190080
    agent: int = 0
    language: int = 0  # LANGID
    client_id: int = 0
    limit_orders: int = 0
    limit_positions: int = 0
    last_access: int = 0
    last_pass_change: int = 0
    last_ip: str = "0.0.0.0"  # noqa: S104 - an address field, not a bind
    text: dict[str, str] = field(default_factory=dict)
    balance: Decimal = ZERO
    credit: Decimal = ZERO
    balance_prev_day: Decimal = ZERO
    balance_prev_month: Decimal = ZERO
    # Wire dict cache, dropped on every change (user/get is on the hot path).
    wire: dict[str, Any] | None = None


@dataclass(slots=True)
class Position:
    ticket: int
    login: int
    symbol: SymbolSpec
    action: int  # 0 buy, 1 sell
    volume_ext: int
    price_open: Decimal
    time_create_msc: int
    time_update_msc: int
    price_sl: Decimal = ZERO
    price_tp: Decimal = ZERO
    storage: Decimal = ZERO
    rate_margin: Decimal = Decimal(1)
    comment: str = ""
    expert_id: int = 0
    reason: int = 0


@dataclass(slots=True)
class Order:
    """An open order (``/api/order``) or a history order (``/api/history``)."""

    ticket: int
    login: int
    symbol: SymbolSpec
    type: int  # EnOrderType
    state: int  # EnOrderState
    time_setup_msc: int
    volume_initial_ext: int
    volume_current_ext: int
    price_order: Decimal
    price_current: Decimal = ZERO
    time_done_msc: int = 0
    time_expiration: int = 0
    type_fill: int = 0
    type_time: int = 0
    price_trigger: Decimal = ZERO
    price_sl: Decimal = ZERO
    price_tp: Decimal = ZERO
    position_id: int = 0
    rate_margin: Decimal = ZERO
    comment: str = ""
    expert_id: int = 0
    reason: int = 0
    # Wire dict cache for history orders, which never change once done.
    wire: dict[str, Any] | None = None


@dataclass(slots=True)
class Deal:
    ticket: int
    login: int
    action: int  # EnDealAction
    time_msc: int
    currency_digits: int
    profit: Decimal = ZERO  # the amount for balance operations
    symbol: SymbolSpec | None = None
    entry: int = 0
    order: int = 0
    position_id: int = 0
    price: Decimal = ZERO
    price_position: Decimal = ZERO
    volume_ext: int = 0
    volume_closed_ext: int = 0
    storage: Decimal = ZERO
    commission: Decimal = ZERO
    fee: Decimal = ZERO
    rate_profit: Decimal = ZERO
    rate_margin: Decimal = ZERO
    market_bid: Decimal = ZERO
    market_ask: Decimal = ZERO
    comment: str = ""
    reason: int = 0
    dealer: int = 0
    expert_id: int = 0
    # Wire dict cache: deals never change.
    wire: dict[str, Any] | None = None

    @property
    def money(self) -> Decimal:
        """The deal's effect on the balance (callers skip credit deals)."""
        return self.profit + self.storage + self.commission + self.fee


@dataclass(slots=True)
class TickState:
    symbol: SymbolSpec
    bid: int  # points
    ask: int  # points
    time_msc: int
    seq: int
    # Statistics of the trading day (tick/stat).
    day_open: int = 0
    prev_close: int = 0
    bid_low: int = 0
    bid_high: int = 0
    ask_low: int = 0
    ask_high: int = 0
    bid_dir: int = 0
    ask_dir: int = 0
    wire: dict[str, str] | None = None
