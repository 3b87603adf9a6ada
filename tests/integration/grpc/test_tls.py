"""TLS and mutual TLS on the gRPC port: real sockets, freshly generated certificates."""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from mt5gateway.v1 import user_service_pb2 as pb
from mt5gateway.v1 import user_service_pb2_grpc
from mt5gateway_server.settings import GrpcSettings, SettingsError
from mt5sim import tls as sim_tls

if TYPE_CHECKING:
    from mt5sim import Simulator

PROBE = Path(__file__).resolve().parents[3] / "scripts" / "health-probe"


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _client_ca_and_cert(name: str) -> tuple[bytes, bytes, bytes]:
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
    return ca.public_bytes(pem), cert.public_bytes(pem), _pem_key(key)


@pytest.fixture
def server_files(tmp_path: Path) -> sim_tls.CertFiles:
    directory = tmp_path / "server"
    directory.mkdir()
    return sim_tls.generate(directory, hosts=("127.0.0.1",))


def _read(path: str) -> bytes:
    with open(path, "rb") as f:  # noqa: PTH123 - a str path from CertFiles
        return f.read()


async def _get_user(
    port: int, login: int, credentials: grpc.ChannelCredentials | None
) -> pb.GetUserResponse:
    target = f"127.0.0.1:{port}"
    channel = (
        grpc.aio.insecure_channel(target)
        if credentials is None
        else grpc.aio.secure_channel(target, credentials)
    )
    async with channel:
        stub = user_service_pb2_grpc.UserServiceStub(channel)
        reply: pb.GetUserResponse = await stub.GetUser(
            pb.GetUserRequest(login=login), timeout=5
        )
        return reply


async def test_tls_port_serves_verified_callers_and_refuses_plaintext(
    sim: Simulator, make_gateway: Any, server_files: sim_tls.CertFiles
) -> None:
    login = min(sim.broker.users)
    grpc_settings = {
        "tls_cert_file": server_files.cert_file,
        "tls_key_file": server_files.key_file,
    }
    async with make_gateway(sim, grpc=grpc_settings) as gw:
        trusted = grpc.ssl_channel_credentials(_read(server_files.ca_file))
        reply = await _get_user(gw.port, login, trusted)
        assert reply.user.login == login
        with pytest.raises(grpc.aio.AioRpcError) as plain:
            await _get_user(gw.port, login, None)
        assert plain.value.code() is grpc.StatusCode.UNAVAILABLE
        # A client that does not trust the issuing CA refuses the gateway.
        other_ca, _, _ = _client_ca_and_cert("stranger")
        with pytest.raises(grpc.aio.AioRpcError) as untrusted:
            await _get_user(
                gw.port, login, grpc.ssl_channel_credentials(root_certificates=other_ca)
            )
        assert untrusted.value.code() is grpc.StatusCode.UNAVAILABLE


async def test_mutual_tls_requires_a_client_certificate_from_the_configured_ca(
    sim: Simulator,
    make_gateway: Any,
    server_files: sim_tls.CertFiles,
    tmp_path: Path,
) -> None:
    login = min(sim.broker.users)
    client_ca, client_cert, client_key = _client_ca_and_cert("crm")
    _, rogue_cert, rogue_key = _client_ca_and_cert("rogue")
    ca_file = tmp_path / "clients-ca.pem"
    ca_file.write_bytes(client_ca)
    grpc_settings = {
        "tls_cert_file": server_files.cert_file,
        "tls_key_file": server_files.key_file,
        "tls_client_ca_file": str(ca_file),
    }
    server_ca = _read(server_files.ca_file)
    async with make_gateway(sim, grpc=grpc_settings) as gw:
        with_cert = grpc.ssl_channel_credentials(server_ca, client_key, client_cert)
        assert (await _get_user(gw.port, login, with_cert)).user.login == login
        for credentials in (
            grpc.ssl_channel_credentials(server_ca),  # no client certificate
            grpc.ssl_channel_credentials(server_ca, rogue_key, rogue_cert),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await _get_user(gw.port, login, credentials)
            assert refused.value.code() is grpc.StatusCode.UNAVAILABLE


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"tls_cert_file": "CERT"}, "both tls_cert_file and tls_key_file"),
        ({"tls_client_ca_file": "CERT"}, "tls_client_ca_file needs"),
        (
            {"tls_cert_file": "CERT", "tls_key_file": "/nonexistent/key.pem"},
            "TLS file not found",
        ),
    ],
)
def test_tls_settings_are_checked(
    server_files: sim_tls.CertFiles, fields: dict[str, str], message: str
) -> None:
    values = {
        k: server_files.cert_file if v == "CERT" else v for k, v in fields.items()
    }
    with pytest.raises((ValueError, SettingsError), match=message):
        GrpcSettings(**values)


def _probe(port: int, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own script
        [sys.executable, str(PROBE), "--addr", f"127.0.0.1:{port}", *extra],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


async def test_health_probe_over_plaintext_tls_and_mutual_tls(
    sim: Simulator,
    make_gateway: Any,
    server_files: sim_tls.CertFiles,
    tmp_path: Path,
) -> None:
    async with make_gateway(sim) as gw:
        plain = await asyncio.to_thread(_probe, gw.port)
        assert (plain.returncode, plain.stdout.strip()) == (0, "status: SERVING")
    client_ca, client_cert, client_key = _client_ca_and_cert("probe")
    files = {"ca": client_ca, "cert": client_cert, "key": client_key}
    for name, data in files.items():
        (tmp_path / f"client-{name}.pem").write_bytes(data)
    grpc_settings = {
        "tls_cert_file": server_files.cert_file,
        "tls_key_file": server_files.key_file,
        "tls_client_ca_file": str(tmp_path / "client-ca.pem"),
    }
    async with make_gateway(sim, grpc=grpc_settings) as gw:
        refused = await asyncio.to_thread(_probe, gw.port)
        assert refused.returncode == 2  # plaintext against a TLS port
        tls = (
            "--tls-ca-cert",
            server_files.ca_file,
            "--tls-client-cert",
            str(tmp_path / "client-cert.pem"),
            "--tls-client-key",
            str(tmp_path / "client-key.pem"),
        )
        ok = await asyncio.to_thread(_probe, gw.port, *tls, "--service", "")
        assert (ok.returncode, ok.stdout.strip()) == (0, "status: SERVING"), ok.stderr
        no_client_cert = await asyncio.to_thread(
            _probe, gw.port, "--tls-ca-cert", server_files.ca_file
        )
        assert no_client_cert.returncode == 2
