"""Channel factory: TLS or plaintext, keepalive, API key and default deadlines.

One channel per process (or per event loop for aio) is the intended use: a gRPC channel
multiplexes every call over one HTTP/2 connection and reconnects by itself.

The interceptors installed here do four things for every unary call:

* add the configured metadata (``x-api-key`` and any extra pairs);
* apply ``default_timeout`` when the caller gave no ``timeout`` (streams get none:
  they are long-lived by design);
* fill an empty ``request_id`` of a mutating request with a UUID4, *in place*, so that
  retrying the same message object repeats the same idempotency key;
* turn a failed call into a typed :class:`~mt5gateway.client.errors.GatewayError`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import grpc
from grpc import aio
from mt5gateway.client.errors import decode

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = [
    "API_KEY_HEADER",
    "ChannelConfig",
    "channel_options",
    "create_aio_channel",
    "create_channel",
    "ensure_request_id",
]

API_KEY_HEADER = "x-api-key"
_REQUEST_ID_FIELD = "request_id"

Metadata = tuple[tuple[str, str | bytes], ...]


@dataclass(frozen=True, slots=True)
class ChannelConfig:
    """Where and how to connect. ``target`` is ``host:port`` or any gRPC target URI."""

    target: str
    #: TLS with the system roots (or ``root_certificates``); False = plaintext
    #: (loopback, a sidecar, or a service mesh that terminates TLS).
    tls: bool = False
    root_certificates: bytes | None = None
    #: Client certificate and key for mutual TLS (both or neither).
    certificate_chain: bytes | None = None
    private_key: bytes | None = None
    #: Overrides the name checked against the server certificate (tests, IP targets).
    server_name_override: str | None = None
    api_key: str | None = field(default=None, repr=False)
    metadata: Metadata = ()
    #: Seconds; applied to unary calls without an explicit timeout. None = no deadline.
    default_timeout: float | None = 10.0
    #: HTTP/2 pings keep idle connections (and quote streams) alive through proxies;
    #: the gateway permits pings every 10 s or slower.
    keepalive_time_ms: int = 30_000
    keepalive_timeout_ms: int = 10_000
    keepalive_permit_without_calls: bool = True
    max_receive_message_bytes: int = 16 * 1024 * 1024
    extra_options: tuple[tuple[str, int | str], ...] = ()

    def call_metadata(self) -> Metadata:
        pairs: list[tuple[str, str | bytes]] = list(self.metadata)
        if self.api_key:
            pairs.append((API_KEY_HEADER, self.api_key))
        return tuple(pairs)


def channel_options(config: ChannelConfig) -> list[tuple[str, int | str]]:
    options: list[tuple[str, int | str]] = [
        ("grpc.keepalive_time_ms", config.keepalive_time_ms),
        ("grpc.keepalive_timeout_ms", config.keepalive_timeout_ms),
        (
            "grpc.keepalive_permit_without_calls",
            int(config.keepalive_permit_without_calls),
        ),
        ("grpc.http2.max_pings_without_data", 0),
        ("grpc.max_receive_message_length", config.max_receive_message_bytes),
    ]
    if config.server_name_override:
        options.append(("grpc.ssl_target_name_override", config.server_name_override))
    options.extend(config.extra_options)
    return options


def _credentials(config: ChannelConfig) -> grpc.ChannelCredentials:
    if (config.certificate_chain is None) != (config.private_key is None):
        raise ValueError("mutual TLS needs both certificate_chain and private_key")
    return grpc.ssl_channel_credentials(
        root_certificates=config.root_certificates,
        private_key=config.private_key,
        certificate_chain=config.certificate_chain,
    )


def ensure_request_id(request: object) -> None:
    """Give a mutating request (one with a ``request_id`` field) a UUID4 if empty."""
    descriptor = getattr(request, "DESCRIPTOR", None)
    if descriptor is None or _REQUEST_ID_FIELD not in descriptor.fields_by_name:
        return
    if not getattr(request, _REQUEST_ID_FIELD):
        setattr(request, _REQUEST_ID_FIELD, str(uuid.uuid4()))


def _merge_metadata(extra: Metadata, given: Sequence[Any] | None) -> Metadata | None:
    if not extra:
        return tuple(given) if given is not None else None
    # Caller-given pairs come last so a per-call value can add to the defaults.
    return (*extra, *(given or ()))


class _SyncDetails(NamedTuple):
    # grpc.ClientCallDetails is an abstract class without a constructor; gRPC reads
    # these attributes only.
    method: str
    timeout: float | None
    metadata: Metadata | None
    credentials: grpc.CallCredentials | None
    wait_for_ready: bool | None
    compression: grpc.Compression | None


def _sync_details(
    details: grpc.ClientCallDetails, config: ChannelConfig, *, unary: bool
) -> _SyncDetails:
    timeout = details.timeout
    if timeout is None and unary:
        timeout = config.default_timeout
    return _SyncDetails(
        details.method,
        timeout,
        _merge_metadata(config.call_metadata(), details.metadata),
        details.credentials,
        getattr(details, "wait_for_ready", None),
        getattr(details, "compression", None),
    )


class _SyncInterceptor(
    grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor
):
    def __init__(self, config: ChannelConfig) -> None:
        self._config = config

    def intercept_unary_unary(
        self,
        continuation: Callable[[grpc.ClientCallDetails, Any], Any],
        client_call_details: grpc.ClientCallDetails,
        request: Any,  # noqa: ANN401 - any generated request message
    ) -> Any:  # noqa: ANN401 - the call object gRPC hands back
        ensure_request_id(request)
        details = _sync_details(client_call_details, self._config, unary=True)
        outcome = continuation(details, request)  # type: ignore[arg-type]
        error = outcome.exception()
        if isinstance(error, grpc.RpcError):
            # Raised here, the typed error reaches the caller of stub.Method(...).
            raise decode(error) from error
        return outcome

    def intercept_unary_stream(
        self,
        continuation: Callable[[grpc.ClientCallDetails, Any], Any],
        client_call_details: grpc.ClientCallDetails,
        request: Any,  # noqa: ANN401 - any generated request message
    ) -> Any:  # noqa: ANN401 - the call object gRPC hands back
        details = _sync_details(client_call_details, self._config, unary=False)
        return continuation(details, request)  # type: ignore[arg-type]


def _aio_details(
    details: aio.ClientCallDetails, config: ChannelConfig, *, unary: bool
) -> aio.ClientCallDetails:
    timeout = details.timeout
    if timeout is None and unary:
        timeout = config.default_timeout
    return aio.ClientCallDetails(
        details.method,
        timeout,
        _merge_metadata(config.call_metadata(), details.metadata),  # type: ignore[arg-type]
        details.credentials,
        details.wait_for_ready,
    )


class _AioUnaryInterceptor(aio.UnaryUnaryClientInterceptor):
    def __init__(self, config: ChannelConfig) -> None:
        self._config = config

    async def intercept_unary_unary(
        self,
        continuation: Callable[[aio.ClientCallDetails, Any], Any],
        client_call_details: aio.ClientCallDetails,
        request: Any,  # noqa: ANN401 - any generated request message
    ) -> Any:  # noqa: ANN401 - the call object gRPC hands back
        ensure_request_id(request)
        details = _aio_details(client_call_details, self._config, unary=True)
        call = await continuation(details, request)
        try:
            await call
        except aio.AioRpcError as error:
            raise decode(error) from error
        return call


class _AioStreamInterceptor(aio.UnaryStreamClientInterceptor):
    def __init__(self, config: ChannelConfig) -> None:
        self._config = config

    async def intercept_unary_stream(
        self,
        continuation: Callable[[aio.ClientCallDetails, Any], Any],
        client_call_details: aio.ClientCallDetails,
        request: Any,  # noqa: ANN401 - any generated request message
    ) -> Any:  # noqa: ANN401 - the call object gRPC hands back
        details = _aio_details(client_call_details, self._config, unary=False)
        return await continuation(details, request)


def create_channel(
    config: ChannelConfig,
    *,
    interceptors: Sequence[grpc.UnaryUnaryClientInterceptor] = (),
) -> grpc.Channel:
    """A blocking channel with the gateway interceptors installed (outermost first)."""
    options = channel_options(config)
    if config.tls:
        base = grpc.secure_channel(config.target, _credentials(config), options)
    else:
        base = grpc.insecure_channel(config.target, options)
    return grpc.intercept_channel(base, _SyncInterceptor(config), *interceptors)


def create_aio_channel(
    config: ChannelConfig,
    *,
    interceptors: Sequence[aio.ClientInterceptor] = (),
) -> aio.Channel:
    """An asyncio channel; create it inside the event loop that will use it.

    OpenTelemetry's aio client interceptors are opt-in through ``interceptors``: they
    swallow cancellation of unary calls (opentelemetry-python-contrib #3271).
    """
    chain: list[aio.ClientInterceptor] = [
        _AioUnaryInterceptor(config),
        _AioStreamInterceptor(config),
        *interceptors,
    ]
    options = channel_options(config)
    if config.tls:
        return aio.secure_channel(
            config.target, _credentials(config), options, interceptors=chain
        )
    return aio.insecure_channel(config.target, options, interceptors=chain)
