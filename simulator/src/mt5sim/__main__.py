"""``mt5sim`` command line. Every flag also reads ``MT5SIM_<FLAG>`` (flags win).

mt5sim --host 127.0.0.1 --port 8443 [--tls | --no-tls]
       [--manager LOGIN:PASSWORD[:GROUPMASKS] ...] [--seed N]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from typing import TYPE_CHECKING, Any

from mt5sim.config import FAILURE_MODES, TRANS_ID_SCOPES, ManagerSpec, SimConfig
from mt5sim.market.broker import BrokerOptions
from mt5sim.server import Simulator

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

ENV_PREFIX = "MT5SIM_"
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


def _env_bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise argparse.ArgumentTypeError(f"not a boolean: {value!r}")


def _manager(text: str) -> ManagerSpec:
    try:
        return ManagerSpec.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mt5sim",
        description="MT5 manager Web API simulator (REST over HTTPS).",
        epilog=f"Each flag can also be set as {ENV_PREFIX}<FLAG> "
        f"(e.g. {ENV_PREFIX}PORT=8443, {ENV_PREFIX}TLS=0, "
        f"{ENV_PREFIX}MANAGERS='1000:Password1 1001:Secret#12:demo\\*').",
    )
    d = SimConfig()
    p.add_argument("--host", default=d.host)
    p.add_argument("--port", type=int, default=8443)
    p.add_argument(
        "--tls",
        action=argparse.BooleanOptionalAction,
        default=d.tls,
        help="HTTPS with a generated self-signed certificate unless --cert/--key",
    )
    p.add_argument("--cert", dest="cert_file", help="server certificate (PEM)")
    p.add_argument("--key", dest="key_file", help="private key (PEM)")
    p.add_argument(
        "--manager",
        dest="managers",
        action="append",
        type=_manager,
        metavar="LOGIN:PASSWORD[:GROUPMASKS]",
        help="manager account; repeatable; masks comma-separated with * and ! "
        "(default 1000:Password1, all groups)",
    )
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--idle-timeout", type=float, default=d.idle_timeout)
    p.add_argument("--auth-answer-timeout", type=float, default=d.auth_answer_timeout)
    p.add_argument("--ticks-per-second", type=float, default=d.ticks_per_second)
    p.add_argument(
        "--auth-failure",
        choices=FAILURE_MODES,
        default=d.auth_failure,
        help="wrong/late auth/answer: HTTP 403 or JSON retcode 3006",
    )
    p.add_argument(
        "--unauthenticated",
        choices=FAILURE_MODES,
        default=d.unauthenticated,
        help="/api/* before authentication: HTTP 403 or JSON retcode 8",
    )
    p.add_argument("--max-sessions-per-login", type=int, default=None)
    p.add_argument(
        "--plus-as-space",
        action=argparse.BooleanOptionalAction,
        default=d.plus_as_space,
        help="decode '+' in query strings as a space (default: literal plus)",
    )
    p.add_argument(
        "--case-sensitive-hex",
        action="store_true",
        help="refuse upper-case hex in srv_rand_answer",
    )
    p.add_argument(
        "--issue-cookie",
        action="store_true",
        help="set an (ignored) session cookie on auth/answer",
    )
    p.add_argument(
        "--unknown-trans-id",
        choices=("full", "empty"),
        default="full",
        help="tick/last with a trans_id above the current one: snapshot or []",
    )
    p.add_argument(
        "--echo-unchanged-trans-id",
        dest="echo_unchanged_trans_id",
        action="store_true",
        help="tick/last without changes echoes the client's trans_id",
    )
    p.add_argument(
        "--trans-id-scope",
        choices=TRANS_ID_SCOPES,
        default=d.trans_id_scope,
        help="tick/* cursors valid server-wide, or only on the connection (session) "
        "that was given them",
    )
    p.add_argument(
        "--all-accounts-available",
        action="store_true",
        help="user/account/get answers for every account, not only those with "
        "open trades or activity since start",
    )
    p.add_argument(
        "--srv-rand", default=None, help="fixed srv_rand (32 hex), for tests only"
    )
    p.add_argument(
        "--server-timezone",
        type=int,
        default=d.server_timezone,
        help="trade-server time zone in minutes east of UTC; every time stamp is "
        "server wall-clock time written as UTC (time/get TimeZone)",
    )
    p.add_argument("--log-level", default="INFO")
    return p


def _apply_env(parser: argparse.ArgumentParser, env: Mapping[str, str]) -> None:
    """Defaults from MT5SIM_* so that explicit flags still win."""
    defaults: dict[str, Any] = {}
    for action in parser._actions:  # noqa: SLF001 - argparse has no public listing
        dest = action.dest
        if dest in ("help", argparse.SUPPRESS):
            continue
        raw = env.get(ENV_PREFIX + dest.upper())
        if raw is None:
            continue
        try:
            if dest == "managers":
                value: Any = [_manager(item) for item in raw.split()]
            elif action.nargs == 0:  # switches: --tls, --plus-as-space, ...
                value = _env_bool(raw)
            elif action.type is not None and callable(action.type):
                value = action.type(raw)
            else:
                value = raw
        except (argparse.ArgumentTypeError, ValueError) as exc:
            parser.error(f"{ENV_PREFIX}{dest.upper()}: {exc}")
        if action.choices is not None and value not in action.choices:
            parser.error(f"{ENV_PREFIX}{dest.upper()}: must be one of {action.choices}")
        defaults[dest] = value
    parser.set_defaults(**defaults)


def parse_config(
    argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None
) -> tuple[SimConfig, str]:
    parser = build_parser()
    _apply_env(parser, os.environ if env is None else env)
    args = parser.parse_args(argv)
    managers = tuple(args.managers) if args.managers else SimConfig().managers
    try:
        config = SimConfig(
            host=args.host,
            port=args.port,
            tls=args.tls,
            cert_file=args.cert_file,
            key_file=args.key_file,
            managers=managers,
            seed=args.seed,
            idle_timeout=args.idle_timeout,
            auth_answer_timeout=args.auth_answer_timeout,
            ticks_per_second=args.ticks_per_second,
            auth_failure=args.auth_failure,
            unauthenticated=args.unauthenticated,
            srv_rand=args.srv_rand,
            max_sessions_per_login=args.max_sessions_per_login,
            plus_as_space=args.plus_as_space,
            case_sensitive_hex=args.case_sensitive_hex,
            issue_cookie=args.issue_cookie,
            server_timezone=args.server_timezone,
            trans_id_scope=args.trans_id_scope,
            broker_options=BrokerOptions(
                unknown_trans_id_full=args.unknown_trans_id == "full",
                no_change_echo=args.echo_unchanged_trans_id,
                accounts_need_activity=not args.all_accounts_available,
            ),
        )
    except ValueError as exc:
        parser.error(str(exc))
    return config, str(args.log_level).upper()


def ready_line(sim: Simulator) -> str:
    managers = ",".join(str(m.login) for m in sim.config.managers)
    line = f"mt5sim ready url={sim.url} managers={managers} seed={sim.config.seed}"
    if sim.ca_file:
        line += f" ca_file={sim.ca_file}"
    return line


async def serve(config: SimConfig) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with Simulator(config) as sim:
        print(ready_line(sim), flush=True)  # noqa: T201 - the one ready line
        await stop.wait()
    logging.getLogger("mt5sim").info("mt5sim_stopped")


def main(argv: Sequence[str] | None = None) -> int:
    config, level = parse_config(argv)
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    try:
        asyncio.run(serve(config))
    except OSError as exc:  # e.g. the port is taken
        print(f"mt5sim: {exc}", file=sys.stderr)  # noqa: T201
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
