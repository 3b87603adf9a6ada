"""Malformed input never crashes a handler: it answers or raises Mt5Error."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mt5sim.commands.base import CommandContext, Manager
from mt5sim.commands.registry import COMMANDS
from mt5sim.market.broker import Broker
from mt5sim.retcodes import Mt5Error

from .conftest import NOW, DictParams

if TYPE_CHECKING:
    from typing import Any

NAMES = (
    "login", "group", "ticket", "symbol", "mask", "offset", "total", "from", "to",
    "type", "balance", "comment", "check_margin", "trans_id", "data", "index",
    "count", "name", "leverage", "pass_main", "pass_investor", "password", "rights",
)  # fmt: skip
VALUES = st.one_of(
    st.sampled_from(
        [
            "", "0", "-1", "1", "100001", "1000", "99999999999999999999", "1e9",
            "NaN", "abc", "*", "!", "!*", "demo\\*", "EURUSD", "Forex\\*", "dohlc",
            "x" * 300, "1764000000", "2", "3", " 5 ", "Str0ng#Pass",
        ]
    ),
    st.text(max_size=12),
)  # fmt: skip
BROKER = Broker.seeded(5, NOW)


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    path=st.sampled_from(sorted(COMMANDS)),
    query=st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=6),
)
def test_handlers_never_crash(path: str, query: dict[str, Any]) -> None:
    # Short history windows only: a full-range history is a slow but valid answer.
    if "from" in query or "to" in query:
        query["from"], query["to"] = "1763990000", "1764000000"
    ctx = CommandContext(BROKER, Manager(1000, ("*", "!real\\vip")), NOW)
    with contextlib.suppress(Mt5Error):
        COMMANDS[path].handler(ctx, DictParams(query, None))
