"""UserService: users and account trade states (MT5 ``/api/user/*``)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from mt5gateway.v1 import user_service_pb2 as pb
from mt5gateway.v1 import user_service_pb2_grpc

from mt5gateway_server.log import redact
from mt5gateway_server.mapping.enums import PASSWORD_TYPE
from mt5gateway_server.mapping.users import (
    OUTPUT_ONLY_USER_FIELDS,
    UNWRITTEN_USER_FIELDS,
    UPDATABLE_USER_FIELDS,
    account_to_proto,
    new_user,
    user_to_proto,
    user_update,
)
from mt5gateway_server.rpc.interceptors import add_error_metadata
from mt5gateway_server.rpc.services.common import (
    WriteSpec,
    idempotent_write,
    page_cursor,
)
from mt5gateway_server.rpc.validation import Violations, shown
from mt5gateway_server.webapi import NotFound, OutcomeUnknown

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    import grpc
    from mt5gateway.v1 import user_pb2

    from mt5gateway_server.rpc.deps import ServiceDeps
    from mt5gateway_server.webapi import Account, User, WebApiClient

    Context = grpc.aio.ServicerContext[Any, Any]

__all__ = ["UserServicer"]

_SERVICE = "/mt5gateway.v1.UserService/"
RECORDS_DEFAULT, RECORDS_MAX = 100, 1000
LOGINS_DEFAULT, LOGINS_MAX = 1000, 10_000
PASSWORD_MIN, PASSWORD_MAX = 8, 16
LEVERAGE_MAX = 500  # MT5 refuses more on user/add and ignores it on user/update
RIGHTS_MAX = 2**63 - 1  # MT5 keeps a UINT64 bitmask; the proto's int64 stops here
# MT5's text buffers per User field, in UTF-16 code units without the terminator: the
# documented 127 (names, address) and 63 (company, comment); the other personal fields
# get the same 128-wchar buffers mt5sim keeps.
_TEXT_LIMITS: Mapping[str, int] = {
    "first_name": 127,
    "last_name": 127,
    "company": 63,
    "country": 127,
    "city": 127,
    "state": 127,
    "zip_code": 127,
    "address": 127,
    "phone": 127,
    "email": 127,
    "comment": 63,
    "status": 127,
    "lead_source": 127,
    "lead_campaign": 127,
}
_NAME_MAX = 127


def _optional_text(limit: int) -> Callable[[Violations, str, Any], None]:
    # Empty is allowed: in UpdateUser it clears the field.
    return lambda v, field, value: v.text(
        field, value, required=False, max_length=limit
    )


# One check per writable User field (UPDATABLE_USER_FIELDS; a test keeps them equal).
_USER_FIELD_CHECKS: Mapping[str, Callable[[Violations, str, Any], None]] = {
    "group": lambda v, field, value: v.group(field, value),
    "name": lambda v, field, value: v.text(field, value, max_length=_NAME_MAX),
    "leverage": lambda v, field, value: v.number(
        field, value, low=1, high=LEVERAGE_MAX
    ),
    "rights_mask": lambda v, field, value: v.number(
        field, value, low=0, high=RIGHTS_MAX
    ),
    "agent": lambda v, field, value: v.login(field, value, zero_means="no agent"),
    **{path: _optional_text(limit) for path, limit in _TEXT_LIMITS.items()},
}


def _check_user_fields(
    v: Violations, user: user_pb2.User, paths: Sequence[str]
) -> None:
    for path in paths:
        _USER_FIELD_CHECKS[path](v, f"user.{path}", getattr(user, path))


def _check_new_user(v: Violations, request: pb.CreateUserRequest) -> None:
    if not request.HasField("user"):
        v.add("user", "is required")
    user = request.user
    v.login("user.login", user.login, zero_means="allocated by MT5")
    # Required fields always, the others when set; output-only ones are ignored.
    required = ("group", "name", "leverage")
    given = {f.name for f, _ in user.ListFields()}
    _check_user_fields(
        v, user, [p for p in UPDATABLE_USER_FIELDS if p in required or p in given]
    )
    for name in sorted(given & UNWRITTEN_USER_FIELDS):
        v.add(f"user.{name}", "is not written by the gateway; leave it unset")
    for field in ("main_password", "investor_password"):
        v.text(
            field,
            getattr(request, field),
            min_length=PASSWORD_MIN,
            max_length=PASSWORD_MAX,
        )


def _check_update_mask(v: Violations, paths: Sequence[str]) -> list[str]:
    """Checks ``update_mask.paths``; the writable ones, each once."""
    if not paths:
        v.add("update_mask", "name at least one field")
    if len(paths) > len(UPDATABLE_USER_FIELDS):
        v.add("update_mask.paths", f"at most {len(UPDATABLE_USER_FIELDS)} paths")
        return []
    writable: list[str] = []
    for index, path in enumerate(paths):
        where = f"update_mask.paths[{index}]"
        if path in writable:
            v.add(where, f"{path} is named twice")
        elif path in UPDATABLE_USER_FIELDS:
            writable.append(path)
        elif path in OUTPUT_ONLY_USER_FIELDS:
            v.add(where, f"{path} is output only")
        elif path in UNWRITTEN_USER_FIELDS:
            v.add(where, f"{path} is not written by the gateway")
        else:
            v.add(where, f"unknown User field {shown(path)}")
    return writable


class UserServicer(user_service_pb2_grpc.UserServiceServicer):
    def __init__(self, deps: ServiceDeps) -> None:
        self._deps = deps

    # ------------------------------------------------------------------ helpers

    async def _users(self, client: WebApiClient, users: Sequence[User]) -> list[Any]:
        currencies = self._deps.currencies
        groups = {u.group for u in users}
        found = {g: await currencies.get(client, g) for g in groups}
        return [user_to_proto(u, found[u.group]) for u in users]

    async def _accounts(
        self, client: WebApiClient, accounts: Sequence[Account], users: Sequence[User]
    ) -> list[Any]:
        """Accounts carry no group: the currency comes from each login's group."""
        currencies = self._deps.currencies
        groups = {u.login: u.group for u in users}
        out = []
        for account in accounts:
            group = groups.get(account.login) or await client.user_group(account.login)
            out.append(account_to_proto(account, await currencies.get(client, group)))
        return out

    async def _logins_in(
        self, client: WebApiClient, logins: Sequence[int], groups: Sequence[str]
    ) -> list[int]:
        """The request's logins, or those of the group masks, sorted and unique."""
        if logins:
            return sorted(set(logins))
        return sorted(set(await client.user_logins(groups)))

    @staticmethod
    def _batch_checks(
        request: pb.BatchGetUsersRequest | pb.BatchGetAccountsRequest,
    ) -> None:
        v = Violations.of(request)
        v.logins("logins", request.logins)
        v.masks("groups", request.groups)
        if bool(request.logins) == bool(request.groups):
            v.add("logins", "set exactly one of logins and groups")
        v.check()

    @staticmethod
    def _login_checks(
        request: pb.GetUserRequest | pb.GetUserGroupRequest | pb.GetAccountRequest,
    ) -> None:
        v = Violations.of(request)
        v.login("login", request.login)
        v.check()
        add_error_metadata(login=request.login)

    # ------------------------------------------------------------------ reads

    async def GetUser(  # noqa: N802
        self,
        request: pb.GetUserRequest,
        context: Context,  # noqa: ARG002
    ) -> pb.GetUserResponse:
        self._login_checks(request)
        client = self._deps.client(request.server)
        user = await client.user_get(request.login)
        currency = await self._deps.currencies.get(client, user.group)
        return pb.GetUserResponse(user=user_to_proto(user, currency))

    async def BatchGetUsers(  # noqa: N802
        self,
        request: pb.BatchGetUsersRequest,
        context: Context,  # noqa: ARG002
    ) -> pb.BatchGetUsersResponse:
        self._batch_checks(request)
        cursor = page_cursor(request, default=RECORDS_DEFAULT, maximum=RECORDS_MAX)
        client = self._deps.client(request.server)
        logins = await self._logins_in(client, request.logins, request.groups)
        page, token = cursor.slice(logins)
        users = await client.user_get_batch(logins=page) if page else []
        users = sorted(users, key=lambda u: u.login)
        return pb.BatchGetUsersResponse(
            users=await self._users(client, users), next_page_token=token
        )

    async def ListUserLogins(  # noqa: N802
        self,
        request: pb.ListUserLoginsRequest,
        context: Context,  # noqa: ARG002
    ) -> pb.ListUserLoginsResponse:
        v = Violations.of(request)
        v.masks("groups", request.groups, required=True)
        v.check()
        cursor = page_cursor(request, default=LOGINS_DEFAULT, maximum=LOGINS_MAX)
        client = self._deps.client(request.server)
        logins = await self._logins_in(client, (), request.groups)
        page, token = cursor.slice(logins)
        return pb.ListUserLoginsResponse(logins=page, next_page_token=token)

    async def GetUserGroup(  # noqa: N802
        self,
        request: pb.GetUserGroupRequest,
        context: Context,  # noqa: ARG002
    ) -> pb.GetUserGroupResponse:
        self._login_checks(request)
        group = await self._deps.client(request.server).user_group(request.login)
        return pb.GetUserGroupResponse(group=group)

    async def CheckUserPassword(  # noqa: N802
        self,
        request: pb.CheckUserPasswordRequest,
        context: Context,  # noqa: ARG002
    ) -> pb.CheckUserPasswordResponse:
        v = Violations.of(request)
        v.login("login", request.login)
        v.enum("password_type", request.password_type, PASSWORD_TYPE)
        v.text("password", request.password, max_length=PASSWORD_MAX)
        v.check()
        add_error_metadata(login=request.login)
        client = self._deps.client(request.server)
        valid = await client.user_check_password(
            request.login,
            request.password,
            PASSWORD_TYPE.to_mt5(request.password_type),
        )
        return pb.CheckUserPasswordResponse(valid=valid)

    async def GetAccount(  # noqa: N802
        self,
        request: pb.GetAccountRequest,
        context: Context,  # noqa: ARG002
    ) -> pb.GetAccountResponse:
        self._login_checks(request)
        client = self._deps.client(request.server)
        account, group = await asyncio.gather(
            client.account_get(request.login), client.user_group(request.login)
        )
        currency = await self._deps.currencies.get(client, group)
        return pb.GetAccountResponse(account=account_to_proto(account, currency))

    async def BatchGetAccounts(  # noqa: N802
        self,
        request: pb.BatchGetAccountsRequest,
        context: Context,  # noqa: ARG002
    ) -> pb.BatchGetAccountsResponse:
        self._batch_checks(request)
        cursor = page_cursor(request, default=RECORDS_DEFAULT, maximum=RECORDS_MAX)
        client = self._deps.client(request.server)
        logins = await self._logins_in(client, request.logins, request.groups)
        page, token = cursor.slice(logins)
        accounts: list[Account] = []
        users: list[User] = []
        if page:
            accounts, users = await asyncio.gather(
                client.account_get_batch(logins=page),
                client.user_get_batch(logins=page),
            )
        accounts = sorted(accounts, key=lambda a: a.login)
        return pb.BatchGetAccountsResponse(
            accounts=await self._accounts(client, accounts, users),
            next_page_token=token,
        )

    async def GetUserCount(  # noqa: N802
        self,
        request: pb.GetUserCountRequest,
        context: Context,  # noqa: ARG002
    ) -> pb.GetUserCountResponse:
        Violations.of(request).check()
        count = await self._deps.client(request.server).user_total()
        return pb.GetUserCountResponse(user_count=count)

    # ------------------------------------------------------------------ writes

    async def CreateUser(  # noqa: N802
        self,
        request: pb.CreateUserRequest,
        context: Context,  # noqa: ARG002
    ) -> pb.CreateUserResponse:
        user = request.user
        v = Violations.of(request)
        v.request_id("request_id", request.request_id)
        _check_new_user(v, request)
        v.check()
        client = self._deps.client(request.server)

        async def send() -> User:
            return await client.user_add(new_user(request))

        async def respond(created: User) -> pb.CreateUserResponse:
            (converted,) = await self._users(client, [created])
            return pb.CreateUserResponse(user=converted)

        async def find(evidence: Mapping[str, str]) -> pb.CreateUserResponse | None:
            # A fixed login, or the one MT5 allocated if its answer arrived; an
            # allocated login whose answer was lost cannot be found.
            login = user.login or int(evidence.get("login", "0"))
            if login == 0:
                raise OutcomeUnknown(
                    "the allocated login is unknown",
                    command="user/add",
                    params={},
                    server=client.server,
                )
            try:
                found = await client.user_get(login)
            except NotFound:
                return None
            if found.group != user.group or found.name != user.name:
                # Someone else's account under that login (the lost answer may have
                # been "login exists"): not ours; a repeat gets MT5's own answer.
                return None
            return await respond(found)

        return await idempotent_write(
            self._deps,
            WriteSpec(
                method=_SERVICE + "CreateUser",
                operation="user_create",
                request=request,
                response_type=pb.CreateUserResponse,
                send=send,
                respond=respond,
                find=find,
                evidence=lambda created: {"login": str(created.login)},
                login=user.login or None,
                changes={"group": user.group, "name": user.name},
            ),
        )

    async def UpdateUser(  # noqa: N802
        self,
        request: pb.UpdateUserRequest,
        context: Context,  # noqa: ARG002
    ) -> pb.UpdateUserResponse:
        user = request.user
        paths = list(request.update_mask.paths)
        v = Violations.of(request)
        v.request_id("request_id", request.request_id)
        v.login("user.login", user.login)
        _check_user_fields(v, user, _check_update_mask(v, paths))
        v.check()
        add_error_metadata(login=user.login)
        client = self._deps.client(request.server)

        async def send() -> User:
            return await client.user_update(user.login, user_update(user, paths))

        async def respond(updated: User) -> pb.UpdateUserResponse:
            (converted,) = await self._users(client, [updated])
            return pb.UpdateUserResponse(user=converted)

        changes = {p: str(getattr(user, p)) for p in paths}
        return await idempotent_write(
            self._deps,
            WriteSpec(
                method=_SERVICE + "UpdateUser",
                operation="user_update",
                request=request,
                response_type=pb.UpdateUserResponse,
                send=send,
                respond=respond,
                repeatable=True,  # setting the same values again changes nothing
                login=user.login,
                changes=redact(changes),  # type: ignore[arg-type]
            ),
        )

    async def DeleteUser(  # noqa: N802
        self,
        request: pb.DeleteUserRequest,
        context: Context,  # noqa: ARG002
    ) -> pb.DeleteUserResponse:
        v = Violations.of(request)
        v.request_id("request_id", request.request_id)
        v.login("login", request.login)
        v.check()
        add_error_metadata(login=request.login)
        client = self._deps.client(request.server)

        async def send() -> None:
            await client.user_delete(request.login)

        async def respond(_: None) -> pb.DeleteUserResponse:
            return pb.DeleteUserResponse()

        async def find(_: Mapping[str, str]) -> pb.DeleteUserResponse | None:
            try:
                await client.user_get(request.login)
            except NotFound:
                return pb.DeleteUserResponse()  # gone: the earlier attempt worked
            return None

        return await idempotent_write(
            self._deps,
            WriteSpec(
                method=_SERVICE + "DeleteUser",
                operation="user_delete",
                request=request,
                response_type=pb.DeleteUserResponse,
                send=send,
                respond=respond,
                find=find,
                repeatable=True,  # deleting again deletes nothing more
                login=request.login,
            ),
        )

    async def ChangeUserPassword(  # noqa: N802
        self,
        request: pb.ChangeUserPasswordRequest,
        context: Context,  # noqa: ARG002
    ) -> pb.ChangeUserPasswordResponse:
        v = Violations.of(request)
        v.request_id("request_id", request.request_id)
        v.login("login", request.login)
        v.enum("password_type", request.password_type, PASSWORD_TYPE)
        v.text(
            "new_password",
            request.new_password,
            min_length=PASSWORD_MIN,
            max_length=PASSWORD_MAX,
        )
        v.check()
        add_error_metadata(login=request.login)
        client = self._deps.client(request.server)
        kind = PASSWORD_TYPE.to_mt5(request.password_type)

        async def send() -> None:
            await client.user_change_password(request.login, request.new_password, kind)

        async def respond(_: None) -> pb.ChangeUserPasswordResponse:
            return pb.ChangeUserPasswordResponse()

        return await idempotent_write(
            self._deps,
            WriteSpec(
                method=_SERVICE + "ChangeUserPassword",
                operation="user_password_change",
                request=request,
                response_type=pb.ChangeUserPasswordResponse,
                send=send,
                respond=respond,
                repeatable=True,  # setting the same password again changes nothing
                login=request.login,
                changes={"password_type": kind.value},
            ),
        )
