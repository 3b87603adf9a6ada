"""Service helpers: page cursors, the currency cache, idempotent audited writes."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import grpc
import pytest
from mt5gateway.v1 import user_pb2
from mt5gateway.v1 import user_service_pb2 as pb
from mt5gateway_server.audit import AuditOutcome, AuditRecord
from mt5gateway_server.cache.idempotency import InMemoryIdempotencyStore
from mt5gateway_server.errors import GatewayError, ServerNotFound
from mt5gateway_server.rpc.deps import ServiceDeps
from mt5gateway_server.rpc.services.common import (
    CurrencyCache,
    WriteSpec,
    idempotent_write,
    page_cursor,
)
from mt5gateway_server.webapi import ConnectError, NoMoney, OutcomeUnknown

RID = "5b0c2a3e-2a65-4a59-9b3f-3f2f1d0a9c11"
METHOD = "/mt5gateway.v1.UserService/UpdateUser"


class Audit:
    def __init__(self) -> None:
        self.records: list[AuditRecord] = []

    async def write(self, record: AuditRecord) -> None:
        self.records.append(record)


class Pools:
    names = ("main",)
    default = "main"


def _deps() -> tuple[ServiceDeps, Audit]:
    audit = Audit()
    store = InMemoryIdempotencyStore(
        ttl_seconds=86_400, lease_seconds=30, wait_timeout_seconds=1
    )
    deps = ServiceDeps(
        pools=Pools(),  # type: ignore[arg-type]
        settings=None,  # type: ignore[arg-type]
        idempotency=store,
        audit=audit,  # type: ignore[arg-type]
    )
    return deps, audit


def _spec(execute: Any, reconcile: Any = None, name: str = "A") -> WriteSpec[Any]:
    request = pb.UpdateUserRequest(
        request_id=RID, user=user_pb2.User(login=7, name=name)
    )
    return WriteSpec(
        method=METHOD,
        operation="user_update",
        request=request,
        response_type=pb.UpdateUserResponse,
        execute=execute,
        reconcile=reconcile,
        login=7,
    )


def test_page_cursor_slices_and_binds() -> None:
    request = pb.ListUserLoginsRequest(groups=["*"], page_size=2)
    cursor = page_cursor(request, default=10, maximum=100)
    page, token = cursor.slice([1, 2, 3])
    assert page == [1, 2]
    request.page_token = token
    second = page_cursor(request, default=10, maximum=100)
    assert second.slice([1, 2, 3]) == ([3], "")


async def test_currency_cache_hits_and_expires() -> None:
    now = [0.0]
    calls: list[str] = []

    async def group_get(group: str) -> Any:
        calls.append(group)
        return SimpleNamespace(currency="EUR")

    client: Any = SimpleNamespace(server="main", group_get=group_get)
    cache = CurrencyCache(ttl_seconds=10, clock=lambda: now[0])
    assert await cache.get(client, "g") == "EUR"
    assert await cache.get(client, "g") == "EUR"
    now[0] = 11
    assert await cache.get(client, "g") == "EUR"
    assert calls == ["g", "g"]


def test_server_name_resolution() -> None:
    deps, _ = _deps()
    assert deps.server_name("") == "main"
    with pytest.raises(ServerNotFound):
        deps.server_name("other")


async def test_write_runs_once_then_replays() -> None:
    deps, audit = _deps()
    runs: list[int] = []

    async def execute() -> pb.UpdateUserResponse:
        runs.append(1)
        return pb.UpdateUserResponse(user=user_pb2.User(login=7, name="A"))

    first = await idempotent_write(deps, _spec(execute))
    again = await idempotent_write(deps, _spec(execute))
    assert first == again
    assert runs == [1]
    assert [r.outcome for r in audit.records] == [
        AuditOutcome.SUCCEEDED,
        AuditOutcome.REPLAYED,
    ]


async def test_rejection_is_stored_and_repeated() -> None:
    deps, audit = _deps()
    runs: list[int] = []

    async def execute() -> pb.UpdateUserResponse:
        runs.append(1)
        raise NoMoney(10019, "No money", server="main", command="user/update")

    with pytest.raises(NoMoney):
        await idempotent_write(deps, _spec(execute))
    with pytest.raises(GatewayError) as replayed:
        await idempotent_write(deps, _spec(execute))
    assert runs == [1]
    assert replayed.value.code is grpc.StatusCode.FAILED_PRECONDITION
    assert replayed.value.metadata["retcode"] == "10019"
    assert audit.records[0].retcode == 10019


async def test_never_sent_is_released_for_a_retry() -> None:
    deps, _ = _deps()
    attempts: list[int] = []

    async def execute() -> pb.UpdateUserResponse:
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectError("down")
        return pb.UpdateUserResponse()

    with pytest.raises(ConnectError):
        await idempotent_write(deps, _spec(execute))
    await idempotent_write(deps, _spec(execute))
    assert len(attempts) == 2


async def test_unknown_outcome_is_reconciled_next_time() -> None:
    deps, audit = _deps()

    async def lost() -> pb.UpdateUserResponse:
        raise OutcomeUnknown("lost", command="user/update", params={})

    async def found() -> pb.UpdateUserResponse:
        return pb.UpdateUserResponse(user=user_pb2.User(login=7))

    with pytest.raises(OutcomeUnknown):
        await idempotent_write(deps, _spec(lost))
    # Without a way to look it up, a repeat still cannot tell.
    with pytest.raises(OutcomeUnknown):
        await idempotent_write(deps, _spec(lost))
    reply = await idempotent_write(deps, _spec(lost, reconcile=found))
    assert reply.user.login == 7
    assert [r.outcome for r in audit.records] == [
        AuditOutcome.UNKNOWN,
        AuditOutcome.UNKNOWN,
        AuditOutcome.SUCCEEDED,
    ]


async def test_conflicting_payload() -> None:
    deps, _ = _deps()

    async def execute() -> pb.UpdateUserResponse:
        return pb.UpdateUserResponse()

    await idempotent_write(deps, _spec(execute, name="A"))
    with pytest.raises(Exception, match=r"payload|different") as caught:
        await idempotent_write(deps, _spec(execute, name="B"))
    assert type(caught.value).__name__ == "IdempotencyConflictError"
