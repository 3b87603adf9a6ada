"""What ``WebApiClient`` sends, and through what: the request interface, the limits of
one request, write request types and how their bodies and batch lists are built."""

from __future__ import annotations

import enum
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import SecretStr

from mt5gateway_server.webapi.wire import build_query

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from mt5gateway_server.webapi.wire import Envelope, JsonBody, QueryValue

# Both: see docs/mt5-webapi.md#limits.
MAX_PAGE = 100  # get_page "total" limit
MAX_SYMBOL_CHARS = 4096  # tick/* symbol lists, joined with ","
# Logins, groups or tickets of one get_batch call (what MT5 answers for a group mask
# is MT5's to bound: callers keep masks narrow and history windows short).
MAX_BATCH_ITEMS = 1000
MAX_COMMENT = 31  # balance comment: 32 bytes including the terminator
# Beyond this, batch lists move from the query string into a JSON body (POST),
# which the Web API takes as arrays (docs/mt5-webapi.md#requests); URLs stay short
# and proxies happy.
MAX_QUERY_LIST = 2000
_BODY_LISTS = frozenset({"login", "group", "ticket"})  # the documented body arrays


class RequestInterface(Protocol):
    """Where ``WebApiClient`` sends a command. ``SessionPool`` (any free session,
    retries) and ``Mt5Session`` (one leased session) both implement it: retcode 0 and
    those in ``accept`` are returned, others raise ``RetcodeError``."""

    async def request(
        self,
        command: str,
        params: Mapping[str, QueryValue] | None = None,
        *,
        body: JsonBody = None,
        write: bool = False,
        accept: frozenset[int] = frozenset(),
    ) -> Envelope: ...


class BalanceOperation(enum.IntEnum):
    """EnDealAction values accepted by ``trade/balance``."""

    BALANCE = 2
    CREDIT = 3
    CHARGE = 4
    CORRECTION = 5
    BONUS = 6


class PasswordType(enum.StrEnum):
    MAIN = "main"
    INVESTOR = "investor"
    API = "api"


Password = str | SecretStr


def secret(value: Password) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


@dataclass(frozen=True, slots=True, kw_only=True)
class _UserDetails:
    """The record fields user/add and user/update share; None is "not sent"."""

    rights: int | None = None
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    country: str | None = None
    city: str | None = None
    state: str | None = None
    zip_code: str | None = None
    address: str | None = None
    phone: str | None = None
    email: str | None = None
    comment: str | None = None
    status: str | None = None
    agent: int | None = None
    lead_source: str | None = None
    lead_campaign: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NewUser(_UserDetails):
    """``user/add``. ``login=0`` lets the server allocate one."""

    group: str
    name: str
    leverage: int
    password_main: Password
    password_investor: Password
    login: int = 0

    def __repr__(self) -> str:
        return f"NewUser(login={self.login}, group={self.group!r}, name={self.name!r})"


@dataclass(frozen=True, slots=True, kw_only=True)
class UserUpdate(_UserDetails):
    """``user/update``: only fields that are not None change."""

    group: str | None = None
    name: str | None = None
    leverage: int | None = None


def user_body(obj: NewUser | UserUpdate) -> dict[str, Any]:
    """The record fields that are set, under their MT5 names (``zip_code`` ->
    ``ZipCode``); passwords go in separately."""
    body: dict[str, Any] = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        if value is not None and not f.name.startswith("password_"):
            wire = "".join(part.capitalize() for part in f.name.split("_"))
            body[wire] = str(value)  # MT5 examples send every value as a string
    return body


def ids(values: Iterable[int | str] | None) -> list[str] | None:
    return None if values is None else [str(v) for v in values]


def one_of(**lists: Sequence[Any] | None) -> None:
    """Exactly one of the selections is given, and it is not too long."""
    given = [k for k, v in lists.items() if v is not None]
    if len(given) != 1:
        raise ValueError(f"pass exactly one of {', '.join(lists)}")
    if len(lists[given[0]] or ()) > MAX_BATCH_ITEMS:
        raise ValueError(f"at most {MAX_BATCH_ITEMS} {given[0]} per batch")


def split_lists(
    params: Mapping[str, QueryValue],
) -> tuple[dict[str, QueryValue], dict[str, object] | None]:
    """Query parameters, and long batch lists moved into a JSON body."""
    if len(build_query(params)) <= MAX_QUERY_LIST:
        return dict(params), None
    query: dict[str, QueryValue] = {}
    body: dict[str, object] = {}
    for name, value in params.items():
        if name in _BODY_LISTS and isinstance(value, list):
            body[name] = [str(v) for v in value]
        else:
            query[name] = value
    return query, body


def check_page(offset: int, total: int) -> None:
    if offset < 0 or not 1 <= total <= MAX_PAGE:
        raise ValueError(f"need offset >= 0 and 1 <= total <= {MAX_PAGE}")
