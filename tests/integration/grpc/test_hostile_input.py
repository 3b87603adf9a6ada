"""Hostile request fields are refused with INVALID_ARGUMENT before any MT5 call.

Each case names the field the BadRequest must point at and checks that mt5sim saw no
request at all (``/_sim/stats``), so nothing reached MT5 or its logs.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import grpc
import pytest
from google.protobuf import field_mask_pb2
from google.protobuf.timestamp_pb2 import Timestamp
from google.type import decimal_pb2
from mt5gateway.v1 import (
    config_service_pb2,
    server_service_pb2,
    trade_pb2,
    user_pb2,
)
from mt5gateway.v1 import quote_service_pb2 as qs
from mt5gateway.v1 import trade_service_pb2 as ts
from mt5gateway.v1 import user_service_pb2 as us
from mt5gateway_server.mapping.money import money_to_proto

from .conftest import expect_error

if TYPE_CHECKING:
    from .conftest import Gateway, RpcFailure

pytestmark = pytest.mark.integration

FIRST = 100_000
HUGE = "x" * 100_000
# Characters MT5 would store verbatim: C0, DEL, C1, bidi embeddings/overrides,
# isolates and marks (a "Trojan Source" comment reads differently than it is).
HOSTILE_CHARACTERS = [
    "\x00",
    "\n",
    "\x1b",
    "\x7f",
    "\x85",
    "\x9f",
    "\u202a",
    "\u202e",
    "\u2066",
    "\u2069",
    "\u200e",
    "\u200f",
]
FREE_TEXT_FIELDS = [
    "first_name",
    "last_name",
    "company",
    "country",
    "city",
    "state",
    "zip_code",
    "address",
    "phone",
    "email",
    "comment",
    "status",
    "lead_source",
    "lead_campaign",
]
# Writable in MT5 but not sent by the gateway's Web API client: refused, never dropped.
NOT_WRITTEN_FIELDS: list[tuple[str, Any]] = [
    ("middle_name", "Maria"),
    ("bank_account", "DE89370400440532013000"),
    ("document_id", "X1234567"),
    ("mqid", "1A2B3C4D"),
    ("language", 1033),
    ("color", 255),
    ("client_id", 7),
    ("trade_accounts", "1=abc"),
    ("limit_orders", 5),
    ("limit_positions", 5),
]


def _rid() -> str:
    return str(uuid.uuid4())


def _new_user(**fields: Any) -> us.CreateUserRequest:
    user = user_pb2.User(group="demo\\forex", name="Ada Lovelace", leverage=100)
    for name, value in fields.items():
        setattr(user, name, value)
    return us.CreateUserRequest(
        request_id=_rid(),
        user=user,
        main_password="Secret#123",
        investor_password="Invest#123",
    )


def _update(paths: list[str], **fields: Any) -> us.UpdateUserRequest:
    user = user_pb2.User(login=FIRST)
    for name, value in fields.items():
        setattr(user, name, value)
    return us.UpdateUserRequest(
        request_id=_rid(),
        user=user,
        update_mask=field_mask_pb2.FieldMask(paths=paths),
    )


def _deposit(comment: str = "", **overrides: Any) -> ts.CreateBalanceOperationRequest:
    values: dict[str, Any] = {
        "request_id": _rid(),
        "login": FIRST,
        "type": trade_pb2.BALANCE_OPERATION_TYPE_BALANCE,
        "amount": money_to_proto(Decimal(10), ""),
        "comment": comment,
    }
    values.update(overrides)
    return ts.CreateBalanceOperationRequest(**values)


async def _refused(gateway: Gateway, call: Any) -> RpcFailure:
    """The call fails VALIDATION_FAILED and mt5sim answered nothing meanwhile."""
    before = await gateway.stats()
    failure = await expect_error(call)
    assert failure.code is grpc.StatusCode.INVALID_ARGUMENT, failure
    assert failure.reason == "VALIDATION_FAILED", failure
    assert (await gateway.stats())["requests"] == before["requests"]
    return failure


# ------------------------------------------------------------------ users


@pytest.mark.parametrize("field", FREE_TEXT_FIELDS)
async def test_create_user_text_is_bounded(gateway: Gateway, field: str) -> None:
    failure = await _refused(
        gateway, gateway.users.CreateUser(_new_user(**{field: HUGE}))
    )
    assert failure.fields == [f"user.{field}"]
    # The 100 kB value is not echoed back.
    assert len(failure.bad_request.SerializeToString()) < 500  # type: ignore[union-attr]


@pytest.mark.parametrize("field", FREE_TEXT_FIELDS)
@pytest.mark.parametrize("char", HOSTILE_CHARACTERS, ids=ascii)
async def test_create_user_text_refuses_control_and_bidi(
    gateway: Gateway, field: str, char: str
) -> None:
    request = _new_user(**{field: f"ab{char}cd"})
    failure = await _refused(gateway, gateway.users.CreateUser(request))
    assert failure.fields == [f"user.{field}"]


@pytest.mark.parametrize("field", FREE_TEXT_FIELDS)
async def test_update_user_text_is_bounded(gateway: Gateway, field: str) -> None:
    huge = await _refused(
        gateway, gateway.users.UpdateUser(_update([field], **{field: HUGE}))
    )
    assert huge.fields == [f"user.{field}"]
    bidi = await _refused(
        gateway, gateway.users.UpdateUser(_update([field], **{field: "a\u202eb"}))
    )
    assert bidi.fields == [f"user.{field}"]


async def test_text_limits_count_utf16_code_units(gateway: Gateway) -> None:
    # 32 emoji are 32 code points but 64 UTF-16 code units: over Comment's 63.
    failure = await _refused(
        gateway, gateway.users.CreateUser(_new_user(comment="\U0001f600" * 32))
    )
    assert failure.fields == ["user.comment"]
    ok = await gateway.users.CreateUser(_new_user(comment="\U0001f600" * 31))
    assert ok.user.comment == "\U0001f600" * 31


@pytest.mark.parametrize(("field", "value"), NOT_WRITTEN_FIELDS)
async def test_create_user_never_drops_a_field(
    gateway: Gateway, field: str, value: object
) -> None:
    failure = await _refused(
        gateway, gateway.users.CreateUser(_new_user(**{field: value}))
    )
    assert failure.fields == [f"user.{field}"]


async def test_create_user_refuses_interest_rate(gateway: Gateway) -> None:
    request = _new_user()
    request.user.interest_rate.CopyFrom(decimal_pb2.Decimal(value="1.5"))
    failure = await _refused(gateway, gateway.users.CreateUser(request))
    assert failure.fields == ["user.interest_rate"]


@pytest.mark.parametrize(("field", "value"), NOT_WRITTEN_FIELDS)
async def test_update_user_refuses_unwritten_paths(
    gateway: Gateway, field: str, value: object
) -> None:
    failure = await _refused(
        gateway, gateway.users.UpdateUser(_update([field], **{field: value}))
    )
    assert failure.fields == ["update_mask.paths[0]"]


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"agent": -1}, "user.agent"),
        ({"rights_mask": -1}, "user.rights_mask"),
        ({"leverage": 0}, "user.leverage"),
        ({"leverage": 501}, "user.leverage"),
        ({"leverage": -5}, "user.leverage"),
        ({"login": -1}, "user.login"),
    ],
)
async def test_create_user_numbers_are_bounded(
    gateway: Gateway, fields: dict[str, int], bad: str
) -> None:
    failure = await _refused(gateway, gateway.users.CreateUser(_new_user(**fields)))
    assert failure.fields == [bad]


async def test_update_user_agent_and_leverage(gateway: Gateway) -> None:
    agent = await _refused(
        gateway, gateway.users.UpdateUser(_update(["agent"], agent=-1))
    )
    assert agent.fields == ["user.agent"]
    # MT5 ignores an invalid leverage on update: answering OK would drop it.
    leverage = await _refused(
        gateway, gateway.users.UpdateUser(_update(["leverage"], leverage=501))
    )
    assert leverage.fields == ["user.leverage"]


async def test_update_mask_paths_are_bounded_and_not_echoed(gateway: Gateway) -> None:
    failure = await _refused(gateway, gateway.users.UpdateUser(_update([HUGE])))
    assert failure.fields == ["update_mask.paths[0]"]
    (violation,) = failure.bad_request.field_violations  # type: ignore[union-attr]
    assert len(violation.description) < 120
    assert violation.description.endswith("...")
    many = await _refused(gateway, gateway.users.UpdateUser(_update(["name"] * 200)))
    assert "update_mask.paths" in many.fields
    twice = await _refused(
        gateway, gateway.users.UpdateUser(_update(["name", "name"], name="A"))
    )
    assert twice.fields == ["update_mask.paths[1]"]


@pytest.mark.parametrize(
    ("request_id"),
    [
        "-" * 10_000 + "5b0c2a3e2a654a599b3f3f2f1d0a9c11",
        "{5b0c2a3e-2a65-4a59-9b3f-3f2f1d0a9c11}" + " " * 50,
        HUGE,
    ],
    ids=["hyphens", "padded", "huge"],
)
async def test_request_id_is_a_bounded_uuid(gateway: Gateway, request_id: str) -> None:
    request = us.DeleteUserRequest(request_id=request_id, login=FIRST)
    failure = await _refused(gateway, gateway.users.DeleteUser(request))
    assert failure.fields == ["request_id"]


@pytest.mark.parametrize("field", ["main_password", "investor_password"])
async def test_passwords_bounded_and_never_echoed(gateway: Gateway, field: str) -> None:
    secret = "Sup3r\u202e#secret" + "y" * 40
    request = _new_user()
    setattr(request, field, secret)
    failure = await _refused(gateway, gateway.users.CreateUser(request))
    assert failure.fields == [field]
    assert "secret" not in str(failure.bad_request)
    assert "secret" not in failure.message


# ------------------------------------------------------------------ balance


@pytest.mark.parametrize("char", HOSTILE_CHARACTERS, ids=ascii)
async def test_deposit_comment_refuses_control_and_bidi(
    gateway: Gateway, char: str
) -> None:
    failure = await _refused(
        gateway, gateway.trade.CreateBalanceOperation(_deposit(f"inv{char}oice"))
    )
    assert failure.fields == ["comment"]


async def test_deposit_currency_code_is_bounded_before_mt5(gateway: Gateway) -> None:
    request = _deposit()
    request.amount.currency_code = HUGE
    failure = await _refused(gateway, gateway.trade.CreateBalanceOperation(request))
    assert failure.fields == ["amount.currency_code"]


# ------------------------------------------------------------------ trade reads


def _window() -> dict[str, Timestamp]:
    return {"start_time": Timestamp(seconds=1), "end_time": Timestamp(seconds=2**31)}


BATCH_CALLS = [
    ("BatchGetPositions", ts.BatchGetPositionsRequest, False),
    ("BatchGetOrders", ts.BatchGetOrdersRequest, False),
    ("BatchGetHistoryOrders", ts.BatchGetHistoryOrdersRequest, True),
    ("BatchGetDeals", ts.BatchGetDealsRequest, True),
]


@pytest.mark.parametrize(("method", "request_type", "ranged"), BATCH_CALLS)
async def test_batch_paging_checked_before_get_batch(
    gateway: Gateway, method: str, request_type: Any, ranged: bool
) -> None:
    window = _window() if ranged else {}
    call = getattr(gateway.trade, method)
    size = await _refused(
        gateway, call(request_type(groups=["*"], page_size=-1, **window))
    )
    assert size.fields == ["page_size"]
    before = await gateway.stats()
    token = await expect_error(
        call(request_type(groups=["*"], page_token="garbage", **window))
    )
    assert token.code is grpc.StatusCode.INVALID_ARGUMENT
    assert token.reason == "INVALID_PAGE_TOKEN"
    assert (await gateway.stats())["requests"] == before["requests"]


@pytest.mark.parametrize(
    ("call", "request_", "fields"),
    [
        ("GetPosition", ts.GetPositionRequest(login=FIRST, symbol=HUGE), ["symbol"]),
        (
            "GetPosition",
            ts.GetPositionRequest(login=FIRST, symbol="EUR\u202eUSD"),
            ["symbol"],
        ),
        (
            "ListDeals",
            ts.ListDealsRequest(
                login=FIRST,
                start_time=Timestamp(seconds=-10),
                end_time=Timestamp(seconds=10),
            ),
            ["start_time"],
        ),
        (
            "ListDeals",
            ts.ListDealsRequest(
                login=FIRST,
                start_time=Timestamp(seconds=10),
                end_time=Timestamp(seconds=253_402_300_799),  # 9999-12-31
            ),
            ["end_time"],
        ),
        (
            "BatchGetDeals",
            ts.BatchGetDealsRequest(tickets=[1] * 1001),
            ["tickets"],
        ),
        (
            "BatchGetOrders",
            ts.BatchGetOrdersRequest(logins=[FIRST], symbols=["EUR\x85USD"]),
            ["symbols[0]"],
        ),
        (
            "ListPositions",
            ts.ListPositionsRequest(login=FIRST, page_token=HUGE),
            ["page_token"],
        ),
        ("GetOrder", ts.GetOrderRequest(ticket=1, server=HUGE), ["server"]),
        ("GetOrder", ts.GetOrderRequest(ticket=1, server="ma\x00in"), ["server"]),
    ],
)
async def test_trade_reads_bounded(
    gateway: Gateway, call: str, request_: Any, fields: list[str]
) -> None:
    failure = await _refused(gateway, getattr(gateway.trade, call)(request_))
    assert failure.fields == fields
    assert len(failure.message) < 200


# ------------------------------------------------------------------ config, server


@pytest.mark.parametrize(
    ("call", "request_", "fields"),
    [
        ("GetGroup", config_service_pb2.GetGroupRequest(group=HUGE), ["group"]),
        (
            "GetGroup",
            config_service_pb2.GetGroupRequest(group="demo\\forex*"),
            ["group"],
        ),
        (
            "GetGroupSymbol",
            config_service_pb2.GetGroupSymbolRequest(
                symbol="EURUSD", group="demo\u2066x"
            ),
            ["group"],
        ),
        (
            "ListSymbols",
            config_service_pb2.ListSymbolsRequest(masks=["*"] * 101),
            ["masks"],
        ),
        (
            "ListGroups",
            config_service_pb2.ListGroupsRequest(masks=["demo\\\u202e*"]),
            ["masks[0]"],
        ),
        (
            "ListSymbolNames",
            config_service_pb2.ListSymbolNamesRequest(server=HUGE),
            ["server"],
        ),
        (
            "ListGroupNames",
            config_service_pb2.ListGroupNamesRequest(page_token=HUGE),
            ["page_token"],
        ),
    ],
)
async def test_config_requests_bounded(
    gateway: Gateway, call: str, request_: Any, fields: list[str]
) -> None:
    failure = await _refused(gateway, getattr(gateway.config, call)(request_))
    assert failure.fields == fields


@pytest.mark.parametrize(
    ("call", "request_", "fields"),
    [
        (
            "GetServerTime",
            server_service_pb2.GetServerTimeRequest(server=HUGE),
            ["server"],
        ),
        (
            "GetCommonConfig",
            server_service_pb2.GetCommonConfigRequest(server="a b"),
            ["server"],
        ),
        (
            "GetServerStatus",
            server_service_pb2.GetServerStatusRequest(server="\u202emain"),
            ["server"],
        ),
        (
            "ListServers",
            server_service_pb2.ListServersRequest(page_token=HUGE),
            ["page_token"],
        ),
    ],
)
async def test_server_requests_bounded(
    gateway: Gateway, call: str, request_: Any, fields: list[str]
) -> None:
    failure = await _refused(gateway, getattr(gateway.server, call)(request_))
    assert failure.fields == fields


@pytest.mark.parametrize(
    ("call", "request_", "fields"),
    [
        ("GetUser", us.GetUserRequest(login=FIRST, server=HUGE), ["server"]),
        (
            "BatchGetUsers",
            us.BatchGetUsersRequest(groups=["demo\\*"], page_token=HUGE),
            ["page_token"],
        ),
        (
            "ListUserLogins",
            us.ListUserLoginsRequest(groups=["demo\\\x00*"]),
            ["groups[0]"],
        ),
        (
            "BatchGetAccounts",
            us.BatchGetAccountsRequest(logins=list(range(1, 1002))),
            ["logins"],
        ),
        ("GetUserCount", us.GetUserCountRequest(server="\x85"), ["server"]),
    ],
)
async def test_user_reads_bounded(
    gateway: Gateway, call: str, request_: Any, fields: list[str]
) -> None:
    failure = await _refused(gateway, getattr(gateway.users, call)(request_))
    assert failure.fields == fields


async def test_many_violations_fit_in_the_status(gateway: Gateway) -> None:
    # 1,000 bad logins listed one by one made 58 kB of trailers: the client dropped
    # them ("received metadata size exceeds hard limit") and saw RESOURCE_EXHAUSTED.
    request = us.BatchGetUsersRequest(logins=[-1] * 1000)
    failure = await _refused(gateway, gateway.users.BatchGetUsers(request))
    assert len(failure.fields) == 20
    assert failure.fields[-1] == "logins[19]"
    violations = failure.bad_request.field_violations  # type: ignore[union-attr]
    assert violations[-1].description == "and 981 more violations"


async def test_deposit_server_name_checked_before_lookup(gateway: Gateway) -> None:
    failure = await _refused(
        gateway, gateway.trade.CreateBalanceOperation(_deposit(server=HUGE))
    )
    assert failure.fields == ["server"]


async def test_request_id_case_is_one_idempotency_key(gateway: Gateway) -> None:
    request = _new_user()
    first = await gateway.users.CreateUser(request)
    request.request_id = request.request_id.upper()
    again = await gateway.users.CreateUser(request)
    assert again.user.login == first.user.login
    assert await gateway.requests("user/add") == 1


@pytest.mark.parametrize(
    "raw",
    [
        b"\x0a\x02\xff\xfe" + us.GetUserRequest(login=FIRST).SerializeToString(),
        us.GetUserRequest(login=FIRST).SerializeToString()[:-1],
    ],
    ids=["invalid-utf8-server", "truncated"],
)
async def test_malformed_request_bytes_are_invalid_argument(
    gateway: Gateway, raw: bytes
) -> None:
    call = gateway.channel.unary_unary(
        "/mt5gateway.v1.UserService/GetUser",
        request_serializer=lambda b: b,
        response_deserializer=lambda b: b,
    )
    before = await gateway.stats()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(raw)
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert (await gateway.stats())["requests"] == before["requests"]


async def test_quote_reads_check_server_and_page_token_before_mt5(
    gateway: Gateway,
) -> None:
    """A 100 kB page token, a malformed server name or a group mask never reach MT5."""
    before = await gateway.requests()
    cases = [
        (
            qs.ListQuotesRequest(symbols=["EURUSD"], page_token="x" * 100_000),
            "page_token",
        ),
        (qs.ListQuotesRequest(symbols=["EURUSD"], server="bad name!"), "server"),
        (qs.ListGroupQuotesRequest(symbols=["EURUSD"], group="real\\*"), "group"),
    ]
    for request, field in cases:
        call = (
            gateway.quotes.ListGroupQuotes(request)
            if isinstance(request, qs.ListGroupQuotesRequest)
            else gateway.quotes.ListQuotes(request)
        )
        failure = await expect_error(call)
        assert failure.code is grpc.StatusCode.INVALID_ARGUMENT
        assert failure.bad_request is not None
        assert [f.field for f in failure.bad_request.field_violations] == [field]
    assert await gateway.requests() == before
