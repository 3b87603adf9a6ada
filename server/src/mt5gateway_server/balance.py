"""Balance operations exactly once: claim, write, reconcile, audit.

Separate from the gRPC glue so it can be tested with a fake MT5 client and injected
clock and sleep. The flow for one ``CreateBalanceOperation``:

1. ``claim(method, request_id, fingerprint)`` in the idempotency store.
   ``REPLAY``: answer the stored result (or re-raise the stored MT5 rejection), no
   MT5 call. A different payload under the same id raises the store's conflict error;
   a concurrent duplicate waits inside ``claim`` for the first one.
2. Read the account (``user/get``) and its group's currency: the amount must have at
   most the currency's digits (MT5 would round it silently) and ``currency_code``, if
   given, must be the account currency. Failing that, or the read failing, releases
   the claim: nothing was written.
3. ``trade/balance`` with the comment ``gw:<tag> <comment>``; the tag is derived
   from the request_id, so the deal can be found again without the answer.
4. The write's outcome:

   - a ticket: stored as succeeded;
   - an MT5 rejection (no money 10019, 4005, 3, ...): stored as failed, so every
     repeat gets the same error;
   - "busy"/"no connection" retcodes and never-sent transport errors: the claim is
     released, a retry runs the write;
   - ``OutcomeUnknown`` (or retcode 9 / 10012 on the write): reconcile.

Reconciliation reads the login's deals around the attempt (``deal/get_batch`` by
login and time range) and looks for the tag with the same action and amount:

- found: stored as succeeded, answered as success;
- provably absent (every one of ``checks`` reads succeeded, the last one
  ``settle_seconds`` after the lost answer; MT5 applies a balance operation
  synchronously): the record stays ``unknown`` with ``outcome=not_applied`` and the
  caller gets ``NotAppliedError`` (UNAVAILABLE with RetryInfo). A repeat with the SAME
  request_id reconciles again and, when the deal is still absent, only then writes:
  never a blind second write. (A ``failed`` record would replay forever, so "not
  applied" is kept as a re-checkable ``unknown`` instead.)
- cannot tell (MT5 unreachable, or too little of the deadline left to re-check):
  stored ``unknown``, ``OutcomeUnknownError`` (DEADLINE_EXCEEDED,
  MT5_OUTCOME_UNKNOWN); a repeat reconciles again.

A repeat of an ``unknown`` record (or of a ``pending`` one whose owner died: lease
expired) reconciles: found -> success (``replayed``); absent -> "not applied" the
first time, the write itself only on the repeat after that "not applied" answer.
"""

from __future__ import annotations

import asyncio
import base64
import enum
import hashlib
import json
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol, Self

from mt5gateway_server.audit import AuditOutcome, AuditRecord
from mt5gateway_server.cache.idempotency import ClaimStatus, fingerprint
from mt5gateway_server.log import get_logger
from mt5gateway_server.webapi import errors as w
from mt5gateway_server.webapi.client import MAX_COMMENT, BalanceOperation
from mt5gateway_server.webapi.retry import remaining as deadline_remaining

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable, Mapping

    from mt5gateway_server.audit import AuditLog
    from mt5gateway_server.cache.idempotency import (
        Claim,
        IdempotencyRecord,
        IdempotencyStore,
    )
    from mt5gateway_server.webapi.models import Deal, Group, User

__all__ = [
    "MAX_AMOUNT",
    "MAX_USER_COMMENT",
    "METHOD",
    "TAG_PREFIX",
    "AmountError",
    "BalanceClient",
    "BalanceOutcome",
    "BalanceRequest",
    "BalanceResult",
    "BalanceWorkflow",
    "Caller",
    "CurrencyLookup",
    "NotAppliedError",
    "OutcomeUnknownError",
    "canonical_request_id",
    "comment_length",
    "mt5_comment",
    "reconciliation_tag",
]

_log = get_logger("balance")

