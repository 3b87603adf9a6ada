"""The money chaos suite: real processes (mt5sim, the gateway, redis-server) and a
fault proxy; see ``harness.py``. Marked ``chaos`` (``-m "not chaos"`` skips it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pytest


def pytest_configure(config: pytest.Config) -> None:
    # Until pyproject.toml lists it (--strict-markers).
    config.addinivalue_line(
        "markers", "chaos: money chaos suite (gateway kills, proxy and MT5 faults)"
    )
