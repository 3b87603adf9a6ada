"""Field checks that run before any MT5 call."""

from __future__ import annotations

import pytest
from google.protobuf import timestamp_pb2
from google.type import decimal_pb2
from mt5gateway.v1 import quote_service_pb2, user_pb2
from mt5gateway_server.errors import ValidationError
from mt5gateway_server.mapping.enums import PASSWORD_TYPE
from mt5gateway_server.rpc.validation import MAX_LOGINS, Violations
from mt5gateway_server.settings import is_server_name


def _fields(v: Violations) -> list[str]:
    return [item.field for item in v.items]


def test_no_violations_no_error() -> None:
    v = Violations()
    v.login("login", 1)
    v.check()
    assert not v


def test_collects_everything_then_raises() -> None:
    v = Violations()
    v.login("login", 0)
    v.page_size("page_size", -1)
    v.logins("logins", [5, -1], required=True)
    with pytest.raises(ValidationError) as caught:
        v.check()
    assert [x.field for x in caught.value.violations] == [
        "login",
        "page_size",
        "logins[1]",
    ]


def test_logins_limits() -> None:
    v = Violations()
    v.logins("logins", [], required=True)
    v.logins("more", [1] * (MAX_LOGINS + 1))
    assert _fields(v) == ["logins", "more"]


@pytest.mark.parametrize(
    ("masks", "fields"),
    [
        (["demo\\*", "!demo\\x"], []),
        ([""], ["groups[0]"]),
        (["!"], ["groups[0]"]),
        (["a,b"], ["groups[0]"]),
        (["x" * 200], ["groups[0]"]),
        (["ok"] * 101, ["groups"]),
    ],
)
def test_masks(masks: list[str], fields: list[str]) -> None:
    v = Violations()
    v.masks("groups", masks)
    assert _fields(v) == fields


def test_names_are_not_masks() -> None:
    v = Violations()
    v.name("symbol", "EUR*")
    v.name("other", "")
    v.name("fine", "EURUSD")
    assert _fields(v) == ["symbol", "other"]


def test_symbols_joined_length() -> None:
    v = Violations()
    v.symbols("symbols", ["ABCDEFGHIJ" * 10] * 41)
    assert _fields(v) == ["symbols"]


def test_text_lengths_and_control_characters() -> None:
    v = Violations()
    v.text("a", "x" * 9, max_length=8)
    v.text("b", "ok\n", max_length=8)
    v.text("c", "", required=False, max_length=8)
    v.text("d", "", max_length=8)
    v.text("e", "short", min_length=8, max_length=16)
    assert _fields(v) == ["a", "b", "d", "e"]


def test_enum_not_unspecified_and_known() -> None:
    v = Violations()
    v.enum("password_type", user_pb2.PASSWORD_TYPE_UNSPECIFIED, PASSWORD_TYPE)
    v.enum("again", 42, PASSWORD_TYPE)
    v.enum("ok", user_pb2.PASSWORD_TYPE_MAIN, PASSWORD_TYPE)
    assert _fields(v) == ["password_type", "again"]


def test_request_id_is_a_uuid() -> None:
    v = Violations()
    v.request_id("request_id", "")
    v.request_id("other", "abc")
    v.request_id("fine", "5b0c2a3e-2a65-4a59-9b3f-3f2f1d0a9c11")
    assert _fields(v) == ["request_id", "other"]


def test_decimal_values() -> None:
    v = Violations()
    assert v.decimal("amount", decimal_pb2.Decimal(value="12.50")) is not None
    assert v.decimal("missing", decimal_pb2.Decimal()) is None
    assert v.decimal("optional", decimal_pb2.Decimal(), required=False) is None
    assert v.decimal("bad", decimal_pb2.Decimal(value="1e")) is None
    assert _fields(v) == ["missing", "bad.value"]


def test_time_range() -> None:
    request = quote_service_pb2.ListBarsRequest(
        start_time=timestamp_pb2.Timestamp(seconds=100),
        end_time=timestamp_pb2.Timestamp(seconds=50),
    )
    v = Violations()
    start = v.timestamp("start_time", request)
    end = v.timestamp("end_time", request)
    v.time_range("start_time", start, "end_time", end)
    assert _fields(v) == ["end_time"]
    empty = Violations()
    assert empty.timestamp("start_time", quote_service_pb2.ListBarsRequest()) is None
    assert _fields(empty) == ["start_time"]


@pytest.mark.parametrize(
    "name",
    [
        "main",
        "Live-2_eu",
        "x" * 64,
        "x" * 65,
        "ma in",
        "a.b",
        "a/b",
        "bad name!",
        "caf\u00e9",
        "\u0663",
    ],
)
def test_request_server_names_follow_the_settings_rule(name: str) -> None:
    v = Violations()
    v.server("server", name)
    assert (not v) is is_server_name(name)
