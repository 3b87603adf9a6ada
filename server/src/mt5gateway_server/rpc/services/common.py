"""Helpers every servicer shares: paging over MT5 answers, writes through the engine.

Keeping these in one place is what stops each service from growing its own slightly
different pagination and exactly-once code.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from mt5gateway_server.mapping.pagination import (
    Page,
    decode_page,
    next_token,
    request_fingerprint,
)
from mt5gateway_server.rpc.interceptors import current_call
from mt5gateway_server.webapi import TimeConvention, WebApiError
from mt5gateway_server.writes import (
    Caller,
    Lookup,
    Verdict,
    canonical_request_id,
    fingerprint,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping, Sequence

    from google.protobuf.message import Message

    from mt5gateway_server.rpc.deps import ServiceDeps
    from mt5gateway_server.webapi import WebApiClient
    from mt5gateway_server.writes import WriteRecord

__all__ = [
    "CurrencyCache",
    "PageCursor",
    "WriteSpec",
    "caller",
    "idempotent_write",
    "page_cursor",
    "time_convention",
]

T = TypeVar("T")
A = TypeVar("A")
M = TypeVar("M", bound="Message")


# ------------------------------------------------------------------ pagination


class _Paged(Protocol):
    page_size: int
    page_token: str


@dataclass(frozen=True, slots=True)
class PageCursor:
    """The page a List/BatchGet request asks for, bound to its filters."""

    page: Page
    fingerprint: str

    def slice(self, items: Sequence[T]) -> tuple[list[T], str]:
        """This page of ``items`` (the full, stably ordered answer) and the next
        token ("" at the end)."""
        chunk = list(items[self.page.offset : self.page.end])
        return chunk, next_token(self.page, len(items), self.fingerprint)

    def next_after(self, total: int) -> str:
        return next_token(self.page, total, self.fingerprint)


def page_cursor(request: Message, *, default: int, maximum: int) -> PageCursor:
    paged: _Paged = request  # type: ignore[assignment]
    fp = request_fingerprint(request)
    page = decode_page(
        paged.page_token, paged.page_size, fp, default=default, maximum=maximum
    )
    return PageCursor(page, fp)


def time_convention(client: WebApiClient) -> TimeConvention:
    """How this server's MT5 time stamps become UTC (for fields the DTOs left raw)."""
    return client.time_convention


# ------------------------------------------------------------------ currencies


@dataclass
class CurrencyCache:
    """Group -> deposit currency, per MT5 server; Money fields need it on every
    user and account, and groups rarely change their currency."""

    ttl_seconds: float = 300.0
    clock: Callable[[], float] = time.monotonic
    _entries: dict[tuple[str, str], tuple[float, str]] = field(default_factory=dict)

    async def get(self, client: WebApiClient, group: str) -> str:
        key = (client.server, group)
        now = self.clock()
        hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        currency = (await client.group_get(group)).currency
        self._entries[key] = (now + self.ttl_seconds, currency)
        return currency

    def clear(self) -> None:
        self._entries.clear()


# ------------------------------------------------------------------ writes


def caller() -> Caller:
    """Who is calling, for the audit trail."""
    call = current_call()
    if call is None:
        return Caller()
    return Caller(identity=call.caller, peer=call.peer)


@dataclass(frozen=True, slots=True, kw_only=True)
class WriteSpec(Generic[A, M]):
    """One mutating RPC (other than balance operations) for the write engine."""

    method: str  # full gRPC method, the idempotency and audit key
    operation: str  # audit name: "user_create", "user_delete", ...
    request: Message  # has `request_id` and `server`
    response_type: type[M]
    send: Callable[[], Awaitable[A]]  # the one MT5 write
    respond: Callable[[A], Awaitable[M]]  # the response from its answer (may read)
    # Looks an earlier attempt's effect up from its evidence: the response if it
    # applied, None if provably not; raises a Web API error if it cannot tell. Without
    # it a repeat after an unknown outcome answers MT5_OUTCOME_UNKNOWN again.
    find: Callable[[Mapping[str, str]], Awaitable[M | None]] | None = None
    # What identifies the effect (e.g. an allocated login) for ``find``.
    evidence: Callable[[A], Mapping[str, str]] | None = None
    # Sending it again changes nothing further (same values, same password).
    repeatable: bool = False
    login: int | None = None
    changes: Mapping[str, str] = field(default_factory=dict)


class _SpecWrite(Generic[A, M]):
    """A ``WriteSpec`` as the engine's ``WriteOperation``."""

    def __init__(self, spec: WriteSpec[A, M], server: str) -> None:
        self._spec = spec
        self.method = spec.method
        # One key per UUID whatever its spelling (validation made sure it is one).
        raw: str = getattr(spec.request, "request_id", "")
        self.request_id = canonical_request_id(raw) or raw
        self.server = server
        self.repeatable = spec.repeatable
        copy = type(spec.request)()
        copy.CopyFrom(spec.request)
        copy.ClearField("request_id")
        self.fingerprint = fingerprint(
            spec.method, copy.SerializeToString(deterministic=True)
        )

    async def prepare(self) -> None:
        return None

    async def send(self) -> A:
        return await self._spec.send()

    async def result(self, answer: A) -> M:
        return await self._spec.respond(answer)

    async def find(self, record: WriteRecord) -> Lookup[M]:
        if self._spec.find is None:
            return Lookup(Verdict.UNKNOWN)
        try:
            found = await self._spec.find(record.details)
        except WebApiError:
            return Lookup(Verdict.UNKNOWN)
        return Lookup(Verdict.ABSENT) if found is None else Lookup.found(found)

    def evidence(self, answer: A) -> Mapping[str, str]:
        return {} if self._spec.evidence is None else self._spec.evidence(answer)

    def encode(self, result: M) -> bytes:
        return result.SerializeToString()

    def decode(self, payload: bytes) -> M:
        return self._spec.response_type.FromString(payload)

    def audit_facts(self, result: M | None) -> dict[str, Any]:
        del result
        return {
            "operation": self._spec.operation,
            "login": self._spec.login,
            "changes": dict(self._spec.changes),
        }


async def idempotent_write(deps: ServiceDeps, spec: WriteSpec[A, M]) -> M:
    """Run a mutation at most once per request_id and audit it (``writes.engine``)."""
    server = deps.server_name(getattr(spec.request, "server", ""))
    outcome = await deps.writes.run(_SpecWrite(spec, server), caller())
    return outcome.result
