"""``mt5gateway serve``: settings from ``MT5GW_*`` and an optional TOML file.

Passwords are never taken from the command line (they would show in ``ps``); use
``MT5GW_MT5__<NAME>__PASSWORD`` or ``..._PASSWORD_FILE``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import TYPE_CHECKING, Any, TextIO

from mt5gateway_server import app, log, workers
from mt5gateway_server.cache.redis import RedisUnavailableError
from mt5gateway_server.settings import Settings, SettingsError, parse_host_port
from mt5gateway_server.webapi import WebApiError

if TYPE_CHECKING:
    from collections.abc import Coroutine, Sequence

__all__ = ["DEMO_EXTRA", "build_parser", "main"]

# The optional dependency (mt5gateway-server[demo]) that brings the simulator.
DEMO_EXTRA = "demo"


def _host_port(value: str) -> str:
    try:
        parse_host_port(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mt5gateway",
        description="gRPC gateway in front of the MetaTrader 5 manager Web API.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="serve the gRPC API",
        description=(
            "Serve the gRPC API. Settings come from MT5GW_* environment variables "
            "and an optional TOML file; at least one MT5 server must be configured, "
            "unless --demo."
        ),
    )
    serve.add_argument(
        "--demo",
        action="store_true",
        help=(
            "serve an embedded MT5 simulator (seeded accounts, fake money) instead "
            f"of MT5 servers (MT5GW_DEMO); needs the {DEMO_EXTRA!r} extra"
        ),
    )
    serve.add_argument(
        "--listen",
        type=_host_port,
        metavar="HOST:PORT",
        help="gRPC address (default 127.0.0.1:50051; MT5GW_GRPC__LISTEN)",
    )
    serve.add_argument(
        "--metrics-listen",
        type=_host_port,
        metavar="HOST:PORT",
        help="Prometheus /metrics address (MT5GW_TELEMETRY__METRICS_LISTEN)",
    )
    serve.add_argument(
        "--config",
        metavar="FILE",
        help="TOML settings file (MT5GW_CONFIG_FILE); environment variables win",
    )
    serve.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help=(
            "processes serving the same port (default 1; MT5GW_GRPC__WORKERS); "
            "more than 1 needs Redis and a configured MT5 server"
        ),
    )
    # Set by the supervisor of --workers N for each worker it starts.
    serve.add_argument("--worker-index", type=int, help=argparse.SUPPRESS)
    serve.add_argument("--ready-fd", type=int, help=argparse.SUPPRESS)
    return parser


def _run(main: Coroutine[Any, Any, int]) -> int:
    """Run on uvloop when it is installed (faster loop: fewer CPU cycles per RPC)."""
    try:
        import uvloop  # noqa: PLC0415 - optional at run time
    except ImportError:  # pragma: no cover - a declared dependency
        return asyncio.run(main)
    return uvloop.run(main)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    overrides: dict[str, Any] = {}
    grpc_overrides: dict[str, Any] = {}
    if args.listen:
        grpc_overrides["listen"] = args.listen
    if args.workers is not None:
        grpc_overrides["workers"] = args.workers
    if grpc_overrides:
        overrides["grpc"] = grpc_overrides
    if args.metrics_listen:
        overrides["telemetry"] = {"metrics_listen": args.metrics_listen}
    if args.demo:
        overrides["demo"] = True
    try:
        settings = Settings.load(args.config, **overrides)
        if settings.demo:
            _require_demo_extra()
    except SettingsError as exc:
        print(f"mt5gateway: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    if args.worker_index is not None:
        return _serve_worker(settings, args.worker_index, args.ready_fd)
    if settings.grpc.workers > 1:
        return _supervise(settings, args.config)
    log.configure(settings)
    return _serve(settings)


def _require_demo_extra() -> None:
    try:
        import mt5sim  # noqa: F401, PLC0415 - only demo mode needs it
    except ImportError:
        raise SettingsError(
            "demo mode needs the embedded simulator, which is not installed: "
            f"install mt5gateway-server[{DEMO_EXTRA}] (in this repository: "
            f"uv sync --extra {DEMO_EXTRA}, or ./scripts/run)"
        ) from None


def _serve(
    settings: Settings, *, out: TextIO | None = None, prefix: str = "mt5gateway"
) -> int:
    try:
        return _run(app.run(settings, out=out))
    except KeyboardInterrupt:  # pragma: no cover - signal handlers catch it first
        return 0
    except (WebApiError, RedisUnavailableError, SettingsError, OSError) as exc:
        # Start-up failures an operator fixes: say what, without a traceback.
        print(f"{prefix}: cannot start: {exc}", file=sys.stderr)  # noqa: T201
        return 1


def _supervise(settings: Settings, config_file: str | None) -> int:
    problems = workers.refusals(settings)
    if problems:
        print(  # noqa: T201
            "mt5gateway: refusing to start:\n" + "\n".join(f"  {p}" for p in problems),
            file=sys.stderr,
        )
        return 2
    log.share_stdout()
    log.configure(settings)
    log.tag_logs(role="supervisor", pid=os.getpid())
    supervisor = workers.Supervisor(settings, config_file=config_file)
    try:
        return asyncio.run(supervisor.run())
    except OSError as exc:  # the port cannot be reserved
        print(f"mt5gateway: cannot start: {exc}", file=sys.stderr)  # noqa: T201
        return 1


def _serve_worker(settings: Settings, index: int, ready_fd: int | None) -> int:
    """One of ``--workers N``: a full gateway whose log lines say which one."""
    workers.die_with_parent()
    log.share_stdout()
    log.configure(settings)
    log.tag_logs(role="worker", worker=index, pid=os.getpid())
    out = workers.ReadyPipe(ready_fd) if ready_fd is not None else None
    return _serve(settings, out=out, prefix=f"mt5gateway worker {index}")


if __name__ == "__main__":
    sys.exit(main())
