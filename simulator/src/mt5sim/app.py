"""The HTTP layer: routing, authentication, envelope, faults and ``/_sim/`` controls.

Built on aiohttp's low-level ``web.Server`` (no router, no middlewares): one dict lookup
per request keeps the hot path lean, and the server subclass sees connections open and
close, which is what binds sessions to TCP connections.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import os
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aiohttp import web

from mt5sim.auth import AnswerFailure, StartRequest, password_hash, validate_start
from mt5sim.commands.base import CommandContext, Manager, Reply
from mt5sim.faults import FaultConfig, FaultInjector
from mt5sim.params import RequestParams
from mt5sim.retcodes import Mt5Error, Retcode, retcode_string
from mt5sim.stats import Stats

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from aiohttp.web_request import BaseRequest

    from mt5sim.commands.base import Command
    from mt5sim.config import ManagerSpec, SimConfig
    from mt5sim.connections import Connection, ConnectionRegistry
    from mt5sim.market.broker import Broker

log = logging.getLogger("mt5sim")

_JSON_CT = "application/json; charset=utf-8"
_UNKNOWN = "<unknown>"


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


_encoder = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), default=_json_default
)


class Kind(enum.Enum):
    AUTH_START = "auth_start"
    AUTH_ANSWER = "auth_answer"
    TEST_ACCESS = "test_access"
    QUIT = "quit"
    COMMAND = "command"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Route:
    name: str  # REST path after /api/
    kind: Kind
    command: Command | None = None


_BUILTINS: tuple[tuple[str, str, Kind], ...] = (
    ("auth/start", "AUTH_START", Kind.AUTH_START),
    ("auth/answer", "AUTH_ANSWER", Kind.AUTH_ANSWER),
    ("test/access", "TEST_ACCESS", Kind.TEST_ACCESS),
    ("quit", "QUIT", Kind.QUIT),
)


def build_routes(commands: Mapping[str, Command]) -> dict[str, Route]:
    """``/api/<path>`` and the legacy ``/<raw lower>`` for every command."""
    routes: dict[str, Route] = {}
    for path, raw, kind in _BUILTINS:
        route = Route(path, kind)
        routes["/api/" + path] = route
        routes["/" + raw.lower()] = route
    for path, command in commands.items():
        route = Route(path, Kind.COMMAND, command)
        routes.setdefault("/api/" + path, route)
        routes.setdefault("/" + command.raw.lower(), route)
    return routes


_retcode_cache: dict[int, str] = {}


def _retcode_text(code: int) -> str:
    text = _retcode_cache.get(code)
    if text is None:
        text = _retcode_cache[code] = retcode_string(code)
    return text


def json_response(obj: object, status: int = 200) -> web.Response:
    return web.Response(
        body=_encoder.encode(obj).encode(),
        status=status,
        headers={"Content-Type": _JSON_CT},
    )


def envelope(
    code: int, extra: Mapping[str, str] | None = None, answer: object = None
) -> web.Response:
    data: dict[str, object] = {"retcode": _retcode_text(code)}
    if extra:
        data.update(extra)
    if answer is not None:
        data["answer"] = answer
    return json_response(data)


def _empty(status: int) -> web.Response:
    return web.Response(status=status)


class SimApp:
    """Request dispatcher. One instance per running simulator."""

    def __init__(
        self,
        config: SimConfig,
        broker: Broker,
        commands: Mapping[str, Command],
        registry: ConnectionRegistry,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.broker = broker
        self.registry = registry
        self.routes = build_routes(commands)
        self.stats = Stats()
        self.faults = FaultInjector(config.seed)
        self._clock = clock
        self._managers: dict[int, tuple[ManagerSpec, bytes]] = {
            m.login: (m, password_hash(m.password)) for m in config.managers
        }
        self._known_logins = frozenset(self._managers)
        self._fixed_srv_rand = (
            bytes.fromhex(config.srv_rand) if config.srv_rand is not None else None
        )
        self._lower_routes = {k.lower(): v for k, v in self.routes.items()}
        self._opened_base = registry.opened_total

    # -- routing ---------------------------------------------------------------

    def _route(self, path: str) -> Route | None:
        route = self.routes.get(path)
        if route is not None:
            return route
        # Slow path: case and a trailing slash are forgiven.
        key = path.rstrip("/").lower() or "/"
        route = self._lower_routes.get(key)
        if route is None and key.startswith("/api/"):
            route = Route(_UNKNOWN, Kind.UNKNOWN)
        return route

    # One function on purpose: this is the hot path of every request.
    async def handle(  # noqa: C901, PLR0911, PLR0912
        self, request: BaseRequest
    ) -> web.StreamResponse:
        raw = request.raw_path
        q = raw.find("?")
        if q >= 0:
            path, query = raw[:q], raw[q + 1 :]
        else:
            path, query = raw, ""
        if path.startswith("/_sim/"):
            return await self._control(request, path)
        route = self._route(path)
        if route is None:
            return _empty(404)
        if request.method not in ("GET", "POST"):
            return _empty(405)

        conn = self.registry.get(request.protocol)
        conn.requests += 1
        name = route.name
        self.stats.requests[name] += 1
        faults = self.faults
        if faults.enabled:
            delay = faults.latency(name)
            if delay > 0:
                self.stats.faults_injected["latency"] += 1
                await asyncio.sleep(delay)

        kind = route.kind
        if kind is Kind.AUTH_START:
            return await self._auth_start(request, conn, query)
        if kind is Kind.AUTH_ANSWER:
            return await self._auth_answer(request, conn, query)
        if conn.manager is None:
            return self._unauthenticated()
        if kind is Kind.UNKNOWN:
            return envelope(Retcode.ERR_NOTSUPPORTED)

        drop_after = False
        if faults.enabled:
            stats = self.stats
            if faults.rate_limited(name, self._clock()):
                stats.faults_injected["rate_limit"] += 1
                return envelope(Retcode.ERR_FREQUENT)
            if faults.drop(name):
                stats.faults_injected["drop"] += 1
                if not faults.config.drop_after_apply:
                    return self._drop(conn)
                drop_after = True
            if not drop_after:
                code = faults.error(name)
                if code is not None:
                    stats.faults_injected["error"] += 1
                    return envelope(code)

        if kind is Kind.TEST_ACCESS:
            response = envelope(Retcode.OK)
        elif kind is Kind.QUIT:
            conn.manager = None
            conn.handshake.reset()
            response = envelope(Retcode.OK)
            response.force_close()
        else:
            response = await self._command(request, route, conn, query)
        if drop_after:
            return self._drop(conn)
        return response

    # -- commands --------------------------------------------------------------

    async def _params(self, request: BaseRequest, query: str) -> RequestParams:
        body = b""
        if request.body_exists:
            try:
                body = await request.read()
            except web.HTTPException as exc:  # e.g. body larger than the limit
                raise Mt5Error(Retcode.ERR_PARAMS, "body rejected") from exc
        return RequestParams.from_request(
            query, body, plus_as_space=self.config.plus_as_space
        )

    async def _command(
        self, request: BaseRequest, route: Route, conn: Connection, query: str
    ) -> web.Response:
        manager = conn.manager
        if manager is None:  # pragma: no cover - checked by the caller
            return self._unauthenticated()
        command = route.command
        if command is None:  # pragma: no cover - routes always carry one
            return envelope(Retcode.ERR_NOTSUPPORTED)
        try:
            params = await self._params(request, query)
            reply: Reply = command.handler(
                CommandContext(
                    self.broker,
                    manager,
                    self.config.server_now(),
                    self.config.server_timezone,
                    conn.trans_ids
                    if self.config.trans_id_scope == "connection"
                    else None,
                ),
                params,
            )
            return envelope(reply.retcode, reply.extra, reply.answer)
        except Mt5Error as exc:
            return envelope(exc.code)
        except Exception:
            log.exception("command_failed command=%s", route.name)
            return envelope(Retcode.ERROR)

    # -- authentication ---------------------------------------------------------

    async def _auth_start(
        self, request: BaseRequest, conn: Connection, query: str
    ) -> web.Response:
        stats = self.stats
        stats.handshakes_started += 1
        # Any auth/start forgets the connection's previous session
        # (inferred, docs/mt5-webapi.md#handshake).
        conn.manager = None
        conn.handshake.reset()
        try:
            params = await self._params(request, query)
        except Mt5Error as exc:
            stats.handshakes_failed += 1
            return envelope(exc.code)
        reject = self.faults.config.reject_handshakes if self.faults.enabled else None
        if reject is not None:
            stats.handshakes_failed += 1
            stats.faults_injected["reject_handshake"] += 1
            return envelope(reject)
        start = StartRequest(
            version=params.get("version"),
            agent=params.get("agent"),
            login=params.get("login"),
            type=params.get("type"),
        )
        code = validate_start(start, self._known_logins)
        if code != Retcode.OK:
            stats.handshakes_failed += 1
            log.info("auth_start_refused retcode=%s conn=%s", code, conn.id)
            return envelope(code)
        login = int(start.login or "0")
        _, pw_hash = self._managers[login]
        srv_rand = self._fixed_srv_rand or os.urandom(16)
        conn.handshake.start(
            login, pw_hash, srv_rand, self._clock(), self.config.auth_answer_timeout
        )
        return envelope(
            Retcode.OK,
            {
                "version_access": str(self.config.version_access),
                "srv_rand": srv_rand.hex(),
            },
        )

    async def _auth_answer(
        self, request: BaseRequest, conn: Connection, query: str
    ) -> web.Response:
        stats = self.stats
        conn.manager = None
        try:
            params = await self._params(request, query)
        except Mt5Error as exc:
            conn.handshake.reset()
            stats.handshakes_failed += 1
            return envelope(exc.code)
        login = conn.handshake.login
        result = conn.handshake.answer(
            params.get("srv_rand_answer"),
            params.get("cli_rand"),
            self._clock(),
            case_sensitive_hex=self.config.case_sensitive_hex,
        )
        if isinstance(result, AnswerFailure):
            stats.handshakes_failed += 1
            log.info("auth_answer_refused reason=%s conn=%s", result.value, conn.id)
            if self.config.auth_failure == "http403":
                return _empty(403)
            return envelope(self.config.auth_failure_retcode)
        assert login is not None  # noqa: S101 - answer() succeeds only after start()
        cap = self.config.max_sessions_per_login
        if cap is not None and self.registry.sessions_of(login) >= cap:
            conn.handshake.reset()
            stats.handshakes_failed += 1
            return envelope(self.config.max_sessions_retcode)
        spec, _ = self._managers[login]
        conn.manager = Manager(login=login, groups=spec.groups)
        conn.trans_ids.clear()  # a new session: earlier cursors mean nothing
        stats.handshakes_completed += 1
        response = envelope(
            Retcode.OK,
            {
                "version_access": str(self.config.version_access),
                "version_trade": str(self.config.version_trade),
                "cli_rand_answer": result,
            },
        )
        if self.config.issue_cookie:
            response.set_cookie(
                "MT5SIM_SESSION", os.urandom(16).hex(), httponly=True, path="/"
            )
        return response

    def _unauthenticated(self) -> web.Response:
        if self.config.unauthenticated == "http403":
            return _empty(403)
        return envelope(self.config.unauthenticated_retcode)

    def _drop(self, conn: Connection) -> web.Response:
        self.stats.connections_dropped += 1
        conn.manager = None
        conn.close()
        # Never written: the transport is already closed.
        return _empty(503)

    # -- simulator controls -----------------------------------------------------

    def snapshot(self) -> dict[str, object]:
        data = self.stats.to_json()
        data["connections_opened"] = self.registry.opened_total - self._opened_base
        data["connections_live"] = len(self.registry)
        data["sessions_live"] = len(self.registry.authenticated())
        data["balance_operations"] = self.broker.balance_stats()
        data["trans_id"] = str(self.broker.trans_id)
        return data

    def set_faults(self, config: FaultConfig) -> None:
        self.faults.set(config, self._clock())

    def drop_sessions(self, keep: Connection | None = None) -> int:
        """Close every authenticated connection (except ``keep``); how many."""
        dropped = 0
        for conn in self.registry.authenticated():
            if conn is keep:
                continue
            conn.manager = None
            conn.close()
            dropped += 1
        self.stats.connections_dropped += dropped
        return dropped

    def expire_sessions(self, keep: Connection | None = None) -> int:
        """Forget the authentication of every connection (except ``keep``) but keep
        the connections open: their next request is answered as unauthenticated
        (docs/mt5-webapi.md#forgotten-sessions; whether a real server ever does this is
        unknown)."""
        expired = 0
        for conn in self.registry.authenticated():
            if conn is keep:
                continue
            conn.manager = None
            expired += 1
        return expired

    def reset(self) -> None:
        self.broker.reset(self.config.server_now())
        self.faults.clear()
        self.stats.reset()
        self._opened_base = self.registry.opened_total

    async def _control(  # noqa: PLR0911 - one branch per control
        self, request: BaseRequest, path: str
    ) -> web.StreamResponse:
        method = request.method
        key = path.rstrip("/")
        if key == "/_sim/stats":
            if method != "GET":
                return json_response({"error": "method not allowed"}, 405)
            return json_response(self.snapshot())
        if key == "/_sim/faults":
            return await self._control_faults(request)
        if (
            key in ("/_sim/sessions/drop", "/_sim/sessions/expire", "/_sim/reset")
            and method != "POST"
        ):
            return json_response({"error": "method not allowed"}, 405)
        if key == "/_sim/sessions/drop":
            conn = self.registry.get(request.protocol)
            dropped = self.drop_sessions(keep=conn)
            response = json_response({"dropped": dropped + int(conn.authenticated)})
            if conn.authenticated:
                # The caller's own session goes too, after this answer.
                self.stats.connections_dropped += 1
                conn.manager = None
                response.force_close()
            return response
        if key == "/_sim/sessions/expire":
            conn = self.registry.get(request.protocol)
            return json_response({"expired": self.expire_sessions(keep=conn)})
        if key == "/_sim/reset":
            self.reset()
            return json_response({"reset": True})
        return json_response({"error": "not found"}, 404)

    async def _control_faults(self, request: BaseRequest) -> web.Response:
        method = request.method
        if method == "GET":
            return json_response(self.faults.config.to_json())
        if method == "DELETE":
            self.faults.clear()
            return json_response(self.faults.config.to_json())
        if method != "POST":
            return json_response({"error": "method not allowed"}, 405)
        raw = await request.read() if request.body_exists else b""
        try:
            data: Any = json.loads(raw) if raw.strip() else {}
            config = FaultConfig.from_json(data)
        except ValueError as exc:
            return json_response({"error": str(exc)}, 400)
        self.set_faults(config)
        log.info("faults_set %s", config)
        return json_response(config.to_json())
