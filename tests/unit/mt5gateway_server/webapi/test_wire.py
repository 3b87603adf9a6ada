from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import yarl
from hypothesis import given
from hypothesis import strategies as st
from mt5gateway_server.webapi import ProtocolError, TimeConvention
from mt5gateway_server.webapi.client import BalanceOperation
from mt5gateway_server.webapi.wire import (
    LOTS_PER_VOLUME_EXT,
    api_root,
    build_query,
    build_target,
    format_value,
    lots,
    mt5_escape,
    parse_envelope,
    parse_retcode,
    to_decimal,
    to_int,
)


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("John|Smith", "John\\|Smith"),
        ("a=b", "a\\=b"),
        ("demo\\forex", "demo\\\\forex"),
        ("line\nnext", "line\\\nnext"),
        ("\\=", "\\\\\\="),
        ("plain", "plain"),
    ],
)
def test_mt5_escape(raw, escaped):
    assert mt5_escape(raw) == escaped


def test_query_spaces_are_percent20_and_escaping_first():
    q = build_query({"login": 1000, "name": "John Smith|Jr", "group": "demo\\forex"})
    assert q == "login=1000&name=John%20Smith%5C%7CJr&group=demo%5C%5Cforex"
    assert "+" not in q


def test_query_skips_none_and_joins_lists():
    q = build_query({"login": [1, 2, 3], "group": None, "symbol": ["EURUSD", "GBPUSD"]})
    assert q == "login=1%2C2%2C3&symbol=EURUSD%2CGBPUSD"


def test_format_value_types():
    assert format_value(True) == "1"
    assert format_value(BalanceOperation.CREDIT) == "3"
    assert format_value(Decimal("1E+2")) == "100"
    assert format_value(Decimal("-10.50")) == "-10.50"
    assert format_value(datetime(2020, 1, 1, tzinfo=UTC)) == "1577836800"
    with pytest.raises(ValueError, match="naive"):
        format_value(datetime(2020, 1, 1))  # noqa: DTZ001


def test_request_target_is_encoded_verbatim():
    root = api_root(yarl.URL("https://h:8443/mt5/"))
    assert root == "/mt5/api/"
    target = build_target(root, "user/update", {"name": "a b"})
    assert target == "/mt5/api/user/update?name=a%20b"
    assert build_target(root, "test/access", {}) == "/mt5/api/test/access"


def test_parse_envelope():
    env = parse_envelope(b'{"retcode":"0 Done","trans_id":"5","answer":[1]}')
    assert (env.retcode, env.text, env.answer) == (0, "Done", [1])
    assert env.fields == {"trans_id": "5"}
    # The documented common/get example has an "answer " key with a trailing space.
    assert parse_envelope('{"retcode":"0 Done","answer ":{"a":1}}').answer == {"a": 1}
    err = parse_envelope('{"retcode":"13 Not found"}')
    assert (err.retcode, err.text, err.answer) == (13, "Not found", None)


@pytest.mark.parametrize(
    "body", [b"not json", b"[]", b'{"answer":1}', b'{"retcode":"x"}']
)
def test_parse_envelope_rejects(body):
    with pytest.raises(ProtocolError):
        parse_envelope(body)


def test_parse_retcode_multiword():
    assert parse_retcode("3006 Invalid account password") == (
        3006,
        "Invalid account password",
    )
    assert parse_retcode(0) == (0, "")


def test_lenient_numbers():
    assert to_int("42") == 42
    assert to_int(42) == 42
    assert to_int("42.0") == 42
    assert to_int("") == 0
    assert to_int(None) == 0
    assert to_decimal("1.10868") == Decimal("1.10868")
    assert to_decimal(1.09146) == Decimal("1.09146")
    assert to_decimal(5) == Decimal(5)
    assert to_decimal("") == Decimal(0)
    for bad in ("abc", "1.5"):
        with pytest.raises(ProtocolError):
            to_int(bad)
    for bad in ("x", "NaN", "Infinity"):
        with pytest.raises(ProtocolError):
            to_decimal(bad)


def test_lots_prefers_ext():
    assert lots(
        {"Volume": "2500", "VolumeExt": "25000000"}, "VolumeExt", "Volume"
    ) == Decimal("0.25")
    assert lots({"Volume": "2500"}, "VolumeExt", "Volume") == Decimal("0.25")
    assert lots({"Volume": "2500", "VolumeExt": ""}, "VolumeExt", "Volume") == Decimal(
        "0.25"
    )
    assert lots({}, "VolumeExt", "Volume") == 0


def test_time_convention_offset():
    tc = TimeConvention(timedelta(hours=2))
    # Server wall clock 12:00 at GMT+2 is 10:00 UTC.
    noon = int(datetime(2024, 1, 1, 12, tzinfo=UTC).timestamp())
    assert tc.from_seconds(noon) == datetime(2024, 1, 1, 10, tzinfo=UTC)
    assert tc.to_seconds(datetime(2024, 1, 1, 10, tzinfo=UTC)) == noon
    assert tc.from_seconds("0") is None
    assert tc.from_millis(0) is None


# ---------------------------------------------------------------- property round trips

prices = st.decimals(
    min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=8, allow_nan=False
)


@given(prices)
def test_decimal_round_trip_via_string(value):
    assert to_decimal(format_value(value)) == value
    assert to_decimal(str(value)) == value


@given(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False))
def test_json_number_round_trip(value):
    # History rows are JSON numbers: the Decimal is the shortest repr, exactly.
    assert float(to_decimal(value)) == value


@given(st.integers(min_value=0, max_value=10**12))
def test_volume_ext_round_trip(units):
    lot = lots({"VolumeExt": str(units)}, "VolumeExt", "Volume")
    assert lot * LOTS_PER_VOLUME_EXT == units


@given(st.integers(min_value=0, max_value=10**10))
def test_volume_legacy_matches_ext(units):
    legacy = lots({"Volume": units}, "VolumeExt", "Volume")
    ext = lots({"VolumeExt": units * 10_000}, "VolumeExt", "Volume")
    assert legacy == ext


@given(st.integers(min_value=1, max_value=4_102_444_800), st.integers(-720, 840))
def test_time_round_trip(seconds, offset_minutes):
    tc = TimeConvention(timedelta(minutes=offset_minutes))
    when = tc.from_seconds(str(seconds))
    assert when is not None
    assert when.tzinfo is not None
    assert tc.to_seconds(when) == seconds


@given(st.text())
def test_escape_is_reversible(text):
    # Undo the escaping the way the server does (docs/mt5-webapi.md#escaping).
    it = iter(mt5_escape(text))
    out = [next(it) if ch == "\\" else ch for ch in it]
    assert "".join(out) == text
