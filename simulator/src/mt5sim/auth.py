"""The Web API password hash (docs/mt5-webapi.md#password-hash) and the per-connection
handshake.

The state machine is pure: time comes in as an argument, so unit tests need no sleeps.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from dataclasses import dataclass

from mt5sim.retcodes import Retcode

MIN_CLIENT_VERSION = 484
_WEBAPI_SUFFIX = b"WebAPI"


def password_hash(password: str) -> bytes:
    """MD5(MD5(UTF-16LE(password)) ‖ "WebAPI"), raw 16 bytes."""
    h1 = hashlib.md5(password.encode("utf-16-le"), usedforsecurity=False).digest()
    return hashlib.md5(h1 + _WEBAPI_SUFFIX, usedforsecurity=False).digest()


def rand_answer(pw_hash: bytes, rand: bytes) -> str:
    """hex(MD5(password_hash ‖ rand)): srv_rand_answer and cli_rand_answer alike."""
    return hashlib.md5(pw_hash + rand, usedforsecurity=False).hexdigest()


def parse_rand(value: str | None) -> bytes | None:
    """16 bytes from 32 hex digits, or None when malformed."""
    if value is None or len(value) != 32:
        return None
    try:
        return bytes.fromhex(value)
    except ValueError:
        return None


class AuthState(enum.Enum):
    NEW = "new"
    STARTED = "started"
    AUTHENTICATED = "authenticated"


class AnswerFailure(enum.Enum):
    NOT_STARTED = "not_started"
    LATE = "late"
    MALFORMED = "malformed"
    WRONG = "wrong"


@dataclass(frozen=True)
class StartRequest:
    version: str | None
    agent: str | None
    login: str | None
    type: str | None


def validate_start(  # noqa: PLR0911 - one return per refusal
    req: StartRequest, known_logins: set[int] | frozenset[int]
) -> int:
    """Retcode for an auth/start request: 0, or why it is refused.

    Malformed or missing parameters → 3; a ``type`` other than ``manager`` (the
    only terminal type the Web API serves, docs/mt5-webapi.md#handshake) → 1000 "Invalid
    terminal type" (MT_RET_AUTH_CLIENT_INVALID: the retcode named for exactly this);
    version below 484 → 1010 "Client has old version"; a login that is not a configured
    manager → 1001 "Invalid account".
    """
    try:
        version = int(req.version or "")
        login = int(req.login or "")
    except ValueError:
        return Retcode.ERR_PARAMS
    if not req.agent or any(c.isspace() for c in req.agent):
        return Retcode.ERR_PARAMS
    if not req.type:
        return Retcode.ERR_PARAMS
    if req.type.lower() != "manager":
        return Retcode.AUTH_CLIENT_INVALID
    if version < MIN_CLIENT_VERSION:
        return Retcode.AUTH_CLIENT_OLD
    if login not in known_logins:
        return Retcode.AUTH_ACCOUNT_INVALID
    return Retcode.OK


class Handshake:
    """One connection's authentication state: new → started → authenticated.

    A second ``start`` (also on an authenticated connection) restarts the handshake and
    forgets the previous session (inferred, docs/mt5-webapi.md#handshake).
    """

    __slots__ = ("_deadline", "_pw_hash", "_srv_rand", "login", "state")

    def __init__(self) -> None:
        self.state = AuthState.NEW
        self.login: int | None = None
        self._srv_rand = b""
        self._pw_hash = b""
        self._deadline = 0.0

    @property
    def authenticated(self) -> bool:
        return self.state is AuthState.AUTHENTICATED

    def start(
        self, login: int, pw_hash: bytes, srv_rand: bytes, now: float, window: float
    ) -> None:
        self.state = AuthState.STARTED
        self.login = login
        self._pw_hash = pw_hash
        self._srv_rand = srv_rand
        self._deadline = now + window

    def answer(
        self,
        srv_rand_answer: str | None,
        cli_rand: str | None,
        now: float,
        *,
        case_sensitive_hex: bool = False,
    ) -> str | AnswerFailure:
        """The cli_rand_answer on success; on failure the reason (state back to new)."""
        result = self._check(srv_rand_answer, cli_rand, now, case_sensitive_hex)
        if isinstance(result, AnswerFailure):
            self.reset()
        else:
            self.state = AuthState.AUTHENTICATED
        return result

    def _check(
        self,
        srv_rand_answer: str | None,
        cli_rand: str | None,
        now: float,
        case_sensitive_hex: bool,  # noqa: FBT001
    ) -> str | AnswerFailure:
        if self.state is not AuthState.STARTED:
            return AnswerFailure.NOT_STARTED
        if now > self._deadline:
            return AnswerFailure.LATE
        cli = parse_rand(cli_rand)
        if srv_rand_answer is None or cli is None:
            return AnswerFailure.MALFORMED
        given = srv_rand_answer if case_sensitive_hex else srv_rand_answer.lower()
        expected = rand_answer(self._pw_hash, self._srv_rand)
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return AnswerFailure.WRONG
        return rand_answer(self._pw_hash, cli)

    def reset(self) -> None:
        self.state = AuthState.NEW
        self.login = None
        self._srv_rand = b""
        self._pw_hash = b""
        self._deadline = 0.0
