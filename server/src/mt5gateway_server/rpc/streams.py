"""StreamRegistry: the live server streams, so a drain can end them.

On shutdown (docs/architecture.md, "Start-up and drain") every open
stream is told to end with ``UNAVAILABLE`` + ``RetryInfo`` (``GatewayDrainingError``),
the lifecycle Pub/Sub ``StreamingPull`` documents: clients reopen elsewhere and get a
fresh snapshot first. New streams are refused once draining has begun.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

from mt5gateway_server.errors import GatewayDrainingError
from mt5gateway_server.log import get_logger

__all__ = ["Closable", "StreamRegistry"]

_log = get_logger("rpc.streams")


class Closable(Protocol):
    """A stream's handle: ``close(error)`` makes its handler raise ``error``."""

    def close(self, error: BaseException) -> None: ...


class StreamRegistry:
    """Tracks open streams; ``drain()`` ends them all and waits (bounded)."""

    def __init__(self) -> None:
        self._streams: dict[Closable, None] = {}
        self._draining = False
        self._empty = asyncio.Event()
        self._empty.set()

    def __repr__(self) -> str:
        state = "draining" if self._draining else "open"
        return f"<StreamRegistry {state}, {len(self._streams)} streams>"

    def __len__(self) -> int:
        return len(self._streams)

    @property
    def draining(self) -> bool:
        return self._draining

    def add(self, stream: Closable) -> None:
        """A stream starts; refused (GatewayDrainingError) while draining."""
        if self._draining:
            raise GatewayDrainingError
        self._streams[stream] = None
        self._empty.clear()

    def discard(self, stream: Closable) -> None:
        """A stream ended (any way); safe to call twice."""
        self._streams.pop(stream, None)
        if not self._streams:
            self._empty.set()

    async def drain(self, wait_seconds: float = 5.0) -> int:
        """End every stream with UNAVAILABLE + RetryInfo; idempotent.

        Returns how many streams were told to end. Waits up to ``wait_seconds``
        for their handlers to finish, so the status goes out before the server stops.
        """
        self._draining = True
        streams = list(self._streams)
        started = time.monotonic()
        for stream in streams:
            stream.close(GatewayDrainingError())
        if streams:
            # asyncio.wait, not asyncio.timeout: a cancel must never become a timeout.
            empty = asyncio.ensure_future(self._empty.wait())
            done, _ = await asyncio.wait([empty], timeout=wait_seconds)
            if not done:
                empty.cancel()
                _log.warning("stream_drain_timeout", remaining=len(self._streams))
        _log.info(
            "streams_drained",
            streams=len(streams),
            duration_ms=round((time.monotonic() - started) * 1000, 1),
        )
        return len(streams)
