"""UserService end to end: Python stub -> gateway -> mt5sim; values and errors."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import TYPE_CHECKING

import grpc
import pytest
from google.protobuf import field_mask_pb2
from mt5gateway.v1 import user_pb2
from mt5gateway.v1 import user_service_pb2 as pb
from mt5gateway_server.mapping.money import money_from_proto

if TYPE_CHECKING:
    from conftest import Gateway

FIRST = 100_000
MISSING = 99_999_999


def _rid() -> str:
    return str(uuid.uuid4())


async def test_get_user_values(gateway: Gateway) -> None:
    reply = await gateway.users.GetUser(pb.GetUserRequest(login=FIRST))
    user = gateway.sim.broker.users[FIRST]
    got = reply.user
    assert got.login == FIRST
    assert got.group == user.group.name
    assert got.leverage == user.leverage
    assert got.balance.currency_code == user.group.currency
    assert money_from_proto(got.balance) == user.balance
    assert got.rights_mask == user.rights
    assert user_pb2.USER_RIGHT_ENABLED in got.rights
    assert got.registration_time.seconds == user.registration
    assert got.currency_digits == user.group.currency_digits


async def test_get_user_not_found_has_retcode(gateway: Gateway, rpc_error) -> None:
    failure = await rpc_error(gateway.users.GetUser(pb.GetUserRequest(login=MISSING)))
    assert failure.code is grpc.StatusCode.NOT_FOUND
    assert failure.info is not None
    assert failure.info.domain == "mt5gateway"
    assert failure.reason == "MT5_NOT_FOUND"
    assert failure.metadata["retcode"] == "13"
    assert failure.metadata["retcodeName"] == "MT_RET_ERR_NOTFOUND"
    assert failure.metadata["mt5Command"] == "user/get"
    assert failure.metadata["login"] == str(MISSING)
    assert failure.metadata["server"] == "main"
    assert failure.retry is None


@pytest.mark.parametrize(
    ("call", "fields"),
    [
        ("GetUser", ["login"]),
        ("GetAccount", ["login"]),
        ("GetUserGroup", ["login"]),
    ],
)
async def test_bad_login_rejected_before_mt5(
    gateway: Gateway, rpc_error, call: str, fields: list[str]
) -> None:
    before = await gateway.requests()
    request_type = getattr(pb, f"{call}Request")
    failure = await rpc_error(getattr(gateway.users, call)(request_type(login=-5)))
    assert failure.code is grpc.StatusCode.INVALID_ARGUMENT
    assert failure.reason == "VALIDATION_FAILED"
    assert failure.fields == fields
    assert await gateway.requests() == before


async def test_batch_validation_lists_every_violation(
    gateway: Gateway, rpc_error
) -> None:
    before = await gateway.requests()
    failure = await rpc_error(
        gateway.users.BatchGetUsers(
            pb.BatchGetUsersRequest(logins=[1, 0, -2], groups=[""], page_size=-1)
        )
    )
    assert failure.code is grpc.StatusCode.INVALID_ARGUMENT
    assert set(failure.fields) == {
        "logins[1]",
        "logins[2]",
        "groups[0]",
        "logins",
        "page_size",
    }
    assert await gateway.requests() == before


async def test_batch_get_users_pages_through_a_group(gateway: Gateway) -> None:
    broker = gateway.sim.broker
    expected = sorted(
        u.login for u in broker.users.values() if u.group.name.startswith("demo\\")
    )
    seen: list[int] = []
    token = ""
    pages = 0
    while True:
        reply = await gateway.users.BatchGetUsers(
            pb.BatchGetUsersRequest(groups=["demo\\*"], page_size=7, page_token=token)
        )
        seen.extend(u.login for u in reply.users)
        pages += 1
        token = reply.next_page_token
        if not token:
            break
    assert seen == expected
    assert pages == -(-len(expected) // 7)


async def test_batch_get_users_by_logins_leaves_missing_out(gateway: Gateway) -> None:
    reply = await gateway.users.BatchGetUsers(
        pb.BatchGetUsersRequest(logins=[FIRST + 2, MISSING, FIRST])
    )
    assert [u.login for u in reply.users] == [FIRST, FIRST + 2]
    assert reply.next_page_token == ""


async def test_page_token_bound_to_filters(gateway: Gateway, rpc_error) -> None:
    first = await gateway.users.ListUserLogins(
        pb.ListUserLoginsRequest(groups=["*"], page_size=5)
    )
    assert len(first.logins) == 5
    assert first.next_page_token
    failure = await rpc_error(
        gateway.users.ListUserLogins(
            pb.ListUserLoginsRequest(
                groups=["demo\\*"], page_size=5, page_token=first.next_page_token
            )
        )
    )
    assert failure.code is grpc.StatusCode.INVALID_ARGUMENT
    assert failure.reason == "INVALID_PAGE_TOKEN"
    assert failure.fields == ["page_token"]
    garbage = await rpc_error(
        gateway.users.ListUserLogins(
            pb.ListUserLoginsRequest(groups=["*"], page_token="not-a-token")
        )
    )
    assert garbage.reason == "INVALID_PAGE_TOKEN"


async def test_list_user_logins_all_pages(gateway: Gateway) -> None:
    logins: list[int] = []
    token = ""
    while True:
        reply = await gateway.users.ListUserLogins(
            pb.ListUserLoginsRequest(groups=["*"], page_size=25, page_token=token)
        )
        logins.extend(reply.logins)
        token = reply.next_page_token
        if not token:
            break
    assert logins == sorted(gateway.sim.broker.users)


async def test_get_user_group_and_count(gateway: Gateway) -> None:
    group = await gateway.users.GetUserGroup(pb.GetUserGroupRequest(login=FIRST))
    assert group.group == gateway.sim.broker.users[FIRST].group.name
    count = await gateway.users.GetUserCount(pb.GetUserCountRequest())
    assert count.user_count == len(gateway.sim.broker.users)


async def test_check_user_password(gateway: Gateway, rpc_error) -> None:
    right = await gateway.users.CheckUserPassword(
        pb.CheckUserPasswordRequest(
            login=FIRST,
            password_type=user_pb2.PASSWORD_TYPE_MAIN,
            password=f"Main#{FIRST}",
        )
    )
    assert right.valid
    wrong = await gateway.users.CheckUserPassword(
        pb.CheckUserPasswordRequest(
            login=FIRST, password_type=user_pb2.PASSWORD_TYPE_MAIN, password="nope1234"
        )
    )
    assert not wrong.valid
    failure = await rpc_error(
        gateway.users.CheckUserPassword(
            pb.CheckUserPasswordRequest(login=FIRST, password="x")
        )
    )
    assert failure.fields == ["password_type"]


async def test_get_account_and_batch(gateway: Gateway) -> None:
    single = await gateway.users.GetAccount(pb.GetAccountRequest(login=FIRST))
    user = gateway.sim.broker.users[FIRST]
    assert single.account.login == FIRST
    assert single.account.balance.currency_code == user.group.currency
    assert money_from_proto(single.account.balance) == user.balance
    assert single.account.so_activation == user_pb2.SO_ACTIVATION_NONE
    batch = await gateway.users.BatchGetAccounts(
        pb.BatchGetAccountsRequest(logins=[FIRST, FIRST + 1, MISSING])
    )
    assert [a.login for a in batch.accounts] == [FIRST, FIRST + 1]
    assert batch.accounts[0] == single.account


async def test_user_lifecycle_idempotent(gateway: Gateway, rpc_error) -> None:
    rid = _rid()
    create = pb.CreateUserRequest(
        request_id=rid,
        user=user_pb2.User(group="demo\\forex", name="Ada Lovelace", leverage=100),
        main_password="Secret#123",
        investor_password="Invest#123",
    )
    created = await gateway.users.CreateUser(create)
    login = created.user.login
    assert login > 0
    assert created.user.name == "Ada Lovelace"
    adds = await gateway.requests("user/add")
    # A repeat with the same request_id replays without a second MT5 write.
    again = await gateway.users.CreateUser(create)
    assert again == created
    assert await gateway.requests("user/add") == adds
    # Same id, different payload: a conflict.
    changed = pb.CreateUserRequest()
    changed.CopyFrom(create)
    changed.user.name = "Someone Else"
    conflict = await rpc_error(gateway.users.CreateUser(changed))
    assert conflict.code is grpc.StatusCode.INVALID_ARGUMENT
    assert conflict.reason == "IDEMPOTENCY_CONFLICT"
    assert conflict.metadata["requestId"] == rid

    updated = await gateway.users.UpdateUser(
        pb.UpdateUserRequest(
            request_id=_rid(),
            user=user_pb2.User(login=login, name="Ada King", leverage=200),
            update_mask=field_mask_pb2.FieldMask(paths=["name", "leverage"]),
        )
    )
    assert updated.user.name == "Ada King"
    assert updated.user.leverage == 200

    await gateway.users.ChangeUserPassword(
        pb.ChangeUserPasswordRequest(
            request_id=_rid(),
            login=login,
            password_type=user_pb2.PASSWORD_TYPE_MAIN,
            new_password="Changed#456",
        )
    )
    check = await gateway.users.CheckUserPassword(
        pb.CheckUserPasswordRequest(
            login=login,
            password_type=user_pb2.PASSWORD_TYPE_MAIN,
            password="Changed#456",
        )
    )
    assert check.valid

    delete = pb.DeleteUserRequest(request_id=_rid(), login=login)
    await gateway.users.DeleteUser(delete)
    await gateway.users.DeleteUser(delete)  # replayed, not NOT_FOUND
    gone = await rpc_error(gateway.users.GetUser(pb.GetUserRequest(login=login)))
    assert gone.reason == "MT5_NOT_FOUND"


async def test_update_user_mask_rules(gateway: Gateway, rpc_error) -> None:
    before = await gateway.requests()
    failure = await rpc_error(
        gateway.users.UpdateUser(
            pb.UpdateUserRequest(
                request_id="not-a-uuid",
                user=user_pb2.User(login=FIRST),
                update_mask=field_mask_pb2.FieldMask(paths=["balance", "nonsense"]),
            )
        )
    )
    assert failure.reason == "VALIDATION_FAILED"
    assert set(failure.fields) == {
        "request_id",
        "update_mask.paths[0]",
        "update_mask.paths[1]",
    }
    assert await gateway.requests() == before


async def test_create_user_duplicate_login(gateway: Gateway, rpc_error) -> None:
    failure = await rpc_error(
        gateway.users.CreateUser(
            pb.CreateUserRequest(
                request_id=_rid(),
                user=user_pb2.User(
                    login=FIRST, group="demo\\forex", name="Dup", leverage=100
                ),
                main_password="Secret#123",
                investor_password="Invest#123",
            )
        )
    )
    assert failure.code is grpc.StatusCode.ALREADY_EXISTS
    assert failure.reason == "MT5_DUPLICATE"
    assert failure.metadata["mt5Command"] == "user/add"


async def test_unknown_server_name(gateway: Gateway, rpc_error) -> None:
    failure = await rpc_error(
        gateway.users.GetUser(pb.GetUserRequest(server="nope", login=FIRST))
    )
    assert failure.code is grpc.StatusCode.NOT_FOUND
    assert failure.reason == "SERVER_NOT_FOUND"
    assert failure.metadata["server"] == "nope"


async def test_money_is_exact(gateway: Gateway) -> None:
    reply = await gateway.users.GetUser(pb.GetUserRequest(login=FIRST))
    balance = money_from_proto(reply.user.balance)
    assert isinstance(balance, Decimal)
    assert balance == gateway.sim.broker.users[FIRST].balance
