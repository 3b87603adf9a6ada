"""What the callers were told against what MT5 (mt5sim) holds and what the audit says.

- 0 duplicated: no reconciliation tag on two deals;
- 0 lost: a deposit answered OK has exactly one deal, with that ticket, login and
  amount; a deposit answered with a rejection has none; no tagged deal belongs to no
  deposit; every answer of one request_id agrees;
- per-login sums in ``/_sim/stats`` equal the sums of the OK amounts;
- audit: exactly one ``succeeded`` record per applied deal, with its ticket, and none
  for the other deposits.

``Verdict.problems`` lists every broken rule with counts and a few examples.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from redis.asyncio import Redis

from .driver import TAG_LENGTH, TAG_PREFIX
from .harness import LOGINS, Store

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from pathlib import Path

    from .driver import Deposit
    from .harness import Stack

AUDIT_STREAM = "mt5gw:v1:audit"
# The default store's database in MT5GW_DATA_DIR, table ``audit``.
AUDIT_DATABASE = "mt5gateway.sqlite3"
# The gateway's ERROR line (with the traceback) for an exception no status rule maps.
INTERNAL_ERROR_EVENT = "rpc_internal_error"
SUCCEEDED = "succeeded"
# The only definitive failure the suite causes (10021 injected by mt5sim faults);
# deposits to seeded accounts have no other reason to fail for good.
EXPECTED_REJECTIONS = frozenset({"FAILED_PRECONDITION/MT5_REJECTED"})
_EXAMPLES = 5


@dataclass(frozen=True)
class AuditRow:
    request_id: str
    outcome: str
    deal: int | None


def _deal(value: object) -> int | None:
    return None if value in {None, ""} else int(str(value))


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def audit_from_redis(url: str) -> list[AuditRow]:
    """The stream ``mt5gw:v1:audit``: one entry per record, string fields."""
    client: Redis = Redis.from_url(url, decode_responses=True)
    rows: list[AuditRow] = []
    try:
        start = "-"
        while batch := await client.xrange(AUDIT_STREAM, min=start, count=5000):
            for _, entry in batch:
                fields = {_text(k): _text(v) for k, v in (entry or {}).items()}
                rows.append(
                    AuditRow(
                        fields.get("request_id", ""),
                        fields.get("outcome", ""),
                        _deal(fields.get("deal")),
                    )
                )
            start = "(" + _text(batch[-1][0])
    finally:
        await client.aclose()
    return rows


def audit_from_sqlite(path: Path) -> list[AuditRow] | None:
    """Table ``audit`` (columns ``request_id``, ``outcome``, ``deal``); None when the
    database does not exist."""
    if not path.is_file():
        return None
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        found = db.execute("SELECT request_id, outcome, deal FROM audit").fetchall()
    return [AuditRow(str(r), str(o), _deal(d)) for r, o, d in found]


async def read_audit(stack: Stack) -> tuple[str, list[AuditRow] | None]:
    """Where the audit was read from, and its rows (None: nothing there)."""
    if stack.store is Store.REDIS:
        assert stack.redis is not None
        return f"redis stream {AUDIT_STREAM}", await audit_from_redis(stack.redis.url)
    path = stack.gateway.data_dir / AUDIT_DATABASE
    return f"sqlite {path}", audit_from_sqlite(path)


def _examples(items: Iterable[Any]) -> str:
    listed = list(items)
    more = f" (+{len(listed) - _EXAMPLES} more)" if len(listed) > _EXAMPLES else ""
    return ", ".join(map(str, listed[:_EXAMPLES])) + more


@dataclass
class Verdict:
    deposits_sent: int = 0
    answered_ok: int = 0
    answered_rejected: int = 0
    unsettled: int = 0
    deals: int = 0
    duplicated_extra_deals: int = 0
    audit_source: str = ""
    audit_outcomes: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    # What the callers saw for a few of the deposits named in problems.
    timelines: list[str] = field(default_factory=list)

    def problem(self, what: str, items: Sequence[Any]) -> None:
        if items:
            self.problems.append(f"{what}: {len(items)} [{_examples(items)}]")

    def explain(self, deposits: Iterable[Deposit], limit: int = 3) -> None:
        for deposit in list(deposits)[:limit]:
            self.timelines.append(
                f"{deposit.request_id} (login {deposit.login}, {deposit.amount}): "
                + "; ".join(deposit.history)
            )

    def figures(self) -> dict[str, Any]:
        return {
            "deposits_sent": self.deposits_sent,
            "answered_ok": self.answered_ok,
            "answered_rejected": self.answered_rejected,
            "unsettled": self.unsettled,
            "deals": self.deals,
            "duplicated_extra_deals": self.duplicated_extra_deals,
            "audit_source": self.audit_source,
            "audit_outcomes": self.audit_outcomes,
            "problems": len(self.problems),
        }


def _deals_by_deposit(
    verdict: Verdict, sent: Sequence[Deposit], deals: Sequence[dict[str, str]]
) -> dict[str, list[dict[str, str]]]:
    """request_id -> its tagged deals; duplicates and strangers are problems."""
    by_tag = {d.tag: d for d in sent}
    found: dict[str, list[dict[str, str]]] = defaultdict(list)
    strangers = []
    for deal in deals:
        tag = deal["Comment"][:TAG_LENGTH]
        if not tag.startswith(TAG_PREFIX):
            continue
        if tag in by_tag:
            found[by_tag[tag].request_id].append(deal)
        else:
            strangers.append(deal["Deal"])
    verdict.deals = sum(map(len, found.values())) + len(strangers)
    duplicated = {rid: len(ds) for rid, ds in found.items() if len(ds) > 1}
    verdict.duplicated_extra_deals = sum(n - 1 for n in duplicated.values())
    verdict.problem(
        "DUPLICATED request_ids (deals)", [f"{r}x{n}" for r, n in duplicated.items()]
    )
    by_id = {d.request_id: d for d in sent}
    verdict.explain(by_id[rid] for rid in duplicated)
    verdict.problem("tagged deals of no deposit (tickets)", strangers)
    return found


def _same_deal(deal: dict[str, str], deposit: Deposit) -> bool:
    return (int(deal["Deal"]), int(deal["Login"]), Decimal(deal["Profit"])) == (
        deposit.tickets[0],
        deposit.login,
        deposit.amount,
    )


def _check_answers(
    verdict: Verdict,
    sent: Sequence[Deposit],
    found: dict[str, list[dict[str, str]]],
) -> None:
    lost, rejected_applied, unanswered_applied, mismatched, conflicting = (
        [], [], [], [], []
    )  # fmt: skip
    for deposit in sent:
        mine = found.get(deposit.request_id, [])
        tickets = set(deposit.tickets)
        if (
            len(tickets) > 1
            or (tickets and deposit.rejections)
            or deposit.wrong_answers
        ):
            conflicting.append(deposit.request_id)
        if tickets and not mine:
            lost.append(deposit.request_id)
        elif tickets and len(mine) == 1 and not _same_deal(mine[0], deposit):
            mismatched.append(deposit.request_id)
        elif mine and not tickets and deposit.rejections:
            rejected_applied.append(f"{deposit.request_id}:{deposit.rejections[0]}")
        elif mine and not tickets:
            unanswered_applied.append(deposit.request_id)
    verdict.problem("LOST: answered OK, no deal", lost)
    lost_ids = set(lost)
    verdict.explain(d for d in sent if d.request_id in lost_ids)
    verdict.problem("answered with a rejection but applied", rejected_applied)
    verdict.problem("applied but never answered", unanswered_applied)
    verdict.problem("deal differs from the OK answer (ticket/login/amount)", mismatched)
    verdict.problem("answers disagree for one request_id", conflicting)
    conflicting_ids = set(conflicting)
    verdict.explain(d for d in sent if d.request_id in conflicting_ids)
    unexplained = Counter(
        answer
        for deposit in sent
        for answer in deposit.rejections
        if answer not in EXPECTED_REJECTIONS
    )
    verdict.problem(
        "definitive failures no fault explains (answer x count)",
        [f"{answer} x{n}" for answer, n in unexplained.most_common()],
    )


def _check_sums(
    verdict: Verdict, sent: Sequence[Deposit], stats: dict[str, Any]
) -> None:
    expected: defaultdict[int, Decimal] = defaultdict(Decimal)
    for deposit in sent:
        if deposit.tickets:
            expected[deposit.login] += deposit.amount
    sums = stats["balance_operations"]["per_login"]
    actual = {int(k): Decimal(v) for k, v in sums.items()}
    wrong = [
        f"{login}: sim {actual.get(login, 0)} != ok {expected.get(login, 0)}"
        for login in sorted(set(actual) | set(expected))
        if actual.get(login, Decimal(0)) != expected.get(login, Decimal(0))
    ]
    verdict.problem("per-login sums differ from the OK amounts", wrong)
    count = stats["balance_operations"]["count"]
    if count != verdict.answered_ok:
        verdict.problems.append(
            f"mt5sim counted {count} balance operations for {verdict.answered_ok} OK"
        )


def check_deals(
    verdict: Verdict,
    sent: Sequence[Deposit],
    deals: Sequence[dict[str, str]],
    stats: dict[str, Any],
) -> dict[str, set[int]]:
    """Deals against answers; returns request_id -> deal tickets of each applied
    deposit (more than one is already reported as duplicated)."""
    found = _deals_by_deposit(verdict, sent, deals)
    _check_answers(verdict, sent, found)
    _check_sums(verdict, sent, stats)
    return {rid: {int(d["Deal"]) for d in ds} for rid, ds in found.items()}


def check_audit(
    verdict: Verdict, applied: dict[str, set[int]], rows: list[AuditRow] | None
) -> None:
    if rows is None:
        verdict.problems.append(f"no audit found at {verdict.audit_source}")
        return
    verdict.audit_outcomes = dict(Counter(r.outcome for r in rows))
    succeeded: dict[str, list[int | None]] = defaultdict(list)
    for row in rows:
        if row.outcome == SUCCEEDED:
            succeeded[row.request_id].append(row.deal)
    missing = [rid for rid in applied if rid not in succeeded]
    repeated = [f"{rid}x{len(d)}" for rid, d in succeeded.items() if len(d) > 1]
    wrong_deal = [
        rid
        for rid, tickets in applied.items()
        if any(deal not in tickets for deal in succeeded.get(rid, []))
    ]
    extra = [rid for rid in succeeded if rid not in applied]
    verdict.problem("AUDIT: applied deal without a succeeded record", missing)
    verdict.problem("AUDIT: several succeeded records for one request_id", repeated)
    verdict.problem("AUDIT: succeeded record with another deal ticket", wrong_deal)
    verdict.problem("AUDIT: succeeded record but no deal", extra)


def _exception_line(chain: list[dict[str, Any]]) -> str:
    """``Type: value at file:line in function`` for each exception of a structured
    traceback (structlog's dict_tracebacks), innermost frame, outermost first."""
    parts = []
    for exc in chain:
        frames = exc.get("frames") or [{}]
        last = frames[-1]
        where = f"{last.get('filename', '?')}:{last.get('lineno', '?')}"
        parts.append(
            f"{exc.get('exc_type')}: {exc.get('exc_value')} at {where} "
            f"in {last.get('name', '?')}"
        )
    return " <- ".join(parts)


def internal_errors(log: Path, limit: int = _EXAMPLES) -> list[str]:
    """The exceptions the gateway answered INTERNAL for, from its JSON log: the
    request_id, the time and the exception chain of the first ``limit``."""
    found: list[str] = []
    if not log.is_file():
        return found
    with log.open(errors="replace") as lines:
        for line in lines:
            if INTERNAL_ERROR_EVENT not in line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("event") != INTERNAL_ERROR_EVENT:
                continue
            chain = entry.get("exception")
            what = _exception_line(chain) if isinstance(chain, list) else str(chain)
            found.append(
                f"{entry.get('request_id', '-')} at {entry.get('timestamp', '?')}: "
                f"{what}"
            )
            if len(found) >= limit:
                break
    return found


async def verify(stack: Stack, deposits: Sequence[Deposit]) -> Verdict:
    """Call after the gateway stopped (its last records are written)."""
    sent = [d for d in deposits if d.sent]
    verdict = Verdict(
        deposits_sent=len(sent),
        answered_ok=sum(1 for d in sent if d.tickets),
        answered_rejected=sum(1 for d in sent if d.rejections and not d.tickets),
        unsettled=sum(1 for d in sent if not d.settled),
    )
    unsettled = [d.request_id for d in sent if not d.settled]
    verdict.problem("no definitive answer after the settle round", unsettled)
    deals = await stack.sim.balance_deals(LOGINS, stack.started_at)
    applied = check_deals(verdict, sent, deals, await stack.sim.stats())
    verdict.audit_source, rows = await read_audit(stack)
    check_audit(verdict, applied, rows)
    if verdict.problems:
        found = await asyncio.to_thread(internal_errors, stack.gateway.log)
        verdict.timelines.extend(f"gateway {INTERNAL_ERROR_EVENT}: {x}" for x in found)
    return verdict
