"""Per-RPC CPU of the parse + map path: Web API JSON -> DTO -> proto.

Builds the records the way mt5sim answers them (an in-process seeded ``Broker`` and
the simulator's own ``market.wire`` encoders, passed through a JSON round trip so the
values are what ``json.loads`` gives the gateway), then times, single-threaded:

* ``User.from_wire`` + ``user_to_proto`` (GetUser);
* ``Account.from_wire`` + ``account_to_proto`` (GetAccount);
* ``Position/Order/Deal.list_from_wire`` + ``*_to_proto`` for 100 records each
  (ListPositions / ListOrders / ListDeals pages).

Prints the best-of-``--repeat`` mean in microseconds per call (per list for lists);
short runs and the minimum, so a busy machine disturbs the figures less. The same
records are parsed again and again, so value caches always hit; ``--cold`` empties
them before every call (the worst case: every value seen for the first time).

    uv run python bench/bench_mapping.py [--repeat 25] [--cold] [--json out.json]

To compare with another checkout, run this script with PYTHONPATH=<checkout>/server/src.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mt5gateway_server.mapping import money
from mt5gateway_server.mapping.trade import (
    deal_to_proto,
    order_to_proto,
    position_to_proto,
)
from mt5gateway_server.mapping.users import account_to_proto, user_to_proto
from mt5gateway_server.webapi import models
from mt5gateway_server.webapi.models import Account, Deal, Order, Position, User
from mt5sim.market import wire
from mt5sim.market.broker import Broker

if TYPE_CHECKING:
    from collections.abc import Callable

CURRENCY = "USD"
LIST_SIZE = 100
NOW = 1_767_225_600.0  # fixed: the seeded market is then the same every run


def _json(value: object) -> Any:  # noqa: ANN401 - plain JSON, as the gateway sees it
    return json.loads(json.dumps(value))


def _take(records: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """``n`` records, cycling the seeded ones if there are fewer."""
    if not records:
        raise SystemExit("the seeded broker has no records of this kind")
    return list(itertools.islice(itertools.cycle(records), n))


def _activity(broker: Broker, login: int) -> int:
    book = broker.books.get(login)
    return 0 if book is None else len(book.positions) + len(book.deals)


def wire_samples() -> dict[str, Any]:
    broker = Broker.seeded(1, NOW)
    users = sorted(broker.users.values(), key=lambda u: u.login)
    # A trading user with a populated record (the GetUser case).
    user = max(users, key=lambda u: (_activity(broker, u.login), -u.login))
    positions = [wire.position(broker, p) for p in broker.positions.values()]
    orders = [wire.order(broker, o) for o in broker.history_orders.values()]
    orders += [wire.order(broker, o) for o in broker.orders.values()]
    deals = [wire.deal(d) for d in broker.deals.values()]
    return {
        "user": _json(wire.user(user)),
        "account": _json(wire.account(broker.account(user))),
        "positions": _json(_take(positions, LIST_SIZE)),
        "orders": _json(_take(orders, LIST_SIZE)),
        "deals": _json(_take(deals, LIST_SIZE)),
    }


def timeit(fn: Callable[[], object], repeat: int, budget: float) -> float:
    """Best-of-``repeat`` mean seconds per call, each run about ``budget`` long."""
    fn()
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        if time.perf_counter() - t0 > budget / 4:
            break
        n *= 2
    n = max(1, int(n * budget / max(time.perf_counter() - t0, 1e-9)))
    best = float("inf")
    gc.collect()
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t0) / n)
    return best


def cases(s: dict[str, Any]) -> dict[str, Callable[[], object]]:
    user = User.from_wire(s["user"])
    account = Account.from_wire(s["account"])
    positions = Position.list_from_wire(s["positions"])
    orders = Order.list_from_wire(s["orders"])
    deals = Deal.list_from_wire(s["deals"])
    return {
        "User.from_wire": lambda: User.from_wire(s["user"]),
        "user_to_proto": lambda: user_to_proto(user, CURRENCY),
        "GetUser (parse+map)": lambda: user_to_proto(
            User.from_wire(s["user"]), CURRENCY
        ),
        "Account.from_wire": lambda: Account.from_wire(s["account"]),
        "account_to_proto": lambda: account_to_proto(account, CURRENCY),
        "GetAccount (parse+map)": lambda: account_to_proto(
            Account.from_wire(s["account"]), CURRENCY
        ),
        "100 x Position.from_wire": lambda: Position.list_from_wire(s["positions"]),
        "100 x position_to_proto": lambda: [
            position_to_proto(p, CURRENCY) for p in positions
        ],
        "100 positions (parse+map)": lambda: [
            position_to_proto(p, CURRENCY)
            for p in Position.list_from_wire(s["positions"])
        ],
        "100 x Order.from_wire": lambda: Order.list_from_wire(s["orders"]),
        "100 x order_to_proto": lambda: [order_to_proto(o, CURRENCY) for o in orders],
        "100 orders (parse+map)": lambda: [
            order_to_proto(o, CURRENCY) for o in Order.list_from_wire(s["orders"])
        ],
        "100 x Deal.from_wire": lambda: Deal.list_from_wire(s["deals"]),
        "100 x deal_to_proto": lambda: [deal_to_proto(d, CURRENCY) for d in deals],
        "100 deals (parse+map)": lambda: [
            deal_to_proto(d, CURRENCY) for d in Deal.list_from_wire(s["deals"])
        ],
    }


def _cold(fn: Callable[[], object]) -> Callable[[], object]:
    # The caches this branch adds (absent before it: then this is a no-op).
    caches = [
        getattr(module, name)
        for module in (models, money)
        for name in ("_DECIMALS", "_UNITS_NANOS")
        if hasattr(module, name)
    ]

    def call() -> object:
        for cache in caches:
            cache.clear()
        return fn()

    return call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=25)
    parser.add_argument(
        "--budget", type=float, default=0.04, help="seconds per timed run"
    )
    parser.add_argument(
        "--cold",
        action="store_true",
        help="empty the text-keyed value caches before every call (worst case)",
    )
    parser.add_argument("--only", help="run the cases whose name contains this")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    results: dict[str, float] = {}
    for name, fn in cases(wire_samples()).items():
        if args.only and args.only.lower() not in name.lower():
            continue
        timed = _cold(fn) if args.cold else fn
        results[name] = round(timeit(timed, args.repeat, args.budget) * 1e6, 2)
        print(f"{name:<28} {results[name]:>10.2f} us")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
