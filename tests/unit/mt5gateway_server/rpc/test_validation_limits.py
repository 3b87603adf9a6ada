"""The bounds every request field gets: lengths, characters, ranges, echoes."""

from __future__ import annotations

import pytest
from google.protobuf import timestamp_pb2
from google.type import decimal_pb2
from mt5gateway.v1 import config_service_pb2, quote_service_pb2, user_service_pb2
from mt5gateway_server.errors import ECHO_LIMIT, ValidationError
from mt5gateway_server.mapping.users import (
    OUTPUT_ONLY_USER_FIELDS,
    UNWRITTEN_USER_FIELDS,
    UPDATABLE_USER_FIELDS,
)
from mt5gateway_server.rpc.services import users
from mt5gateway_server.rpc.validation import (
    MAX_PAGE_TOKEN_LENGTH,
    MAX_VIOLATIONS,
    MT5_TIME_MAX_SECONDS,
    Violations,
    has_forbidden_characters,
    mt5_length,
    shown,
)


def _fields(v: Violations) -> list[str]:
    return [item.field for item in v.items]


def _descriptions(v: Violations) -> list[str]:
    return [item.description for item in v.items]


def test_mt5_length_counts_utf16_code_units() -> None:
    assert mt5_length("abc") == 3
    assert mt5_length("é") == 1
    assert mt5_length("\U0001f600") == 2  # outside the BMP: a surrogate pair
    v = Violations()
    v.text("a", "\U0001f600" * 32, max_length=63)
    v.text("b", "\U0001f600" * 31, max_length=63)
    assert _fields(v) == ["a"]


@pytest.mark.parametrize(
    "char",
    ["\x00", "\t", "\x1f", "\x7f", "\x80", "\x9f", "\u061c", "\u200e", "\u200f"]
    + [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2066, 0x206A)],
    ids=ascii,
)
def test_forbidden_characters(char: str) -> None:
    assert has_forbidden_characters(f"a{char}b")
    v = Violations()
    v.text("comment", f"a{char}b", required=False, max_length=63)
    v.masks("groups", [f"demo{char}*"])
    v.name("symbol", f"EUR{char}")
    assert _fields(v) == ["comment", "groups[0]", "symbol"]


@pytest.mark.parametrize(
    "text", ["Zürich", "東京", "O'Brien & Co.", "a-b_c", "\u00a0x"]
)
def test_ordinary_text_is_allowed(text: str) -> None:
    assert not has_forbidden_characters(text)


def test_required_text_must_not_be_blank() -> None:
    v = Violations()
    v.text("name", "   ", max_length=127)
    v.text("comment", "   ", required=False, max_length=63)
    assert _fields(v) == ["name"]
    assert _descriptions(v) == ["must not be blank"]


def test_text_never_echoes_the_value() -> None:
    v = Violations()
    v.text("password", "Secret#123" * 5, min_length=8, max_length=16)
    v.text("new_password", "Secret\x00123", min_length=8, max_length=16)
    assert all("Secret" not in d for d in _descriptions(v))


def test_shown_cuts_and_escapes() -> None:
    assert shown("abc") == "'abc'"
    assert shown("a\u202eb") == "'a\\u202eb'"
    long = shown("x" * 10_000)
    assert long.endswith("...")
    assert len(long) == ECHO_LIMIT + 2 + 3


def test_at_most_max_violations_are_reported() -> None:
    v = Violations()
    v.logins("logins", [-1] * 500)
    with pytest.raises(ValidationError) as caught:
        v.check()
    listed = caught.value.violations
    assert len(listed) == MAX_VIOLATIONS
    assert listed[-1].field == f"logins[{MAX_VIOLATIONS - 1}]"
    assert listed[-1].description == f"and {500 - MAX_VIOLATIONS + 1} more violations"


def test_oversized_lists_are_not_listed_entry_by_entry() -> None:
    v = Violations()
    v.logins("logins", [-1] * 1001)
    v.tickets("tickets", [0] * 1001)
    v.masks("groups", [""] * 101)
    v.names("symbols", ["*"] * 101, max_count=100)
    assert _fields(v) == ["logins", "tickets", "groups", "symbols"]


def test_login_zero_meaning() -> None:
    v = Violations()
    v.login("user.login", 0, zero_means="allocated by MT5")
    v.login("user.agent", -1, zero_means="no agent")
    v.login("login", 0)
    assert _fields(v) == ["user.agent", "login"]
    assert _descriptions(v)[0] == "must be 0 (no agent) or a login of 1 or more"


