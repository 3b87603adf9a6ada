"""Records → wire dicts (docs/mt5-webapi.md#value-formats): every value a JSON string.

Prices carry the symbol's Digits, money the currency digits, rates and symbol
floats 8 decimals, volumes are integers (lots*10^4, Ext lots*10^8), times s and ms.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from mt5sim.market.instruments import LOT, LOT_EXT
from mt5sim.market.records import USER_TEXT_FIELDS, ZERO

if TYPE_CHECKING:
    from mt5sim.market.broker import AccountState, Broker
    from mt5sim.market.instruments import GroupSpec, SymbolSpec
    from mt5sim.market.records import Deal, Order, Position, TickState, User

_QUANTA = {d: Decimal(1).scaleb(-d) for d in range(11)}
SERVER_NAME = "MT5 Gateway Simulator"


def fmt(value: Decimal | int, digits: int) -> str:
    """A fixed-point decimal string, half-up, never ``-0.00``."""
    q = Decimal(value).quantize(_QUANTA[digits], rounding=ROUND_HALF_UP)
    if not q:
        q = q.copy_abs()
    return f"{q:f}"


def rate8(value: Decimal | int) -> str:
    return fmt(value, 8)


def points(value: int, digits: int) -> str:
    """Price given in points (an integer) with ``digits`` decimals."""
    return fmt(Decimal(value).scaleb(-digits), digits)


def volume(ext: int) -> str:
    """The 1/10⁴-lot twin of an Ext volume."""
    return str(ext * LOT // LOT_EXT)


# 16 empty ApiData cells (docs/mt5-webapi.md#records); shared, never mutated.
API_DATA: list[dict[str, str]] = [
    {"AppID": "0", "ID": "0", "ValueInt": "0", "ValueUInt": "0", "ValueDouble": "0"}
    for _ in range(16)
]


def user(u: User) -> dict[str, Any]:
    cached = u.wire
    if cached is not None:
        return cached
    digits = u.group.currency_digits
    text = u.text
    wire: dict[str, Any] = {
        "Login": str(u.login),
        "Group": u.group.name,
        "CertSerialNumber": "0",
        "Rights": str(u.rights),
        "Registration": str(u.registration),
        "LastAccess": str(u.last_access),
        "LastPassChange": str(u.last_pass_change),
        "LastIP": u.last_ip,
    }
    for name in USER_TEXT_FIELDS:
        wire[name] = text.get(name, "0" if name == "MQID" else "")
    balance_prev_day = fmt(u.balance_prev_day, digits)
    wire.update(
        {
            "Language": str(u.language),
            "Color": str(u.color),
            "Leverage": str(u.leverage),
            "Agent": str(u.agent),
            "ClientID": str(u.client_id),
            "CurrencyDigits": str(digits),
            "Balance": fmt(u.balance, digits),
            "Credit": fmt(u.credit, digits),
            "InterestRate": "0.00",
            "CommissionDaily": fmt(ZERO, digits),
            "CommissionMonthly": fmt(ZERO, digits),
            "CommissionAgentDaily": fmt(ZERO, digits),
            "CommissionAgentMonthly": fmt(ZERO, digits),
            "BalancePrevDay": balance_prev_day,
            "BalancePrevMonth": fmt(u.balance_prev_month, digits),
            "EquityPrevDay": balance_prev_day,
            "EquityPrevMonth": fmt(u.balance_prev_month, digits),
            "LimitOrders": str(u.limit_orders),
            "LimitPositions": str(u.limit_positions),
            "ApiData": API_DATA,
        }
    )
    u.wire = wire
    return wire


def account(a: AccountState) -> dict[str, str]:
    d = a.currency_digits
    return {
        "Login": str(a.login),
        "CurrencyDigits": str(d),
        "Balance": fmt(a.balance, d),
        "Credit": fmt(a.credit, d),
        "Margin": fmt(a.margin, d),
        "MarginFree": fmt(a.margin_free, d),
        "MarginLevel": fmt(a.margin_level, d),
        "MarginLeverage": str(a.margin_leverage),
        "MarginInitial": fmt(a.margin_initial, d),
        "MarginMaintenance": fmt(a.margin_maintenance, d),
        "Profit": fmt(a.profit, d),
        "Storage": fmt(a.storage, d),
        "Commission": fmt(ZERO, d),
        "Floating": fmt(a.floating, d),
        "Equity": fmt(a.equity, d),
        "SOActivation": "0",
        "SOTime": "0",
        "SOLevel": fmt(ZERO, d),
        "SOEquity": fmt(ZERO, d),
        "SOMargin": fmt(ZERO, d),
        "BlockedCommission": fmt(ZERO, d),
        "BlockedProfit": fmt(ZERO, d),
        "Assets": fmt(ZERO, d),
        "Liabilities": fmt(ZERO, d),
    }


def position(broker: Broker, p: Position) -> dict[str, Any]:
    owner = broker.users[p.login]
    spec = p.symbol
    digits, cdigits = spec.digits, owner.group.currency_digits
    profit, current, rate_profit = broker.position_profit(p, owner)
    _, rate_margin = broker.position_margin(p, owner)
    return {
        "Position": str(p.ticket),
        "ExternalID": "",
        "Login": str(p.login),
        "Dealer": "0",
        "Symbol": spec.name,
        "Action": str(p.action),
        "Digits": str(digits),
        "DigitsCurrency": str(cdigits),
        "ContractSize": fmt(spec.contract_size, 2),
        "TimeCreate": str(p.time_create_msc // 1000),
        "TimeUpdate": str(p.time_update_msc // 1000),
        "TimeCreateMsc": str(p.time_create_msc),
        "TimeUpdateMsc": str(p.time_update_msc),
        "PriceOpen": fmt(p.price_open, digits),
        "PriceCurrent": points(current, digits),
        "PriceSL": fmt(p.price_sl, digits),
        "PriceTP": fmt(p.price_tp, digits),
        "Volume": volume(p.volume_ext),
        "VolumeExt": str(p.volume_ext),
        "Profit": fmt(profit, cdigits),
        "Storage": fmt(p.storage, cdigits),
        "RateProfit": rate8(rate_profit),
        "RateMargin": rate8(rate_margin),
        "ExpertID": str(p.expert_id),
        "ExpertPositionID": "0",
        "Comment": p.comment,
        "ActivationMode": "0",
        "ActivationTime": "0",
        "ActivationPrice": fmt(ZERO, digits),
        "ActivationFlags": "0",
        "ModificationFlags": "0",
        "Reason": str(p.reason),
        "ApiData": API_DATA,
    }


def order(broker: Broker, o: Order) -> dict[str, Any]:
    if o.wire is not None:
        return o.wire
    spec = o.symbol
    digits = spec.digits
    owner = broker.users[o.login]
    done = bool(o.time_done_msc)
    if done:  # history: the price when it was done
        current = fmt(o.price_current, digits)
    else:
        tick = broker.ticks[spec.name]
        current = points(tick.ask if o.type % 2 == 0 else tick.bid, digits)
    result = {
        "Order": str(o.ticket),
        "ExternalID": "",
        "Login": str(o.login),
        "Dealer": "0",
        "Symbol": spec.name,
        "Digits": str(digits),
        "DigitsCurrency": str(owner.group.currency_digits),
        "ContractSize": fmt(spec.contract_size, 2),
        "State": str(o.state),
        "Reason": str(o.reason),
        "TimeSetup": str(o.time_setup_msc // 1000),
        "TimeExpiration": str(o.time_expiration),
        "TimeDone": str(o.time_done_msc // 1000),
        "TimeSetupMsc": str(o.time_setup_msc),
        "TimeDoneMsc": str(o.time_done_msc),
        "Type": str(o.type),
        "TypeFill": str(o.type_fill),
        "TypeTime": str(o.type_time),
        "PriceOrder": fmt(o.price_order, digits),
        "PriceTrigger": fmt(o.price_trigger, digits),
        "PriceCurrent": current,
        "PriceSL": fmt(o.price_sl, digits),
        "PriceTP": fmt(o.price_tp, digits),
        "VolumeInitial": volume(o.volume_initial_ext),
        "VolumeInitialExt": str(o.volume_initial_ext),
        "VolumeCurrent": volume(o.volume_current_ext),
        "VolumeCurrentExt": str(o.volume_current_ext),
        "ExpertID": str(o.expert_id),
        "PositionID": str(o.position_id),
        "PositionByID": "0",
        "Comment": o.comment,
        "ActivationMode": "0",
        "ActivationTime": "0",
        "ActivationPrice": fmt(ZERO, digits),
        "ActivationFlags": "0",
        "RateMargin": rate8(o.rate_margin),
        "ModificationFlags": "0",
        "ApiData": API_DATA,
    }
    if done:
        o.wire = result
    return result


def deal(d: Deal) -> dict[str, Any]:
    if d.wire is not None:
        return d.wire
    spec = d.symbol
    digits = spec.digits if spec is not None else 0
    cd = d.currency_digits
    contract = spec.contract_size if spec is not None else ZERO
    tick_size = spec.point if spec is not None else ZERO
    d.wire = {
        "Deal": str(d.ticket),
        "ExternalID": "",
        "Login": str(d.login),
        "Dealer": str(d.dealer),
        "Order": str(d.order),
        "Action": str(d.action),
        "Entry": str(d.entry),
        "Reason": str(d.reason),
        "Digits": str(digits),
        "DigitsCurrency": str(cd),
        "ContractSize": fmt(contract, 2),
        "Time": str(d.time_msc // 1000),
        "TimeMsc": str(d.time_msc),
        "Symbol": spec.name if spec is not None else "",
        "Price": fmt(d.price, digits),
        "PriceSL": fmt(ZERO, digits),
        "PriceTP": fmt(ZERO, digits),
        "Volume": volume(d.volume_ext),
        "VolumeExt": str(d.volume_ext),
        "VolumeClosed": volume(d.volume_closed_ext),
        "VolumeClosedExt": str(d.volume_closed_ext),
        "Profit": fmt(d.profit, cd),
        "Value": fmt(ZERO, cd),
        "Storage": fmt(d.storage, cd),
        "Commission": fmt(d.commission, cd),
        "Fee": fmt(d.fee, cd),
        "RateProfit": rate8(d.rate_profit),
        "RateMargin": rate8(d.rate_margin),
        "ExpertID": str(d.expert_id),
        "PositionID": str(d.position_id),
        "Comment": d.comment,
        "ProfitRaw": fmt(d.profit, cd),
        "PricePosition": fmt(d.price_position, digits),
        "TickValue": rate8(ZERO),
        "TickSize": rate8(tick_size),
        "Flags": "0",
        "Gateway": "",
        "PriceGateway": fmt(ZERO, digits),
        "MarketBid": fmt(d.market_bid, digits),
        "MarketAsk": fmt(d.market_ask, digits),
        "MarketLast": fmt(ZERO, digits),
        "ModifyFlags": "0",
        "ApiData": API_DATA,
    }
    return d.wire


def tick(t: TickState, spread_diff: int = 0) -> dict[str, str]:
    """A Tick (docs/mt5-webapi.md#records); ``spread_diff`` widens the spread for group
    pricing."""
    if not spread_diff and t.wire is not None:
        return t.wire
    digits = t.symbol.digits
    widen_bid = spread_diff // 2
    wire = {
        "Symbol": t.symbol.name,
        "Digits": str(digits),
        "Datetime": str(t.time_msc // 1000),
        "DatetimeMsc": str(t.time_msc),
        "Bid": points(t.bid - widen_bid, digits),
        "Ask": points(t.ask + spread_diff - widen_bid, digits),
        "Last": points(0, digits),
        "Volume": "0",
        "VolumeReal": "0.00",
    }
    if not spread_diff:
        t.wire = wire
    return wire


def tick_stat(t: TickState) -> dict[str, str]:
    digits = t.symbol.digits

    def p(value: int) -> str:
        return points(value, digits)

    change = (
        Decimal(t.bid - t.prev_close) * 100 / Decimal(t.prev_close)
        if t.prev_close
        else ZERO
    )
    zero = p(0)
    return {
        "Symbol": t.symbol.name,
        "Digits": str(digits),
        "Datetime": str(t.time_msc // 1000),
        "DatetimeMsc": str(t.time_msc),
        "Bid": p(t.bid),
        "BidLow": p(t.bid_low),
        "BidHigh": p(t.bid_high),
        "BidDir": str(t.bid_dir),
        "Ask": p(t.ask),
        "AskLow": p(t.ask_low),
        "AskHigh": p(t.ask_high),
        "AskDir": str(t.ask_dir),
        "Last": zero,
        "LastLow": zero,
        "LastHigh": zero,
        "LastDir": "0",
        "Volume": "0",
        "VolumeLow": "0",
        "VolumeHigh": "0",
        "VolumeDir": "0",
        "TradeDeals": "0",
        "TradeVolume": "0",
        "TradeTurnover": "0",
        "TradeInterest": "0",
        "TradeBuyOrders": "0",
        "TradeBuyVolume": "0",
        "TradeSellOrders": "0",
        "TradeSellVolume": "0",
        "PriceOpen": p(t.day_open),
        "PriceClose": p(t.prev_close),
        "PriceAw": zero,
        "PriceChange": fmt(change, 2),
        "PriceVolatility": "0.00",
        "PriceTheoretical": zero,
        "PriceGreeksDelta": "0.00",
        "PriceGreeksTheta": "0.00",
        "PriceGreeksGamma": "0.00",
        "PriceGreeksVega": "0.00",
        "PriceGreeksRho": "0.00",
        "PriceGreeksOmega": "0.00",
        "PriceSensitivity": "0.00",
    }


def _sessions(spec: SymbolSpec) -> list[list[dict[str, str]]]:
    return [
        [{"Open": str(o), "Close": str(c)} for o, c in day] for day in spec.sessions
    ]


def symbol(spec: SymbolSpec, spread_diff: int = 0) -> dict[str, Any]:
    f8 = rate8
    digits = spec.digits
    is_fx = spec.path.startswith("Forex")
    tick_value = spec.contract_size * spec.point
    margin = {"MarginInitial": f8(0), "MarginMaintenance": f8(0)}
    # Per-order-type margin rates as MetaQuotes' own libraries read them
    # (MarginInitialBuy ... MarginMaintenanceSellStopLimit, docs/mt5-webapi.md#records).
    rates = {
        f"Margin{kind}{side}": f8(1)
        for kind in ("Initial", "Maintenance")
        for side in (
            "Buy", "Sell", "BuyLimit", "SellLimit", "BuyStop", "SellStop",
            "BuyStopLimit", "SellStopLimit",
        )
    }  # fmt: skip
    return {
        "Symbol": spec.name,
        "Path": spec.path,
        "ISIN": "",
        "CFI": "",
        "Category": "",
        "Exchange": "",
        "Description": spec.description,
        "International": "",
        "Sector": "0",
        "Industry": "0",
        "Country": "",
        "Basis": "",
        "Source": "",
        "Page": "",
        "CurrencyBase": spec.base,
        "CurrencyBaseDigits": "2",
        "CurrencyProfit": spec.profit,
        "CurrencyProfitDigits": "2",
        "CurrencyMargin": spec.margin_currency,
        "CurrencyMarginDigits": "2",
        "Color": "4278190080",
        "ColorBackground": "4278190080",
        "Digits": str(digits),
        "Point": f8(spec.point),
        "Multiply": f8(Decimal(10) ** digits),
        "TickFlags": "0",
        "TickBookDepth": "0",
        "TickChartMode": "0",
        "ChartMode": "0",
        "SubscriptionsDelay": "15",
        "FilterSoft": "100",
        "FilterSoftTicks": "10",
        "FilterHard": "500",
        "FilterHardTicks": "10",
        "FilterDiscard": "500",
        "FilterSpreadMax": "0",
        "FilterSpreadMin": "0",
        "FilterGap": "0",
        "FilterGapTicks": "0",
        "TradeMode": "4",
        "TradeFlags": "0",
        "CalcMode": str(spec.calc_mode),
        "ExecMode": "2",
        "GTCMode": "0",
        "FillFlags": "3",
        "ExpirFlags": "15",
        "OrderFlags": "127",
        "Spread": "0",
        "SpreadBalance": "0",
        "SpreadDiff": str(spread_diff),
        "SpreadDiffBalance": "0",
        "TickValue": f8(tick_value),
        "TickSize": f8(spec.point),
        "ContractSize": f8(spec.contract_size),
        "StopsLevel": "0",
        "FreezeLevel": "0",
        "QuotesTimeout": "0",
        "VolumeMin": volume(spec.volume_min),
        "VolumeMax": volume(spec.volume_max),
        "VolumeStep": volume(spec.volume_step),
        "VolumeLimit": "0",
        "VolumeMinExt": str(spec.volume_min),
        "VolumeMaxExt": str(spec.volume_max),
        "VolumeStepExt": str(spec.volume_step),
        "VolumeLimitExt": "0",
        "MarginFlags": "0",
        **margin,
        **rates,
        "MarginHedged": f8(spec.contract_size / 2),
        "MarginLiquidity": f8(0),
        "MarginCurrency": f8(0),
        "SwapMode": "1" if is_fx else "2",
        "SwapLong": f8(spec.swap_long),
        "SwapShort": f8(spec.swap_short),
        "SwapFlags": "0",
        "Swap3Day": "3",
        "SwapYearDay": "360",
        "TimeStart": "0",
        "TimeExpiration": "0",
        "SessionsQuotes": _sessions(spec),
        "SessionsTrades": _sessions(spec),
        "REFlags": "0",
        "RETimeout": "7",
        "IECheckMode": "0",
        "IETimeout": "7",
        "IESlipProfit": "2",
        "IESlipLosing": "2",
        "IEVolumeMax": "0",
        "IEVolumeMaxExt": "0",
        "IEFlags": "0",
        "PriceSettle": fmt(ZERO, digits),
        "PriceLimitMax": fmt(ZERO, digits),
        "PriceLimitMin": fmt(ZERO, digits),
        "PriceStrike": fmt(ZERO, digits),
        "OptionMode": "0",
        "FaceValue": f8(0),
        "AccruedInterest": f8(0),
        "SpliceType": "0",
        "SpliceTimeType": "0",
        "SpliceTimeDays": "0",
    }


def group(g: GroupSpec) -> dict[str, Any]:
    return {
        "Group": g.name,
        "Server": "0",
        "PermissionsFlags": "0",
        "AuthMode": "0",
        "AuthPasswordMin": str(g.auth_password_min),
        "Company": g.company,
        "CompanyPage": "https://example.com",
        "CompanyEmail": "support@example.com",
        "CompanySupportPage": "https://example.com/support",
        "CompanySupportEmail": "support@example.com",
        "CompanyCatalog": "",
        "Currency": g.currency,
        "CurrencyDigits": str(g.currency_digits),
        "ReportsMode": "1",
        "ReportsFlags": "0",
        "ReportsSMTP": "",
        "ReportsSMTPLogin": "",
        "ReportsSMTPPass": "",
        "NewsMode": "2",
        "NewsCategory": "",
        "NewsLangs": [],
        "MailMode": "1",
        "TradeFlags": "0",
        "TradeInterestrate": "0.00",
        "TradeVirtualCredit": "0.00",
        "MarginFreeMode": "1",
        "MarginSOMode": "0",
        "MarginCall": fmt(g.margin_call, 2),
        "MarginStopOut": fmt(g.margin_stop_out, 2),
        "MarginFreeProfitMode": "0",
        "MarginMode": "2",
        "MarginLeverageProfile": "",
        "DemoLeverage": str(g.leverage) if g.demo else "0",
        "DemoDeposit": "10000.00" if g.demo else "0.00",
        "LimitHistory": "0",
        "LimitOrders": "0",
        "LimitSymbols": "0",
        "LimitPositions": "0",
        "LimitPositionsVolume": "0",
        "TradeTransferMode": "0",
        "Commissions": [],
        "Symbols": [
            {
                "Path": "*",
                "TradeMode": "default",
                "ExecMode": "default",
                "FillFlags": "default",
                "ExpirFlags": "default",
                "SpreadDiff": str(g.spread_diff),
                "SpreadDiffBalance": "0",
                "StopsLevel": "default",
                "FreezeLevel": "default",
                "VolumeMin": "default",
                "VolumeMax": "default",
                "VolumeStep": "default",
                "VolumeLimit": "default",
                "MarginFlags": "default",
            }
        ],
    }
