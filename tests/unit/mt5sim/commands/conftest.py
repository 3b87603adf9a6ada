"""Handlers are called directly with a tiny dict-backed Params."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest
from mt5sim.commands.base import CommandContext, Manager, Reply
from mt5sim.commands.registry import COMMANDS
from mt5sim.market.broker import Broker
from mt5sim.retcodes import Mt5Error

NOW = 1_764_000_000.0  # a Monday, 16:00 UTC


class DictParams:
    """Query values (case-insensitive names) plus an optional JSON body."""

    def __init__(
        self, query: Mapping[str, object], body: Mapping[str, Any] | None
    ) -> None:
        self._query = {k.lower(): str(v) for k, v in query.items()}
        self._body = body

    def get(self, name: str) -> str | None:
        if self._body is not None:
            for key, value in self._body.items():
                if key.lower() == name.lower() and not isinstance(value, list):
                    return str(value)
        return self._query.get(name.lower())

    def get_list(self, name: str) -> list[str] | None:
        if self._body is not None:
            for key, value in self._body.items():
                if key.lower() == name.lower() and isinstance(value, list):
                    return [str(v) for v in value]
        value = self.get(name)
        return None if value is None else value.split(",")

    @property
    def body(self) -> Mapping[str, Any] | None:
        return self._body


Call = Callable[..., Reply]


@pytest.fixture
def broker() -> Broker:
    return Broker.seeded(7, NOW)


def make_call(broker: Broker, manager: Manager) -> Call:
    def call(
        path: str, body: Mapping[str, Any] | None = None, **query: object
    ) -> Reply:
        ctx = CommandContext(broker, manager, NOW)
        return COMMANDS[path].handler(ctx, DictParams(query, body))

    return call


@pytest.fixture
def call(broker: Broker) -> Call:
    """Call a command as the all-groups manager 1000."""
    return make_call(broker, Manager(1000))


@pytest.fixture
def demo_call(broker: Broker) -> Call:
    """Call a command as a manager limited to demo groups."""
    return make_call(broker, Manager(1001, ("demo\\*",)))


def retcode_of(call: Call, path: str, **query: object) -> int:
    try:
        call(path, **query)
    except Mt5Error as exc:
        return exc.code
    return 0
