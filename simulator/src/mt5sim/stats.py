"""Counters shown by ``GET /_sim/stats``; zeroed by ``POST /_sim/reset``."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Stats:
    # auth/start requests received (accepted or not).
    handshakes_started: int = 0
    # auth/answer accepted.
    handshakes_completed: int = 0
    # auth/start refused (bad parameters, unknown login, reject fault) or auth/answer
    # wrong, late, malformed or without a started handshake.
    handshakes_failed: int = 0
    connections_dropped: int = 0  # by faults, /_sim/sessions/drop or quit
    faults_injected: Counter[str] = field(default_factory=Counter)
    # Per command name (REST path after /api/); unknown paths count as "<unknown>".
    requests: Counter[str] = field(default_factory=Counter)

    def reset(self) -> None:
        fresh = Stats()
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(fresh, name))

    def to_json(self) -> dict[str, object]:
        return {
            "handshakes": {
                "started": self.handshakes_started,
                "completed": self.handshakes_completed,
                "failed": self.handshakes_failed,
            },
            "connections_dropped": self.connections_dropped,
            "faults_injected": dict(sorted(self.faults_injected.items())),
            "requests": dict(sorted(self.requests.items())),
            "requests_total": sum(self.requests.values()),
        }
