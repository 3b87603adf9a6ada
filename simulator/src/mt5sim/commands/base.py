"""The contract between the HTTP layer (app.py) and the command handlers.

The HTTP layer authenticates the connection, parses the request into ``Params`` and
calls ``COMMANDS[path].handler(ctx, params)``; the handler returns a ``Reply`` or raises
``Mt5Error``. Handlers are synchronous: the broker state is in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from mt5sim.market.broker import Broker


class Params(Protocol):
    """A request's parameters, decoded.

    Query names are case-insensitive; values are URL-decoded then
    MT5-unescaped (docs/mt5-webapi.md#escaping). A value given both in the query and in
    the JSON body comes from the body (docs/mt5-webapi.md#requests).
    """

    def get(self, name: str) -> str | None:
        """One value: the body field named exactly ``name`` or its record spelling
        (``pass_main`` → ``PassMain``; body names are
        case-sensitive, docs/mt5-webapi.md#requests) first, then the query
        (case-insensitive). Body numbers come back as strings."""
        ...

    def get_list(self, name: str) -> list[str] | None:
        """A comma list from the query, or a JSON array / comma string in the body."""
        ...

    @property
    def body(self) -> Mapping[str, Any] | None:
        """The JSON object body, field names case-sensitive; None when there is none."""
        ...


@dataclass(frozen=True)
class Manager:
    """The authenticated manager of a connection."""

    login: int
    # Group masks this manager may access (e.g. ("*",) or ("demo\\*", "!demo\\vip")).
    groups: tuple[str, ...] = ("*",)


@dataclass
class CommandContext:
    broker: Broker
    manager: Manager
    # The server clock when the request arrived: UTC seconds + timezone minutes.
    now: float
    timezone: int = 0  # trade-server time zone, minutes east of UTC
    # The session's answered trans_ids when cursors are per connection; None when
    # the server-wide counter is honoured whatever session asks.
    session_trans_ids: set[int] | None = None


@dataclass(frozen=True)
class Reply:
    """A successful (or partial, retcode 14) answer.

    ``answer`` is JSON-able and omitted from the envelope when None; ``extra`` holds
    top-level keys such as ``trans_id`` or ``login`` (string values).
    """

    answer: object | None = None
    extra: Mapping[str, str] = field(default_factory=dict)
    retcode: int = 0


Handler = Callable[[CommandContext, Params], Reply]


@dataclass(frozen=True)
class Command:
    path: str  # REST path after /api/, e.g. "user/account/get_batch"
    # Raw protocol name, e.g. "USER_ACCOUNT_GET_BATCH"; the legacy path is /raw.lower().
    raw: str
    handler: Handler
