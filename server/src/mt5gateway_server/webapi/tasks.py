"""Background tasks start in a fresh ``contextvars.Context``: the one way to spawn.

``asyncio.create_task`` copies the creator's context. A re-connect started from
inside a call (a session broke under it) kept that call's deadline
(``retry.deadline_scope``) and log fields for ever: once the deadline had passed,
every attempt failed before sending and the pool never recovered. Nothing a task
inherits from whoever happened to start it is right for a task that outlives it.
"""

from __future__ import annotations

import asyncio
import contextvars
from typing import TYPE_CHECKING, Any, TypeVar

import structlog

if TYPE_CHECKING:
    from collections.abc import Coroutine

log = structlog.get_logger("mt5gateway.webapi")

T = TypeVar("T")

# The loop keeps only weak references to tasks: these keep each one alive until done.
_RUNNING: set[asyncio.Task[Any]] = set()


def spawn(coro: Coroutine[Any, Any, T], *, name: str) -> asyncio.Task[T]:
    """Run ``coro`` as a task with an empty context; a failure is logged."""
    task = asyncio.get_running_loop().create_task(
        coro, name=name, context=contextvars.Context()
    )
    _RUNNING.add(task)
    task.add_done_callback(_finished)
    return task


def _finished(task: asyncio.Task[Any]) -> None:
    _RUNNING.discard(task)
    if task.cancelled():
        return
    exc = task.exception()  # retrieved, so asyncio does not report it again
    if exc is not None:
        log.error("background_task_failed", task=task.get_name(), exc_info=exc)
