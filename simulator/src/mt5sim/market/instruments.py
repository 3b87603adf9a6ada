"""Static configuration of the simulated broker: symbols and groups."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

# EnCalcMode values used here.
CALC_FOREX = 0
CALC_CFD = 2
CALC_CFD_LEVERAGE = 4

LOT_EXT = 100_000_000  # 1 lot in 1/10^8 lot units (the ...Ext fields)
LOT = 10_000  # 1 lot in 1/10^4 lot units (the plain volume fields)

# Sessions as (open, close) minutes for each day, Sunday
# first (docs/mt5-webapi.md#records).
_WEEKDAYS: tuple[tuple[tuple[int, int], ...], ...] = (
    (),
    ((0, 1440),),
    ((0, 1440),),
    ((0, 1440),),
    ((0, 1440),),
    ((0, 1440),),
    (),
)
_ALWAYS: tuple[tuple[tuple[int, int], ...], ...] = tuple(((0, 1440),) for _ in range(7))


@dataclass(frozen=True, slots=True)
class SymbolSpec:
    name: str
    path: str
    description: str
    digits: int
    contract_size: Decimal
    base: str  # CurrencyBase
    profit: str  # CurrencyProfit
    calc_mode: int
    price: Decimal  # reference price the simulated market oscillates around
    spread: int  # points
    volume_min: int = 1_000_000  # Ext units: 0.01 lot
    volume_max: int = 10_000_000_000  # 100 lots
    volume_step: int = 1_000_000
    volatility: int = 3  # points per tick, standard deviation of the random walk
    always_open: bool = False
    swap_long: Decimal = Decimal("-1.5")
    swap_short: Decimal = Decimal("0.5")

    @property
    def point(self) -> Decimal:
        return Decimal(1).scaleb(-self.digits)

    @property
    def margin_currency(self) -> str:
        return self.base if self.calc_mode == CALC_FOREX else self.profit

    @property
    def sessions(self) -> tuple[tuple[tuple[int, int], ...], ...]:
        return _ALWAYS if self.always_open else _WEEKDAYS

    def to_points(self, price: Decimal) -> int:
        return int(price.scaleb(self.digits))

    def from_points(self, points: int) -> Decimal:
        return Decimal(points).scaleb(-self.digits)


def _fx(  # noqa: PLR0917 - one compact row per symbol
    name: str, path: str, desc: str, digits: int, price: str, spread: int, vol: int
) -> SymbolSpec:
    return SymbolSpec(
        name=name,
        path=f"Forex\\{path}\\{name}",
        description=desc,
        digits=digits,
        contract_size=Decimal(100000),
        base=name[:3],
        profit=name[3:6],
        calc_mode=CALC_FOREX,
        price=Decimal(price),
        spread=spread,
        volatility=vol,
    )


def _cfd(  # noqa: PLR0917 - one compact row per symbol
    name: str,
    path: str,
    desc: str,
    digits: int,
    contract: str,
    profit: str,
    price: str,
    spread: int,
    vol: int,
    *,
    always_open: bool = False,
) -> SymbolSpec:
    return SymbolSpec(
        name=name,
        path=f"{path}\\{name}",
        description=desc,
        digits=digits,
        contract_size=Decimal(contract),
        base=name[:3] if path in {"Metals", "Crypto"} else profit,
        profit=profit,
        calc_mode=CALC_CFD_LEVERAGE,
        price=Decimal(price),
        spread=spread,
        volatility=vol,
        always_open=always_open,
        swap_long=Decimal(-5),
        swap_short=Decimal(-2),
    )


SYMBOLS: tuple[SymbolSpec, ...] = (
    _fx("EURUSD", "Major", "Euro vs US Dollar", 5, "1.08500", 12, 4),
    _fx("GBPUSD", "Major", "Great Britain Pound vs US Dollar", 5, "1.27000", 15, 5),
    _fx("USDJPY", "Major", "US Dollar vs Japanese Yen", 3, "150.000", 14, 4),
    _fx("USDCHF", "Major", "US Dollar vs Swiss Franc", 5, "0.88000", 16, 4),
    _fx("AUDUSD", "Major", "Australian Dollar vs US Dollar", 5, "0.66000", 14, 4),
    _fx("USDCAD", "Major", "US Dollar vs Canadian Dollar", 5, "1.36000", 18, 4),
    _fx("NZDUSD", "Major", "New Zealand Dollar vs US Dollar", 5, "0.61000", 20, 4),
    _fx("EURGBP", "Minor", "Euro vs Great Britain Pound", 5, "0.85500", 18, 3),
    _fx("EURJPY", "Minor", "Euro vs Japanese Yen", 3, "163.000", 20, 5),
    _fx("GBPJPY", "Minor", "Great Britain Pound vs Japanese Yen", 3, "191.000", 28, 7),
    _fx("EURCHF", "Minor", "Euro vs Swiss Franc", 5, "0.95500", 22, 3),
    _fx("AUDJPY", "Minor", "Australian Dollar vs Japanese Yen", 3, "99.000", 22, 5),
    _fx("EURAUD", "Minor", "Euro vs Australian Dollar", 5, "1.64000", 30, 6),
    _fx("GBPCHF", "Minor", "Great Britain Pound vs Swiss Franc", 5, "1.12000", 30, 5),
    _fx("USDTRY", "Exotic", "US Dollar vs Turkish Lira", 5, "32.00000", 900, 60),
    _fx("USDZAR", "Exotic", "US Dollar vs South African Rand", 5, "18.50000", 1500, 90),
    _cfd("XAUUSD", "Metals", "Gold vs US Dollar", 2, "100", "USD", "2350.00", 30, 25),
    _cfd("XAGUSD", "Metals", "Silver vs US Dollar", 3, "5000", "USD", "28.000", 25, 8),
    _cfd(
        "US30",
        "Indices",
        "Dow Jones Industrial Average",
        1,
        "1",
        "USD",
        "39000.0",
        30,
        20,
    ),
    _cfd("US500", "Indices", "S&P 500 Index", 2, "1", "USD", "5200.00", 50, 60),
    _cfd("NAS100", "Indices", "Nasdaq 100 Index", 2, "1", "USD", "18000.00", 150, 250),
    _cfd("GER40", "Indices", "DAX 40 Index", 1, "1", "EUR", "18500.0", 20, 15),
    _cfd("UK100", "Indices", "FTSE 100 Index", 1, "1", "GBP", "8200.0", 15, 8),
    _cfd("XTIUSD", "Energies", "WTI Crude Oil", 2, "1000", "USD", "78.00", 4, 3),
    _cfd(
        "BTCUSD",
        "Crypto",
        "Bitcoin vs US Dollar",
        2,
        "1",
        "USD",
        "65000.00",
        3000,
        2500,
        always_open=True,
    ),
    _cfd(
        "ETHUSD",
        "Crypto",
        "Ethereum vs US Dollar",
        2,
        "1",
        "USD",
        "3200.00",
        250,
        150,
        always_open=True,
    ),
)


@dataclass(frozen=True, slots=True)
class GroupSpec:
    name: str
    currency: str
    leverage: int  # default leverage of new accounts in the group
    spread_diff: int  # points added to the spread of every symbol (tick/last_group)
    currency_digits: int = 2
    auth_password_min: int = 8
    margin_call: Decimal = Decimal(100)
    margin_stop_out: Decimal = Decimal(50)
    demo: bool = False
    company: str = "MT5 Gateway Simulator Ltd."


GROUPS: tuple[GroupSpec, ...] = (
    GroupSpec("demo\\forex", "USD", 100, 0, demo=True),
    GroupSpec("demo\\forex-usd", "USD", 500, 4, demo=True),
    GroupSpec("real\\standard", "USD", 100, 10, margin_call=Decimal(80)),
    GroupSpec("real\\vip", "EUR", 200, 2, auth_password_min=10),
    GroupSpec("managers\\administrators", "USD", 100, 0),
)
