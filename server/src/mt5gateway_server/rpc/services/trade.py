"""TradeService: balance operations (exactly once) and trade records."""

from __future__ import annotations

from typing import Any

from mt5gateway.v1 import trade_service_pb2_grpc


class TradeServicer(trade_service_pb2_grpc.TradeServiceServicer):
    """gRPC glue: validation, MT5 calls through the pool, mapping to protos."""

    def __init__(self, deps: Any) -> None:  # noqa: ANN401 - ServiceDeps, wired later
        self._deps = deps