METHOD = "/mt5gateway.v1.TradeService/CreateBalanceOperation"
MAX_AMOUNT = Decimal(1_000_000_000)  # MT5 answers 4005 above it (PROTOCOL.md §9.1)
TAG_PREFIX = "gw:"
_TAG_CHARS = 10  # base32: 50 bits of SHA-256 of the request_id
# "gw:XXXXXXXXXX " takes 14 of MT5's 31 comment characters.
MAX_USER_COMMENT = MAX_COMMENT - len(TAG_PREFIX) - _TAG_CHARS - 1
# Write failures that prove the request never reached MT5.
_NEVER_SENT = (
    w.ConnectError,
    w.PoolTimeout,
    w.CircuitOpen,
    w.DeadlineExceeded,
    w.AuthError,
)
# Reconciliation stops re-checking when less than this is left of the deadline.
_ANSWER_RESERVE_SECONDS = 0.2
_OPERATION_NAMES = {
    BalanceOperation.CREDIT: "credit",
    BalanceOperation.CHARGE: "charge",
    BalanceOperation.CORRECTION: "correction",
    BalanceOperation.BONUS: "bonus",
}


def reconciliation_tag(request_id: str) -> str:
    """``gw:`` + 10 base32 characters of SHA-256 of the canonical request_id."""
    digest = hashlib.sha256(request_id.encode("ascii")).digest()
    return TAG_PREFIX + base64.b32encode(digest).decode("ascii")[:_TAG_CHARS]


def mt5_comment(request_id: str, comment: str) -> str:
    """What MT5 stores: the tag first (so a cut can never lose it), then the comment."""
    tag = reconciliation_tag(request_id)
    return f"{tag} {comment}" if comment else tag


def comment_length(comment: str) -> int:
    """MT5 counts UTF-16 code units (32 wchar including the terminator)."""
    return len(comment.encode("utf-16-le")) // 2


def canonical_request_id(text: str) -> str | None:
    """Lower-case hyphenated UUID text, or None when ``text`` is no UUID."""
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None


class AmountError(Exception):
    """The amount does not suit the account (digits, currency); nothing was sent."""

    def __init__(self, field: str, description: str) -> None:
        super().__init__(description)
        self.field = field
        self.description = description


class OutcomeUnknownError(Exception):
    """The write may or may not have happened and reconciliation could not tell."""

    def __init__(self, request_id: str) -> None:
        super().__init__("the MT5 write was sent but its outcome is unknown")
        self.request_id = request_id


class NotAppliedError(Exception):
    """The write's answer was lost but MT5 provably did not apply it: retry with the
    same request_id (it reconciles once more, then writes)."""

    def __init__(self, request_id: str) -> None:
        super().__init__("MT5 did not apply the operation; retry with the same id")
        self.request_id = request_id


class BalanceClient(Protocol):
    """The part of ``WebApiClient`` the workflow uses (fakes implement it in tests)."""

    server: str

    async def user_get(self, login: int) -> User: ...

    async def group_get(self, group: str) -> Group: ...

    async def trade_balance(
        self,
        login: int,
        operation: BalanceOperation,
        amount: Decimal,
        comment: str = "",
        *,
        check_margin: bool = True,
    ) -> int: ...

    async def deal_get_batch(
        self,
        *,
        logins: Iterable[int] | None = None,
        groups: Iterable[str] | None = None,
        tickets: Iterable[int] | None = None,
        symbols: Iterable[str] | None = None,
        from_: datetime | None = None,
        to: datetime | None = None,
    ) -> list[Deal]: ...


class CurrencyLookup(Protocol):
    """Group -> account currency (``rpc.services.common.CurrencyCache``)."""

    async def get(self, client: Any, group: str) -> str: ...  # noqa: ANN401


@dataclass(frozen=True, slots=True, kw_only=True)
class BalanceRequest:
    """A validated request; ``request_id`` is canonical UUID text."""

    server: str
    request_id: str
    login: int
    action: BalanceOperation
    amount: Decimal
    currency_code: str  # as requested: "" or the account currency
    comment: str  # the caller's part, without the tag
    check_margin: bool

    @property
    def fingerprint(self) -> str:
        return fingerprint(
            METHOD,
            {
                "server": self.server,
                "login": self.login,
                "action": int(self.action),
                "amount": format(self.amount.normalize(), "f"),
                "currency": self.currency_code,
                "comment": self.comment,
                "check_margin": self.check_margin,
            },
        )

    @property
    def operation_name(self) -> str:
        if self.action is BalanceOperation.BALANCE:
            return "deposit" if self.amount > 0 else "withdrawal"
        return _OPERATION_NAMES[self.action]


