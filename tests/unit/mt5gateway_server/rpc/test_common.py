"""Service helpers: page cursors, the currency cache, idempotent audited writes."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from typing import Any

import pytest
from mt5gateway.v1 import user_pb2
from mt5gateway.v1 import user_service_pb2 as pb
from mt5gateway_server.audit import AuditOutcome
from mt5gateway_server.errors import ServerNotFoundError
from mt5gateway_server.rpc.deps import ServiceDeps
from mt5gateway_server.rpc.services.common import (
    CurrencyCache,
    WriteSpec,
    idempotent_write,
    page_cursor,
)
from mt5gateway_server.webapi import ConnectError, NoMoney, OutcomeUnknown
from mt5gateway_server.writes import (
    IdempotencyConflictError,
    MemoryWriteStore,
    OutcomeUnknownError,
    WriteEngine,
)

RID = "5b0c2a3e-2a65-4a59-9b3f-3f2f1d0a9c11"
METHOD = "/mt5gateway.v1.UserService/UpdateUser"


class Pools:
    names = ("main",)
    default = "main"


class Replays:
    def __init__(self) -> None:
        self.replays: list[str] = []

    def record_idempotency_replay(self, method: str) -> None:
        self.replays.append(method)

    def record_write_outcome(self, method: str, outcome: str) -> None:
        del method, outcome

    def record_duplicate_write(self, method: str) -> None:
        del method


REPLAYS = Replays()


def _deps() -> tuple[ServiceDeps, MemoryWriteStore]:
    store = MemoryWriteStore(lease_seconds=30, wait_timeout_seconds=1)
    REPLAYS.replays.clear()
    deps = ServiceDeps(
        pools=Pools(),  # type: ignore[arg-type]
        settings=None,  # type: ignore[arg-type]
        writes=WriteEngine(store, settle_seconds=lambda _: 0.0, metrics=REPLAYS),
    )
    return deps, store


async def _respond(answer: Any) -> pb.UpdateUserResponse:
    return pb.UpdateUserResponse(user=user_pb2.User(login=7, name=str(answer)))


def _spec(send: Any, find: Any = None, name: str = "A") -> WriteSpec[Any, Any]:
    request = pb.UpdateUserRequest(
        request_id=RID, user=user_pb2.User(login=7, name=name)
    )
    return WriteSpec(
        method=METHOD,
        operation="user_update",
        request=request,
        response_type=pb.UpdateUserResponse,
        send=send,
        respond=_respond,
        find=find,
        login=7,
    )


def _outcomes(store: MemoryWriteStore) -> list[AuditOutcome]:
    return [r.outcome for r in store.audit_records]


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
    with pytest.raises(ServerNotFoundError):
        deps.server_name("other")


async def test_write_runs_once_then_replays() -> None:
    deps, store = _deps()
    runs: list[int] = []

    async def send() -> str:
        runs.append(1)
        return "A"

    first = await idempotent_write(deps, _spec(send))
    again = await idempotent_write(deps, _spec(send))
    assert first == again
    assert runs == [1]
    assert _outcomes(store) == [
        AuditOutcome.ATTEMPTING,
        AuditOutcome.SUCCEEDED,
        AuditOutcome.REPLAYED,
    ]
    assert store.audit_records[1].operation == "user_update"
    assert store.audit_records[1].login == 7
    assert REPLAYS.replays == [METHOD]  # counted once per replay (was twice)


async def test_rejection_is_stored_and_repeated() -> None:
    deps, store = _deps()
    runs: list[int] = []

    async def send() -> str:
        runs.append(1)
        raise NoMoney(10019, "No money", server="main", command="user/update")

    with pytest.raises(NoMoney):
        await idempotent_write(deps, _spec(send))
    with pytest.raises(NoMoney) as replayed:  # the same error, from the store
        await idempotent_write(deps, _spec(send))
    assert runs == [1]
    assert replayed.value.retcode == 10019
    assert replayed.value.command == "user/update"
    assert store.audit_records[1].retcode == 10019


async def test_never_sent_is_released_for_a_retry() -> None:
    deps, _ = _deps()
    attempts: list[int] = []

    async def send() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectError("down")
        return "B"

    with pytest.raises(ConnectError):
        await idempotent_write(deps, _spec(send))
    await idempotent_write(deps, _spec(send))
    assert len(attempts) == 2


async def test_a_read_after_the_write_never_repeats_it() -> None:
    """The answer is built after the write; its failure must not re-send the write."""
    deps, _ = _deps()
    sent: list[int] = []

    async def send() -> str:
        sent.append(1)
        return "C"

    spec = _spec(send)

    async def respond_fails(answer: Any) -> pb.UpdateUserResponse:
        raise ConnectError(f"group/get for {answer} failed")  # a never-sent READ

    broken = dataclasses.replace(spec, respond=respond_fails)
    with pytest.raises(OutcomeUnknownError):  # it applied: never answered as failed
        await idempotent_write(deps, broken)
    with pytest.raises(OutcomeUnknownError):  # no find: cannot tell, never re-sent
        await idempotent_write(deps, spec)
    assert sent == [1]


async def test_unknown_outcome_is_reconciled_next_time() -> None:
    deps, store = _deps()

    async def lost() -> str:
        raise OutcomeUnknown("lost", command="user/update", params={})

    async def found(evidence: Any) -> pb.UpdateUserResponse:
        del evidence
        return pb.UpdateUserResponse(user=user_pb2.User(login=7))

    with pytest.raises(OutcomeUnknownError):
        await idempotent_write(deps, _spec(lost))
    # Without a way to look it up, a repeat still cannot tell.
    with pytest.raises(OutcomeUnknownError):
        await idempotent_write(deps, _spec(lost))
    reply = await idempotent_write(deps, _spec(lost, find=found))
    assert reply.user.login == 7
    assert _outcomes(store) == [
        AuditOutcome.ATTEMPTING,
        AuditOutcome.UNKNOWN,
        AuditOutcome.UNKNOWN,
        AuditOutcome.SUCCEEDED,
    ]


async def test_conflicting_payload() -> None:
    deps, _ = _deps()

    async def send() -> str:
        return "A"

    await idempotent_write(deps, _spec(send, name="A"))
    with pytest.raises(IdempotencyConflictError):
        await idempotent_write(deps, _spec(send, name="B"))


async def test_a_repeatable_write_without_a_look_up_is_sent_again() -> None:
    """UpdateUser / ChangeUserPassword: after a lost answer the repeat re-sends (it
    changes nothing further) instead of answering 'unknown' for a day."""
    deps, store = _deps()
    sent: list[int] = []

    async def send() -> str:
        sent.append(1)
        if len(sent) == 1:
            raise OutcomeUnknown("lost", command="user/update", params={})
        return "again"

    spec = dataclasses.replace(_spec(send), repeatable=True)
    with pytest.raises(OutcomeUnknownError):
        await idempotent_write(deps, spec)
    reply = await idempotent_write(deps, spec)
    assert reply.user.name == "again"
    assert sent == [1, 1]
    assert _outcomes(store) == [
        AuditOutcome.ATTEMPTING,
        AuditOutcome.UNKNOWN,
        AuditOutcome.ATTEMPTING,
        AuditOutcome.SUCCEEDED,
    ]
