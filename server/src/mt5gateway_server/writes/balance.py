"""Balance operations (``trade/balance``) as a ``WriteOperation`` of the write engine.

Before the write the account is read (``user/get`` + its group's currency): the amount
must have at most the currency's digits (MT5 would round it silently) and
``currency_code``, if given, must be the account currency. The MT5 comment starts with
the reconciliation tag ``gw:`` + base32 of SHA-256 of the request_id, so the deal can
be found again without the write's answer: a deal of the login, inside the search
window, whose comment starts with the tag and whose action and amount are the
request's.

The tag has ``tag_chars`` base32 characters (5 bits each; default 10 = 50 bits). A
false match needs another deal of the *same login*, inside the window, with the same
action and amount and a colliding tag: with n such deals the chance is about
n^2 / 2^(5 * tag_chars + 1) — for 1,000 of them 4e-10 at 10 characters, 5e-4 at 6.
Every character given to the tag is taken from the caller's comment (MT5 keeps 31).
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol, Self

from mt5gateway_server.webapi import errors as w
from mt5gateway_server.webapi import mt5_length
from mt5gateway_server.webapi.client import MAX_COMMENT, BalanceOperation
from mt5gateway_server.writes.engine import ABSENT, CANNOT_TELL, Lookup
from mt5gateway_server.writes.records import canonical_request_id, fingerprint

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from mt5gateway_server.webapi import WebApiClient
    from mt5gateway_server.writes.records import WriteRecord

__all__ = [
    "DEFAULT_TAG_CHARS",
    "MAX_AMOUNT",
    "MAX_TAG_CHARS",
    "MAX_USER_COMMENT",
    "METHOD",
    "MIN_TAG_CHARS",
    "TAG_PREFIX",
    "AmountError",
    "BalanceRequest",
    "BalanceResult",
    "BalanceWrite",
    "CurrencyLookup",
    "canonical_request_id",
    "max_user_comment",
    "mt5_comment",
    "reconciliation_tag",
]

METHOD = "/mt5gateway.v1.TradeService/CreateBalanceOperation"
MAX_AMOUNT = Decimal(1_000_000_000)  # MT5 answers 4005 above it
TAG_PREFIX = "gw:"
DEFAULT_TAG_CHARS, MIN_TAG_CHARS, MAX_TAG_CHARS = 10, 6, 16
# Deals are searched from the first attempt minus this (clock skew between the gateway
# and MT5, queued writes) to now plus this.
SEARCH_WINDOW = timedelta(minutes=5)
_OPERATION_NAMES = {
    BalanceOperation.CREDIT: "credit",
    BalanceOperation.CHARGE: "charge",
    BalanceOperation.CORRECTION: "correction",
    BalanceOperation.BONUS: "bonus",
}


def max_user_comment(tag_chars: int = DEFAULT_TAG_CHARS) -> int:
    """The caller's share of MT5's 31 comment characters: "gw:<tag> <comment>"."""
    return MAX_COMMENT - len(TAG_PREFIX) - tag_chars - 1


MAX_USER_COMMENT = max_user_comment()


def reconciliation_tag(request_id: str, chars: int = DEFAULT_TAG_CHARS) -> str:
    """``gw:`` + ``chars`` base32 characters of SHA-256 of the canonical request_id."""
    digest = hashlib.sha256(request_id.encode("ascii")).digest()
    return TAG_PREFIX + base64.b32encode(digest).decode("ascii")[:chars]


def mt5_comment(request_id: str, comment: str, chars: int = DEFAULT_TAG_CHARS) -> str:
    """What MT5 stores: the tag first (so a cut can never lose it), then the comment."""
    tag = reconciliation_tag(request_id, chars)
    return f"{tag} {comment}" if comment else tag


class AmountError(Exception):
    """The request does not suit the account (digits, currency); nothing was sent."""

    def __init__(self, field: str, description: str) -> None:
        super().__init__(description)
        self.field = field
        self.description = description


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


class BalanceWrite:
    """One ``CreateBalanceOperation`` call: ``WriteOperation[int, BalanceResult]``."""

    method = METHOD
    repeatable = False  # a second deposit is a second deposit

    def __init__(
        self,
        request: BalanceRequest,
        client: WebApiClient,
        currencies: CurrencyLookup,
        *,
        tag_chars: int = DEFAULT_TAG_CHARS,
        clock: Callable[[], float],
    ) -> None:
        self.request = request
        self.request_id = request.request_id
        self.fingerprint = request.fingerprint
        self.server = request.server
        self._client = client
        self._currencies = currencies
        self._clock = clock
        self.tag = reconciliation_tag(request.request_id, tag_chars)
        self.comment = mt5_comment(request.request_id, request.comment, tag_chars)
        self._tag_chars = tag_chars
        self._currency = ""  # the account's, once prepared

    async def prepare(self) -> None:
        request = self.request
        if mt5_length(request.comment) > max_user_comment(self._tag_chars):
            raise AmountError(
                "comment",
                f"at most {max_user_comment(self._tag_chars)} characters: the "
                f"{len(self.tag) + 1}-character reconciliation tag shares MT5's "
                f"{MAX_COMMENT}",
            )
        user = await self._client.user_get(request.login)
        currency = await self._currencies.get(self._client, user.group)
        digits = user.currency_digits
        exponent = request.amount.normalize().as_tuple().exponent
        places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        if places > digits:
            raise AmountError(
                "amount",
                f"the account currency {currency} has {digits} decimal places; the "
                f"amount has {places} (never rounded)",
            )
        if request.currency_code and request.currency_code != currency:
            raise AmountError(
                "amount.currency_code",
                f"must be empty or the account currency {currency}",
            )
        self._currency = currency

    async def send(self) -> int:
        request = self.request
        return await self._client.trade_balance(
            request.login,
            request.action,
            request.amount,
            self.comment,
            check_margin=request.check_margin,
        )

    async def result(self, answer: int) -> BalanceResult:
        return self._result(answer, datetime.fromtimestamp(self._clock(), UTC))

    def _result(self, ticket: int, when: datetime) -> BalanceResult:
        request = self.request
        return BalanceResult(
            login=request.login,
            action=int(request.action),
            amount=request.amount,
            currency=self._currency,
            comment=self.comment,
            deal_ticket=ticket,
            create_time=when,
            request_id=request.request_id,
            margin_checked=request.check_margin,
        )

    async def find(self, record: WriteRecord) -> Lookup[BalanceResult]:
        request = self.request
        first = min(record.created_at, record.attempted_at or record.created_at)
        start = datetime.fromtimestamp(first, UTC) - SEARCH_WINDOW
        end = datetime.fromtimestamp(self._clock(), UTC) + SEARCH_WINDOW
        try:
            deals = await self._client.deal_get_batch(
                logins=[request.login], from_=start, to=end
            )
        except w.WebApiError:
            return CANNOT_TELL
        matches = sorted(
            (
                deal
                for deal in deals
                if deal.comment.startswith(self.tag)
                and deal.action == request.action
                and deal.profit == request.amount
            ),
            key=lambda deal: deal.ticket,
        )
        if not matches:
            return ABSENT
        deal = matches[0]
        when = deal.time if deal.time is not None else datetime.now(UTC)
        return Lookup.found(self._result(deal.ticket, when), len(matches))

    def evidence(self, answer: int) -> Mapping[str, str]:
        return {"deal": str(answer)}

    def encode(self, result: BalanceResult) -> bytes:
        return result.to_json()

    def decode(self, payload: bytes) -> BalanceResult:
        return BalanceResult.from_json(payload)

    def audit_facts(self, result: BalanceResult | None) -> dict[str, Any]:
        request = self.request
        return {
            "operation": request.operation_name,
            "login": request.login,
            "amount": request.amount,
            "currency": self._currency or request.currency_code or None,
            "deal": None if result is None else result.deal_ticket,
            "comment": self.comment,
        }
