"""A real gateway (mt5sim upstream) in a background thread, for client tests.

The gateway runs on its own event loop in a thread so that blocking clients (the sync
Python client, PHP in a subprocess) and asyncio clients can all call it. Plain-HTTP
simulator, so ``/_sim/stats`` is readable with urllib.

``live_tls_gateway`` is a second one with TLS and mutual TLS on its gRPC port, from
certificates made in a temporary directory (``tls_files``): the server's CA and
certificate by ``mt5sim.tls.generate``, the callers' CA and certificate, and a rogue CA
with a certificate it issued, which the gateway must refuse. (Helpers come as fixtures:
test modules cannot import each other under ``--import-mode=importlib``.)
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
import urllib.request
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from mt5gateway_server.app import open_app
from mt5gateway_server.settings import (
    GrpcSettings,
    Mt5ServerSettings,
    Settings,
    TelemetrySettings,
)
from mt5sim import SimConfig, Simulator
from mt5sim import tls as sim_tls

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

_START_TIMEOUT_SECONDS = 30.0


@dataclass
class RunningGateway:
    target: str = ""
    sim_url: str = ""
    error: BaseException | None = None
    _loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)
    _stop: asyncio.Event | None = field(default=None, repr=False)

    def stats(self) -> dict[str, Any]:
        """The simulator's ``GET /_sim/stats``."""
        url = self.sim_url + "/_sim/stats"
        with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - loopback
            result: dict[str, Any] = json.loads(resp.read())
        return result

    def stop(self) -> None:
        # A loop that already ended (start-up failed) has nothing left to stop.
        if (
            self._loop is not None
            and self._stop is not None
            and not self._loop.is_closed()
        ):
            self._loop.call_soon_threadsafe(self._stop.set)


def _settings(sim: Simulator, grpc: dict[str, Any], data_dir: Path) -> Settings:
    return Settings(
        data_dir=data_dir,
        mt5={
            "main": Mt5ServerSettings.model_validate(
                {
                    "name": "main",
                    "url": sim.url,
                    "login": 1000,
                    "password": "Password1",  # the simulator's documented manager
                    "pool_size": 2,
                }
            )
        },
        grpc=GrpcSettings(listen="127.0.0.1:0", grace_period_seconds=1.0, **grpc),
        telemetry=TelemetrySettings(metrics_listen=None, log_format="json"),
    )


def _serve(
    box: RunningGateway, ready: threading.Event, grpc: dict[str, Any], data_dir: Path
) -> None:
    async def main() -> None:
        box._loop = asyncio.get_running_loop()
        box._stop = asyncio.Event()
        config = SimConfig(tls=False, seed=1, ticks_per_second=20, idle_timeout=60.0)
        async with (
            Simulator(config) as sim,
            open_app(_settings(sim, grpc, data_dir)) as app,
        ):
            box.target = f"127.0.0.1:{app.port}"
            box.sim_url = sim.url
            ready.set()
            await box._stop.wait()

    try:
        asyncio.run(main())
    except BaseException as exc:  # noqa: BLE001 - reported to the waiting test
        box.error = exc
    finally:
        ready.set()


def _run_gateway(grpc: dict[str, Any], data_dir: Path) -> Iterator[RunningGateway]:
    box = RunningGateway()
    ready = threading.Event()
    thread = threading.Thread(
        target=_serve, args=(box, ready, grpc, data_dir), daemon=True
    )
    thread.start()
    if not ready.wait(_START_TIMEOUT_SECONDS) or box.error is not None:
        box.stop()
        pytest.fail(f"gateway did not start: {box.error!r}", pytrace=False)
    try:
        yield box
    finally:
        box.stop()
        thread.join(timeout=15)


@pytest.fixture(scope="module")
def live_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGateway]:
    yield from _run_gateway({}, tmp_path_factory.mktemp("gateway-data"))


@dataclass(frozen=True)
class TlsFiles:
    """PEM files: the gateway's (server_*), its callers' CA and one caller's
    certificate (client_*), and a rogue CA with a certificate it issued (rogue_*)."""

    server_ca: str
    server_cert: str
    server_key: str
    client_ca: str
    client_cert: str
    client_key: str
    rogue_ca: str
    rogue_cert: str
    rogue_key: str


def _ca_and_client_cert(name: str) -> tuple[bytes, bytes, bytes]:
    """A CA and a client certificate it issued: (ca pem, cert pem, key pem)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return ca.public_bytes(pem), cert.public_bytes(pem), key_pem


def _write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    directory = tmp_path_factory.mktemp("tls")
    server = sim_tls.generate(directory, hosts=("127.0.0.1",))
    client_ca, client_cert, client_key = _ca_and_client_cert("crm")
    rogue_ca, rogue_cert, rogue_key = _ca_and_client_cert("rogue")
    return TlsFiles(
        server_ca=server.ca_file,
        server_cert=server.cert_file,
        server_key=server.key_file,
        client_ca=_write(directory / "clients-ca.pem", client_ca),
        client_cert=_write(directory / "client-cert.pem", client_cert),
        client_key=_write(directory / "client-key.pem", client_key),
        rogue_ca=_write(directory / "rogue-ca.pem", rogue_ca),
        rogue_cert=_write(directory / "rogue-cert.pem", rogue_cert),
        rogue_key=_write(directory / "rogue-key.pem", rogue_key),
    )


@pytest.fixture(scope="module")
def live_tls_gateway(
    tls_files: TlsFiles, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningGateway]:
    """A gateway with TLS and mutual TLS on (callers need a ``client_ca`` cert)."""
    yield from _run_gateway(
        {
            "tls_cert_file": tls_files.server_cert,
            "tls_key_file": tls_files.server_key,
            "tls_client_ca_file": tls_files.client_ca,
        },
        tmp_path_factory.mktemp("gateway-data"),
    )