def test_number_range() -> None:
    v = Violations()
    for value in (0, 1, 500, 501):
        v.number(f"leverage{value}", value, low=1, high=500)
    assert _fields(v) == ["leverage0", "leverage501"]


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("5b0c2a3e-2a65-4a59-9b3f-3f2f1d0a9c11", True),
        ("5B0C2A3E-2A65-4A59-9B3F-3F2F1D0A9C11", True),
        ("5b0c2a3e2a654a599b3f3f2f1d0a9c11", False),
        ("{5b0c2a3e-2a65-4a59-9b3f-3f2f1d0a9c11}", False),
        ("urn:uuid:5b0c2a3e-2a65-4a59-9b3f-3f2f1d0a9c11", False),
        ("5b0c2a3e-2a65-4a59-9b3f-3f2f1d0a9c11\n", False),
        ("-" * 1000 + "5b0c2a3e2a654a599b3f3f2f1d0a9c11", False),
    ],
)
def test_request_id_only_in_rfc4122_text_form(value: str, ok: bool) -> None:
    v = Violations()
    v.request_id("request_id", value)
    assert bool(v) is not ok


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("", True),
        ("main", True),
        ("eu-1_b", True),
        ("a b", False),
        ("main\x00", False),
        ("x" * 65, False),
        ("ma.in", False),
    ],
)
def test_server_names(name: str, ok: bool) -> None:
    v = Violations()
    v.server("server", name)
    assert bool(v) is not ok


def test_of_checks_the_shared_fields_a_request_has() -> None:
    request = user_service_pb2.BatchGetUsersRequest(
        server="a b", page_size=-1, page_token="t" * (MAX_PAGE_TOKEN_LENGTH + 1)
    )
    assert _fields(Violations.of(request)) == ["server", "page_size", "page_token"]
    # GetUserRequest has no paging fields; nothing is invented for it.
    assert _fields(Violations.of(user_service_pb2.GetUserRequest())) == []


@pytest.mark.parametrize(
    ("seconds", "nanos", "ok"),
    [
        (0, 0, True),
        (MT5_TIME_MAX_SECONDS, 999_999_999, True),
        (-1, 0, False),
        (MT5_TIME_MAX_SECONDS + 1, 0, False),
        (2**62, 0, False),
        (10, -1, False),
        (10, 1_000_000_000, False),
    ],
)
def test_timestamps_within_mt5_range(seconds: int, nanos: int, ok: bool) -> None:
    request = quote_service_pb2.ListBarsRequest(
        start_time=timestamp_pb2.Timestamp(seconds=seconds, nanos=nanos)
    )
    v = Violations()
    found = v.timestamp("start_time", request)
    assert (found is not None) is ok
    assert bool(v) is not ok


def test_decimal_errors_do_not_echo_long_values() -> None:
    v = Violations()
    assert v.decimal("rate", decimal_pb2.Decimal(value="1" * 10_000)) is None
    assert v.decimal("other", decimal_pb2.Decimal(value="x" * 40)) is None
    assert _fields(v) == ["rate.value", "other.value"]
    assert all(len(d) < 120 for d in _descriptions(v))


def test_group_is_a_name_not_a_mask() -> None:
    v = Violations()
    v.group("a", "demo\\forex")
    v.group("b", "demo\\*")
    v.group("c", "x" * 64)
    assert _fields(v) == ["b", "c"]


def test_currency_code() -> None:
    v = Violations()
    for code in ("", "USD", "USDT"):
        v.currency_code("ok", code)
    v.currency_code("long", "U" * 17)
    v.currency_code("control", "US\x00")
    v.currency_code("blank", "   ")
    assert _fields(v) == ["long", "control", "blank"]


def test_page_token_length() -> None:
    request = config_service_pb2.ListGroupNamesRequest(page_token="x" * 10_000)
    assert _fields(Violations.of(request)) == ["page_token"]


# ------------------------------------------------------------------ User fields


def test_every_writable_user_field_has_one_check() -> None:
    assert set(users._USER_FIELD_CHECKS) == set(UPDATABLE_USER_FIELDS)


def test_user_fields_are_partitioned() -> None:
    every = {
        f.name for f in user_service_pb2.CreateUserRequest().user.DESCRIPTOR.fields
    }
    written = set(UPDATABLE_USER_FIELDS)
    assert written.isdisjoint(OUTPUT_ONLY_USER_FIELDS)
    assert written.isdisjoint(UNWRITTEN_USER_FIELDS)
    assert written | OUTPUT_ONLY_USER_FIELDS | UNWRITTEN_USER_FIELDS == every
    assert {"middle_name", "bank_account", "document_id", "mqid"} <= (
        UNWRITTEN_USER_FIELDS
    )
