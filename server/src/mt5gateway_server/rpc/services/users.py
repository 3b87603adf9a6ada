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
    UPDATABLE_USER_FIELDS,
    account_to_proto,
    user_to_proto,
    user_update,
)
from mt5gateway_server.rpc.interceptors import add_error_metadata
from mt5gateway_server.rpc.services.common import (
    WriteSpec,
    idempotent_write,
    page_cursor,
)
from mt5gateway_server.rpc.validation import Violations
from mt5gateway_server.webapi import NewUser, NotFound

if TYPE_CHECKING:
    from collections.abc import Sequence

    import grpc

    from mt5gateway_server.rpc.deps import ServiceDeps
    from mt5gateway_server.webapi import Account, User, WebApiClient

    Context = grpc.aio.ServicerContext[Any, Any]

__all__ = ["UserServicer"]

_SERVICE = "/mt5gateway.v1.UserService/"
RECORDS_DEFAULT, RECORDS_MAX = 100, 1000
LOGINS_DEFAULT, LOGINS_MAX = 1000, 10_000
PASSWORD_MIN, PASSWORD_MAX = 8, 16
_TEXT_LIMITS = {
    "name": 127,
    "first_name": 127,
    "last_name": 127,
    "middle_name": 127,
    "company": 63,
    "address": 127,
    "comment": 63,
    "group": 63,
}