@dataclass(frozen=True, slots=True, kw_only=True)
class BalanceResult:
    """The stored success: replayed byte for byte to every repeat."""

    login: int
    action: int
    amount: Decimal
    currency: str
    comment: str  # as sent to MT5, tag included
    deal_ticket: int
    create_time: datetime
    request_id: str
    margin_checked: bool

    def to_json(self) -> bytes:
        data = asdict(self)
        data["amount"] = format(self.amount, "f")
        data["create_time"] = self.create_time.isoformat()
        return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Self:
        data = json.loads(raw)
        data["amount"] = Decimal(data["amount"])
        data["create_time"] = datetime.fromisoformat(data["create_time"])
        return cls(**data)


@dataclass(frozen=True, slots=True)
class BalanceOutcome:
    result: BalanceResult
    replayed: bool  # the operation was made by an earlier call with this request_id
    reconciled: bool = False  # found by its tag after a lost answer


@dataclass(frozen=True, slots=True)
class Caller:
    identity: str = ""  # authenticated caller (API key name), "" with auth off
    peer: str = ""  # gRPC peer address


class _Verdict(enum.Enum):
    FOUND = "found"
    ABSENT = "absent"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class _Account:
    currency: str
    digits: int


class BalanceWorkflow:
    """One per process; ``run`` is safe to call concurrently."""

    def __init__(
        self,
        store: IdempotencyStore,
        audit: AuditLog | None,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        checks: int = 3,
        settle_seconds: float = 0.5,
        window_seconds: float = 300.0,
        currency_ttl_seconds: float = 60.0,
        currencies: CurrencyLookup | None = None,
        remaining: Callable[[], float | None] = deadline_remaining,
    ) -> None:
        if checks < 2:
            raise ValueError("checks must be 2 or more")
        self._store = store
        self._audit = audit
        self._clock = clock
        self._sleep = sleep
        self._checks = checks
        self._settle = settle_seconds
        # Deals are searched from the attempt minus this (clock skew, queued writes)
        # to now plus this.
        self._window = window_seconds
        self._currency_ttl = currency_ttl_seconds
        # The servicer shares its group -> currency cache; alone, the workflow keeps
        # its own.
        self._lookup = currencies
        self._remaining = remaining  # seconds left of the RPC's deadline, if any
        self._currencies: dict[tuple[str, str], tuple[float, str]] = {}

    async def run(
        self, request: BalanceRequest, client: BalanceClient, caller: Caller
    ) -> BalanceOutcome:
        """Raises AmountError, OutcomeUnknownError, NotAppliedError, the store's
        conflict/pending errors, or the Web API error of the read or write."""
        claim_ctx = self._store.claim(METHOD, request.request_id, request.fingerprint)
        async with claim_ctx as claim:
            if claim.status is ClaimStatus.REPLAY:
                assert claim.existing is not None  # noqa: S101 - store contract
                return await self._replay(claim.existing, request, caller)
            try:
                account = await self._account(client, request)
            except BaseException:
                # Nothing was written by this call; an earlier record stays as it was.
                await claim.release()
                raise
            if claim.status is ClaimStatus.RECONCILE:
                assert claim.existing is not None  # noqa: S101 - store contract
                earlier = claim.existing
                since = min(earlier.created_at, earlier.updated_at)
                return await self._reconcile(
                    claim, request, client, caller, account, since, earlier=earlier
                )
            return await self._write(claim, request, client, caller, account)

    # ------------------------------------------------------------------ steps

    async def _account(
        self, client: BalanceClient, request: BalanceRequest
    ) -> _Account:
        user = await client.user_get(request.login)
        account = _Account(
            await self._currency(client, user.group), user.currency_digits
        )
        exponent = request.amount.normalize().as_tuple().exponent
        places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        if places > account.digits:
            raise AmountError(
                "amount",
                f"the account currency {account.currency} has {account.digits} "
                f"decimal places; the amount has {places} (never rounded)",
            )
        if request.currency_code and request.currency_code != account.currency:
            raise AmountError(
                "amount.currency_code",
                f"must be empty or the account currency {account.currency}",
            )
        return account

    async def _currency(self, client: BalanceClient, group: str) -> str:
        if self._lookup is not None:
            return await self._lookup.get(client, group)
        key = (client.server, group)
        now = self._clock()
        cached = self._currencies.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        currency = (await client.group_get(group)).currency
        self._currencies[key] = (now + self._currency_ttl, currency)
        return currency

    async def _write(
        self,
        claim: Claim,
        request: BalanceRequest,
        client: BalanceClient,
        caller: Caller,
        account: _Account,
    ) -> BalanceOutcome:
        comment = mt5_comment(request.request_id, request.comment)
        started = self._clock()
        try:
            ticket = await client.trade_balance(
                request.login,
                request.action,
                request.amount,
                comment,
                check_margin=request.check_margin,
            )
        except w.OutcomeUnknown:
            return await self._reconcile(
                claim, request, client, caller, account, started, earlier=None
            )
        except w.RetcodeError as exc:
            if exc.retcode in w.OUTCOME_OPEN_RETCODES:
                return await self._reconcile(
                    claim, request, client, caller, account, started, earlier=None
                )
            if exc.retryable or isinstance(exc, w.AuthError):
                # MT5 answered "busy"/"not connected"/"not logged in": it did not
                # take the write.
                await claim.release()
                raise
            await claim.fail(
                json.dumps({"retcode": exc.retcode, "text": exc.text}).encode(),
                {"retcode": str(exc.retcode)},
            )
            await self._write_audit(
                request,
                caller,
                AuditOutcome.FAILED,
                comment,
                retcode=exc.retcode,
                currency=account.currency,
            )
            raise
        except _NEVER_SENT:
            # Connect failed, pool timeout, breaker open, deadline before sending.
            await claim.release()
            raise
        except (w.TransportError, w.ProtocolError):
            # A read error/timeout on a write (the session normally reports these
            # as OutcomeUnknown) or an answer we cannot parse: it may have applied.
            return await self._reconcile(
                claim, request, client, caller, account, started, earlier=None
            )
        result = self._result(request, account, comment, ticket)
        await claim.complete(result.to_json())
        await self._write_audit(
            request,
            caller,
            AuditOutcome.SUCCEEDED,
            comment,
            deal=ticket,
            currency=account.currency,
        )
        return BalanceOutcome(result, replayed=False)

    async def _reconcile(  # noqa: PLR0917 - one step of the flow above
        self,
        claim: Claim,
        request: BalanceRequest,
        client: BalanceClient,
        caller: Caller,
        account: _Account,
        since: float,
        *,
        earlier: IdempotencyRecord | None,
    ) -> BalanceOutcome:
        """``earlier`` None: the answer of this call's own write was lost. Otherwise
        the record of an earlier call whose outcome is unknown (stored unknown, or
        its owner died while pending)."""
        first = earlier is None
        comment = mt5_comment(request.request_id, request.comment)
        verdict, deal = await self._find(client, request, since)
        _log.info(
            "balance_reconciled",
            request_id=request.request_id,
            login=request.login,
            verdict=verdict.value,
            first=first,
        )
        if verdict is _Verdict.FOUND:
            assert deal is not None  # noqa: S101 - FOUND carries the deal
            result = self._result(request, account, comment, deal.ticket)
            await claim.complete(result.to_json())
            await self._write_audit(
                request,
                caller,
                AuditOutcome.SUCCEEDED,
                comment,
                deal=deal.ticket,
                changes={"reconciled": "found"},
                currency=account.currency,
            )
            return BalanceOutcome(result, replayed=not first, reconciled=True)
        if (
            verdict is _Verdict.ABSENT
            and earlier is not None
            and earlier.details.get("outcome") == "not_applied"
        ):
            # The caller was told "not applied" and retried with the same id; the
            # deal is still provably absent: this is the one write.
            return await self._write(claim, request, client, caller, account)
        details = {
            "outcome": "not_applied" if verdict is _Verdict.ABSENT else "unknown",
            "login": str(request.login),
            "amount": format(request.amount, "f"),
        }
        await claim.mark_unknown(details)
        if verdict is _Verdict.ABSENT:
            await self._write_audit(
                request,
                caller,
                AuditOutcome.FAILED,
                comment,
                changes={"reconciled": "not_applied"},
                currency=account.currency,
            )
            raise NotAppliedError(request.request_id)
        await self._write_audit(
            request, caller, AuditOutcome.UNKNOWN, comment, currency=account.currency
        )
        raise OutcomeUnknownError(request.request_id)

    async def _find(
        self, client: BalanceClient, request: BalanceRequest, since: float
    ) -> tuple[_Verdict, Deal | None]:
        """FOUND on the first read that shows the tagged deal; ABSENT only when every
        read succeeded, the last one ``settle_seconds`` after the first."""
        tag = reconciliation_tag(request.request_id)
        start = datetime.fromtimestamp(since - self._window, UTC)
        absent_reads = 0
        last_ok = False
        pause = self._settle / (self._checks - 1)
        for attempt in range(self._checks):
            if attempt:
                left = self._remaining()
                if left is not None and left < pause + _ANSWER_RESERVE_SECONDS:
                    # Keep time to answer: "unknown" beats the caller's own timeout.
                    break
                await self._sleep(pause)
            end = datetime.fromtimestamp(self._clock(), UTC) + timedelta(
                seconds=self._window
            )
            try:
                deals = await client.deal_get_batch(
                    logins=[request.login], from_=start, to=end
                )
            except w.WebApiError as exc:
                _log.warning(
                    "balance_reconcile_read_failed",
                    request_id=request.request_id,
                    error=type(exc).__name__,
                )
                last_ok = False
                continue
            for deal in deals:
                if (
                    deal.comment.startswith(tag)
                    and deal.action == request.action
                    and deal.profit == request.amount
                ):
                    return _Verdict.FOUND, deal
            absent_reads += 1
            last_ok = True
        if last_ok and absent_reads == self._checks:
            return _Verdict.ABSENT, None
        return _Verdict.UNKNOWN, None

    async def _replay(
        self, record: IdempotencyRecord, request: BalanceRequest, caller: Caller
    ) -> BalanceOutcome:
        comment = mt5_comment(request.request_id, request.comment)
        if record.state.value == "failed":
            stored = json.loads(record.payload)
            await self._write_audit(
                request,
                caller,
                AuditOutcome.REPLAYED,
                comment,
                retcode=stored["retcode"],
                changes={"stored": "failed"},
            )
            raise w.retcode_error(
                int(stored["retcode"]),
                str(stored["text"]),
                server=request.server,
                command="trade/balance",
            )
        result = BalanceResult.from_json(record.payload)
        await self._write_audit(
            request,
            caller,
            AuditOutcome.REPLAYED,
            comment,
            deal=result.deal_ticket,
            currency=result.currency,
        )
        return BalanceOutcome(result, replayed=True)

    def _result(
        self, request: BalanceRequest, account: _Account, comment: str, ticket: int
    ) -> BalanceResult:
        return BalanceResult(
            login=request.login,
            action=int(request.action),
            amount=request.amount,
            currency=account.currency,
            comment=comment,
            deal_ticket=ticket,
            create_time=datetime.fromtimestamp(self._clock(), UTC),
            request_id=request.request_id,
            margin_checked=request.check_margin,
        )

    async def _write_audit(
        self,
        request: BalanceRequest,
        caller: Caller,
        outcome: AuditOutcome,
        comment: str,
        *,
        deal: int | None = None,
        retcode: int | None = None,
        changes: Mapping[str, str] | None = None,
        currency: str | None = None,
    ) -> None:
        if self._audit is None:
            return
        record = AuditRecord(
            method=METHOD,
            operation=request.operation_name,
            outcome=outcome,
            server=request.server,
            request_id=request.request_id,
            login=request.login,
            amount=request.amount,
            currency=currency or request.currency_code or None,
            deal=deal,
            retcode=retcode,
            caller=caller.identity,
            peer=caller.peer,
            comment=comment,
            changes=dict(changes or {}),
        )
        try:
            await self._audit.write(record)
        except Exception:  # noqa: BLE001 - the money moved; the caller gets its answer
            _log.exception("balance_audit_failed", request_id=request.request_id)
