"""Every Redis key and channel the gateway uses, in one place.

All names start with ``mt5gw:v1:`` so one Redis can be shared with other apps and a
future incompatible layout can live next to this one (``mt5gw:v2:``). Parts that come
from callers (method names, request ids, server names, views) are escaped so a ``:``
inside them can never make two different keys collide.

``mt5gw:v1:idem:{method}:{request_id}``
    string (JSON), idempotency store: one request's record; TTL >= 24 h.
``mt5gw:v1:idem:lease:{method}:{request_id}``
    string, idempotency store: owner token of the replica executing it; PX lease.
``mt5gw:v1:quotes:lease:{server}:{view}``
    string, quote poller: owner token of the one replica polling (server, view).
``mt5gw:v1:quotes:{server}:{view}``
    pub/sub channel, quote poller: JSON ticks (format documented in the README).
``mt5gw:v1:quotes:snapshot:{server}:{view}``
    hash, quote poller: symbol -> latest tick JSON, the snapshot for new streams.
``mt5gw:v1:quotes:interest:{server}:{view}``
    sorted set, Redis fan-out: ``<replica>|<symbol>`` wanted, scored by expiry (ms).
``mt5gw:v1:audit``
    stream, write store: one entry per step of every MT5 write, added by the same
    script that changes the write's record.

``view`` is the price view of a quote feed: ``raw`` (no group) or ``group:<name>``.
"""

from __future__ import annotations

from urllib.parse import quote

__all__ = [
    "AUDIT_STREAM",
    "PREFIX",
    "idempotency",
    "idempotency_lease",
    "quote_channel",
    "quote_interest",
    "quote_lease",
    "quote_snapshot",
    "quote_view",
]

PREFIX = "mt5gw:v1:"
AUDIT_STREAM = PREFIX + "audit"


def _part(value: str) -> str:
    # Percent-encode ':' and '%' (and anything unusual) but keep common id
    # characters readable: "/mt5gateway.v1.TradeService/CreateBalanceOperation".
    if not value:
        raise ValueError("key parts must not be empty")
    return quote(value, safe="/._-@+=")


def idempotency(method: str, request_id: str) -> str:
    """The record of one (method, request_id)."""
    return f"{PREFIX}idem:{_part(method)}:{_part(request_id)}"


def idempotency_lease(method: str, request_id: str) -> str:
    """Held (PX) by the replica executing (method, request_id); gone = owner died."""
    return f"{PREFIX}idem:lease:{_part(method)}:{_part(request_id)}"


def quote_view(group: str | None = None) -> str:
    """``raw`` for plain ticks, ``group:<name>`` for ticks priced for a group."""
    return "raw" if not group else f"group:{group}"


def quote_lease(server: str, view: str) -> str:
    """Only the replica holding this polls ``server`` for ``view``."""
    return f"{PREFIX}quotes:lease:{_part(server)}:{_part(view)}"


def quote_channel(server: str, view: str) -> str:
    """Pub/sub channel the polling replica publishes ticks to."""
    return f"{PREFIX}quotes:{_part(server)}:{_part(view)}"


def quote_snapshot(server: str, view: str) -> str:
    """Hash of the latest tick per symbol, so a new subscriber gets a snapshot."""
    return f"{PREFIX}quotes:snapshot:{_part(server)}:{_part(view)}"


def quote_interest(server: str, view: str) -> str:
    """Which replicas want which symbols of (server, view), for the Redis fan-out."""
    return f"{PREFIX}quotes:interest:{_part(server)}:{_part(view)}"