def _check_user_fields(v: Violations, user: Any, paths: Sequence[str]) -> None:  # noqa: ANN401
    for path in paths:
        limit = _TEXT_LIMITS.get(path)
        if limit is not None:
            v.text(f"user.{path}", getattr(user, path), max_length=limit)
    if "leverage" in paths and not 1 <= user.leverage <= 10_000:
        v.add("user.leverage", "must be 1 or more")
    if "rights_mask" in paths and user.rights_mask < 0:
        v.add("user.rights_mask", "must not be negative")
    if "agent" in paths and user.agent < 0:
        v.add("user.agent", "must be 0 or a login")


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
    def _batch_checks(request: Any) -> None:  # noqa: ANN401
        v = Violations()
        v.logins("logins", request.logins)
        v.masks("groups", request.groups)
        if bool(request.logins) == bool(request.groups):
            v.add("logins", "set exactly one of logins and groups")
        v.page_size("page_size", request.page_size)
        v.check()

    # ------------------------------------------------------------------ reads

    async def GetUser(  # noqa: N802
        self,
        request: pb.GetUserRequest,
        context: Context,  # noqa: ARG002
    ) -> pb.GetUserResponse:
        v = Violations()
        v.login("login", request.login)
        v.check()
        add_error_metadata(login=request.login)
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
        v = Violations()
        v.masks("groups", request.groups, required=True)
        v.page_size("page_size", request.page_size)
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
        v = Violations()
        v.login("login", request.login)
        v.check()
        add_error_metadata(login=request.login)
        group = await self._deps.client(request.server).user_group(request.login)
        return pb.GetUserGroupResponse(group=group)

    async def CheckUserPassword(  # noqa: N802
        self,
        request: pb.CheckUserPasswordRequest,
        context: Context,  # noqa: ARG002
    ) -> pb.CheckUserPasswordResponse:
        v = Violations()
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
        v = Violations()
        v.login("login", request.login)
        v.check()
        add_error_metadata(login=request.login)
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
        count = await self._deps.client(request.server).user_total()
        return pb.GetUserCountResponse(user_count=count)

    # ------------------------------------------------------------------ writes

    async def CreateUser(  # noqa: N802
        self,
        request: pb.CreateUserRequest,
        context: Context,  # noqa: ARG002
    ) -> pb.CreateUserResponse:
        user = request.user
        v = Violations()
        v.request_id("request_id", request.request_id)
        if not request.HasField("user"):
            v.add("user", "is required")
        if user.login < 0:
            v.add("user.login", "must be 0 (allocated by MT5) or a login")
        _check_user_fields(v, user, ["group", "name", "leverage", "rights_mask"])
        for field in ("first_name", "last_name", "company", "address", "comment"):
            v.text(
                f"user.{field}", getattr(user, field), required=False, max_length=127
            )
        for field in ("main_password", "investor_password"):
            v.text(
                field,
                getattr(request, field),
                min_length=PASSWORD_MIN,
                max_length=PASSWORD_MAX,
            )
        v.check()
        client = self._deps.client(request.server)

        async def execute() -> pb.CreateUserResponse:
            created = await client.user_add(
                NewUser(
                    login=user.login,
                    group=user.group,
                    name=user.name,
                    leverage=user.leverage,
                    password_main=request.main_password,
                    password_investor=request.investor_password,
                    rights=user.rights_mask or None,
                    first_name=user.first_name or None,
                    last_name=user.last_name or None,
                    company=user.company or None,
                    country=user.country or None,
                    city=user.city or None,
                    state=user.state or None,
                    zip_code=user.zip_code or None,
                    address=user.address or None,
                    phone=user.phone or None,
                    email=user.email or None,
                    comment=user.comment or None,
                    status=user.status or None,
                    agent=user.agent or None,
                    lead_source=user.lead_source or None,
                    lead_campaign=user.lead_campaign or None,
                )
            )
            (converted,) = await self._users(client, [created])
            return pb.CreateUserResponse(user=converted)

        async def reconcile() -> pb.CreateUserResponse | None:
            # Only a fixed login can be looked up; MT5-allocated ones cannot.
            if user.login == 0:
                return None
            try:
                found = await client.user_get(user.login)
            except NotFound:
                return None
            (converted,) = await self._users(client, [found])
            return pb.CreateUserResponse(user=converted)

        return await idempotent_write(
            self._deps,
            WriteSpec(
                method=_SERVICE + "CreateUser",
                operation="user_create",
                request=request,
                response_type=pb.CreateUserResponse,
                execute=execute,
                reconcile=reconcile,
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
        v = Violations()
        v.request_id("request_id", request.request_id)
        v.login("user.login", user.login)
        if not paths:
            v.add("update_mask", "name at least one field")
        for index, path in enumerate(paths):
            if path in OUTPUT_ONLY_USER_FIELDS:
                v.add(f"update_mask.paths[{index}]", f"{path} is output only")
            elif path not in UPDATABLE_USER_FIELDS:
                v.add(f"update_mask.paths[{index}]", f"unknown User field {path!r}")
        _check_user_fields(v, user, paths)
        v.check()
        add_error_metadata(login=user.login)
        client = self._deps.client(request.server)

        async def execute() -> pb.UpdateUserResponse:
            updated = await client.user_update(user.login, user_update(user, paths))
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
                execute=execute,
                reconcile=execute,  # setting the same values again is harmless
                login=user.login,
                changes=redact(changes),  # type: ignore[arg-type]
            ),
        )

    async def DeleteUser(  # noqa: N802
        self,
        request: pb.DeleteUserRequest,
        context: Context,  # noqa: ARG002
    ) -> pb.DeleteUserResponse:
        v = Violations()
        v.request_id("request_id", request.request_id)
        v.login("login", request.login)
        v.check()
        add_error_metadata(login=request.login)
        client = self._deps.client(request.server)

        async def execute() -> pb.DeleteUserResponse:
            await client.user_delete(request.login)
            return pb.DeleteUserResponse()

        async def reconcile() -> pb.DeleteUserResponse | None:
            try:
                await client.user_get(request.login)
            except NotFound:
                return pb.DeleteUserResponse()  # gone: the earlier attempt worked
            return await execute()

        return await idempotent_write(
            self._deps,
            WriteSpec(
                method=_SERVICE + "DeleteUser",
                operation="user_delete",
                request=request,
                response_type=pb.DeleteUserResponse,
                execute=execute,
                reconcile=reconcile,
                login=request.login,
            ),
        )

    async def ChangeUserPassword(  # noqa: N802
        self,
        request: pb.ChangeUserPasswordRequest,
        context: Context,  # noqa: ARG002
    ) -> pb.ChangeUserPasswordResponse:
        v = Violations()
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

        async def execute() -> pb.ChangeUserPasswordResponse:
            await client.user_change_password(request.login, request.new_password, kind)
            return pb.ChangeUserPasswordResponse()

        return await idempotent_write(
            self._deps,
            WriteSpec(
                method=_SERVICE + "ChangeUserPassword",
                operation="user_password_change",
                request=request,
                response_type=pb.ChangeUserPasswordResponse,
                execute=execute,
                reconcile=execute,  # setting the same password again is harmless
                login=request.login,
                changes={"password_type": kind.value},
            ),
        )
