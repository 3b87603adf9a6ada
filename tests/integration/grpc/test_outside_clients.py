"""The gateway as outside clients see it: grpcurl via reflection, Node's grpc-js."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import Gateway

FIRST = 100_000
MISSING = 99_999_999
NODE_DIR = Path(__file__).parent / "node"
# grpcurl exits with 64 + the gRPC status code on an RPC error.
GRPCURL_ERROR_BASE = 64


def _grpcurl() -> str:
    found = shutil.which("grpcurl") or str(Path(sys.executable).parent / "grpcurl")
    if not Path(found).exists():
        pytest.fail("grpcurl not installed: it comes with the dev dependencies")
    return found


async def _run(*argv: str, limit: float = 60) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(limit):
        out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def _grpcurl_call(gateway: Gateway, *args: str) -> tuple[int, str, str]:
    return await _run(_grpcurl(), "-plaintext", *args[:-1], gateway.target, args[-1])


async def test_grpcurl_lists_and_describes_via_reflection(gateway: Gateway) -> None:
    code, out, err = await _run(_grpcurl(), "-plaintext", gateway.target, "list")
    assert code == 0, err
    services = set(out.split())
    assert {
        "mt5gateway.v1.UserService",
        "mt5gateway.v1.ConfigService",
        "mt5gateway.v1.QuoteService",
        "mt5gateway.v1.ServerService",
        "grpc.health.v1.Health",
    } <= services
    code, out, err = await _run(
        _grpcurl(), "-plaintext", gateway.target, "describe", "mt5gateway.v1.User"
    )
    assert code == 0, err
    assert "google.type.Money balance" in out


async def test_grpcurl_get_user_and_rich_error(gateway: Gateway) -> None:
    code, out, err = await _grpcurl_call(
        gateway, "-d", json.dumps({"login": FIRST}), "mt5gateway.v1.UserService/GetUser"
    )
    assert code == 0, err
    user: dict[str, Any] = json.loads(out)["user"]
    assert user["login"] == str(FIRST)  # int64 as a JSON string
    assert user["balance"].get("currencyCode", user["balance"].get("currency_code"))
    code, out, err = await _grpcurl_call(
        gateway,
        "-d",
        json.dumps({"login": MISSING}),
        "mt5gateway.v1.UserService/GetUser",
    )
    assert code == GRPCURL_ERROR_BASE + 5, (out, err)  # NOT_FOUND
    assert "MT5_NOT_FOUND" in err
    assert "google.rpc.ErrorInfo" in err


async def test_grpcurl_health(gateway: Gateway) -> None:
    code, out, err = await _grpcurl_call(
        gateway,
        "-d",
        json.dumps({"service": "mt5gateway.v1.UserService"}),
        "grpc.health.v1.Health/Check",
    )
    assert code == 0, err
    assert json.loads(out) == {"status": "SERVING"}


async def _npm_install() -> None:
    if (NODE_DIR / "node_modules" / "@grpc" / "grpc-js").is_dir():
        return
    npm = shutil.which("npm")
    assert npm is not None
    code, out, err = await _run(
        npm, "install", "--no-audit", "--no-fund", "--prefix", str(NODE_DIR), limit=50
    )
    assert code == 0, (out, err)


@pytest.mark.skipif(
    shutil.which("node") is None or shutil.which("npm") is None,
    reason="node/npm not installed (CI has them)",
)
async def test_node_grpc_js_client(gateway: Gateway) -> None:
    await _npm_install()
    node = shutil.which("node")
    assert node is not None
    code, out, err = await _run(
        node, str(NODE_DIR / "client.js"), gateway.target, str(FIRST), str(MISSING)
    )
    assert code == 0, err
    result = json.loads(out)
    reply = result["ok"]["reply"]["user"]
    assert reply["login"] == str(FIRST)
    assert reply["group"] == gateway.sim.broker.users[FIRST].group.name
    error = result["notFound"]["error"]
    assert error["code"] == 5
    (info,) = error["status"]["errorInfo"]
    assert info["domain"] == "mt5gateway"
    assert info["reason"] == "MT5_NOT_FOUND"
    assert info["metadata"]["retcode"] == "13"
