"""Health (overall, per service, per MT5 server) and reflection over loopback."""

from __future__ import annotations

from typing import TYPE_CHECKING

from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from mt5gateway_server.rpc.server import mt5_health_name

if TYPE_CHECKING:
    from conftest import Gateway

SERVING = health_pb2.HealthCheckResponse.SERVING


async def _check(gateway: Gateway, service: str) -> int:
    stub = health_pb2_grpc.HealthStub(gateway.channel)
    reply = await stub.Check(health_pb2.HealthCheckRequest(service=service))
    return int(reply.status)


async def test_overall_and_per_service_health_serving(gateway: Gateway) -> None:
    assert await _check(gateway, "") == SERVING
    for service in gateway.app.server.services:
        assert await _check(gateway, service) == SERVING
    assert await _check(gateway, mt5_health_name("main")) == SERVING


async def test_reflection_lists_the_services(gateway: Gateway) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(gateway.channel)

    async def requests():
        yield reflection_pb2.ServerReflectionRequest(list_services="")

    names: list[str] = []
    async for reply in stub.ServerReflectionInfo(requests()):
        names.extend(s.name for s in reply.list_services_response.service)
    assert "grpc.health.v1.Health" in names
    assert set(gateway.app.server.services) <= set(names)
