"""Money writes under chaos, scaled up: the scenarios of ``tests/integration/chaos``
(same harness, driver and verifiers) with counts from the command line.

    uv run python bench/chaos_money.py [--scenario kills|late|faults|redis|all]
        [--store default|redis|both] [--deposits 10000] [--callers 32]
        [--kills 20] [--holds 40] [--hold-seconds 3.5] [--late-read-timeout 1.5]
        [--redis-restarts 5] [--storm-seconds 1800] [--json FILE]
        [--keep DIR] [--log-level warning|info]

Each run starts its own mt5sim, proxy, gateway (and redis-server for the Redis
store) in a temporary directory, prints one ``chaos figures`` JSON line and the
broken rules (0 duplicated, 0 lost, one audit record per applied deal); the exit code
is 1 when any run broke a rule. ``redis`` runs only with the Redis store.

``--keep DIR`` runs each scenario in ``DIR/<scenario>-<store>-<time>`` and keeps it:
gateway.log, mt5sim.log, the gateway's data directory (the SQLite store) or the
redis AOF, and, when a rule broke, evidence.json (every answer, mt5sim's balance
deals and stats, the audit). ``--log-level info`` adds every call's access line
(``rpc_finished``) to gateway.log.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests package

from tests.integration.chaos.driver import DriverConfig
from tests.integration.chaos.harness import GatewayConfig, Store
from tests.integration.chaos.scenarios import (
    Chaos,
    RunConfig,
    gateway_kills,
    late_writes,
    redis_restarts,
    run_scenario,
    sim_faults,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

SCENARIOS = ("kills", "late", "faults", "redis")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=(*SCENARIOS, "all"), default="all")
    parser.add_argument("--store", choices=("default", "redis", "both"), default="both")
    parser.add_argument("--deposits", type=int, default=10_000)
    parser.add_argument("--callers", type=int, default=32)
    parser.add_argument("--echo-callers", type=int, default=4)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--holds", type=int, default=40)
    parser.add_argument("--hold-seconds", type=float, default=3.5)
    parser.add_argument("--late-read-timeout", type=float, default=1.5)
    parser.add_argument("--redis-restarts", type=int, default=5)
    parser.add_argument("--storm-seconds", type=float, default=1800.0)
    parser.add_argument("--settle-seconds", type=float, default=120.0)
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--json", type=Path, help="write every run's figures here")
    parser.add_argument(
        "--keep", type=Path, help="keep each run's work directory under this one"
    )
    parser.add_argument("--log-level", choices=("warning", "info"), default="warning")
    return parser


def _runs(args: argparse.Namespace) -> list[tuple[str, Store]]:
    scenarios = SCENARIOS if args.scenario == "all" else (args.scenario,)
    stores = list(Store) if args.store == "both" else [Store(args.store)]
    return [
        (scenario, store)
        for scenario in scenarios
        for store in stores
        if scenario != "redis" or store is Store.REDIS
    ]


def _plan(
    args: argparse.Namespace, scenario: str, store: Store
) -> tuple[str, GatewayConfig, Chaos]:
    gateway = GatewayConfig(store, log_level=args.log_level)
    if scenario == "kills":
        return "gateway kill -9", gateway, gateway_kills(args.kills)
    if scenario == "late":
        late = replace(gateway, read_timeout_seconds=args.late_read_timeout)
        name = "write delayed past the read timeout"
        return name, late, late_writes(args.hold_seconds, args.holds)
    if scenario == "faults":
        return "mt5sim faults, session drops, proxy faults", gateway, sim_faults()
    return (
        "redis-server kill -9 and restart",
        gateway,
        redis_restarts(args.redis_restarts),
    )


@contextlib.contextmanager
def _workdir(keep: Path | None, name: str) -> Iterator[Path]:
    """A temporary directory, or a new one under ``keep`` that stays."""
    if keep is None:
        with tempfile.TemporaryDirectory(prefix="chaos-money-") as temporary:
            yield Path(temporary)
        return
    kept = keep / f"{name}-{time.strftime('%Y%m%dT%H%M%S')}"
    kept.mkdir(parents=True)
    print(f"work directory: {kept}", flush=True)
    yield kept


async def _main(args: argparse.Namespace) -> int:
    run = RunConfig(
        deposits=args.deposits,
        seed=args.seed,
        storm_seconds=args.storm_seconds,
        settle_seconds=args.settle_seconds,
        driver=DriverConfig(callers=args.callers, echo_callers=args.echo_callers),
        keep_evidence=args.keep is not None,
    )
    results: list[dict[str, Any]] = []
    for scenario, store in _runs(args):
        name, gateway, chaos = _plan(args, scenario, store)
        with _workdir(args.keep, f"{scenario}-{store}") as workdir:
            outcome = await run_scenario(name, workdir, gateway, run, chaos)
        print(outcome.report(), flush=True)
        for problem in outcome.verdict.problems:
            print(f"  BROKEN: {problem}", flush=True)
        for timeline in outcome.verdict.timelines:
            print(f"  seen: {timeline}", flush=True)
        results.append(outcome.figures)
    print("\nscenario / store: deposits, rpc calls, retries, unknown, extra deals, "
          "broken rules, seconds")  # fmt: skip
    for f in results:
        print(
            f"  {f['scenario']} / {f['store']}: {f['deposits_sent']}, "
            f"{f['rpc_calls']}, {f['retries']}, {f['unknown_answers']}, "
            f"{f['duplicated_extra_deals']}, {len(f['broken_rules'])}, "
            f"{f['total_seconds']}"
        )
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return 1 if any(f["broken_rules"] for f in results) else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(_main(_parser().parse_args())))
