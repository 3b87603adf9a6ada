import uuid

import pytest
from mt5gateway.client.channel import (
    API_KEY_HEADER,
    ChannelConfig,
    channel_options,
    create_channel,
    ensure_request_id,
)
from mt5gateway.v1 import trade_service_pb2, user_service_pb2


def test_request_id_filled_once_and_kept() -> None:
    request = trade_service_pb2.CreateBalanceOperationRequest(login=1)
    ensure_request_id(request)
    first = request.request_id
    assert uuid.UUID(first).version == 4
    ensure_request_id(request)
    assert request.request_id == first  # a retry of the same message repeats the key


def test_given_request_id_is_kept() -> None:
    request = user_service_pb2.DeleteUserRequest(request_id="mine", login=5)
    ensure_request_id(request)
    assert request.request_id == "mine"


def test_reads_are_untouched() -> None:
    request = user_service_pb2.GetUserRequest(login=5)
    ensure_request_id(request)
    assert request == user_service_pb2.GetUserRequest(login=5)
    ensure_request_id(object())  # not a message: ignored


def test_metadata_and_options() -> None:
    config = ChannelConfig(
        "gw:443",
        api_key="secret",
        metadata=(("x-tenant", "a"),),
        server_name_override="gw.internal",
        extra_options=(("grpc.lb_policy_name", "round_robin"),),
    )
    assert config.call_metadata() == (("x-tenant", "a"), (API_KEY_HEADER, "secret"))
    assert "secret" not in repr(config)
    options = dict(channel_options(config))
    assert options["grpc.keepalive_time_ms"] == 30_000
    assert options["grpc.ssl_target_name_override"] == "gw.internal"
    assert options["grpc.lb_policy_name"] == "round_robin"


def test_mtls_needs_both_halves() -> None:
    with pytest.raises(ValueError, match="both"):
        create_channel(ChannelConfig("gw:443", tls=True, private_key=b"k"))


def test_tls_channel_is_lazy() -> None:
    # Creating a channel does no I/O, so an unreachable TLS target is fine here.
    channel = create_channel(ChannelConfig("127.0.0.1:1", tls=True))
    channel.close()
