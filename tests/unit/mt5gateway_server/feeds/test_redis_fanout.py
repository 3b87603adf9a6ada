"""The documented Redis message format and key names (no Redis needed)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mt5gateway_server.feeds.hub import FeedKey
from mt5gateway_server.feeds.redis_fanout import (
    RedisFanout,
    decode_tick,
    encode_tick,
    interest_key,
)
from mt5gateway_server.webapi.models import Tick

prices = st.decimals(
    min_value=Decimal("0.00001"),
    max_value=Decimal(1_000_000),
    places=5,
    allow_nan=False,
    allow_infinity=False,
)


def make_tick(bid: Decimal, ask: Decimal, ms: int) -> Tick:
    when = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return Tick(
        symbol="EURUSD",
        digits=5,
        time=when.replace(microsecond=0),
        time_msc=when,
        bid=bid,
        ask=ask,
        last=Decimal("0.00000"),
        volume=3,
        volume_real=Decimal("3.00"),
    )


@given(
    bid=prices,
    ask=prices,
    ms=st.integers(min_value=1_500_000_000_000, max_value=2_500_000_000_000),
)
def test_round_trip(bid: Decimal, ask: Decimal, ms: int) -> None:
    tick = make_tick(bid, ask, ms)
    back = decode_tick(encode_tick(FeedKey("main"), tick, ms + 5))
    assert (back.symbol, back.digits, back.bid, back.ask) == ("EURUSD", 5, bid, ask)
    assert back.time_msc is not None
    assert round(back.time_msc.timestamp() * 1000) == ms
    assert (back.volume, back.volume_real) == (3, Decimal(3))


def test_documented_fields() -> None:
    tick = make_tick(Decimal("1.10868"), Decimal("1.10871"), 1_573_048_380_097)
    data = json.loads(
        encode_tick(FeedKey("main", "real\\std"), tick, 1_573_048_380_112)
    )
    assert data == {
        "v": 1,
        "server": "main",
        "view": "group:real\\std",
        "symbol": "EURUSD",
        "digits": 5,
        "time_msc": 1_573_048_380_097,
        "bid": "1.10868",
        "ask": "1.10871",
        "last": "0.00000",
        "volume": 3,
        "volume_real": "3.00",
        "published_msc": 1_573_048_380_112,
    }


def test_malformed_message_raises() -> None:
    with pytest.raises((ValueError, KeyError)):
        decode_tick(b'{"symbol": "EURUSD"}')


def test_interest_key_shares_the_escaping_of_cache_keys() -> None:
    assert interest_key("main", "raw") == "mt5gw:v1:quotes:interest:main:raw"
    assert (
        interest_key("main", "group:real\\std")
        == "mt5gw:v1:quotes:interest:main:group%3Areal%5Cstd"
    )


def test_refresh_must_fit_the_lease() -> None:
    with pytest.raises(ValueError, match="refresh_seconds"):
        RedisFanout(
            None,  # type: ignore[arg-type]
            None,  # type: ignore[arg-type]
            interval=0.1,
            lease_seconds=1.0,
            refresh_seconds=0.6,
        )
