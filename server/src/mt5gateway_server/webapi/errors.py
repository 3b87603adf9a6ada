"""The one exception hierarchy of the Web API client (httpcore-style taxonomy).

Transport errors (``http1.py``'s own, ``OSError``/TLS, timeouts) are translated into
these in ``session.py`` and nowhere else. Messages never contain passwords;
``OutcomeUnknown.params`` is scrubbed.
"""

# ruff: noqa: N818 - httpcore/redis-py names, docs/architecture.md#exceptions
from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING

from mt5gateway_server.webapi.retry import RetcodeAction, retcode_action

if TYPE_CHECKING:
    from collections.abc import Mapping


class WebApiError(Exception):
    def __init__(
        self, message: str, *, server: str | None = None, command: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.server = server
        self.command = command

    def __str__(self) -> str:
        where = [
            f"{k}={v}"
            for k, v in (("server", self.server), ("command", self.command))
            if v
        ]
        return f"{self.message} ({', '.join(where)})" if where else self.message


class TransportError(WebApiError):
    """The MT5 server could not be reached or the exchange broke off."""


class ConnectError(TransportError):
    """Connecting (TCP/TLS) failed: nothing was sent."""


class ReadError(TransportError):
    """The connection broke while waiting for or reading the answer."""


class ReadTimeout(TransportError):
    """No (complete) answer within the read/total timeout or the caller's deadline."""


class PoolTimeout(TransportError):
    """No session became free within the acquire timeout: nothing was sent."""


class ProtocolError(WebApiError):
    """The server answered something that is not the MT5 Web API envelope."""


class AuthError(WebApiError):
    """The handshake failed (wrong credentials, rejected, or an untrusted server)."""


class ServerNotAuthenticated(AuthError):
    """``cli_rand_answer`` did not match: the server does not know the password.

    Retcode 1008 (MT_RET_AUTH_SERVER_BAD) in the vendor libraries.
    """


class CircuitOpen(WebApiError):
    """The server is failing; calls fail fast until ``retry_after`` seconds pass."""

    def __init__(
        self, message: str, *, retry_after: float, server: str | None = None
    ) -> None:
        super().__init__(message, server=server)
        self.retry_after = retry_after


class OutcomeUnknown(WebApiError):
    """A write was sent but no answer arrived: it may or may not have been applied.

    Never retried automatically; ``params`` (passwords removed) lets the caller
    reconcile, e.g. look the deal up by its comment.
    """

    def __init__(
        self,
        message: str,
        *,
        command: str,
        params: Mapping[str, str],
        server: str | None = None,
    ) -> None:
        super().__init__(message, server=server, command=command)
        self.params: Mapping[str, str] = MappingProxyType(dict(params))


class RetcodeError(WebApiError):
    """MT5 answered with a non-zero retcode."""

    def __init__(
        self,
        retcode: int,
        text: str,
        *,
        server: str | None = None,
        command: str | None = None,
    ) -> None:
        super().__init__(
            f"MT5 retcode {retcode} {text}", server=server, command=command
        )
        self.retcode = retcode
        self.text = text

    @property
    def retryable(self) -> bool:
        """A read so answered may be sent again (``retry.retcode_action``)."""
        return retcode_action(self.retcode, write=False) is RetcodeAction.RETRY


class NotFound(RetcodeError):
    pass


class InvalidParams(RetcodeError):
    pass


class NoPermission(RetcodeError):
    pass


class TooFrequent(RetcodeError):
    pass


class NoMoney(RetcodeError):
    pass


class Duplicate(RetcodeError):
    pass


class Rejected(RetcodeError):
    """A business rule refused the request (market closed, open trades, money limit)."""


class Unavailable(RetcodeError):
    """The server side is unavailable or timed out (7, 9, 10, 11, 15, 10012)."""


class NotReady(RetcodeError):
    """Retcode 1: the access server does not have the data yet (history answers)."""


class Partial(RetcodeError):
    """Retcode 14 where the caller cannot continue the answer."""


class AuthFailed(RetcodeError, AuthError):
    """Authentication retcodes (1000-1034) and invalid passwords (3006)."""


_FAMILIES: tuple[tuple[type[RetcodeError], frozenset[int]], ...] = (
    (NotFound, frozenset({13, 6001, 15000, 15001, 15002})),
    (InvalidParams, frozenset({3, 4, 10013, 10014, 10015, 10016, 10022, 10030, 10035})),
    (NoPermission, frozenset({8, 1024, 12001})),
    (TooFrequent, frozenset({12, 1018, 10024})),
    (NoMoney, frozenset({10019})),
    (Duplicate, frozenset({17, 2007, 3004, 3013, 4002, 4006})),
    (
        Rejected,
        frozenset(
            {3002, 3003, 3005, 3007, 3008, 4001, 4003, 4004, 4005, 10006, 10017, 10018}
            | set(range(10020, 10022))
            | set(range(10026, 10030))
            | set(range(10031, 10047))
        ),
    ),
    (Unavailable, frozenset({7, 9, 10, 11, 15, 10012})),
    (NotReady, frozenset({1})),
    (Partial, frozenset({14})),
    (AuthFailed, frozenset(set(range(1000, 1035)) - {1018, 1024} | {3006})),
)

NOT_READY_RETCODE = 1  # MT_RET_OK_NONE: the access server has not loaded the data yet
PARTIAL_RETCODE = 14  # MT_RET_ERR_PARTIAL: the answer was cut at MT5's size limit

# MT_RET_ERR_TIMEOUT, MT_RET_REQUEST_TIMEOUT: a write answered so may have been
# applied; its outcome must be reconciled, never assumed, and it is never re-sent.
OUTCOME_OPEN_RETCODES = frozenset({9, 10012})
# A write answered with one of these was refused before MT5 took it (rate limits:
# 12 too frequent, 1018 auth server busy, 10024 too many requests), so a retry may
# send it again. Any other non-zero retcode on a write is its definite answer, except
# OUTCOME_OPEN_RETCODES; "network"/"no connection" style codes from an access server
# that may already have forwarded it are not in here on purpose.
WRITE_NOT_TAKEN_RETCODES = frozenset({12, 1018, 10024})

RETCODE_CLASSES: Mapping[int, type[RetcodeError]] = MappingProxyType(
    {code: cls for cls, codes in _FAMILIES for code in codes}
)

# Symbolic names for the codes callers compare against.
RETCODE_NAMES: Mapping[int, str] = MappingProxyType(
    {
        0: "MT_RET_OK",
        1: "MT_RET_OK_NONE",
        2: "MT_RET_ERROR",
        3: "MT_RET_ERR_PARAMS",
        4: "MT_RET_ERR_DATA",
        7: "MT_RET_ERR_NETWORK",
        8: "MT_RET_ERR_PERMISSIONS",
        9: "MT_RET_ERR_TIMEOUT",
        10: "MT_RET_ERR_CONNECTION",
        11: "MT_RET_ERR_NOSERVICE",
        12: "MT_RET_ERR_FREQUENT",
        13: "MT_RET_ERR_NOTFOUND",
        14: "MT_RET_ERR_PARTIAL",
        15: "MT_RET_ERR_SHUTDOWN",
        17: "MT_RET_ERR_DUPLICATE",
        1001: "MT_RET_AUTH_ACCOUNT_INVALID",
        1008: "MT_RET_AUTH_SERVER_BAD",
        1018: "MT_RET_AUTH_SERVER_BUSY",
        3004: "MT_RET_USR_LOGIN_EXIST",
        3006: "MT_RET_USR_INVALID_PASSWORD",
        3008: "MT_RET_USR_HAS_TRADES",
        4002: "MT_RET_TRADE_ORDER_EXIST",
        4005: "MT_RET_TRADE_MAX_MONEY",
        10012: "MT_RET_REQUEST_TIMEOUT",
        10013: "MT_RET_REQUEST_INVALID",
        10017: "MT_RET_REQUEST_TRADE_DISABLED",
        10018: "MT_RET_REQUEST_MARKET_CLOSED",
        10019: "MT_RET_REQUEST_NO_MONEY",
        10024: "MT_RET_REQUEST_TOO_MANY",
        12002: "MT_RET_ERR_NOTSUPPORTED",
    }
)


def retcode_error(
    retcode: int, text: str, *, server: str | None = None, command: str | None = None
) -> RetcodeError:
    cls = RETCODE_CLASSES.get(retcode, RetcodeError)
    return cls(retcode, text, server=server, command=command)


__all__ = [
    "NOT_READY_RETCODE",
    "OUTCOME_OPEN_RETCODES",
    "PARTIAL_RETCODE",
    "RETCODE_CLASSES",
    "RETCODE_NAMES",
    "WRITE_NOT_TAKEN_RETCODES",
    "AuthError",
    "AuthFailed",
    "CircuitOpen",
    "ConnectError",
    "DeadlineExceeded",
    "Duplicate",
    "InvalidParams",
    "NoMoney",
    "NoPermission",
    "NotFound",
    "NotReady",
    "OutcomeUnknown",
    "Partial",
    "PoolTimeout",
    "ProtocolError",
    "ReadError",
    "ReadTimeout",
    "Rejected",
    "RetcodeError",
    "ServerNotAuthenticated",
    "TooFrequent",
    "TransportError",
    "Unavailable",
    "WebApiError",
    "retcode_error",
]


class DeadlineExceeded(TransportError):
    """The caller's deadline ran out before the request was sent: nothing was sent."""
